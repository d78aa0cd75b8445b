/* loket store: sessions, the message log, processed external ids and the
 * outbox, behind a small interface so that another database can be added
 * beside SQLite without touching the engine or the gateway.
 *
 * One inbound message is one transaction:
 *   lk_store_begin -> lk_store_seen (dedup) -> lk_store_load -> step ->
 *   lk_store_save -> lk_store_log (in and out) -> lk_store_outbox_add ->
 *   lk_store_commit   (or lk_store_rollback on any error).
 * A reply leaves only after its transaction committed. The store never
 * interprets session blobs: the engine encodes and decodes them.
 *
 * Threads: an lk_store is one database connection and is used by one thread
 * at a time. A second thread (the gateway's sender) opens its own lk_store on
 * the same file; readers then never wait for the writer, and a writer waits
 * for the other up to busy_timeout_ms before failing with LK_ESTORE.
 *
 * Errors, for every function below that returns lk_err: LK_OK; LK_EINVAL for
 * a bad argument (NULL or empty user or channel, a blob over INT_MAX bytes,
 * ...); LK_ESTORE when the database failed (locked past the busy timeout,
 * disk full, I/O error); LK_ENOMEM. lk_store_errmsg then says what happened.
 * After any error inside a transaction the caller calls lk_store_rollback;
 * until then the store refuses further work in it with LK_ESTORE, since the
 * database may already have rolled it back by itself. */
#ifndef LOKET_STORE_H
#define LOKET_STORE_H

#include "loket/core.h"

typedef struct lk_store lk_store;

typedef enum lk_sync { LK_SYNC_OFF = 0, LK_SYNC_NORMAL = 1, LK_SYNC_FULL = 2 } lk_sync;

typedef struct lk_store_opts {
    lk_sync sync;           /* PRAGMA synchronous */
    int wal_autocheckpoint; /* pages; 0 turns automatic checkpoints off (run
                               lk_store_checkpoint off the message path) */
    int busy_timeout_ms;
    /* 1: this store is the one server of its database file. Before anything
     * else, open takes an exclusive lock held until lk_store_close, on a
     * lock file beside the database (PATH.lock, 0600, holding the pid).
     * When another process holds it, open fails with LK_ESTORE and diag
     * names that pid. Stores without it (loket chat, replay, the server's
     * other threads) neither take nor heed the lock. */
    int server_lock;
    /* Bytes; 0 for none. With automatic checkpoints off, a commit of this
     * connection that leaves the write-ahead log over this size checkpoints
     * and truncates it before the commit returns (waiting for readers up to
     * the busy timeout): the hard bound on the log for when a background
     * checkpoint cannot catch a writer that never pauses. */
    int64_t wal_limit;
    /* PostgreSQL only: how long a server holds the outbox rows that
     * lk_store_outbox_due handed it. Another server (or this one) gets a row
     * again only once its lease ran out without it being sent, retried or
     * dropped: so a row claimed by a server that died is sent after the
     * lease. Must be longer than one send attempt. */
    int64_t outbox_lease_ms;
} lk_store_opts;

/* FULL, 1000 pages, 5000 ms, no server lock, no WAL limit, a 60 s outbox
 * lease (or LOKET_OUTBOX_LEASE_MS milliseconds from the environment) */
void lk_store_opts_default(lk_store_opts *o);

/* Opens (creating and migrating as needed) the database at path; ":memory:"
 * gives a private in-memory database. A path that starts with
 * "postgresql://" or "postgres://" is a libpq connection URI instead: the
 * PostgreSQL backend (pg.c), for several servers on one database. A new file is created 0600 (its -wal
 * and -shm files take the same mode). On success *out owns the store
 * (lk_store_close). On failure *out is NULL and diag (may be NULL) says why. */
lk_err lk_store_open(const char *path, const lk_store_opts *opts, lk_store **out, lk_diag *diag);
void lk_store_close(lk_store *s); /* NULL-safe; rolls back an open transaction */

/* path as it may be logged: a PostgreSQL URI loses its user, password and
 * parameters ("postgresql://HOST:PORT/DB"), a file path stays as it is.
 * Writes into buf (n bytes) and returns it. */
const char *lk_store_redact(const char *path, char *buf, size_t n);

/* The schema version this build writes (PRAGMA user_version). */
int lk_store_schema_version(void);

/* begin takes the write lock at once (BEGIN IMMEDIATE), waiting up to the
 * busy timeout for another connection. LK_EINVAL if one is already open.
 * commit: LK_EINVAL without an open transaction; on LK_ESTORE the
 * transaction may still be open, so roll back. */
lk_err lk_store_begin(lk_store *s);
lk_err lk_store_commit(lk_store *s);
void lk_store_rollback(lk_store *s); /* no-op without an open transaction */
/* Sync behind (sqlite_sync.c): on a SQLite store opened at synchronous FULL,
 * lk_store_defer_sync switches s's commits to synchronous NORMAL and returns
 * 1; from then on a commit of s is durable only once an lk_store_wal_sync
 * (on any store of the same database) began after it returned, and nothing
 * of it may leave the process before. 0 (nothing changed) on other stores. */
int lk_store_defer_sync(lk_store *s);
/* fdatasync of the database's WAL through s's own descriptor: every commit
 * that returned before the call is on disk when it returns LK_OK. LK_OK at
 * once for PostgreSQL and in-memory databases; LK_EIO when the sync failed. */
lk_err lk_store_wal_sync(lk_store *s);

/* One savepoint inside an open transaction, so that many messages share one
 * commit and a failing one undoes only its own work: savepoint marks;
 * release keeps what was done since the mark and drops it; rollback_to
 * undoes what was done since the mark and drops it, the transaction staying
 * open. LK_EINVAL without an open transaction (or, for release and
 * rollback_to, without a mark). When release fails the mark stays, and
 * rollback_to undoes the work (PostgreSQL learns there whether the writes
 * since the mark went in). When rollback_to fails, the database may have
 * lost the whole transaction: roll back. */
lk_err lk_store_savepoint(lk_store *s);
lk_err lk_store_release(lk_store *s);
lk_err lk_store_rollback_to(lk_store *s);

/* Inside an open transaction, before the messages of a batch: locks the
 * users (channels[i], users[i]) of its n messages at once, in one order that
 * every server shares (PostgreSQL: each user's advisory lock, in the order
 * of their keys), so that two batches with the same users in opposite
 * orders wait for each other instead of deadlocking. A user may appear more
 * than once. A no-op for SQLite, whose one writer holds the database. */
lk_err lk_store_lock_users(lk_store *s, const char *const *channels, const char *const *users,
                           int n);
/* 1 when the store's last error was a lock conflict the database settled by
 * failing a statement of this transaction (PostgreSQL: a deadlock, a lock
 * timeout, a serialization failure): nothing was wrong with the work, which
 * may succeed when the transaction is rolled back and run again from begin.
 * 0 after the next begin. */
int lk_store_retryable(const lk_store *s);

/* Sessions and processed ids belong to a user of one channel: the key is
 * (channel, user), both non-empty, so that the same phone number on the
 * generic webhook and on WhatsApp are two users with two sessions. The pair
 * is stored as readable text ("whatsapp", "628111"), which is also how an
 * operator names a user. Sessions of databases older than schema 4 were
 * given the channel of their user's last inbound message in the log
 * ("legacy" when the log has none, a channel nothing reads). */

/* Records ext_id of (channel, user) as processed at now_ms. *dup is 1 when it
 * was already recorded (the caller then rolls back and acknowledges), 0 when
 * it is new. An empty or NULL ext_id is never a duplicate and is not recorded. */
lk_err lk_store_seen(lk_store *s, const char *channel, const char *user, const char *ext_id,
                     int64_t now_ms, int *dup);

/* Loads the session blob of (channel, user) into blob (reset first). *found
 * is 0 when there is no session yet (blob left empty). */
lk_err lk_store_load(lk_store *s, const char *channel, const char *user, lk_buf *blob, int *found);
/* Creates or replaces the session of (channel, user); blob may be NULL when n
 * is 0 (an empty session is still found by load). */
lk_err lk_store_save(lk_store *s, const char *channel, const char *user, const void *blob, size_t n,
                     int64_t now_ms);
/* LK_OK for a missing session too. */
lk_err lk_store_delete(lk_store *s, const char *channel, const char *user);

typedef enum lk_dir { LK_DIR_IN = 0, LK_DIR_OUT = 1 } lk_dir;

typedef struct lk_log_entry {
    const char *user;
    const char *channel; /* "chat", "ws", "whatsapp", "generic", "twilio" */
    lk_dir dir;
    int64_t at_ms;
    const char *state;  /* state after the step; may be NULL */
    const char *ext_id; /* external message id; may be NULL */
    const char *text;
    size_t text_len;
    const char *missed; /* in: the state that did not understand it; else NULL */
} lk_log_entry;

/* Appends e to the log; text_len bytes of text are stored (text may be NULL
 * when text_len is 0), an empty ext_id is stored as none. */
lk_err lk_store_log(lk_store *s, const lk_log_entry *e);

/* ---- outbox: replies waiting to be sent by a channel ---------------------- */
typedef struct lk_outbox_item {
    int64_t id;
    char *user;
    char *channel;
    char *payload; /* channel-specific, usually JSON */
    int attempts;
    int64_t next_at_ms;
    int64_t created_ms; /* when the reply was committed */
} lk_outbox_item;

/* Adds a pending reply; *id (may be NULL) gets its row id. Rows of one user
 * are sent in id order. */
lk_err lk_store_outbox_add(lk_store *s, const char *user, const char *channel, const char *payload,
                           int64_t now_ms, int64_t *id);
/* Up to max pending items due at now_ms (the earliest due, handed out
 * oldest first), at most the oldest pending one per user (so one user's
 * replies go out in order); the rows queued behind a user's oldest are not
 * read, so a call costs about what it hands out, however many wait. The caller
 * frees them with lk_outbox_items_free. Runs outside a transaction.
 * PostgreSQL: the items are claimed for lk_store_opts.outbox_lease_ms, so
 * that no other server (nor this one) gets them again until then; sent,
 * retry and drop end the claim. SQLite has one server and no claim. */
lk_err lk_store_outbox_due(lk_store *s, int64_t now_ms, int max, lk_outbox_item **items, int *n);
void lk_outbox_items_free(lk_outbox_item *items, int n); /* NULL-safe */
/* 1 when lk_store_outbox_due claims what it hands out (PostgreSQL): a row in
 * flight is not handed out again, so a sender asks only for as many rows as
 * it can start. 0 for SQLite, which hands out the rows in flight again. */
int lk_store_outbox_claims(const lk_store *s);
/* sent marks the row sent (remote_id, the channel's message id, may be NULL);
 * retry counts a failed attempt and makes the row due again at next_at_ms
 * (error, may be NULL, is kept for operators). Both return LK_EINVAL when id
 * is not a pending row (unknown, or already sent). */
lk_err lk_store_outbox_sent(lk_store *s, int64_t id, const char *remote_id, int64_t now_ms);
lk_err lk_store_outbox_retry(lk_store *s, int64_t id, int64_t next_at_ms, const char *error);
/* Gives up on a pending reply the channel refused for good (or that kept
 * failing for too long): it leaves the queue unsent, with no remote id and
 * error kept, so that the user's later replies can go. LK_EINVAL when id is
 * not a pending row. */
lk_err lk_store_outbox_drop(lk_store *s, int64_t id, const char *error, int64_t now_ms);
/* Hands a row lk_store_outbox_due gave back unchanged, no attempt counted.
 * PostgreSQL ends its claim, so that the row is due again at once for any
 * server (LK_EINVAL when id is not a pending row); SQLite claims nothing
 * and does nothing. */
lk_err lk_store_outbox_release(lk_store *s, int64_t id);
/* The delivery status the channel reported for the sent row of channel
 * whose remote id is remote_id (WhatsApp's statuses webhook: "sent",
 * "delivered", "read" or "failed"; anything else is LK_EINVAL). A status
 * never moves a row back (a "delivered" that arrives after "read" leaves
 * it read); error_code (0: none) is kept with a failed one. *updated (may be
 * NULL) is 1 when the row took the status, 0 when no row has that remote id
 * or the row is already at or past it. Outside or inside a transaction. */
lk_err lk_store_outbox_status(lk_store *s, const char *channel, const char *remote_id,
                              const char *status, int error_code, int64_t now_ms, int *updated);
/* When the session of (channel, user) was last saved: *updated_ms, and
 * *found 0 when there is none. The sender's view of a user's last message
 * (a session is saved by each message the user sends). */
lk_err lk_store_session_time(lk_store *s, const char *channel, const char *user,
                             int64_t *updated_ms, int *found);
/* Number of pending (unsent) rows, due or not. */
lk_err lk_store_outbox_depth(lk_store *s, int64_t *n);

/* Deletes processed ids older than before_ms; *n (may be NULL) gets the count. */
lk_err lk_store_prune_seen(lk_store *s, int64_t before_ms, int64_t *n);
/* Number of sessions saved at or after since_ms. */
lk_err lk_store_active_sessions(lk_store *s, int64_t since_ms, int64_t *n);
/* Runs a passive WAL checkpoint (meant for a background thread): copies into
 * the database what it can without waiting for anyone. *log_bytes (may be
 * NULL) gets how much of the write-ahead log is in use: the frames written
 * since the log last started over (0 without one). */
lk_err lk_store_checkpoint(lk_store *s, int64_t *log_bytes);
/* Copies the whole write-ahead log into the database and truncates it to
 * zero bytes (a TRUNCATE checkpoint), for a background thread. It waits up to
 * wait_ms for the writer of the moment to commit and then holds new writers
 * back while it runs (a PASSIVE checkpoint never finishes under a writer that
 * does not pause). *done (may be NULL) is 1 when the log was truncated, 0
 * when a reader or writer kept it busy past wait_ms (not an error: try again
 * later; a writer that holds the lock nearly all the time may keep it out,
 * and lk_store_opts.wal_limit is the bound then). */
lk_err lk_store_checkpoint_truncate(lk_store *s, int wait_ms, int *done);
/* The same, but the log file keeps its size and the next commit writes it
 * again from its start (a RESTART checkpoint): under load this spares the
 * file system freeing the file's blocks and allocating them again. */
lk_err lk_store_checkpoint_restart(lk_store *s, int wait_ms, int *done);
/* The size of the write-ahead log file in bytes (0 without one). */
lk_err lk_store_wal_size(lk_store *s, int64_t *bytes);

/* A secret of this database, kept in it under name: when it has none yet,
 * the n bytes of fresh are stored first (one value wins when two processes
 * race). out (reset first) gets the stored bytes. Outside a transaction. */
lk_err lk_store_secret(lk_store *s, const char *name, const void *fresh, size_t n, lk_buf *out);

/* The last error text of the store, for logs; never NULL. */
const char *lk_store_errmsg(const lk_store *s);

/* ---- operations: health and backups (health.c, backup.c) ------------------ */

/* Whether the database answers, for health checks (never the message path):
 * a read on the store's own connection, and for a file, that the file it
 * opened is still the one at its path (not deleted, moved or replaced, which
 * would leave the store writing to a file nobody reads). LK_OK; LK_ESTORE
 * with lk_store_errmsg saying what is wrong. Outside a transaction. */
lk_err lk_store_ping(lk_store *s);

/* Copies the database at path into a new file dest: a consistent snapshot of
 * every transaction committed before the copy began, taken while other
 * connections (a running server) keep reading and writing. The copy is
 * written beside dest, checked (PRAGMA quick_check), synced and renamed into
 * place, so dest is either the whole copy or absent. dest must not exist.
 * *pages (may be NULL) gets the copy's size in pages, *page_size its page
 * size. LK_EINVAL (dest exists, is the source, no database at path), LK_EIO
 * (dest's directory), LK_ESTORE; diag says why. */
lk_err lk_store_backup(const char *path, const char *dest, int64_t *pages, int *page_size,
                       lk_diag *diag);
/* ---- what the flow did not understand (loket misses) --------------------------
 * Inputs logged with a `missed` state since since_ms (0: all), of one state
 * when state is not NULL, normalised (lk_text_norm, runs of five or more
 * digits as "#", so personal numbers never show) and grouped by state and
 * text, most frequent first, then the latest. *out is malloc-ed (free with
 * lk_store_misses_free); *n rows. Not on the message path. */
typedef struct lk_miss {
    char *state; /* owned, like text */
    char *text;
    int64_t count;
    int64_t last_ms;
} lk_miss;
lk_err lk_store_misses(lk_store *s, int64_t since_ms, const char *state, lk_miss **out, int *n);
void lk_store_misses_free(lk_miss *m, int n);

/* ---- personal data: retention, erasure, access (privacy.c) ----------------
 * Every table that holds something of a user (sessions, log, outbox, seen)
 * carries its channel and user id; the secrets table holds the server's own
 * secrets and is never touched here. None of these run on the message path,
 * and none takes the server lock (lk_store_opts.server_lock): they run
 * beside a server on the same database, waiting for its transactions up to
 * the busy timeout. */

/* Where a round of lk_store_prune stands in one table (log, outbox,
 * sessions): its own business; a zeroed one starts the round. */
#define LK_PRUNE_TABLES 3
typedef struct lk_prune_cursor {
    int64_t id;       /* log and outbox: the last id read */
    char key[2][512]; /* sessions: the last (channel, user) read */
    int started, done;
} lk_prune_cursor;

/* What lk_store_prune deletes: rows older than each time; 0 keeps that table.
 * One round is one pass over each table: zero the struct (lk_prune_opts o =
 * {0}), set the times, call lk_store_prune until *more is 0. */
typedef struct lk_prune_opts {
    int64_t log_before_ms;     /* log rows with at_ms before this */
    int64_t outbox_before_ms;  /* sent or dropped outbox rows whose sent_ms is before this */
    int64_t session_before_ms; /* sessions last saved before this */
    int batch;                 /* rows per window and transaction; <= 0: 500 */
    lk_prune_cursor at[LK_PRUNE_TABLES];
} lk_prune_opts;

typedef struct lk_prune_counts {
    int64_t log, outbox, sessions;
} lk_prune_counts;

/* Deletes the old rows of the next window of `batch` rows of each table,
 * found without a lock and deleted in a short transaction of their own, so
 * a writer waits for at most one window (no index on the times: it would
 * cost the message path). Adds what it deleted to *n (may be NULL); *more
 * (may be NULL) is 1 until the round has been through every table (call
 * again, after a pause that lets writers in). PostgreSQL: one server at a
 * time (a lock; while another holds it, the round ends here). Outside a
 * transaction. */
lk_err lk_store_prune(lk_store *s, lk_prune_opts *o, lk_prune_counts *n, int *more);

/* What one user has stored, table by table (lk_store_forget's counts). */
typedef struct lk_user_counts {
    int64_t sessions, log, outbox, seen;
} lk_user_counts;

/* A user as an operator names one: (channel, user), or user on every
 * channel when channel is NULL. */
typedef struct lk_user_ref {
    const char *channel;
    const char *user;
} lk_user_ref;

/* Erases everything of the n users in one transaction: all of them or none.
 * counts (may be NULL) gets n entries, the rows removed per table for each
 * user. A user with nothing stored is not an error (zero counts). Outside a
 * transaction. */
lk_err lk_store_forget(lk_store *s, const lk_user_ref *users, int n, lk_user_counts *counts);

/* One row read from a table: ncols columns, each with its name, its value
 * (text; integers in decimal; a blob as its bytes; NULL for SQL NULL), its
 * length in bytes and its kind ('i' integer, 't' text, 'b' blob, 'n' NULL). */
typedef struct lk_store_row {
    int ncols;
    const char *const *names;
    const char *const *vals;
    const size_t *lens;
    const char *kinds;
} lk_store_row;

/* Every row stored about user (of channel, or of every channel when NULL),
 * table by table in a fixed order (sessions, log, outbox, seen), oldest
 * first, every column (SELECT *), read in one snapshot. fn gets each row
 * (borrowed until it returns) and returns 0 to go on; else the export stops
 * with LK_EIO. Outside a transaction. */
typedef int (*lk_export_fn)(void *ctx, const char *table, const lk_store_row *row);
/* The tables of a user, in export order: the i-th name, NULL past the last. */
const char *lk_store_user_table(int i);
lk_err lk_store_export(lk_store *s, const char *channel, const char *user, lk_export_fn fn,
                       void *ctx);

#endif
