/* The SQLite backend of the store (with sqlite_maint.c, the only files of
 * loket that include sqlite3.h).
 *
 * Open sets up the connection (WAL, synchronous, checkpoints, busy timeout),
 * brings the schema forward with the migrations below and prepares every
 * statement the message path needs. From then on a message costs only
 * bind/step/reset on those statements: no SQL text is parsed, nothing is
 * printf'd and nothing is allocated here (lk_buf growth in load aside).
 *
 * An lk_store is one SQLite connection opened with SQLITE_OPEN_NOMUTEX, so
 * one thread at a time may use it. Another thread (the gateway's sender)
 * opens its own lk_store on the same file; WAL lets its reads run beside a
 * writer, and the busy timeout makes two writers wait for each other rather
 * than fail. */
#include "sqlite_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- schema --------------------------------------------------------------
 * migrations[i] brings a database from user_version i to i + 1. Append new
 * steps at the end; never edit a step that has shipped, since databases in
 * the field were made by it. Each step runs in the one transaction that also
 * sets user_version, so a failed step leaves the database as it was. */
static const char *const migrations[] = {
    /* 1: sessions, the message log, processed external ids */
    "CREATE TABLE sessions("
    "  user TEXT PRIMARY KEY NOT NULL,"
    "  blob BLOB NOT NULL," /* opaque to the store; the engine's encoding */
    "  updated_ms INTEGER NOT NULL);"
    "CREATE INDEX sessions_updated ON sessions(updated_ms);"
    "CREATE TABLE log("
    "  id INTEGER PRIMARY KEY,"
    "  user TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  dir TEXT NOT NULL," /* 'in' or 'out' */
    "  at_ms INTEGER NOT NULL,"
    "  state TEXT,"
    "  ext_id TEXT,"
    "  text TEXT NOT NULL);"
    "CREATE INDEX log_user ON log(user, id);"
    "CREATE TABLE seen("
    "  channel TEXT NOT NULL,"
    "  ext_id TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(channel, ext_id)) WITHOUT ROWID;"
    /* lets lk_store_prune_seen delete old ids without scanning them all
     * while it holds the write lock */
    "CREATE INDEX seen_at ON seen(at_ms);",

    /* 2: the outbox */
    "CREATE TABLE outbox("
    "  id INTEGER PRIMARY KEY,"
    "  user TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at_ms INTEGER NOT NULL,"
    "  sent_ms INTEGER," /* NULL while pending */
    "  remote_id TEXT,"
    "  last_error TEXT);"
    /* Partial indexes: they hold only pending rows, so they stay small
     * however long the table grows. */
    "CREATE INDEX outbox_due ON outbox(next_at_ms) WHERE sent_ms IS NULL;"
    "CREATE INDEX outbox_user ON outbox(user, id) WHERE sent_ms IS NULL;",

    /* 3: fewer pages written per message. Every index is one more page each
     * transaction writes to the WAL; nothing on the message path reads these
     * two, and the rare readers (the active-session gauge, a user's log) can
     * afford a scan. */
    "DROP INDEX IF EXISTS sessions_updated; DROP INDEX IF EXISTS log_user;",

    /* 4: sessions and processed ids belong to (channel, user), so that one
     * phone number on two channels is two users; and a table of secrets.
     * An old session gets the channel of its user's last inbound message
     * in the log (the last channel that drove it); one without any is kept
     * under "legacy", which no channel reads, rather than handed to a
     * channel that may belong to someone else. Websocket ids lose the "ws:"
     * prefix they had when the id alone was the key (log rows too, so that
     * a user's log and session carry the same id). A processed id gets its
     * user from the log row of the same message; one without a log row is
     * dropped (the log and the id are written in one transaction, so only a
     * hand-pruned log has them). */
    "CREATE TABLE sessions_4("
    "  channel TEXT NOT NULL,"
    "  user TEXT NOT NULL,"
    "  blob BLOB NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(channel, user));"
    "WITH last(user, channel, id) AS ("
    "  SELECT user, channel, max(id) FROM log WHERE dir = 'in' GROUP BY user),"
    " keyed(channel, user, blob, updated_ms) AS ("
    "  SELECT coalesce(last.channel,"
    "                  CASE WHEN substr(s.user, 1, 3) = 'ws:' THEN 'ws' ELSE 'legacy' END),"
    "         s.user, s.blob, s.updated_ms"
    "  FROM sessions s LEFT JOIN last ON last.user = s.user)"
    "INSERT INTO sessions_4(channel, user, blob, updated_ms)"
    "  SELECT channel, CASE WHEN channel = 'ws' AND substr(user, 1, 3) = 'ws:'"
    "                  THEN substr(user, 4) ELSE user END, blob, updated_ms FROM keyed;"
    "DROP TABLE sessions;"
    "ALTER TABLE sessions_4 RENAME TO sessions;"
    "CREATE TABLE seen_4("
    "  channel TEXT NOT NULL,"
    "  user TEXT NOT NULL,"
    "  ext_id TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(channel, user, ext_id)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO seen_4(channel, user, ext_id, at_ms)"
    "  SELECT l.channel, CASE WHEN l.channel = 'ws' AND substr(l.user, 1, 3) = 'ws:'"
    "                    THEN substr(l.user, 4) ELSE l.user END, l.ext_id, s.at_ms"
    "  FROM log l JOIN seen s ON s.channel = l.channel AND s.ext_id = l.ext_id"
    "  WHERE l.dir = 'in' AND l.ext_id IS NOT NULL;"
    "DROP TABLE seen;"
    "ALTER TABLE seen_4 RENAME TO seen;"
    "CREATE INDEX seen_at ON seen(at_ms);"
    "UPDATE log SET user = substr(user, 4) WHERE channel = 'ws' AND substr(user, 1, 3) = 'ws:';"
    "CREATE TABLE secrets(name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);",

    /* 5: the state that did not understand an inbound message, for `loket
     * misses`; the partial index holds only those rows */
    "ALTER TABLE log ADD COLUMN missed TEXT;"
    "CREATE INDEX log_missed ON log(at_ms)"
    "  WHERE missed IS NOT NULL;",

    /* 6: the delivery status of a sent reply (sqlite_status.c) */
    SQ_MIGRATE_OUTBOX_STATUS,

    /* 7: only a user's oldest pending reply has a due time (sqlite_outbox.c) */
    SQ_MIGRATE_OUTBOX_HEADS,
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* What a reset write-ahead log keeps on the disk (PRAGMA journal_size_limit):
 * more than the 1000 pages of the default automatic checkpoint, so that a
 * log reset after one is not cut and grown again each time. */
#define WAL_KEEP_BYTES (8 * 1024 * 1024)

/* The page size of a new database (open): half of SQLite's 4096, which the
 * webhook benchmark measured at 14.6-15.1k messages/s against 13.9-14.3k,
 * with 12.0 KB written per message instead of 18.5 (websocket messages, a
 * session row and two log rows each, alike). A session of up to about 2 KB
 * still fits in its page. */
#define DB_PAGE_BYTES "2048"

/* ---- statements prepared at open ----------------------------------------- */
static const char *const stmt_sql[ST__N] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SEEN] = "INSERT OR IGNORE INTO seen(channel, user, ext_id, at_ms) VALUES (?1, ?2, ?3, ?4)",
    [ST_LOAD] = "SELECT blob FROM sessions WHERE channel = ?1 AND user = ?2",
    [ST_SAVE] = "INSERT INTO sessions(channel, user, blob, updated_ms) VALUES (?1, ?2, ?3, ?4) "
                "ON CONFLICT(channel, user) DO UPDATE SET blob = excluded.blob, "
                "updated_ms = excluded.updated_ms",
    [ST_DELETE] = "DELETE FROM sessions WHERE channel = ?1 AND user = ?2",
    [ST_LOG] = "INSERT INTO log(user, channel, dir, at_ms, state, ext_id, text, missed) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_OB_ADD] = SQ_SQL_OB_ADD,
    [ST_OB_DUE] = SQ_SQL_OB_DUE,
    [ST_OB_SENT] = SQ_SQL_OB_SENT,
    [ST_OB_RETRY] = SQ_SQL_OB_RETRY,
    [ST_OB_DROP] = SQ_SQL_OB_DROP,
    [ST_OB_DEPTH] = "SELECT count(*) FROM outbox WHERE sent_ms IS NULL",
    [ST_PRUNE_SEEN] = "DELETE FROM seen WHERE at_ms < ?1",
    [ST_ACTIVE] = "SELECT count(*) FROM sessions WHERE updated_ms >= ?1",
    [ST_OB_STATUS] = SQ_SQL_OB_STATUS,
    [ST_SESSION_TIME] = SQ_SQL_SESSION_TIME,
};

static const struct lk_store_ops sq_ops;

/* ---- open, migrate, close ------------------------------------------------------ */

/* Runs a statement that returns one row with one column (a PRAGMA, a count)
 * and copies the first column. Open path only. */
static int query1(sqlite3 *db, const char *sql, int64_t *iv, char *tv, size_t tcap)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            if (iv)
                *iv = sqlite3_column_int64(st, 0);
            if (tv) {
                const char *z = (const char *)sqlite3_column_text(st, 0);
                snprintf(tv, tcap, "%s", z ? z : "");
            }
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_OK; /* no row: leave the outputs as they are */
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static lk_err open_fail(sq_store *q, const char *path, lk_diag *diag, const char *what)
{
    lk_diag_add(diag, path, 0, 0, NULL, "store: %s: %s", what, sqlite3_errmsg(q->db));
    return LK_ESTORE;
}

/* Brings the schema to SCHEMA_VERSION. The version is read again under the
 * write lock, so two processes opening a new file at once migrate it once. */
static lk_err migrate(sq_store *q, const char *path, lk_diag *diag)
{
    sqlite3 *db = q->db;
    int64_t have = 0, tables = 0;
    char *emsg = NULL, sql[64];
    lk_err err = LK_ESTORE;
    int i;

    if (query1(db, "PRAGMA user_version", &have, NULL, 0) != SQLITE_OK)
        return open_fail(q, path, diag, "cannot read the schema version");
    if (have == SCHEMA_VERSION)
        return LK_OK;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return open_fail(q, path, diag, "cannot lock the database to migrate it");
    if (query1(db, "PRAGMA user_version", &have, NULL, 0) != SQLITE_OK ||
        query1(db, "SELECT count(*) FROM sqlite_master", &tables, NULL, 0) != SQLITE_OK) {
        open_fail(q, path, diag, "cannot read the schema version");
        goto out;
    }
    if (have > SCHEMA_VERSION || have < 0) {
        lk_diag_add(diag, path, 0, 0, NULL,
                    "store: the database has schema version %lld but this build of loket "
                    "knows versions up to %d; it was written by a newer loket, use that",
                    (long long)have, SCHEMA_VERSION);
        goto out;
    }
    if (have == 0 && tables > 0) {
        lk_diag_add(diag, path, 0, 0, NULL,
                    "store: the file holds tables but no loket schema version; "
                    "not a loket database?");
        goto out;
    }
    for (i = (int)have; i < SCHEMA_VERSION; i++) {
        if (sqlite3_exec(db, migrations[i], NULL, NULL, &emsg) != SQLITE_OK) {
            lk_diag_add(diag, path, 0, 0, NULL,
                        "store: migrating the schema from version %d to %d failed: %s", i, i + 1,
                        emsg ? emsg : sqlite3_errmsg(db));
            sqlite3_free(emsg);
            goto out;
        }
    }
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SCHEMA_VERSION);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        open_fail(q, path, diag, "cannot commit the schema migration");
        goto out;
    }
    return LK_OK;
out:
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

/* How long the committing thread waits for readers to leave the log when it
 * checkpoints past its limit: it is the message path's thread. */
#define WAL_HOOK_WAIT_MS 200

/* Called by SQLite after each commit of this connection with the frames
 * now in the log (automatic checkpoints use the same hook, so it is only
 * set when they are off). Past the limit the committing thread checkpoints
 * at once (RESTART: its next commit writes the file again from its start):
 * it has just released the write lock and is the one writer that would
 * otherwise go on appending. Its result is not the commit's. A try
 * that fails at once (another connection was checkpointing) is made again
 * after the next commit. One that waited in vain for a reader (a long read
 * elsewhere keeps the log) is made again once the log has grown by an eighth
 * of the limit, then by twice that, and so on: a stuck reader costs the
 * message path a few short waits, not one per commit. */
static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    sq_store *q = arg;
    int64_t t0;
    int rc;

    if (frames < q->wal_limit_frames)
        q->wal_next_frames = q->wal_step_frames = 0; /* the log was reset meanwhile */
    if (frames < q->wal_limit_frames || frames < q->wal_next_frames)
        return SQLITE_OK;
    t0 = mono_ms();
    sqlite3_busy_timeout(db, WAL_HOOK_WAIT_MS);
    rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    sqlite3_busy_timeout(db, q->busy_ms);
    if (rc == SQLITE_OK || mono_ms() - t0 < WAL_HOOK_WAIT_MS / 2) {
        q->wal_next_frames = q->wal_step_frames = 0;
    } else {
        q->wal_step_frames =
            q->wal_step_frames ? 2 * q->wal_step_frames : q->wal_limit_frames / 8 + 1;
        q->wal_next_frames = frames + q->wal_step_frames;
    }
    return SQLITE_OK;
}

static void sq_free(sq_store *q)
{
    int i;

    for (i = 0; i < ST__N; i++)
        sqlite3_finalize(q->st[i]);
    sq_sp_free(q);
    sqlite3_close_v2(q->db); /* NULL-safe */
    sq_unlock(q->lock_fd);
    sq_sync_close(q);
    free(q->path);
    free(q->wal_path);
    free(q);
}

/* SQLite's memory statistics take a global mutex on every allocation of every
 * connection; loket never reads them. Once per process, before SQLite starts
 * (later, sqlite3_config refuses and nothing changes). */
static pthread_once_t config_once = PTHREAD_ONCE_INIT;
static void config(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

lk_err lk_store_sqlite_open(const char *path, const lk_store_opts *opts, lk_store **out,
                            lk_diag *diag)
{
    static const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int mem = !*path || !strcmp(path, ":memory:");
    char mode[32] = "", sql[64];
    sq_store *q;
    lk_err err = LK_ESTORE;
    int i, rc;

    pthread_once(&config_once, config);
    q = calloc(1, sizeof *q);
    if (!q) {
        lk_diag_add(diag, path, 0, 0, NULL, "store: out of memory");
        return LK_ENOMEM;
    }
    q->base.ops = &sq_ops;
    q->lock_fd = -1;
    q->wal_fd = -1;
    q->full = opts->sync == LK_SYNC_FULL;
    if (!(q->path = strdup(mem ? "" : path))) {
        lk_diag_add(diag, path, 0, 0, NULL, "store: out of memory");
        free(q);
        return LK_ENOMEM;
    }
    /* The lock comes first: a second server must not even migrate the
     * schema under the first. */
    if (!mem && opts->server_lock && (err = sq_lock(path, &q->lock_fd, diag)) != LK_OK)
        goto fail;
    err = LK_ESTORE;
    if (!mem)
        sq_create_private(path);
    rc = sqlite3_open_v2(path, &q->db, flags, NULL);
    if (rc != SQLITE_OK) {
        if (q->db)
            open_fail(q, path, diag, "cannot open the database");
        else
            lk_diag_add(diag, path, 0, 0, NULL, "store: cannot open the database: %s",
                        sqlite3_errstr(rc));
        err = rc == SQLITE_NOMEM ? LK_ENOMEM : LK_ESTORE;
        goto fail;
    }
    if (sqlite3_db_readonly(q->db, "main") == 1) {
        /* SQLite falls back to read-only for a write-protected file; say so
         * now rather than "attempt to write a readonly database" later. */
        lk_diag_add(diag, path, 0, 0, NULL, "store: the database file is not writable");
        goto fail;
    }
    sqlite3_extended_result_codes(q->db, 1);
    q->busy_ms = opts->busy_timeout_ms;
    sqlite3_busy_timeout(q->db, opts->busy_timeout_ms);

    /* The first statement is the first read of the file: a file that is
     * not a database fails here. */
    if (!mem) {
        /* A new database gets pages of DB_PAGE_BYTES (an existing one keeps
         * its own): most of what a message writes is a row or index entry
         * of a few dozen bytes in a page of its user (sessions, seen,
         * outbox_user), and each such page goes to the WAL whole. */
        sqlite3_exec(q->db, "PRAGMA page_size = " DB_PAGE_BYTES, NULL, NULL, NULL);
        if (query1(q->db, "PRAGMA journal_mode = WAL", NULL, mode, sizeof mode) != SQLITE_OK) {
            open_fail(q, path, diag, "cannot switch to WAL mode");
            goto fail;
        }
        if (strcmp(mode, "wal") != 0) {
            lk_diag_add(diag, path, 0, 0, NULL,
                        "store: the database stayed in journal mode \"%s\" instead of WAL "
                        "(is it on a file system without shared memory?)",
                        mode);
            goto fail;
        }
    }
    snprintf(sql, sizeof sql, "PRAGMA synchronous = %d", (int)opts->sync);
    if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        open_fail(q, path, diag, "cannot set PRAGMA synchronous");
        goto fail;
    }
    if (sqlite3_wal_autocheckpoint(q->db, opts->wal_autocheckpoint) != SQLITE_OK) {
        open_fail(q, path, diag, "cannot set wal_autocheckpoint");
        goto fail;
    }
    q->page_size = 4096;
    if (query1(q->db, "PRAGMA page_size", &q->page_size, NULL, 0) != SQLITE_OK ||
        q->page_size <= 0) {
        open_fail(q, path, diag, "cannot read the page size");
        goto fail;
    }
    if (!mem && opts->wal_autocheckpoint == 0 && opts->wal_limit > 0) {
        q->wal_limit_frames = opts->wal_limit / SQ_FRAME_BYTES(q) + 1;
        sqlite3_wal_hook(q->db, wal_hook, q);
    }
    /* A log that was reset after a checkpoint is cut back to this size
     * instead of keeping the size of its busiest minute on the disk. Under a
     * limit it is a little more than the limit (the commit that passes it
     * included): a log restarted at the limit is written again in place, not
     * cut and grown each time. */
    snprintf(
        sql, sizeof sql, "PRAGMA journal_size_limit = %lld",
        (long long)(q->wal_limit_frames ? opts->wal_limit + opts->wal_limit / 8 : WAL_KEEP_BYTES));
    if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        open_fail(q, path, diag, "cannot set PRAGMA journal_size_limit");
        goto fail;
    }
    if (!mem) {
        const char *f = sqlite3_db_filename(q->db, "main");
        size_t n = f ? strlen(f) : 0;

        if (n && (q->wal_path = malloc(n + 5)))
            snprintf(q->wal_path, n + 5, "%s-wal", f);
        else if (n) {
            lk_diag_add(diag, path, 0, 0, NULL, "store: out of memory");
            err = LK_ENOMEM;
            goto fail;
        }
    }
    if ((err = migrate(q, path, diag)) != LK_OK)
        goto fail;
    err = LK_ESTORE;
    for (i = 0; i < ST__N; i++) {
        rc = sqlite3_prepare_v3(q->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &q->st[i], NULL);
        if (rc != SQLITE_OK) {
            lk_diag_add(diag, path, 0, 0, NULL, "store: cannot prepare \"%s\": %s", stmt_sql[i],
                        sqlite3_errmsg(q->db));
            goto fail;
        }
    }
    *out = &q->base;
    return LK_OK;
fail:
    sq_free(q);
    return err;
}

static void sq_rollback(lk_store *s)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_ROLLBACK];

    q->tx = 0;
    q->sp = 0;
    if (sqlite3_get_autocommit(q->db))
        return; /* never begun, or SQLite already rolled back after an error */
    done(q, st, sqlite3_step(st), "rollback");
}

static void sq_close(lk_store *s)
{
    sq_rollback(s);
    sq_free((sq_store *)s);
}

struct sqlite3 *lk_store_sqlite_db(lk_store *s)
{
    return s && s->ops == &sq_ops ? ((sq_store *)s)->db : NULL;
}

int lk_store_sqlite_schema_version(void)
{
    return SCHEMA_VERSION;
}

/* ---- transactions ----------------------------------------------------------------- */

static lk_err sq_begin(lk_store *s)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_BEGIN];
    lk_err err;

    if (q->tx) {
        lk_store_set_err(s, "begin: a transaction is already open");
        return LK_EINVAL;
    }
    /* IMMEDIATE takes the write lock now, waiting up to the busy timeout,
     * instead of failing at the first write without waiting. */
    err = done(q, st, sqlite3_step(st), "begin");
    if (err == LK_OK)
        q->tx = 1;
    return err;
}

static lk_err sq_commit(lk_store *s)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_COMMIT];
    lk_err err;

    if (!q->tx) {
        lk_store_set_err(s, "commit: no open transaction");
        return LK_EINVAL;
    }
    if ((err = usable(q, "commit")) != LK_OK)
        return err;
    /* On failure the transaction may still be open; the caller rolls back. */
    err = done(q, st, sqlite3_step(st), "commit");
    if (err == LK_OK)
        q->tx = q->sp = 0;
    return err;
}

/* ---- the message path --------------------------------------------------------------- */

static lk_err sq_seen(lk_store *s, const char *channel, const char *user, const char *ext_id,
                      int64_t now_ms, int *dup)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_SEEN];
    int rc = SQLITE_OK;
    lk_err err;

    if ((err = usable(q, "seen")) != LK_OK)
        return err;
    bind_text(st, 1, channel, -1, &rc);
    bind_text(st, 2, user, -1, &rc);
    bind_text(st, 3, ext_id, -1, &rc);
    bind_i64(st, 4, now_ms, &rc);
    rc = step(st, rc);
    if (rc == SQLITE_DONE)
        *dup = sqlite3_changes(q->db) == 0; /* OR IGNORE skipped an existing row */
    return done(q, st, rc, "seen");
}

static lk_err sq_load(lk_store *s, const char *channel, const char *user, lk_buf *blob, int *found)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_LOAD];
    int rc = SQLITE_OK, n = 0;
    lk_err err;

    if ((err = usable(q, "load")) != LK_OK)
        return err;
    bind_text(st, 1, channel, -1, &rc);
    bind_text(st, 2, user, -1, &rc);
    rc = step(st, rc);
    if (rc == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 0);

        n = sqlite3_column_bytes(st, 0);
        if (!p && n > 0) /* SQLite could not allocate the value */
            rc = sqlite3_errcode(q->db);
        else if (n > 0)
            lk_buf_put(blob, p, (size_t)n);
        *found = rc == SQLITE_ROW;
    }
    err = done(q, st, rc, "load");
    if (err == LK_OK && blob->oom) {
        lk_store_set_err(s, "load: out of memory for a session of %d bytes", n);
        *found = 0;
        err = LK_ENOMEM;
    }
    return err;
}

static lk_err sq_save(lk_store *s, const char *channel, const char *user, const void *blob,
                      size_t n, int64_t now_ms)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_SAVE];
    int rc = SQLITE_OK;
    lk_err err;

    if ((err = usable(q, "save")) != LK_OK)
        return err;
    bind_text(st, 1, channel, -1, &rc);
    bind_text(st, 2, user, -1, &rc);
    if (rc == SQLITE_OK) /* a NULL pointer would bind SQL NULL, not an empty blob */
        rc = n ? sqlite3_bind_blob(st, 3, blob, (int)n, SQLITE_STATIC)
               : sqlite3_bind_zeroblob(st, 3, 0);
    bind_i64(st, 4, now_ms, &rc);
    return done(q, st, step(st, rc), "save");
}

static lk_err sq_del(lk_store *s, const char *channel, const char *user)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_DELETE];
    int rc = SQLITE_OK;
    lk_err err;

    if ((err = usable(q, "delete")) != LK_OK)
        return err;
    bind_text(st, 1, channel, -1, &rc);
    bind_text(st, 2, user, -1, &rc);
    return done(q, st, step(st, rc), "delete");
}

static lk_err sq_log(lk_store *s, const lk_log_entry *e)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_LOG];
    int rc = SQLITE_OK;
    lk_err err;

    if ((err = usable(q, "log")) != LK_OK)
        return err;
    bind_text(st, 1, e->user, -1, &rc);
    bind_text(st, 2, e->channel, -1, &rc);
    bind_text(st, 3, e->dir == LK_DIR_IN ? "in" : "out", -1, &rc);
    bind_i64(st, 4, e->at_ms, &rc);
    bind_text(st, 5, e->state, -1, &rc);
    bind_text(st, 6, e->ext_id && *e->ext_id ? e->ext_id : NULL, -1, &rc);
    bind_text(st, 7, e->text ? e->text : "", (int)e->text_len, &rc);
    bind_text(st, 8, e->missed, -1, &rc);
    return done(q, st, step(st, rc), "log");
}

static const struct lk_store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .savepoint = sq_savepoint,
    .release = sq_release,
    .rollback_to = sq_rollback_to,
    .seen = sq_seen,
    .load = sq_load,
    .save = sq_save,
    .del = sq_del,
    .log = sq_log,
    .outbox_add = sq_outbox_add,
    .outbox_due = sq_outbox_due,
    .outbox_sent = sq_outbox_sent,
    .outbox_retry = sq_outbox_retry,
    .outbox_drop = sq_outbox_drop,
    .outbox_release = sq_outbox_release,
    .outbox_depth = sq_outbox_depth,
    .outbox_status = sq_outbox_status,
    .session_time = sq_session_time,
    .prune_seen = sq_prune_seen,
    .active_sessions = sq_active_sessions,
    .checkpoint = sq_checkpoint,
    .checkpoint_full = sq_checkpoint_full,
    .wal_size = sq_wal_size,
    .secret = sq_secret,
    .begin_read = sq_begin_read,
    .query = sq_query,
    .defer_sync = sq_defer_sync,
    .wal_sync = sq_wal_sync,
};
