/* The inside of the SQLite backend, shared by its files:
 *
 *   sqlite.c        open, the schema and its migrations, transactions, the
 *                   message path, the outbox, the vtable
 *   sqlite_sp.c     savepoints inside a transaction
 *   sqlite_outbox.c the outbox: replies queued per user, the due ones
 *                   handed to the sender, and what became of them
 *   sqlite_status.c delivery statuses of sent replies (schema step 6) and
 *                   the time of a user's session, for the sender
 *   sqlite_maint.c  housekeeping: counts for the metrics, pruning, WAL
 *                   checkpoints and size, the server lock, secrets, and the
 *                   creation mode of the database file
 *   sqlite_sync.c   syncing the WAL behind the commits (lk_store_wal_sync)
 *   sqlite_priv.c   the statements of privacy.c and misses.c (retention,
 *                   erasure, export, misses): prepared per call
 *
 * These and the tests are the only files of loket that include sqlite3.h. */
#ifndef LOKET_SQLITE_INT_H
#define LOKET_SQLITE_INT_H

#include "store_int.h"

#include <sqlite3.h>

/* ---- statements prepared at open (their SQL is in sqlite.c) ---- */
enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SEEN,
    ST_LOAD,
    ST_SAVE,
    ST_DELETE,
    ST_LOG,
    ST_OB_ADD,
    ST_OB_DUE,
    ST_OB_SENT,
    ST_OB_RETRY,
    ST_OB_DROP,
    ST_OB_DEPTH,
    ST_PRUNE_SEEN,
    ST_ACTIVE,
    ST_OB_STATUS,    /* sqlite_status.c */
    ST_SESSION_TIME, /* sqlite_status.c */
    ST__N
};

typedef struct sq_store {
    lk_store base; /* first: an lk_store * is an sq_store * */
    sqlite3 *db;
    sqlite3_stmt *st[ST__N];
    int tx;                   /* 1 from a successful begin until commit or rollback */
    int sp;                   /* 1 while a savepoint is marked (sqlite_sp.c) */
    sqlite3_stmt *sp_st[3];   /* its statements, prepared at first use */
    char *path;               /* the database file ("" in memory), for the lock */
    char *wal_path;           /* PATH-wal, NULL in memory */
    int lock_fd;              /* the server lock (lk_store_lock), -1 when not held */
    int busy_ms;              /* the busy timeout of the options */
    int64_t page_size;        /* bytes (PRAGMA page_size); a WAL frame is SQ_FRAME_BYTES(q) */
    int64_t wal_limit_frames; /* lk_store_opts.wal_limit in WAL frames; 0 none */
    int64_t wal_next_frames;  /* after a checkpoint that failed: the next try */
    int64_t wal_step_frames;  /* ... and how far beyond the one after it */
    int full;                 /* opened at synchronous FULL (sqlite_sync.c) */
    int wal_fd;               /* sqlite_sync.c: PATH-wal for fdatasync, -1 when not open */
    unsigned long long wal_dev, wal_ino; /* ... and the file it is */
    int wal_broken;                      /* an fdatasync failed: every later one fails too */
} sq_store;

/* A WAL frame: its 24-byte header and a page. */
#define SQ_FRAME_BYTES(q) ((q)->page_size + 24)

/* ---- helpers --------------------------------------------------------------- */

/* Records SQLite's message for a failed call and maps the code. Must run
 * before the statement is reset, which may replace the message. */
static inline lk_err fail(sq_store *q, const char *op, int rc)
{
    lk_store_set_err(&q->base, "%s: %s", op, sqlite3_errmsg(q->db));
    return (rc & 0xff) == SQLITE_NOMEM ? LK_ENOMEM : LK_ESTORE;
}

/* Bind helpers that do nothing once an earlier bind failed, so a statement
 * binds all its parameters and checks once. Text and blobs are bound
 * SQLITE_STATIC: the caller's memory is used in place, and done() clears the
 * bindings before that memory can go away. */
static inline void bind_text(sqlite3_stmt *st, int i, const char *z, int n, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = z ? sqlite3_bind_text(st, i, z, n, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static inline void bind_i64(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

static inline int step(sqlite3_stmt *st, int rc)
{
    return rc == SQLITE_OK ? sqlite3_step(st) : rc;
}

/* Ends one use of a prepared statement. Resetting at once matters beyond
 * reuse: a SELECT left unreset keeps its read snapshot open, which would
 * hide other connections' commits and hold back WAL checkpoints. */
static inline lk_err done(sq_store *q, sqlite3_stmt *st, int rc, const char *op)
{
    lk_err err = LK_OK;

    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = fail(q, op, rc);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

/* SQLite rolls a transaction back by itself after some errors (SQLITE_FULL,
 * SQLITE_IOERR, SQLITE_NOMEM, ...). Without this check, the statements the
 * caller runs next would each commit on their own: half a message stored. */
static inline lk_err usable(sq_store *q, const char *op)
{
    if (q->tx && sqlite3_get_autocommit(q->db)) {
        lk_store_set_err(&q->base,
                         "%s: the transaction was already rolled back after an error; "
                         "call lk_store_rollback",
                         op);
        return LK_ESTORE;
    }
    return LK_OK;
}

/* ---- sqlite_sp.c ---- */
lk_err sq_savepoint(lk_store *s);
lk_err sq_release(lk_store *s);
lk_err sq_rollback_to(lk_store *s);
void sq_sp_free(sq_store *q); /* finalizes the savepoint statements */
/* ---- sqlite_outbox.c ---- */
/* Schema step 7: a pending row queued behind an older pending row of its
 * user has no due time (NULL next_at_ms) and is not in outbox_due; the row
 * behind gets one when the row before it ends (sent, dropped, deleted), by
 * the triggers, in the statement that ends it. So the due rows are the
 * users' head rows only, found in the index without reading the queues
 * behind them. The table is made again because SQLite cannot drop the NOT
 * NULL of a column (same columns, same order). */
/* The triggers' body: the oldest pending row of the user is due from t. */
#define SQ_OUTBOX_NEXT(who, t)                                                                     \
    " UPDATE outbox SET next_at_ms = " t " WHERE next_at_ms IS NULL AND id = ("                    \
    "  SELECT min(id) FROM outbox WHERE user = " who ".user AND sent_ms IS NULL); END;"
#define SQ_OUTBOX_NEXT_SENT SQ_OUTBOX_NEXT("NEW", "NEW.sent_ms")
#define SQ_OUTBOX_NEXT_GONE SQ_OUTBOX_NEXT("OLD", "created_ms")
#define SQ_MIGRATE_OUTBOX_HEADS                                                                    \
    "CREATE TABLE outbox_7("                                                                       \
    "  id INTEGER PRIMARY KEY,"                                                                    \
    "  user TEXT NOT NULL,"                                                                        \
    "  channel TEXT NOT NULL,"                                                                     \
    "  payload TEXT NOT NULL,"                                                                     \
    "  created_ms INTEGER NOT NULL,"                                                               \
    "  attempts INTEGER NOT NULL DEFAULT 0,"                                                       \
    "  next_at_ms INTEGER," /* NULL: behind an older pending row of the user */                    \
    "  sent_ms INTEGER,"                                                                           \
    "  remote_id TEXT,"                                                                            \
    "  last_error TEXT,"                                                                           \
    "  status TEXT,"                                                                               \
    "  status_ms INTEGER,"                                                                         \
    "  error_code INTEGER);"                                                                       \
    "INSERT INTO outbox_7 SELECT o.id, o.user, o.channel, o.payload, o.created_ms, o.attempts,"    \
    "  CASE WHEN o.sent_ms IS NULL AND EXISTS (SELECT 1 FROM outbox p WHERE p.user = o.user"       \
    "    AND p.sent_ms IS NULL AND p.id < o.id) THEN NULL ELSE o.next_at_ms END,"                  \
    "  o.sent_ms, o.remote_id, o.last_error, o.status, o.status_ms, o.error_code FROM outbox o;"   \
    "DROP TABLE outbox;"                                                                           \
    "ALTER TABLE outbox_7 RENAME TO outbox;"                                                       \
    "CREATE INDEX outbox_due ON outbox(next_at_ms)"                                                \
    "  WHERE sent_ms IS NULL AND next_at_ms IS NOT NULL;"                                          \
    "CREATE INDEX outbox_user ON outbox(user, id) WHERE sent_ms IS NULL;"                          \
    "CREATE INDEX outbox_remote ON outbox(remote_id) WHERE remote_id IS NOT NULL;"                 \
    "CREATE TRIGGER outbox_next_sent AFTER UPDATE OF sent_ms ON outbox"                            \
    "  WHEN OLD.sent_ms IS NULL AND NEW.sent_ms IS NOT NULL BEGIN" SQ_OUTBOX_NEXT_SENT             \
    "CREATE TRIGGER outbox_next_gone AFTER DELETE ON outbox"                                       \
    "  WHEN OLD.sent_ms IS NULL BEGIN" SQ_OUTBOX_NEXT_GONE
/* A new row is its user's head, due at once, unless the user has a pending
 * row already. */
#define SQ_SQL_OB_ADD                                                                              \
    "INSERT INTO outbox(user, channel, payload, created_ms, attempts, next_at_ms) "                \
    "VALUES (?1, ?2, ?3, ?4, 0, CASE WHEN EXISTS (SELECT 1 FROM outbox "                           \
    "  WHERE user = ?1 AND sent_ms IS NULL) THEN NULL ELSE ?4 END)"
/* The due heads, earliest due first, in the order of outbox_due (its rowid
 * breaks ties), so that LIMIT stops the walk: no sort of every due row.
 * The oldest-pending check costs one look into outbox_user per row handed
 * out and keeps a user's order even if two of the user's rows had a due
 * time (a row given one by hand). */
#define SQ_SQL_OB_DUE                                                                              \
    "SELECT o.id, o.user, o.channel, o.payload, o.attempts, o.next_at_ms, o.created_ms "           \
    "FROM outbox o "                                                                               \
    "WHERE o.next_at_ms <= ?1 AND o.sent_ms IS NULL "                                              \
    "AND o.id = (SELECT min(p.id) FROM outbox p WHERE p.user = o.user AND p.sent_ms IS NULL) "     \
    "ORDER BY o.next_at_ms, o.id LIMIT ?2"
#define SQ_SQL_OB_SENT                                                                             \
    "UPDATE outbox SET sent_ms = ?2, remote_id = ?3 WHERE id = ?1 AND sent_ms IS NULL"
#define SQ_SQL_OB_RETRY                                                                            \
    "UPDATE outbox SET attempts = attempts + 1, next_at_ms = ?2, "                                 \
    "last_error = ?3 WHERE id = ?1 AND sent_ms IS NULL"
/* a dropped reply leaves the queue like a sent one, without a remote id */
#define SQ_SQL_OB_DROP                                                                             \
    "UPDATE outbox SET sent_ms = ?2, remote_id = NULL, last_error = ?3 "                           \
    "WHERE id = ?1 AND sent_ms IS NULL"
lk_err sq_outbox_add(lk_store *s, const char *user, const char *channel, const char *payload,
                     int64_t now_ms, int64_t *id);
lk_err sq_outbox_due(lk_store *s, int64_t now_ms, int max, lk_outbox_item **items, int *n);
lk_err sq_outbox_sent(lk_store *s, int64_t id, const char *remote_id, int64_t now_ms);
lk_err sq_outbox_retry(lk_store *s, int64_t id, int64_t next_at_ms, const char *error);
lk_err sq_outbox_drop(lk_store *s, int64_t id, const char *error, int64_t now_ms);
lk_err sq_outbox_release(lk_store *s, int64_t id);

/* ---- sqlite_status.c ---- */
/* The schema step that adds delivery statuses to the outbox, and the SQL of
 * its statements (prepared at open with the others). */
#define SQ_MIGRATE_OUTBOX_STATUS                                                                   \
    "ALTER TABLE outbox ADD COLUMN status TEXT;"                                                   \
    "ALTER TABLE outbox ADD COLUMN status_ms INTEGER;"                                             \
    "ALTER TABLE outbox ADD COLUMN error_code INTEGER;"                                            \
    "CREATE INDEX outbox_remote ON outbox(remote_id) WHERE remote_id IS NOT NULL;"
#define SQ_SQL_OB_STATUS                                                                           \
    "UPDATE outbox SET status = ?3, status_ms = ?4, "                                              \
    "error_code = CASE WHEN ?5 != 0 THEN ?5 ELSE error_code END "                                  \
    "WHERE remote_id = ?2 AND channel = ?1 AND " OUTBOX_STATUS_RANK(                               \
        "status") " < " OUTBOX_STATUS_RANK("?3")
#define SQ_SQL_SESSION_TIME "SELECT updated_ms FROM sessions WHERE channel = ?1 AND user = ?2"
lk_err sq_outbox_status(lk_store *s, const char *channel, const char *remote_id, const char *status,
                        int error_code, int64_t now_ms, int *updated);
lk_err sq_session_time(lk_store *s, const char *channel, const char *user, int64_t *updated_ms,
                       int *found);

/* ---- sqlite_maint.c ---- */
lk_err sq_outbox_depth(lk_store *s, int64_t *n);
lk_err sq_active_sessions(lk_store *s, int64_t since_ms, int64_t *n);
lk_err sq_prune_seen(lk_store *s, int64_t before_ms, int64_t *n);
lk_err sq_checkpoint(lk_store *s, int64_t *log_bytes);
lk_err sq_checkpoint_full(lk_store *s, int wait_ms, int truncate, int *done);
lk_err sq_wal_size(lk_store *s, int64_t *bytes);
lk_err sq_secret(lk_store *s, const char *name, const void *fresh, size_t n, lk_buf *out);

/* ---- sqlite_priv.c ---- */
lk_err sq_begin_read(lk_store *s);
lk_err sq_query(lk_store *s, const char *sql, const lk_sql_arg *args, int nargs, lk_row_fn fn,
                void *ctx, int64_t *changes);

/* Creates path 0600 when it does not exist yet, so that SQLite, which gives
 * the -wal and -shm files the mode of the database, never makes any of them
 * readable by others. */
void sq_create_private(const char *path);
/* Takes the server lock of the database at path (lk_store_opts.server_lock):
 * *fd gets the open lock file, held until sq_unlock. */
lk_err sq_lock(const char *path, int *fd, lk_diag *diag);
void sq_unlock(int fd); /* -1 is a no-op */

/* sqlite_sync.c */
int sq_defer_sync(lk_store *s);
lk_err sq_wal_sync(lk_store *s);
void sq_sync_close(sq_store *q);

#endif
