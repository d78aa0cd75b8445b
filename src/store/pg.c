/* The PostgreSQL backend of the store (with pg_maint.c, the only files of
 * loket that include libpq-fe.h), for several `loket serve` processes on one
 * database.
 *
 * Open connects with the libpq URI, brings the schema forward under a lock
 * and prepares every statement the message path needs, so that a message
 * costs only PQexecPrepared calls with binary parameters.
 *
 * Several servers, one database:
 * - Exactly once: seen() inserts into the processed ids, whose primary key
 *   makes the second server's insert of the same id wait for the first's
 *   transaction and then find it (ON CONFLICT DO NOTHING: a duplicate).
 * - One user at a time: load() locks the user's session row (SELECT ... FOR
 *   UPDATE), so a second transaction of the same user waits until the first
 *   commits and then reads what it wrote (PostgreSQL rereads a row it waited
 *   for). A user without a session row has nothing to lock: then load()
 *   takes a transaction-scoped advisory lock on a hash of (channel, user)
 *   and reads again, in a new statement and so a new snapshot. The common
 *   case (a known user) costs one query; a new user three.
 * - The outbox is claimed with a lease (pg_maint.c).
 * - Two servers that start at once migrate once: the migration runs under a
 *   transaction-scoped advisory lock, and reads the version under it. */
#include "pg_int.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

/* Advisory lock keys of loket (arbitrary constants, the same in every
 * server): the migration, and the maintenance (pg_maint.c). */
#define LOCK_MIGRATE 0x6c6f6b6574000001LL

/* ---- schema ----------------------------------------------------------------
 * pg_migrations[i] brings a database from version i to i + 1, with the same
 * numbers as SQLite's migrations (sqlite.c), so that a version names the same
 * schema on both. No PostgreSQL database predates this backend, so each step
 * creates the shape SQLite reached at that version directly (sessions and
 * processed ids keyed by channel and user from the first step). Append new
 * steps at the end, in step with sqlite.c. The version is kept in
 * loket_schema. "user" is quoted: it is a reserved word here. */
static const char *const pg_migrations[] = {
    /* 1: sessions, the message log, processed external ids */
    "CREATE TABLE sessions("
    "  channel text NOT NULL,"
    "  \"user\" text NOT NULL,"
    "  blob bytea NOT NULL,"
    "  updated_ms bigint NOT NULL,"
    "  PRIMARY KEY(channel, \"user\"));"
    "CREATE TABLE log("
    "  id bigserial PRIMARY KEY,"
    "  \"user\" text NOT NULL,"
    "  channel text NOT NULL,"
    "  dir text NOT NULL,"
    "  at_ms bigint NOT NULL,"
    "  state text,"
    "  ext_id text,"
    "  text text NOT NULL);"
    "CREATE TABLE seen("
    "  channel text NOT NULL,"
    "  \"user\" text NOT NULL,"
    "  ext_id text NOT NULL,"
    "  at_ms bigint NOT NULL,"
    "  PRIMARY KEY(channel, \"user\", ext_id));"
    "CREATE INDEX seen_at ON seen(at_ms);",

    /* 2: the outbox, with the lease of the server that claimed a row */
    "CREATE TABLE outbox("
    "  id bigserial PRIMARY KEY,"
    "  \"user\" text NOT NULL,"
    "  channel text NOT NULL,"
    "  payload text NOT NULL,"
    "  created_ms bigint NOT NULL,"
    "  attempts integer NOT NULL DEFAULT 0,"
    "  next_at_ms bigint NOT NULL,"
    "  sent_ms bigint,"
    "  remote_id text,"
    "  last_error text,"
    "  lease_until_ms bigint);" /* NULL: nobody holds it */
    "CREATE INDEX outbox_due ON outbox(next_at_ms) WHERE sent_ms IS NULL;"
    "CREATE INDEX outbox_user ON outbox(\"user\", id) WHERE sent_ms IS NULL;",

    /* 3: SQLite dropped two indexes here that this schema never had */
    "SELECT 1",

    /* 4: a table of secrets (the channel keys are in step 1 already) */
    "CREATE TABLE secrets(name text PRIMARY KEY, value bytea NOT NULL);",

    /* 5: the state that did not understand an inbound message */
    "ALTER TABLE log ADD COLUMN missed text;"
    "CREATE INDEX log_missed ON log(at_ms)"
    "  WHERE missed IS NOT NULL;",

    /* 6: the delivery status of a sent reply (pg_status.c) */
    PG_MIGRATE_OUTBOX_STATUS,

    /* 7: only a user's oldest pending reply has a due time (pg_int.h) */
    PG_MIGRATE_OUTBOX_HEADS,
};

#define PG_SCHEMA_VERSION ((int)(sizeof pg_migrations / sizeof pg_migrations[0]))

/* ---- statements prepared at open; types: t text, i bigint, b bytea ------- */
static const struct {
    const char *sql, *types;
} stmts[PS__N] = {
    [PS_SEEN] = {"INSERT INTO seen(channel, \"user\", ext_id, at_ms) VALUES ($1, $2, $3, $4) "
                 "ON CONFLICT DO NOTHING",
                 "ttti"},
    [PS_LOAD] = {"SELECT blob FROM sessions WHERE channel = $1 AND \"user\" = $2 FOR UPDATE", "tt"},
    [PS_LOCK_USER] = {"SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(31) || $2, 0))",
                      "tt"},
    [PS_SAVE] =
        {"INSERT INTO sessions(channel, \"user\", blob, updated_ms) VALUES ($1, $2, $3, $4) "
         "ON CONFLICT (channel, \"user\") DO UPDATE SET blob = excluded.blob, "
         "updated_ms = excluded.updated_ms",
         "ttbi"},
    [PS_DELETE] = {"DELETE FROM sessions WHERE channel = $1 AND \"user\" = $2", "tt"},
    [PS_LOG] = {"INSERT INTO log(\"user\", channel, dir, at_ms, state, ext_id, text, missed) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                "tttitttt"},
    [PS_OB_ADD] = {PG_SQL_OB_ADD, "ttti"},
    [PS_OB_CLAIM] = {PG_SQL_OB_CLAIM, "iii"},
    [PS_OB_SENT] = {PG_OB_ENDING "UPDATE outbox SET sent_ms = $2, remote_id = $3, "
                                 "lease_until_ms = NULL WHERE id = (SELECT id FROM e)",
                    "iit"},
    [PS_OB_RETRY] = {"UPDATE outbox SET attempts = attempts + 1, next_at_ms = $2, "
                     "last_error = $3, lease_until_ms = NULL WHERE id = $1 AND sent_ms IS NULL",
                     "iit"},
    [PS_OB_DROP] = {PG_OB_ENDING "UPDATE outbox SET sent_ms = $2, remote_id = NULL, "
                                 "last_error = $3, lease_until_ms = NULL "
                                 "WHERE id = (SELECT id FROM e)",
                    "iit"},
    [PS_OB_DEPTH] = {"SELECT count(*) FROM outbox WHERE sent_ms IS NULL", ""},
    /* one server prunes at a time: the others find the lock (0x6c6f6b6574000002,
     * beside LOCK_MIGRATE) taken and skip */
    [PS_PRUNE_SEEN] = {"WITH l AS (SELECT pg_try_advisory_xact_lock(7813581961993125890) AS got) "
                       "DELETE FROM seen WHERE at_ms < $1 AND (SELECT got FROM l)",
                       "i"},
    [PS_ACTIVE] = {"SELECT count(*) FROM sessions WHERE updated_ms >= $1", "i"},
    [PS_SECRET_PUT] = {"INSERT INTO secrets(name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                       "tb"},
    [PS_SECRET_GET] = {"SELECT value FROM secrets WHERE name = $1", "t"},
    [PS_OB_STATUS] = {PG_SQL_OB_STATUS, "tttii"},
    [PS_SESSION_TIME] = {PG_SQL_SESSION_TIME, "tt"},
    [PS_LOCK_USERS] = {PG_SQL_LOCK_USERS, "a"},
    [PS_OB_RELEASE] = {PG_SQL_OB_RELEASE, "i"},
};

/* the names the statements are prepared under, by index */
static const char *const names[PS__N] = {"lk0",  "lk1",  "lk2",  "lk3",  "lk4",  "lk5",  "lk6",
                                         "lk7",  "lk8",  "lk9",  "lk10", "lk11", "lk12", "lk13",
                                         "lk14", "lk15", "lk16", "lk17", "lk18", "lk19"};

static const struct lk_store_ops pg_ops;

int lk_store_pg_uri(const char *path)
{
    return path && (!strncmp(path, "postgresql://", 13) || !strncmp(path, "postgres://", 11));
}

int lk_store_pg_schema_version(void)
{
    return PG_SCHEMA_VERSION;
}

/* ---- helpers -------------------------------------------------------------- */

void pg_p_text(pg_params *p, const char *z, size_t n)
{
    int i = p->n++;

    p->v[i] = z;
    p->len[i] = z ? (int)n : 0;
    p->fmt[i] = 1; /* binary text is its bytes */
}

void pg_p_i64(pg_params *p, int64_t v)
{
    int i = p->n++;

    p->i64[i] = htobe64((uint64_t)v);
    p->v[i] = (const char *)&p->i64[i];
    p->len[i] = 8;
    p->fmt[i] = 1;
}

/* The server's message: its first line only. The lines after it (DETAIL,
 * "Failing row contains (...)") may quote the values of a row, a user's
 * text among them, and the message goes to the server log. */
static void set_pg_err(pg_store *q, const char *op, const char *msg)
{
    size_t n = msg ? strcspn(msg, "\n") : 0;

    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    lk_store_set_err(&q->base, "%s: %s: %.*s", op, q->where, (int)n, msg ? msg : "");
}

/* The SQLSTATEs of a lock conflict the server settled by failing a
 * statement: deadlock_detected, serialization_failure, lock_not_available
 * (lock_timeout). The transaction's work may succeed when run again. */
static int conflict(const PGresult *r)
{
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    return st && (!strcmp(st, "40P01") || !strcmp(st, "40001") || !strcmp(st, "55P03"));
}

void pg_fail(pg_store *q, const char *op, const PGresult *r)
{
    set_pg_err(q, op, r ? PQresultErrorMessage(r) : PQerrorMessage(q->conn));
    q->base.retry = conflict(r);
}

const char *pg_stmt_name(int which)
{
    return names[which];
}

PGresult *pg_run(pg_store *q, int which, pg_params *p, int binary, const char *op, lk_err *err)
{
    PGresult *r;
    ExecStatusType st;

    if (q->pipe)
        return pg_pipe_run(q, which, NULL, p, binary, op, err);
    r = PQexecPrepared(q->conn, names[which], p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL,
                       p ? p->fmt : NULL, binary);
    st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    *err = LK_OK;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    pg_fail(q, op, r);
    *err = r ? LK_ESTORE : LK_ENOMEM;
    PQclear(r);
    return NULL;
}

int64_t pg_i64(const PGresult *r, int row, int col)
{
    return (int64_t)strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Runs a command without parameters (BEGIN, COMMIT, the migration). */
static lk_err exec(pg_store *q, const char *sql, const char *op, const char *want_status)
{
    PGresult *r;
    ExecStatusType st;
    lk_err err = LK_OK;

    if (q->pipe) { /* one statement, and what was queued before it */
        if (!(r = pg_pipe_run(q, -1, sql, NULL, 0, op, &err)))
            return err;
    } else {
        r = PQexec(q->conn, sql);
    }
    st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pg_fail(q, op, r);
        err = r ? LK_ESTORE : LK_ENOMEM;
    } else if (want_status && strcmp(PQcmdStatus(r), want_status) != 0) {
        lk_store_set_err(&q->base, "%s: %s: the server answered %s", op, q->where, PQcmdStatus(r));
        err = LK_ESTORE;
    }
    PQclear(r);
    return err;
}

static void no_notices(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* The per-connection settings and the prepared statements. */
static lk_err setup(pg_store *q)
{
    char sql[96];
    lk_err err;
    int i, k;

    /* both again after a reconnect (pg_ready) */
    snprintf(sql, sizeof sql, "SET lock_timeout = %d; SET synchronous_commit = %s", q->lock_ms,
             q->async_commit ? "off" : "on");
    if ((err = exec(q, sql, "set lock_timeout and synchronous_commit", NULL)) != LK_OK)
        return err;
    for (i = 0; i < PS__N; i++) {
        Oid types[PG_MAXP];
        PGresult *r;

        for (k = 0; stmts[i].types[k]; k++)
            types[k] = stmts[i].types[k] == 't'   ? 25   /* text */
                       : stmts[i].types[k] == 'b' ? 17   /* bytea */
                       : stmts[i].types[k] == 'a' ? 1009 /* text[] */
                                                  : 20;  /* bigint */
        r = PQprepare(q->conn, names[i], stmts[i].sql, k, types);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
            set_pg_err(q, "prepare", r ? PQresultErrorMessage(r) : PQerrorMessage(q->conn));
            PQclear(r);
            return LK_ESTORE;
        }
        PQclear(r);
    }
    return LK_OK;
}

lk_err pg_ready(pg_store *q, const char *op)
{
    if (PQstatus(q->conn) == CONNECTION_OK)
        return LK_OK;
    PQreset(q->conn);
    if (PQstatus(q->conn) != CONNECTION_OK) {
        set_pg_err(q, op, PQerrorMessage(q->conn));
        return LK_ESTORE;
    }
    return setup(q);
}

lk_err pg_usable(pg_store *q, const char *op)
{
    if (!q->tx)
        return pg_ready(q, op);
    /* in pipeline mode libpq says "active" throughout: q->failed tells */
    if (PQstatus(q->conn) != CONNECTION_OK ||
        (q->pipe ? q->failed : PQtransactionStatus(q->conn) != PQTRANS_INTRANS)) {
        lk_store_set_err(&q->base,
                         "%s: the transaction was already rolled back after an error; "
                         "call lk_store_rollback",
                         op);
        return LK_ESTORE;
    }
    return LK_OK;
}

/* ---- open, migrate, close ------------------------------------------------- */

static lk_err migrate(pg_store *q)
{
    char sql[160];
    PGresult *r;
    int have = 0, v;
    lk_err err;

    if ((err = exec(q, "BEGIN", "migrate", NULL)) != LK_OK)
        return err;
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%lld)", (long long)LOCK_MIGRATE);
    if ((err = exec(q, sql, "migrate: lock", NULL)) != LK_OK ||
        (err = exec(q, "CREATE TABLE IF NOT EXISTS loket_schema(version integer NOT NULL)",
                    "migrate", NULL)) != LK_OK)
        goto fail;
    r = PQexec(q->conn, "SELECT version FROM loket_schema");
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
        set_pg_err(q, "migrate", r ? PQresultErrorMessage(r) : PQerrorMessage(q->conn));
        PQclear(r);
        err = LK_ESTORE;
        goto fail;
    }
    if (PQntuples(r) > 0)
        have = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (have > PG_SCHEMA_VERSION) {
        lk_store_set_err(&q->base,
                         "the database has schema version %d, newer than this loket's %d "
                         "(upgrade loket)",
                         have, PG_SCHEMA_VERSION);
        err = LK_ESTORE;
        goto fail;
    }
    for (v = have; v < PG_SCHEMA_VERSION; v++) {
        snprintf(sql, sizeof sql, "migrate to schema %d", v + 1);
        if ((err = exec(q, pg_migrations[v], sql, NULL)) != LK_OK)
            goto fail;
    }
    if (have < PG_SCHEMA_VERSION) {
        snprintf(sql, sizeof sql, "DELETE FROM loket_schema; INSERT INTO loket_schema VALUES (%d)",
                 PG_SCHEMA_VERSION);
        if ((err = exec(q, sql, "migrate", NULL)) != LK_OK)
            goto fail;
    }
    return exec(q, "COMMIT", "migrate", "COMMIT");
fail:
    PQclear(PQexec(q->conn, "ROLLBACK"));
    return err;
}

static void pg_free(pg_store *q)
{
    PQfinish(q->conn); /* NULL-safe */
    lk_buf_free(&q->keys);
    free(q);
}

lk_err lk_store_pg_open(const char *uri, const lk_store_opts *opts, lk_store **out, lk_diag *diag)
{
    const char *keys[] = {"dbname", "fallback_application_name", NULL};
    const char *vals[] = {uri, "loket", NULL};
    pg_store *q = calloc(1, sizeof *q);
    const char *db, *host;
    lk_err err = LK_ESTORE;

    if (!q) {
        lk_diag_add(diag, NULL, 0, 0, NULL, "store: out of memory");
        return LK_ENOMEM;
    }
    q->base.ops = &pg_ops;
    q->lease_ms = opts->outbox_lease_ms;
    q->lock_ms = opts->busy_timeout_ms;
    q->async_commit = opts->sync == LK_SYNC_OFF;
    q->conn = PQconnectdbParams(keys, vals, 1);
    if (!q->conn) {
        lk_diag_add(diag, NULL, 0, 0, NULL, "store: out of memory");
        free(q);
        return LK_ENOMEM;
    }
    /* The URI may hold a password: messages name the database and the
     * host only, never the URI. */
    db = PQdb(q->conn);
    host = PQhost(q->conn);
    snprintf(q->where, sizeof q->where, "database %s on %s", db && *db ? db : "(default)",
             host && *host ? host : "the default socket");
    if (PQstatus(q->conn) != CONNECTION_OK) {
        set_pg_err(q, "cannot connect", PQerrorMessage(q->conn));
        goto fail;
    }
    PQsetNoticeProcessor(q->conn, no_notices, NULL); /* kept across PQreset */
    if ((err = migrate(q)) != LK_OK || (err = setup(q)) != LK_OK)
        goto fail;
    *out = &q->base;
    return LK_OK;
fail:
    lk_diag_add(diag, NULL, 0, 0, NULL, "store: PostgreSQL: %s", q->base.errmsg);
    pg_free(q);
    return err;
}

static void pg_rollback(lk_store *s)
{
    pg_store *q = (pg_store *)s;

    pg_pipe_leave(q);
    if (q->tx && PQstatus(q->conn) == CONNECTION_OK && PQtransactionStatus(q->conn) != PQTRANS_IDLE)
        PQclear(PQexec(q->conn, "ROLLBACK"));
    q->tx = q->sp = q->locked = q->failed = 0;
}

static void pg_close(lk_store *s)
{
    pg_rollback(s);
    pg_free((pg_store *)s);
}

/* ---- transactions --------------------------------------------------------- */

static lk_err pg_begin(lk_store *s)
{
    pg_store *q = (pg_store *)s;
    lk_err err;

    if (q->tx) {
        lk_store_set_err(s, "begin: a transaction is already open");
        return LK_EINVAL;
    }
    s->retry = 0;
    /* BEGIN is only queued: it goes with the transaction's first statement */
    if ((err = pg_ready(q, "begin")) != LK_OK || (err = pg_pipe_enter(q)) != LK_OK)
        return err;
    if ((err = pg_defer_sql(q, "BEGIN", "begin")) != LK_OK) {
        pg_pipe_leave(q);
        return err;
    }
    q->tx = 1;
    return LK_OK;
}

static lk_err pg_commit(lk_store *s)
{
    pg_store *q = (pg_store *)s;
    lk_err err;

    if (!q->tx) {
        lk_store_set_err(s, "commit: no open transaction");
        return LK_EINVAL;
    }
    if ((err = pg_usable(q, "commit")) != LK_OK)
        return err;
    /* an aborted transaction "commits" as ROLLBACK: that is a failure */
    if ((err = exec(q, "COMMIT", "commit", "COMMIT")) == LK_OK) {
        pg_pipe_leave(q);
        q->tx = q->sp = q->locked = q->failed = 0;
    }
    return err;
}

/* One savepoint level ("m"): a transaction of many messages undoes a failing
 * message's work alone. After an error PostgreSQL refuses everything in the
 * transaction but ROLLBACK TO, which is why rollback_to does not ask
 * pg_usable. */
static lk_err pg_savepoint(lk_store *s)
{
    pg_store *q = (pg_store *)s;
    lk_err err;

    if (!q->tx || q->sp) {
        lk_store_set_err(s, "savepoint: %s", q->tx ? "one is marked already" : "no transaction");
        return LK_EINVAL;
    }
    if ((err = pg_usable(q, "savepoint")) != LK_OK ||
        (err = q->pipe ? pg_defer_sql(q, "SAVEPOINT m", "savepoint")
                       : exec(q, "SAVEPOINT m", "savepoint", NULL)) != LK_OK)
        return err;
    q->sp = 1;
    return LK_OK;
}

static lk_err pg_release(lk_store *s)
{
    pg_store *q = (pg_store *)s;
    lk_err err;

    if (!q->tx || !q->sp) {
        lk_store_set_err(s, "release: no savepoint");
        return LK_EINVAL;
    }
    if ((err = pg_usable(q, "release")) != LK_OK ||
        (err = exec(q, "RELEASE SAVEPOINT m", "release", NULL)) != LK_OK)
        return err;
    q->sp = 0;
    return LK_OK;
}

static lk_err pg_rollback_to(lk_store *s)
{
    pg_store *q = (pg_store *)s;
    lk_err err;

    if (!q->tx || !q->sp) {
        lk_store_set_err(s, "rollback to savepoint: no savepoint");
        return LK_EINVAL;
    }
    if (PQstatus(q->conn) != CONNECTION_OK) {
        lk_store_set_err(s, "rollback to savepoint: %s: the connection was lost", q->where);
        return LK_ESTORE;
    }
    if (q->pipe && q->npend)
        pg_pipe_flush(q); /* what the failed message queued: its errors are undone here */
    if ((err = q->pipe
                   ? pg_defer_sql(q, "ROLLBACK TO SAVEPOINT m", "rollback to savepoint")
                   : exec(q, "ROLLBACK TO SAVEPOINT m", "rollback to savepoint", NULL)) != LK_OK ||
        (err = exec(q, "RELEASE SAVEPOINT m", "rollback to savepoint", NULL)) != LK_OK)
        return err;
    q->sp = q->failed = 0;
    return LK_OK;
}

/* ---- the message path ----------------------------------------------------- */

/* Runs a statement of the message path that returns nothing to look at. */
static lk_err run0(pg_store *q, int which, pg_params *p, const char *op, int *changed)
{
    lk_err err;
    PGresult *r;

    if ((err = pg_usable(q, op)) != LK_OK)
        return err;
    if (!(r = pg_run(q, which, p, 0, op, &err)))
        return err;
    if (changed)
        *changed = atoi(PQcmdTuples(r));
    PQclear(r);
    return LK_OK;
}

static lk_err pg_seen(lk_store *s, const char *channel, const char *user, const char *ext_id,
                      int64_t now_ms, int *dup)
{
    pg_params p = {.n = 0};
    int changed = 0;
    lk_err err;

    pg_p_text(&p, channel, strlen(channel));
    pg_p_text(&p, user, strlen(user));
    pg_p_text(&p, ext_id, strlen(ext_id));
    pg_p_i64(&p, now_ms);
    if ((err = run0((pg_store *)s, PS_SEEN, &p, "seen", &changed)) == LK_OK)
        *dup = changed == 0;
    return err;
}

static lk_err pg_load(lk_store *s, const char *channel, const char *user, lk_buf *blob, int *found)
{
    pg_store *q = (pg_store *)s;
    pg_params p = {.n = 0};
    PGresult *r = NULL;
    lk_err err;
    int n = 0;

    if ((err = pg_usable(q, "load")) != LK_OK)
        return err;
    pg_p_text(&p, channel, strlen(channel));
    pg_p_text(&p, user, strlen(user));
    if (!(r = pg_run(q, PS_LOAD, &p, 1, "load", &err)))
        return err;
    if (PQntuples(r) == 0 && !q->locked) {
        /* no row to lock: the user's advisory lock, then a fresh look (a
         * batch took it already: lock_users) */
        PQclear(r);
        if (!(r = pg_run(q, PS_LOCK_USER, &p, 1, "load: lock", &err)))
            return err;
        PQclear(r);
        if (!(r = pg_run(q, PS_LOAD, &p, 1, "load", &err)))
            return err;
    }
    if (PQntuples(r) > 0) {
        n = PQgetlength(r, 0, 0);
        if (n > 0)
            lk_buf_put(blob, PQgetvalue(r, 0, 0), (size_t)n);
        *found = 1;
    }
    PQclear(r);
    if (blob->oom) {
        lk_store_set_err(s, "load: out of memory for a session of %d bytes", n);
        *found = 0;
        return LK_ENOMEM;
    }
    return LK_OK;
}

static lk_err pg_save(lk_store *s, const char *channel, const char *user, const void *blob,
                      size_t n, int64_t now_ms)
{
    pg_params p = {.n = 0};

    pg_p_text(&p, channel, strlen(channel));
    pg_p_text(&p, user, strlen(user));
    pg_p_text(&p, n ? (const char *)blob : "", n); /* an empty blob, not NULL */
    pg_p_i64(&p, now_ms);
    return pg_defer((pg_store *)s, PS_SAVE, &p, "save");
}

static lk_err pg_del(lk_store *s, const char *channel, const char *user)
{
    pg_params p = {.n = 0};

    pg_p_text(&p, channel, strlen(channel));
    pg_p_text(&p, user, strlen(user));
    return pg_defer((pg_store *)s, PS_DELETE, &p, "delete");
}

static void p_opt(pg_params *p, const char *z)
{
    pg_p_text(p, z, z ? strlen(z) : 0);
}

static lk_err pg_log(lk_store *s, const lk_log_entry *e)
{
    pg_params p = {.n = 0};

    p_opt(&p, e->user);
    p_opt(&p, e->channel);
    p_opt(&p, e->dir == LK_DIR_IN ? "in" : "out");
    pg_p_i64(&p, e->at_ms);
    p_opt(&p, e->state);
    p_opt(&p, e->ext_id && *e->ext_id ? e->ext_id : NULL);
    pg_p_text(&p, e->text ? e->text : "", e->text ? e->text_len : 0);
    p_opt(&p, e->missed);
    return pg_defer((pg_store *)s, PS_LOG, &p, "log");
}

static lk_err pg_outbox_add(lk_store *s, const char *user, const char *channel, const char *payload,
                            int64_t now_ms, int64_t *id)
{
    pg_store *q = (pg_store *)s;
    pg_params p = {.n = 0};
    PGresult *r;
    lk_err err;

    p_opt(&p, user);
    p_opt(&p, channel);
    p_opt(&p, payload);
    pg_p_i64(&p, now_ms);
    if (!id) /* nobody waits for the id: queued with the message's other writes */
        return pg_defer(q, PS_OB_ADD, &p, "outbox_add");
    if ((err = pg_usable(q, "outbox_add")) != LK_OK)
        return err;
    if (!(r = pg_run(q, PS_OB_ADD, &p, 0, "outbox_add", &err)))
        return err;
    if (id)
        *id = PQntuples(r) > 0 ? pg_i64(r, 0, 0) : 0;
    PQclear(r);
    return LK_OK;
}

static const struct lk_store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .savepoint = pg_savepoint,
    .release = pg_release,
    .rollback_to = pg_rollback_to,
    .lock_users = pg_lock_users,
    .rollback = pg_rollback,
    .seen = pg_seen,
    .load = pg_load,
    .save = pg_save,
    .del = pg_del,
    .log = pg_log,
    .outbox_add = pg_outbox_add,
    .outbox_due = pg_outbox_due,
    .outbox_sent = pg_outbox_sent,
    .outbox_retry = pg_outbox_retry,
    .outbox_drop = pg_outbox_drop,
    .outbox_release = pg_outbox_release,
    .outbox_depth = pg_outbox_depth,
    .outbox_status = pg_outbox_status,
    .session_time = pg_session_time,
    .prune_seen = pg_prune_seen,
    .active_sessions = pg_active_sessions,
    .checkpoint = pg_checkpoint,
    .checkpoint_full = pg_checkpoint_full,
    .wal_size = pg_wal_size,
    .secret = pg_secret,
    .begin_read = pg_begin_read,
    .query = pg_query,
};

lk_err lk_store_pg_ping(lk_store *s)
{
    pg_store *q = (pg_store *)s;
    lk_err err;
    PGresult *r;

    if (!s || s->ops != &pg_ops)
        return LK_EINVAL;
    if ((err = pg_ready(q, "health check")) != LK_OK)
        return err;
    r = PQexec(q->conn, "SELECT 1");
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
        set_pg_err(q, "the database does not answer",
                   r ? PQresultErrorMessage(r) : PQerrorMessage(q->conn));
        PQclear(r);
        return LK_ESTORE;
    }
    PQclear(r);
    return LK_OK;
}
