/* The inside of the PostgreSQL backend, shared by its files:
 *
 *   pg.c        open, the schema and its migrations, transactions, the
 *               message path, the vtable
 *   pg_maint.c  the outbox (claims with a lease), counts for the metrics,
 *               pruning under a lock, secrets, the health check
 *   pg_status.c delivery statuses of sent replies (schema step 6) and the
 *               time of a user's session, for the sender
 *   pg_priv.c   the statements of privacy.c and misses.c (retention,
 *               erasure, export, misses): unnamed, prepared per call
 *
 * These and the tests are the only files of loket that include libpq-fe.h. */
#ifndef LOKET_PG_INT_H
#define LOKET_PG_INT_H

#include "store_int.h"

#include <libpq-fe.h>

/* ---- statements prepared at open (their SQL is in pg.c) ---- */
enum {
    PS_SEEN,
    PS_LOAD,
    PS_LOCK_USER,
    PS_SAVE,
    PS_DELETE,
    PS_LOG,
    PS_OB_ADD,
    PS_OB_CLAIM,
    PS_OB_SENT,
    PS_OB_RETRY,
    PS_OB_DROP,
    PS_OB_DEPTH,
    PS_PRUNE_SEEN,
    PS_ACTIVE,
    PS_SECRET_PUT,
    PS_SECRET_GET,
    PS_OB_STATUS,    /* pg_status.c */
    PS_SESSION_TIME, /* pg_status.c */
    PS_LOCK_USERS,   /* pg_batch.c */
    PS_OB_RELEASE,   /* pg_maint.c */
    PS__N
};

#define PG_MAXPEND 64 /* statements queued at most before they are read */

typedef struct pg_store {
    lk_store base; /* first: an lk_store * is a pg_store * */
    PGconn *conn;
    int tx;           /* 1 from a successful begin until commit or rollback */
    int sp;           /* 1 while a savepoint is marked */
    int64_t lease_ms; /* lk_store_opts.outbox_lease_ms */
    int lock_ms;      /* lk_store_opts.busy_timeout_ms: lock_timeout */
    int async_commit; /* lk_store_opts.sync OFF: synchronous_commit = off */
    int locked;       /* lock_users ran in this transaction */
    int pipe;         /* in pipeline mode (pg_pipe.c): from begin to commit or rollback */
    int failed;       /* pipeline mode: a statement failed since the last savepoint or begin */
    int npend;        /* statements queued and not read yet */
    const char *pend[PG_MAXPEND]; /* their names, for the error of the one that fails */
    lk_buf keys;                  /* lock_users' parameter, kept for the next batch */
    char where[160];              /* "database D on H": names the server, never a secret */
} pg_store;

/* Parameters of one statement. Every value goes in binary format: integers
 * as 8 bytes in network order, text and blobs as their bytes in place (the
 * caller's memory, used until the call returns), so nothing is printf'd. */
#define PG_MAXP 8
typedef struct pg_params {
    const char *v[PG_MAXP];
    int len[PG_MAXP];
    int fmt[PG_MAXP];
    uint64_t i64[PG_MAXP];
    int n;
} pg_params;

void pg_p_text(pg_params *p, const char *z, size_t n); /* z NULL: SQL NULL */
void pg_p_i64(pg_params *p, int64_t v);

/* Runs prepared statement which; binary asks for binary results. Returns
 * the result (PQclear it) or NULL with the store's error set to
 * "op: the server's message" and *err the code. */
PGresult *pg_run(pg_store *q, int which, pg_params *p, int binary, const char *op, lk_err *err);
/* Refuses work in a transaction the server already aborted after an error,
 * or on a connection that was lost inside one. */
lk_err pg_usable(pg_store *q, const char *op);
/* Outside a transaction: reconnects a lost connection (and prepares the
 * statements again). */
lk_err pg_ready(pg_store *q, const char *op);
int64_t pg_i64(const PGresult *r, int row, int col); /* text-format column */
/* Sets the store's error to "op: the server's message" from r (NULL: the
 * connection's) and lk_store_retryable from r's SQLSTATE. */
void pg_fail(pg_store *q, const char *op, const PGresult *r);

/* ---- pg_status.c ---- */
/* The schema step that adds delivery statuses to the outbox, and the SQL of
 * its statements (prepared at open with the others). */
#define PG_MIGRATE_OUTBOX_STATUS                                                                   \
    "ALTER TABLE outbox ADD COLUMN status text, ADD COLUMN status_ms bigint,"                      \
    "  ADD COLUMN error_code integer;"                                                             \
    "CREATE INDEX outbox_remote ON outbox(remote_id) WHERE remote_id IS NOT NULL;"
#define PG_SQL_OB_STATUS                                                                           \
    "UPDATE outbox SET status = $3, status_ms = $4, "                                              \
    "error_code = CASE WHEN $5 <> 0 THEN $5 ELSE error_code END "                                  \
    "WHERE remote_id = $2 AND channel = $1 AND " OUTBOX_STATUS_RANK(                               \
        "status") " < " OUTBOX_STATUS_RANK("$3")
#define PG_SQL_SESSION_TIME "SELECT updated_ms FROM sessions WHERE channel = $1 AND \"user\" = $2"
lk_err pg_outbox_status(lk_store *s, const char *channel, const char *remote_id, const char *status,
                        int error_code, int64_t now_ms, int *updated);
lk_err pg_session_time(lk_store *s, const char *channel, const char *user, int64_t *updated_ms,
                       int *found);

/* ---- the outbox's queues (pg_maint.c) ---- */
/* Schema step 7, as SQLite's (sqlite_int.h): a pending row behind an older
 * pending row of its user has no due time and is not in outbox_due; the
 * trigger gives the row behind its due time when the row before it ends.
 * The trigger's function reads the table again in a statement of its own,
 * and so sees what other transactions committed meanwhile (a function's
 * statements take fresh snapshots at READ COMMITTED); its search_path is
 * the one it was made with, so it works on the outbox it belongs to. */
#define PG_MIGRATE_OUTBOX_HEADS                                                                    \
    "ALTER TABLE outbox ALTER COLUMN next_at_ms DROP NOT NULL;"                                    \
    "UPDATE outbox o SET next_at_ms = NULL WHERE o.sent_ms IS NULL AND EXISTS ("                   \
    "  SELECT 1 FROM outbox p WHERE p.\"user\" = o.\"user\" AND p.sent_ms IS NULL"                 \
    "  AND p.id < o.id);"                                                                          \
    "DROP INDEX outbox_due;"                                                                       \
    "CREATE INDEX outbox_due ON outbox(next_at_ms, id)"                                            \
    "  WHERE sent_ms IS NULL AND next_at_ms IS NOT NULL;"                                          \
    "CREATE FUNCTION outbox_next() RETURNS trigger LANGUAGE plpgsql"                               \
    "  SET search_path FROM CURRENT AS $f$"                                                        \
    "DECLARE t bigint;"                                                                            \
    "BEGIN"                                                                                        \
    "  IF TG_OP = 'UPDATE' THEN t := NEW.sent_ms; END IF;"                                         \
    "  UPDATE outbox SET next_at_ms = coalesce(t, created_ms)"                                     \
    "   WHERE next_at_ms IS NULL AND id = (SELECT min(id) FROM outbox"                             \
    "    WHERE \"user\" = OLD.\"user\" AND sent_ms IS NULL);"                                      \
    "  RETURN NULL;"                                                                               \
    "END $f$;"                                                                                     \
    "CREATE TRIGGER outbox_next_sent AFTER UPDATE OF sent_ms ON outbox FOR EACH ROW"               \
    "  WHEN (OLD.sent_ms IS NULL AND NEW.sent_ms IS NOT NULL) EXECUTE FUNCTION outbox_next();"     \
    "CREATE TRIGGER outbox_next_gone AFTER DELETE ON outbox FOR EACH ROW"                          \
    "  WHEN (OLD.sent_ms IS NULL) EXECUTE FUNCTION outbox_next();"
/* A new row is its user's head unless the user has a pending row, and then
 * it locks the last of them (FOR KEY SHARE) until its transaction ends. A
 * statement that ends a row locks it FOR UPDATE first (PG_OB_ENDING; a
 * DELETE does so by itself), which waits for that: so its trigger, which
 * runs after the wait, sees the new row and gives it its due time. Had the
 * row been ended first, the new row's lock waits for that transaction and
 * finds the row no longer pending, and the new row is the head. The other
 * updates of a pending row (retry, release, claim) take weaker locks that
 * a KEY SHARE lets through: they never wait for a message's transaction. */
#define PG_SQL_OB_ADD                                                                              \
    "WITH last AS (SELECT id FROM outbox WHERE \"user\" = $1 AND sent_ms IS NULL"                  \
    "  ORDER BY id DESC LIMIT 1 FOR KEY SHARE) "                                                   \
    "INSERT INTO outbox(\"user\", channel, payload, created_ms, attempts, next_at_ms) "            \
    "SELECT $1, $2, $3, $4, 0, CASE WHEN EXISTS (SELECT 1 FROM last) THEN NULL ELSE $4 END "       \
    "RETURNING id"
/* The due heads nobody holds, earliest due first in the order of
 * outbox_due, so that LIMIT ends the walk; the oldest-pending check keeps a
 * user's order even if two rows of the user had a due time. SKIP LOCKED:
 * two servers claiming at once take different rows instead of waiting for
 * each other; a row one of them updated meanwhile is checked again and,
 * leased now, left out. */
#define PG_OB_ENDING                                                                               \
    "WITH e AS (SELECT id FROM outbox WHERE id = $1 AND sent_ms IS NULL FOR UPDATE) "
#define PG_SQL_OB_CLAIM                                                                            \
    "UPDATE outbox SET lease_until_ms = $1 + $3 WHERE id IN ("                                     \
    " SELECT o.id FROM outbox o"                                                                   \
    " WHERE o.sent_ms IS NULL AND o.next_at_ms <= $1"                                              \
    " AND (o.lease_until_ms IS NULL OR o.lease_until_ms <= $1)"                                    \
    " AND o.id = (SELECT min(p.id) FROM outbox p"                                                  \
    "             WHERE p.\"user\" = o.\"user\" AND p.sent_ms IS NULL)"                            \
    " ORDER BY o.next_at_ms, o.id LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED) "                        \
    "RETURNING id, \"user\", channel, payload, attempts, next_at_ms, created_ms"
#define PG_SQL_OB_RELEASE                                                                          \
    "UPDATE outbox SET lease_until_ms = NULL WHERE id = $1 AND sent_ms IS NULL"
lk_err pg_outbox_release(lk_store *s, int64_t id);

/* ---- pg_maint.c ---- */
lk_err pg_outbox_due(lk_store *s, int64_t now_ms, int max, lk_outbox_item **items, int *n);
lk_err pg_outbox_sent(lk_store *s, int64_t id, const char *remote_id, int64_t now_ms);
lk_err pg_outbox_retry(lk_store *s, int64_t id, int64_t next_at_ms, const char *error);
lk_err pg_outbox_drop(lk_store *s, int64_t id, const char *error, int64_t now_ms);
lk_err pg_outbox_depth(lk_store *s, int64_t *n);
lk_err pg_prune_seen(lk_store *s, int64_t before_ms, int64_t *n);
lk_err pg_active_sessions(lk_store *s, int64_t since_ms, int64_t *n);
lk_err pg_checkpoint(lk_store *s, int64_t *log_bytes);
lk_err pg_checkpoint_full(lk_store *s, int wait_ms, int truncate, int *done);
lk_err pg_wal_size(lk_store *s, int64_t *bytes);
lk_err pg_secret(lk_store *s, const char *name, const void *fresh, size_t n, lk_buf *out);

/* ---- pg_pipe.c: pipeline mode inside a transaction ---- */
const char *pg_stmt_name(int which); /* the name statement which is prepared under */
/* Enters and leaves pipeline mode (leave reads whatever is queued first;
 * no-op outside it). */
lk_err pg_pipe_enter(pg_store *q);
void pg_pipe_leave(pg_store *q);
/* Reads whatever is queued (errors set the store's error and q->failed). */
lk_err pg_pipe_flush(pg_store *q);
/* Queues statement which (sql when which < 0) after what is queued, sends
 * all and reads every answer: the result of this one, or NULL and *err. */
PGresult *pg_pipe_run(pg_store *q, int which, const char *sql, pg_params *p, int binary,
                      const char *op, lk_err *err);
/* A statement whose answer nobody reads: queued in pipeline mode (its error
 * comes with the next statement that reads), else run at once. */
lk_err pg_defer(pg_store *q, int which, pg_params *p, const char *op);
lk_err pg_defer_sql(pg_store *q, const char *sql, const char *op); /* pipeline mode only */

/* ---- pg_batch.c ---- */
/* Every advisory lock of the users named by a text[] of "channel\x1fuser"
 * keys (the same key as PS_LOCK_USER's), in the order of the lock keys, one
 * at a time: the hash first, sorted, then the locks in that order. */
#define PG_SQL_LOCK_USERS                                                                          \
    "SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h "    \
    "FROM unnest($1::text[]) AS u(k) ORDER BY h) AS l"
lk_err pg_lock_users(lk_store *s, const char *const *channels, const char *const *users, int n);

/* ---- pg_priv.c ---- */
lk_err pg_begin_read(lk_store *s);
lk_err pg_query(lk_store *s, const char *sql, const lk_sql_arg *args, int nargs, lk_row_fn fn,
                void *ctx, int64_t *changes);

#endif
