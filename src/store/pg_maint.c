/* The PostgreSQL backend, off the message path: the outbox claims, the
 * counts for the metrics, pruning, secrets; the SQLite-only housekeeping
 * (WAL checkpoints) is nothing to do here. */
#include "pg_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- outbox --------------------------------------------------------------- */

/* Claims the due rows for the lease (one statement, so no transaction of
 * its own is needed): a server that dies holding some leaves them to the
 * others once the lease has run out. */
lk_err pg_outbox_due(lk_store *s, int64_t now_ms, int max, lk_outbox_item **items, int *n)
{
    pg_store *q = (pg_store *)s;
    pg_params p = {.n = 0};
    lk_outbox_item *arr = NULL;
    PGresult *r;
    lk_err err;
    int i, k;

    if ((err = pg_usable(q, "outbox_due")) != LK_OK)
        return err;
    pg_p_i64(&p, now_ms);
    pg_p_i64(&p, max);
    pg_p_i64(&p, q->lease_ms);
    if (!(r = pg_run(q, PS_OB_CLAIM, &p, 0, "outbox_due", &err)))
        return err;
    k = PQntuples(r);
    if (k > 0 && !(arr = calloc((size_t)k, sizeof *arr)))
        goto oom;
    for (i = 0; i < k; i++) {
        lk_outbox_item *it = &arr[i];

        it->id = pg_i64(r, i, 0);
        it->user = strdup(PQgetvalue(r, i, 1));
        it->channel = strdup(PQgetvalue(r, i, 2));
        it->payload = strdup(PQgetvalue(r, i, 3));
        it->attempts = (int)pg_i64(r, i, 4);
        it->next_at_ms = pg_i64(r, i, 5);
        it->created_ms = pg_i64(r, i, 6);
        if (!it->user || !it->channel || !it->payload)
            goto oom;
    }
    PQclear(r);
    lk_outbox_items_by_id(arr, k); /* RETURNING keeps no order */
    *items = arr;
    *n = k;
    return LK_OK;
oom:
    /* the rows stay claimed until the lease runs out, then go again */
    PQclear(r);
    lk_outbox_items_free(arr, k);
    lk_store_set_err(s, "outbox_due: out of memory");
    return LK_ENOMEM;
}

static lk_err update_pending(pg_store *q, int which, int64_t id, int64_t t, const char *text,
                             const char *op)
{
    pg_params p = {.n = 0};
    PGresult *r;
    lk_err err;
    int changed;

    if ((err = pg_usable(q, op)) != LK_OK)
        return err;
    pg_p_i64(&p, id);
    if (which != PS_OB_RELEASE) { /* the row id is all it takes */
        pg_p_i64(&p, t);
        pg_p_text(&p, text, text ? strlen(text) : 0);
    }
    if (!(r = pg_run(q, which, &p, 0, op, &err)))
        return err;
    changed = atoi(PQcmdTuples(r));
    PQclear(r);
    if (changed == 0) {
        lk_store_set_err(&q->base, "%s: no pending outbox row %lld", op, (long long)id);
        return LK_EINVAL;
    }
    return LK_OK;
}

lk_err pg_outbox_sent(lk_store *s, int64_t id, const char *remote_id, int64_t now_ms)
{
    return update_pending((pg_store *)s, PS_OB_SENT, id, now_ms, remote_id, "outbox_sent");
}

lk_err pg_outbox_retry(lk_store *s, int64_t id, int64_t next_at_ms, const char *error)
{
    return update_pending((pg_store *)s, PS_OB_RETRY, id, next_at_ms, error, "outbox_retry");
}

lk_err pg_outbox_drop(lk_store *s, int64_t id, const char *error, int64_t now_ms)
{
    return update_pending((pg_store *)s, PS_OB_DROP, id, now_ms, error, "outbox_drop");
}

lk_err pg_outbox_release(lk_store *s, int64_t id)
{
    return update_pending((pg_store *)s, PS_OB_RELEASE, id, 0, NULL, "outbox_release");
}

/* ---- counts and pruning ---------------------------------------------------- */

/* Runs a statement with at most one bigint parameter; *n gets the first
 * column of its row (a count), or with count_rows the rows it changed. */
static lk_err count(pg_store *q, int which, const int64_t *arg, int count_rows, const char *op,
                    int64_t *n)
{
    pg_params p = {.n = 0};
    PGresult *r;
    lk_err err;

    if ((err = pg_usable(q, op)) != LK_OK)
        return err;
    if (arg)
        pg_p_i64(&p, *arg);
    if (!(r = pg_run(q, which, &p, 0, op, &err)))
        return err;
    if (count_rows)
        *n = atoll(PQcmdTuples(r));
    else
        *n = PQntuples(r) > 0 ? pg_i64(r, 0, 0) : 0;
    PQclear(r);
    return LK_OK;
}

lk_err pg_outbox_depth(lk_store *s, int64_t *n)
{
    return count((pg_store *)s, PS_OB_DEPTH, NULL, 0, "outbox_depth", n);
}

lk_err pg_active_sessions(lk_store *s, int64_t since_ms, int64_t *n)
{
    return count((pg_store *)s, PS_ACTIVE, &since_ms, 0, "active_sessions", n);
}

/* Under the maintenance lock: while one server prunes, the others delete
 * nothing (*n 0) and find the rows gone next time. */
lk_err pg_prune_seen(lk_store *s, int64_t before_ms, int64_t *n)
{
    return count((pg_store *)s, PS_PRUNE_SEEN, &before_ms, 1, "prune_seen", n);
}

/* PostgreSQL checkpoints by itself: nothing to do, nothing to wait for. */
lk_err pg_checkpoint(lk_store *s, int64_t *log_bytes)
{
    (void)s;
    *log_bytes = 0;
    return LK_OK;
}

lk_err pg_checkpoint_full(lk_store *s, int wait_ms, int truncate, int *done)
{
    (void)s;
    (void)wait_ms;
    (void)truncate;
    *done = 1;
    return LK_OK;
}

lk_err pg_wal_size(lk_store *s, int64_t *bytes)
{
    (void)s;
    *bytes = 0; /* no log file of loket's to bound */
    return LK_OK;
}

/* ---- secrets ---------------------------------------------------------------- */

lk_err pg_secret(lk_store *s, const char *name, const void *fresh, size_t n, lk_buf *out)
{
    pg_store *q = (pg_store *)s;
    pg_params p = {.n = 0};
    PGresult *r;
    lk_err err;

    if ((err = pg_usable(q, "secret")) != LK_OK)
        return err;
    pg_p_text(&p, name, strlen(name));
    pg_p_text(&p, fresh, n);
    if (!(r = pg_run(q, PS_SECRET_PUT, &p, 0, "secret", &err)))
        return err;
    PQclear(r);
    p.n = 1;
    if (!(r = pg_run(q, PS_SECRET_GET, &p, 1, "secret", &err)))
        return err;
    if (PQntuples(r) == 1)
        lk_buf_put(out, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
    else {
        lk_store_set_err(s, "secret: %s vanished after it was stored", name);
        err = LK_ESTORE;
    }
    PQclear(r);
    if (err == LK_OK && out->oom) {
        lk_store_set_err(s, "secret: out of memory");
        err = LK_ENOMEM;
    }
    return err;
}
