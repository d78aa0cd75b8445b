/* The outbox in the SQLite backend: the replies a channel sends later, one
 * queue per user (schema step 7, sqlite_int.h).
 *
 * A reply is added in the message's transaction; only the user's oldest
 * pending row (the head) has a due time, the rows behind it have none. The
 * sender asks for the due heads (outbox_due), which the index outbox_due
 * holds and nothing else, so a call reads about as many rows as it hands
 * out however long the queues behind them are. A head that fails gets a
 * later due time (retry); one that ends (sent, dropped, or deleted by
 * `loket forget`) gives the row behind it its due time, by the triggers of
 * step 7, in the same statement. One server sends a SQLite file, so nothing
 * is claimed: a row in flight is handed out again until it ends, and the
 * sender skips it. */
#include "sqlite_int.h"

#include <stdlib.h>
#include <string.h>

lk_err sq_outbox_add(lk_store *s, const char *user, const char *channel, const char *payload,
                     int64_t now_ms, int64_t *id)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_OB_ADD];
    int rc = SQLITE_OK;
    lk_err err;

    if ((err = usable(q, "outbox_add")) != LK_OK)
        return err;
    bind_text(st, 1, user, -1, &rc);
    bind_text(st, 2, channel, -1, &rc);
    bind_text(st, 3, payload, -1, &rc);
    bind_i64(st, 4, now_ms, &rc);
    rc = step(st, rc);
    if (rc == SQLITE_DONE && id)
        *id = (int64_t)sqlite3_last_insert_rowid(q->db);
    return done(q, st, rc, "outbox_add");
}

static char *dup_col(sqlite3_stmt *st, int i)
{
    const char *z = (const char *)sqlite3_column_text(st, i);
    return strdup(z ? z : "");
}

lk_err sq_outbox_due(lk_store *s, int64_t now_ms, int max, lk_outbox_item **items, int *n)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_OB_DUE];
    lk_outbox_item *arr = NULL, *it;
    int rc = SQLITE_OK, k = 0, cap = 0;
    lk_err err, oom = LK_OK;

    if ((err = usable(q, "outbox_due")) != LK_OK)
        return err;
    bind_i64(st, 1, now_ms, &rc);
    bind_i64(st, 2, max, &rc);
    rc = step(st, rc);
    while (rc == SQLITE_ROW) {
        if (k == cap) {
            int ncap = cap ? (cap > max / 2 ? max : cap * 2) : (max < 16 ? max : 16);
            lk_outbox_item *p = realloc(arr, (size_t)ncap * sizeof *p);
            if (!p) {
                oom = LK_ENOMEM;
                break;
            }
            arr = p;
            cap = ncap;
        }
        it = &arr[k++];
        it->id = (int64_t)sqlite3_column_int64(st, 0);
        it->user = dup_col(st, 1);
        it->channel = dup_col(st, 2);
        it->payload = dup_col(st, 3);
        it->attempts = sqlite3_column_int(st, 4);
        it->next_at_ms = (int64_t)sqlite3_column_int64(st, 5);
        it->created_ms = (int64_t)sqlite3_column_int64(st, 6);
        if (!it->user || !it->channel || !it->payload) {
            oom = LK_ENOMEM;
            break;
        }
        rc = sqlite3_step(st);
    }
    err = done(q, st, rc, "outbox_due");
    if (err == LK_OK && oom != LK_OK) {
        lk_store_set_err(s, "outbox_due: out of memory");
        err = oom;
    }
    if (err != LK_OK) {
        lk_outbox_items_free(arr, k);
        return err;
    }
    lk_outbox_items_by_id(arr, k);
    *items = arr;
    *n = k;
    return LK_OK;
}

/* Runs statement which (?1 the row id, ?2 a time, ?3 a text) on one pending
 * outbox row; a row that is missing or no longer pending is the caller's
 * mistake (sent twice, a stale id). */
static lk_err update_pending(sq_store *q, int which, int64_t id, int64_t t, const char *text,
                             const char *op)
{
    sqlite3_stmt *st = q->st[which];
    int rc = SQLITE_OK;
    lk_err err;

    if ((err = usable(q, op)) != LK_OK)
        return err;
    bind_i64(st, 1, id, &rc);
    bind_i64(st, 2, t, &rc);
    bind_text(st, 3, text, -1, &rc);
    rc = step(st, rc);
    if (rc == SQLITE_DONE && sqlite3_changes(q->db) == 0) {
        done(q, st, rc, op);
        lk_store_set_err(&q->base, "%s: no pending outbox row %lld", op, (long long)id);
        return LK_EINVAL;
    }
    return done(q, st, rc, op);
}

lk_err sq_outbox_sent(lk_store *s, int64_t id, const char *remote_id, int64_t now_ms)
{
    return update_pending((sq_store *)s, ST_OB_SENT, id, now_ms, remote_id, "outbox_sent");
}

lk_err sq_outbox_retry(lk_store *s, int64_t id, int64_t next_at_ms, const char *error)
{
    return update_pending((sq_store *)s, ST_OB_RETRY, id, next_at_ms, error, "outbox_retry");
}

lk_err sq_outbox_drop(lk_store *s, int64_t id, const char *error, int64_t now_ms)
{
    return update_pending((sq_store *)s, ST_OB_DROP, id, now_ms, error, "outbox_drop");
}

/* Nothing is claimed here: a row handed out and not sent stays as it is. */
lk_err sq_outbox_release(lk_store *s, int64_t id)
{
    (void)s;
    (void)id;
    return LK_OK;
}
