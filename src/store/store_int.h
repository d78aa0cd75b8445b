/* The inside of the store: the vtable every backend fills in and the common
 * head of every backend's store object. store.c checks the arguments of the
 * public lk_store_* functions and dispatches here, so a backend receives only
 * arguments that passed those checks (non-NULL store, user, channel, ...).
 * sqlite.c is the embedded backend, pg.c the PostgreSQL one (for several
 * servers on one database); each has its own lk_store_<name>_open. Nothing
 * here includes a database header. */
#ifndef LOKET_STORE_INT_H
#define LOKET_STORE_INT_H

#include "loket/store.h"

/* An argument of lk_store_ops.query: text (NULL for SQL NULL), or with
 * is_int the integer i. */
typedef struct lk_sql_arg {
    const char *text;
    int64_t i;
    int is_int;
} lk_sql_arg;

/* One row of lk_store_ops.query (borrowed until it returns); 0 goes on. */
typedef int (*lk_row_fn)(void *ctx, const lk_store_row *row);

/* The ops of privacy.c and misses.c, written once for every backend:
 *   begin_read  a read-only transaction that sees one snapshot (ended by
 *               commit or rollback; LK_EINVAL when one is open)
 *   query       runs one statement, SQL that both backends read ("user"
 *               quoted, parameters $1 to $n in that order, CAST(... AS
 *               text)), prepared for this call only; each row goes to fn
 *               (may be NULL; nonzero stops with LK_EIO); *changes (may be
 *               NULL) gets the rows a DELETE or UPDATE changed. Inside or
 *               outside a transaction. */
struct lk_store_ops {
    const char *name; /* "sqlite" */
    void (*close)(lk_store *s);
    lk_err (*begin)(lk_store *s);
    lk_err (*commit)(lk_store *s);
    void (*rollback)(lk_store *s);
    lk_err (*savepoint)(lk_store *s);
    lk_err (*release)(lk_store *s);
    lk_err (*rollback_to)(lk_store *s);
    /* NULL: nothing to lock (SQLite) */
    lk_err (*lock_users)(lk_store *s, const char *const *channels, const char *const *users,
                         int n);
    lk_err (*seen)(lk_store *s, const char *channel, const char *user, const char *ext_id,
                   int64_t now_ms, int *dup);
    lk_err (*load)(lk_store *s, const char *channel, const char *user, lk_buf *blob, int *found);
    lk_err (*save)(lk_store *s, const char *channel, const char *user, const void *blob, size_t n,
                   int64_t now_ms);
    lk_err (*del)(lk_store *s, const char *channel, const char *user);
    lk_err (*log)(lk_store *s, const lk_log_entry *e);
    lk_err (*outbox_add)(lk_store *s, const char *user, const char *channel, const char *payload,
                         int64_t now_ms, int64_t *id);
    lk_err (*outbox_due)(lk_store *s, int64_t now_ms, int max, lk_outbox_item **items, int *n);
    lk_err (*outbox_sent)(lk_store *s, int64_t id, const char *remote_id, int64_t now_ms);
    lk_err (*outbox_retry)(lk_store *s, int64_t id, int64_t next_at_ms, const char *error);
    lk_err (*outbox_drop)(lk_store *s, int64_t id, const char *error, int64_t now_ms);
    lk_err (*outbox_release)(lk_store *s, int64_t id);
    lk_err (*outbox_depth)(lk_store *s, int64_t *n);
    /* outbox_status.c: status is one of sent, delivered, read, failed */
    lk_err (*outbox_status)(lk_store *s, const char *channel, const char *remote_id,
                            const char *status, int error_code, int64_t now_ms, int *updated);
    lk_err (*session_time)(lk_store *s, const char *channel, const char *user, int64_t *updated_ms,
                           int *found);
    lk_err (*prune_seen)(lk_store *s, int64_t before_ms, int64_t *n);
    lk_err (*active_sessions)(lk_store *s, int64_t since_ms, int64_t *n);
    lk_err (*checkpoint)(lk_store *s, int64_t *log_bytes);
    /* truncate: 1 cuts the log to zero bytes, 0 keeps the file (RESTART) */
    lk_err (*checkpoint_full)(lk_store *s, int wait_ms, int truncate, int *done);
    lk_err (*wal_size)(lk_store *s, int64_t *bytes);
    lk_err (*secret)(lk_store *s, const char *name, const void *fresh, size_t n, lk_buf *out);
    /* privacy.c and misses.c, off the message path (sqlite_priv.c, pg_priv.c) */
    lk_err (*begin_read)(lk_store *s);
    lk_err (*query)(lk_store *s, const char *sql, const lk_sql_arg *args, int nargs, lk_row_fn fn,
                    void *ctx, int64_t *changes);
    /* sqlite_sync.c; NULL: commits are durable as they return (PostgreSQL) */
    int (*defer_sync)(lk_store *s);
    lk_err (*wal_sync)(lk_store *s);
};

/* The order of delivery statuses (a row only moves forward): sent 1,
 * delivered 2, read 3, failed 4; 0 for anything else. The backends write
 * the same order in SQL (OUTBOX_STATUS_RANK below). */
static inline int lk_outbox_status_rank(const char *st)
{
    static const char *const names[] = {"sent", "delivered", "read", "failed"};
    int i;

    for (i = 0; i < 4; i++)
        if (!__builtin_strcmp(st, names[i]))
            return i + 1;
    return 0;
}
#define OUTBOX_STATUS_RANK(x)                                                                      \
    "CASE " x " WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 "                    \
    "WHEN 'failed' THEN 4 ELSE 0 END"

/* The first member of every backend's store object. */
struct lk_store {
    const struct lk_store_ops *ops;
    char errmsg[512]; /* the last error, for lk_store_errmsg; "" when none yet */
    int retry;        /* lk_store_retryable; the backend sets and clears it */
};

/* Sets s->errmsg (truncating). Only called on error paths. */
void lk_store_set_err(lk_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sorts the rows outbox_due hands out by id (oldest first): a backend
 * picks them in the order of its due index. */
void lk_outbox_items_by_id(lk_outbox_item *items, int n);

/* ---- the SQLite backend (sqlite.c) ---- */

/* Same contract as lk_store_open; opts is never NULL here. */
lk_err lk_store_sqlite_open(const char *path, const lk_store_opts *opts, lk_store **out,
                            lk_diag *diag);
int lk_store_sqlite_schema_version(void);

/* The store's own SQLite connection, or NULL when s is not a SQLite store.
 * For tests and tools that must look at per-connection settings (PRAGMA
 * synchronous, max_page_count); never for the message path. */
struct sqlite3;
struct sqlite3 *lk_store_sqlite_db(lk_store *s);

/* ---- the PostgreSQL backend (pg.c, pg_maint.c) ---- */

/* 1 when path is a libpq connection URI ("postgresql://", "postgres://"). */
int lk_store_pg_uri(const char *path);
/* Same contract as lk_store_open; path is a libpq URI, opts never NULL. */
lk_err lk_store_pg_open(const char *uri, const lk_store_opts *opts, lk_store **out, lk_diag *diag);
int lk_store_pg_schema_version(void);
/* lk_store_ping for a PostgreSQL store; LK_EINVAL when s is not one. */
lk_err lk_store_pg_ping(lk_store *s);

#endif
