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

/* ---- retention -------------------------------------------------------------- */

/* One batch of one table in a transaction of its own. */
static lk_err prune_batch(lk_store *s, const char *sql, int64_t before, int batch, int64_t *n,
                          int *more)
{
    lk_sql_arg a[2] = {{.i = before, .is_int = 1}, {.i = batch, .is_int = 1}};
    int64_t k = 0;
    int got = 1;
    lk_err err;

    if ((err = s->ops->begin(s)) != LK_OK)
        return err;
    if (is_pg(s) &&
        (err = s->ops->query(s, PG_MAINT_LOCK, NULL, 0, first_true, &got, NULL)) != LK_OK)
        goto fail;
    if (got && (err = s->ops->query(s, sql, a, 2, NULL, NULL, &k)) != LK_OK)
        goto fail;
    if ((err = s->ops->commit(s)) != LK_OK)
        goto fail;
    *n += k;
    if (k >= batch)
        *more = 1;
    return LK_OK;
fail:
    s->ops->rollback(s);
    return err;
}

lk_err lk_store_prune(lk_store *s, const lk_prune_opts *o, lk_prune_counts *n, int *more)
{
    /* Each deletes the oldest rows first, found by the index of schema 7;
     * the outer condition is checked again on a row a server changed while
     * the delete waited for it (a session saved meanwhile stays). */
    static const char log_sql[] = "DELETE FROM log WHERE at_ms < $1 AND id IN "
                                  "(SELECT id FROM log WHERE at_ms < $1 ORDER BY at_ms LIMIT $2)";
    static const char outbox_sql[] =
        "DELETE FROM outbox WHERE sent_ms IS NOT NULL AND sent_ms < $1 AND id IN "
        "(SELECT id FROM outbox WHERE sent_ms IS NOT NULL AND sent_ms < $1 "
        "ORDER BY sent_ms LIMIT $2)";
    static const char sessions_sql[] =
        "DELETE FROM sessions WHERE updated_ms < $1 AND (channel, \"user\") IN "
        "(SELECT channel, \"user\" FROM sessions WHERE updated_ms < $1 "
        "ORDER BY updated_ms LIMIT $2)";
    lk_prune_counts dummy = {0};
    int batch, more_dummy;
    lk_err err = LK_OK;

    if (!n)
        n = &dummy;
    if (!more)
        more = &more_dummy;
    *more = 0;
    if (!s || !o)
        return s ? (lk_store_set_err(s, "prune: no options"), LK_EINVAL) : LK_EINVAL;
    batch = o->batch > 0 ? o->batch : PRUNE_BATCH;
    if (o->log_before_ms > 0)
        err = prune_batch(s, log_sql, o->log_before_ms, batch, &n->log, more);
    if (err == LK_OK && o->outbox_before_ms > 0)
        err = prune_batch(s, outbox_sql, o->outbox_before_ms, batch, &n->outbox, more);
    if (err == LK_OK && o->session_before_ms > 0)
        err = prune_batch(s, sessions_sql, o->session_before_ms, batch, &n->sessions, more);
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
