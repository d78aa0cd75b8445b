/* Personal data in the store: retention (old rows deleted in small batches
 * by the maintenance thread), erasure of one user (`loket forget`) and
 * access to what is stored about one user (`loket export`).
 *
 * Written once for every backend on two ops of the vtable (begin_read and
 * query, sqlite_priv.c and pg_priv.c), with SQL both read: "user" quoted
 * (a reserved word in PostgreSQL), $1..$n parameters, CAST(... AS text).
 * The tables of a user are named here, and only here: a table added later
 * that holds something of a user is added to user_tables below, so forget
 * and export cover it. The secrets table holds the server's own secrets
 * and is not a user's. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRUNE_BATCH 500

/* The maintenance lock of PostgreSQL (pg.c: beside the migration lock, and
 * the one lk_store_prune_seen takes): one server prunes at a time. */
#define PG_MAINT_LOCK "SELECT pg_try_advisory_xact_lock(7813581961993125890)"

/* The rows of one user of a table, for snprintf ("%%" is "%"): $1 the user,
 * $2 the channel or NULL. An outbox row names the channel's sending number
 * too ("whatsapp:PNID"). */
#define OF_USER                                                                                    \
    " WHERE \"user\" = $1 AND (CAST($2 AS text) IS NULL OR channel = $2 OR "                       \
    "channel LIKE CAST($2 AS text) || ':%%')"

/* In this order: forget's counts (lk_user_counts) follow it. */
static const struct {
    const char *table, *order;
} user_tables[] = {
    {"sessions", "channel"},
    {"log", "id"},
    {"outbox", "id"},
    {"seen", "at_ms, channel, ext_id"},
};
#define NTABLES ((int)(sizeof user_tables / sizeof user_tables[0]))

static int is_pg(const lk_store *s)
{
    return !strcmp(s->ops->name, "postgresql");
}

static int first_true(void *ctx, const lk_store_row *r)
{
    const char *v = r->ncols > 0 ? r->vals[0] : NULL;

    *(int *)ctx = v && (*v == 't' || *v == '1');
    return 0;
}

/* ---- retention --------------------------------------------------------------
 * Without an index on the times (each would cost the message path a page
 * write per message), retention walks each table by its primary key in
 * windows of `batch` rows: a read, which takes no lock (WAL readers never
 * wait for the writer), finds the old rows of the next window; then one
 * short transaction deletes the key range from the first to the last of
 * them, checking the time again, so the writer waits for at most one window
 * of rows. A window without old rows costs no transaction. One round (a
 * fresh lk_prune_opts) is one pass over each table. */

/* Where in the key order of a table a window starts and what it found. */
typedef struct window {
    int nkey;           /* 1: an integer id; 2: (channel, "user") */
    int rows, old;      /* rows read, old rows among them */
    char first[2][512]; /* the key of the first old row */
    char last[2][512];  /* ... of the last old row */
    char end[2][512];   /* ... of the last row read */
    int toolong;        /* a key did not fit */
} window;

static void put_key(window *w, char (*dst)[512], const lk_store_row *r)
{
    int i;

    for (i = 0; i < w->nkey; i++) {
        const char *v = r->vals[i] ? r->vals[i] : "";

        if (r->lens[i] >= sizeof dst[i])
            w->toolong = 1;
        snprintf(dst[i], sizeof dst[i], "%s", v);
    }
}

static int window_row(void *ctx, const lk_store_row *r)
{
    window *w = ctx;
    int old = r->vals[w->nkey] && r->vals[w->nkey][0] == '1';

    w->rows++;
    put_key(w, w->end, r);
    if (old) {
        if (!w->old++)
            put_key(w, w->first, r);
        put_key(w, w->last, r);
    }
    return 0;
}

/* The tables retention prunes; $1 is the time before which a row is old. */
static const struct prune_table {
    const char *table, *old;
    int nkey;
} prune_tables[] = {
    {"log", "at_ms < $1", 1},
    {"outbox", "sent_ms IS NOT NULL AND sent_ms < $1", 1}, /* a pending reply stays */
    {"sessions", "updated_ms < $1", 2},
};

static void key_args(const struct prune_table *t, char (*key)[512], lk_sql_arg *a)
{
    if (t->nkey == 1) {
        a[0].is_int = 1;
        a[0].i = strtoll(key[0], NULL, 10);
    } else {
        a[0].text = key[0];
        a[1].text = key[1];
    }
}

/* Deletes the old rows of w's range in a transaction of its own. *got is 0
 * when another server holds the maintenance lock (PostgreSQL). */
static lk_err prune_range(lk_store *s, const struct prune_table *t, window *w, int64_t before,
                          int64_t *n, int *got)
{
    lk_sql_arg a[5] = {{.i = before, .is_int = 1}};
    char sql[256];
    int64_t k = 0;
    lk_err err;

    *got = 1;
    if (t->nkey == 1)
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id >= $2 AND id <= $3 AND %s", t->table,
                 t->old);
    else
        snprintf(sql, sizeof sql,
                 "DELETE FROM %s WHERE (channel, \"user\") >= ($2, $3) AND "
                 "(channel, \"user\") <= ($4, $5) AND %s",
                 t->table, t->old);
    key_args(t, w->first, &a[1]);
    key_args(t, w->last, &a[1 + t->nkey]);
    if ((err = s->ops->begin(s)) != LK_OK)
        return err;
    if (is_pg(s) &&
        (err = s->ops->query(s, PG_MAINT_LOCK, NULL, 0, first_true, got, NULL)) != LK_OK)
        goto fail;
    if (*got && (err = s->ops->query(s, sql, a, 1 + 2 * t->nkey, NULL, NULL, &k)) != LK_OK)
        goto fail;
    if ((err = s->ops->commit(s)) != LK_OK)
        goto fail;
    *n += k;
    return LK_OK;
fail:
    s->ops->rollback(s);
    return err;
}

/* Windows of one table from where the round stands, up to the first with
 * old rows (deleted) or PRUNE_WINDOWS of them. */
#define PRUNE_WINDOWS 64

static lk_err prune_table(lk_store *s, lk_prune_opts *o, int ti, int64_t before, int batch,
                          int64_t *n, int *more)
{
    const struct prune_table *t = &prune_tables[ti];
    lk_prune_cursor *c = &o->at[ti];
    lk_sql_arg a[4] = {{.i = before, .is_int = 1}, {.i = batch, .is_int = 1}};
    char sql[320];
    window w;
    lk_err err;
    int k, got;

    if (c->done)
        return LK_OK;
    for (k = 0; k < PRUNE_WINDOWS; k++) {
        memset(&w, 0, sizeof w);
        w.nkey = t->nkey;
        if (t->nkey == 1)
            snprintf(sql, sizeof sql,
                     "SELECT id, CASE WHEN %s THEN 1 ELSE 0 END FROM %s WHERE id > $3 "
                     "ORDER BY id LIMIT $2",
                     t->old, t->table);
        else
            snprintf(sql, sizeof sql,
                     "SELECT channel, \"user\", CASE WHEN %s THEN 1 ELSE 0 END FROM %s%s "
                     "ORDER BY channel, \"user\" LIMIT $2",
                     t->old, t->table, c->started ? " WHERE (channel, \"user\") > ($3, $4)" : "");
        if (t->nkey == 1) {
            a[2].is_int = 1;
            a[2].i = c->id;
        } else {
            a[2].text = c->key[0];
            a[3].text = c->key[1];
        }
        if ((err = s->ops->query(s, sql, a, t->nkey == 1 || c->started ? 2 + t->nkey : 2,
                                 window_row, &w, NULL)) != LK_OK)
            return err;
        if (w.toolong) {
            lk_store_set_err(s, "prune: a key of %s is longer than 511 bytes", t->table);
            c->done = 1;
            return LK_EINVAL;
        }
        if (w.rows > 0) {
            c->started = 1;
            if (t->nkey == 1)
                c->id = strtoll(w.end[0], NULL, 10);
            else
                memcpy(c->key, w.end, sizeof c->key);
        }
        if (w.rows < batch)
            c->done = 1; /* the end of the table */
        if (w.old) {
            if ((err = prune_range(s, t, &w, before, n, &got)) != LK_OK)
                return err;
            if (!got) { /* another server prunes this round */
                memset(o->at, 0, sizeof o->at);
                for (k = 0; k < LK_PRUNE_TABLES; k++)
                    o->at[k].done = 1;
                return LK_OK;
            }
            break;
        }
        if (c->done)
            break;
    }
    if (!c->done)
        *more = 1;
    return LK_OK;
}

lk_err lk_store_prune(lk_store *s, lk_prune_opts *o, lk_prune_counts *n, int *more)
{
    lk_prune_counts dummy = {0};
    int64_t *count[LK_PRUNE_TABLES], before[LK_PRUNE_TABLES];
    int batch, more_dummy, i;
    lk_err err = LK_OK;

    if (!n)
        n = &dummy;
    if (!more)
        more = &more_dummy;
    *more = 0;
    if (!s || !o)
        return s ? (lk_store_set_err(s, "prune: no options"), LK_EINVAL) : LK_EINVAL;
    batch = o->batch > 0 ? o->batch : PRUNE_BATCH;
    count[0] = &n->log;
    count[1] = &n->outbox;
    count[2] = &n->sessions;
    before[0] = o->log_before_ms;
    before[1] = o->outbox_before_ms;
    before[2] = o->session_before_ms;
    for (i = 0; i < LK_PRUNE_TABLES && err == LK_OK; i++)
        if (before[i] > 0)
            err = prune_table(s, o, i, before[i], batch, count[i], more);
    return err;
}

/* ---- one user: forget and export ---------------------------------------------- */

static lk_err user_args(lk_store *s, const char *channel, const char *user, lk_sql_arg a[2],
                        const char *op)
{
    if (!s)
        return LK_EINVAL;
    if (!user || !*user || (channel && !*channel)) {
        lk_store_set_err(s, "%s: no user, or an empty channel", op);
        return LK_EINVAL;
    }
    memset(a, 0, 2 * sizeof *a);
    a[0].text = user;
    a[1].text = channel;
    return LK_OK;
}

lk_err lk_store_forget(lk_store *s, const lk_user_ref *users, int n, lk_user_counts *counts)
{
    lk_sql_arg a[2];
    char sql[320];
    lk_err err;
    int i, k;

    if (!s)
        return LK_EINVAL;
    if (!users || n <= 0) {
        lk_store_set_err(s, "forget: no users");
        return LK_EINVAL;
    }
    if (counts)
        memset(counts, 0, (size_t)n * sizeof *counts);
    for (k = 0; k < n; k++)
        if ((err = user_args(s, users[k].channel, users[k].user, a, "forget")) != LK_OK)
            return err;
    if ((err = s->ops->begin(s)) != LK_OK)
        return err;
    for (k = 0; k < n; k++) {
        int64_t got[NTABLES] = {0};

        user_args(s, users[k].channel, users[k].user, a, "forget");
        for (i = 0; i < NTABLES; i++) {
            snprintf(sql, sizeof sql, "DELETE FROM %s" OF_USER, user_tables[i].table);
            if ((err = s->ops->query(s, sql, a, 2, NULL, NULL, &got[i])) != LK_OK)
                goto fail;
        }
        if (counts) {
            counts[k].sessions = got[0];
            counts[k].log = got[1];
            counts[k].outbox = got[2];
            counts[k].seen = got[3];
        }
    }
    if ((err = s->ops->commit(s)) != LK_OK)
        goto fail;
    return LK_OK;
fail:
    s->ops->rollback(s);
    if (counts)
        memset(counts, 0, (size_t)n * sizeof *counts);
    return err;
}

const char *lk_store_user_table(int i)
{
    return i >= 0 && i < NTABLES ? user_tables[i].table : NULL;
}

typedef struct export_ctx {
    lk_export_fn fn;
    void *ctx;
    const char *table;
} export_ctx;

static int export_row(void *ctx, const lk_store_row *r)
{
    export_ctx *e = ctx;

    return e->fn(e->ctx, e->table, r);
}

lk_err lk_store_export(lk_store *s, const char *channel, const char *user, lk_export_fn fn,
                       void *ctx)
{
    export_ctx e = {fn, ctx, NULL};
    lk_sql_arg a[2];
    char sql[320];
    lk_err err;
    int i;

    if ((err = user_args(s, channel, user, a, "export")) != LK_OK)
        return err;
    if (!fn) {
        lk_store_set_err(s, "export: no reader");
        return LK_EINVAL;
    }
    if ((err = s->ops->begin_read(s)) != LK_OK)
        return err;
    for (i = 0; i < NTABLES && err == LK_OK; i++) {
        e.table = user_tables[i].table;
        snprintf(sql, sizeof sql, "SELECT * FROM %s" OF_USER " ORDER BY %s", e.table,
                 user_tables[i].order);
        err = s->ops->query(s, sql, a, 2, export_row, &e, NULL);
    }
    if (err == LK_OK)
        err = s->ops->commit(s);
    if (err != LK_OK)
        s->ops->rollback(s);
    return err;
}
