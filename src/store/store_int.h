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

struct lk_store_ops {
    const char *name; /* "sqlite" */
    void (*close)(lk_store *s);
    lk_err (*begin)(lk_store *s);
    lk_err (*commit)(lk_store *s);
    void (*rollback)(lk_store *s);
    lk_err (*savepoint)(lk_store *s);
    lk_err (*release)(lk_store *s);
    lk_err (*rollback_to)(lk_store *s);
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
    lk_err (*outbox_depth)(lk_store *s, int64_t *n);
    lk_err (*prune_seen)(lk_store *s, int64_t before_ms, int64_t *n);
    lk_err (*active_sessions)(lk_store *s, int64_t since_ms, int64_t *n);
    lk_err (*checkpoint)(lk_store *s);
    lk_err (*checkpoint_truncate)(lk_store *s, int wait_ms, int *done);
    lk_err (*wal_size)(lk_store *s, int64_t *bytes);
    lk_err (*secret)(lk_store *s, const char *name, const void *fresh, size_t n, lk_buf *out);
};

/* The first member of every backend's store object. */
struct lk_store {
    const struct lk_store_ops *ops;
    char errmsg[512]; /* the last error, for lk_store_errmsg; "" when none yet */
};

/* Sets s->errmsg (truncating). Only called on error paths. */
void lk_store_set_err(lk_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
