/* Unit tests of what the store does to its database file, on real files in
 * a fresh directory: the mode new files get, the server lock, the TRUNCATE
 * checkpoint against a reader and a busy writer, the secrets, and schema 4's
 * move of sessions and processed ids to (channel, user) keys. Raw sqlite3
 * calls write old schemas and look at the results from outside. */
#include "loket/store.h"
#include "test.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/loket-storefile-XXXXXX";

static const char *path_of(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];

    snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
    return b;
}

static lk_store *open_ok(const char *path)
{
    lk_store *s = NULL;
    lk_diag diag = {0};

    CHECK_INT(lk_store_open(path, NULL, &s, &diag), LK_OK);
    lk_diag_print(&diag, stderr);
    lk_diag_clear(&diag);
    if (!s)
        exit(1);
    return s;
}

/* Runs sql on the file at path; the first column of the first row as an
 * integer (-999 without a row), its text into tv when given. */
static long long raw(const char *path, const char *sql, char *tv, size_t tcap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -999;
    char *msg = NULL;

    if (sqlite3_open(path, &db) != SQLITE_OK)
        goto out;
    if (!tv && strchr(sql, ';')) { /* a script */
        v = sqlite3_exec(db, sql, NULL, NULL, &msg);
        if (v != SQLITE_OK)
            fprintf(stderr, "raw: %s\n", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        goto out;
    }
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        if (tv)
            snprintf(tv, tcap, "%s", (const char *)sqlite3_column_text(st, 0));
    } else {
        fprintf(stderr, "raw: %s: %s\n", sql, sqlite3_errmsg(db));
    }
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static void save(lk_store *s, const char *channel, const char *user, const char *blob, int64_t t)
{
    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_save(s, channel, user, blob, strlen(blob), t), LK_OK);
    CHECK_INT(lk_store_commit(s), LK_OK);
}

/* The session of (channel, user) as text; "" when there is none. */
static const char *load(lk_store *s, const char *channel, const char *user)
{
    static char out[64];
    lk_buf b = {0};
    int found = 0;

    out[0] = '\0';
    CHECK_INT(lk_store_load(s, channel, user, &b, &found), LK_OK);
    if (found)
        snprintf(out, sizeof out, "%.*s", (int)b.len, b.p ? b.p : "");
    lk_buf_free(&b);
    return out;
}

/* New files are 0600, whatever the umask lets through; an existing file
 * keeps the mode its owner gave it. */
static void test_modes(void)
{
    const char *p = path_of("mode.db");
    char wal[600], shm[600];
    mode_t old = umask(022);
    lk_store *s = open_ok(p);

    save(s, "ws", "u", "x", 1);
    snprintf(wal, sizeof wal, "%s-wal", p);
    snprintf(shm, sizeof shm, "%s-shm", p);
    CHECK_INT(mode_of(p), 0600);
    CHECK_INT(mode_of(wal), 0600);
    CHECK_INT(mode_of(shm), 0600);
    lk_store_close(s);

    p = path_of("mine.db");
    CHECK_INT(raw(p, "CREATE TABLE t(x); DROP TABLE t;", NULL, 0), SQLITE_OK);
    chmod(p, 0640);
    s = open_ok(p);
    CHECK_INT(mode_of(p), 0640);
    lk_store_close(s);
    umask(old);
}

static lk_err open_server(const char *path, lk_store **s, lk_diag *diag)
{
    lk_store_opts o;

    lk_store_opts_default(&o);
    o.server_lock = 1;
    return lk_store_open(path, &o, s, diag);
}

/* One server per database file: a second one fails to open, with a message
 * naming the holder, and works once the first store is closed. */
static void test_lock(void)
{
    const char *p = path_of("lock.db");
    char lock[600], want[64];
    lk_store *a = NULL, *b = (lk_store *)1, *m = NULL, *chat;
    lk_diag diag = {0};

    CHECK_INT(open_server(p, &a, &diag), LK_OK);
    CHECK_INT(diag.n, 0);
    snprintf(lock, sizeof lock, "%s.lock", p);
    CHECK_INT(mode_of(lock), 0600);
    CHECK_INT(open_server(p, &b, &diag), LK_ESTORE);
    CHECK(b == NULL);
    snprintf(want, sizeof want, "(pid %ld)", (long)getpid());
    CHECK(diag_has(&diag, "another loket serve"));
    CHECK(diag_has(&diag, want));
    lk_diag_clear(&diag);
    /* the lock stops servers, not other users of the file */
    chat = open_ok(p);
    save(chat, "chat", "u", "b", 1);
    CHECK_STR(load(a, "chat", "u"), "b");
    lk_store_close(chat);
    CHECK_INT(open_server(":memory:", &m, &diag), LK_OK);
    lk_store_close(m);
    lk_store_close(a);
    CHECK_INT(open_server(p, &b, &diag), LK_OK);
    CHECK_INT(diag.n, 0);
    lk_store_close(b);
}

static volatile int writer_stop;
static long writer_commits;

/* Commits as fast as it can, as the loop does under load. */
static void *writer(void *arg)
{
    lk_store *w = open_ok(arg);
    char blob[2048];

    memset(blob, 'w', sizeof blob);
    while (!writer_stop) {
        if (lk_store_begin(w) == LK_OK &&
            lk_store_save(w, "ws", "busy", blob, sizeof blob, writer_commits) == LK_OK &&
            lk_store_commit(w) == LK_OK)
            writer_commits++;
        else
            lk_store_rollback(w);
    }
    lk_store_close(w);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_truncate(void)
{
    const char *p = path_of("wal.db");
    lk_store *s = open_ok(p), *c = open_ok(p), *r;
    int64_t bytes = -1;
    int done = -1, i;
    pthread_t th;
    double t0;

    for (i = 0; i < 50; i++)
        save(s, "ws", "u", "some session bytes", i);
    CHECK_INT(lk_store_wal_size(s, &bytes), LK_OK);
    CHECK(bytes > 0);

    /* a transaction that does not end keeps the log: the checkpoint gives
     * up after its wait and says so, without an error */
    r = open_ok(p);
    CHECK_INT(lk_store_begin(r), LK_OK);
    t0 = now_s();
    CHECK_INT(lk_store_checkpoint_truncate(c, 200, &done), LK_OK);
    CHECK_INT(done, 0);
    CHECK(now_s() - t0 < 5.0);
    lk_store_rollback(r);
    lk_store_close(r);

    CHECK_INT(lk_store_checkpoint_truncate(c, 1000, &done), LK_OK);
    CHECK_INT(done, 1);
    CHECK_INT(lk_store_wal_size(s, &bytes), LK_OK);
    CHECK_INT(bytes, 0);
    CHECK_STR(load(s, "ws", "u"), "some session bytes");

    /* a writer that never pauses: a PASSIVE checkpoint never lets the log
     * restart, a TRUNCATE one waits for a commit and then cuts it */
    writer_stop = 0;
    if (pthread_create(&th, NULL, writer, (void *)p) == 0) {
        int truncated = 0;
        double end = now_s() + 20.0;
        while ((writer_commits < 200 || !truncated) && now_s() < end) {
            CHECK_INT(lk_store_checkpoint_truncate(c, 2000, &done), LK_OK);
            truncated += done;
        }
        writer_stop = 1;
        pthread_join(th, NULL);
        CHECK(truncated > 0);
        CHECK(writer_commits >= 200);
    }
    CHECK_INT(lk_store_checkpoint_truncate(c, 1000, &done), LK_OK);
    CHECK_INT(done, 1);
    CHECK_INT(lk_store_wal_size(c, &bytes), LK_OK);
    CHECK_INT(bytes, 0);
    CHECK_INT(raw(p, "PRAGMA integrity_check", NULL, 0), 0); /* "ok" */
    CHECK(strlen(load(s, "ws", "busy")) > 0);
    lk_store_close(s);
    lk_store_close(c);

    s = open_ok(":memory:");
    CHECK_INT(lk_store_checkpoint_truncate(s, 10, &done), LK_OK);
    CHECK_INT(lk_store_wal_size(s, &bytes), LK_OK);
    CHECK_INT(bytes, 0);
    CHECK_INT(lk_store_checkpoint_truncate(s, -1, &done), LK_EINVAL);
    lk_store_close(s);
}

/* A RESTART checkpoint copies the whole log like TRUNCATE but keeps the file:
 * the next commit writes it again from its start, so the log in use (what
 * lk_store_checkpoint says) drops while the file's size stays. */
static void test_restart(void)
{
    const char *p = path_of("restart.db");
    lk_store *s = open_ok(p), *c = open_ok(p), *r;
    int64_t file = 0, after = 0, used = 0, used2 = 0;
    int done = -1, i;

    for (i = 0; i < 200; i++)
        save(s, "ws", "u", i % 2 ? "odd session bytes" : "even session bytes", i);
    CHECK_INT(lk_store_wal_size(s, &file), LK_OK);
    CHECK(file > 0);
    CHECK_INT(lk_store_checkpoint(c, &used), LK_OK);
    CHECK(used > 0 && used <= file);

    /* a reader in the log keeps it from restarting: given up after the wait */
    r = open_ok(p);
    CHECK_INT(lk_store_begin(r), LK_OK);
    CHECK_INT(lk_store_checkpoint_restart(c, 100, &done), LK_OK);
    CHECK_INT(done, 0);
    lk_store_rollback(r);
    lk_store_close(r);

    CHECK_INT(lk_store_checkpoint_restart(c, 1000, &done), LK_OK);
    CHECK_INT(done, 1);
    save(s, "ws", "u", "after the restart", 1000);
    CHECK_INT(lk_store_wal_size(s, &after), LK_OK);
    CHECK_INT(after, file); /* written again in place */
    CHECK_INT(lk_store_checkpoint(c, &used2), LK_OK);
    CHECK(used2 > 0 && used2 < used);
    CHECK_STR(load(c, "ws", "u"), "after the restart");
    CHECK_INT(raw(p, "PRAGMA integrity_check", NULL, 0), 0);
    lk_store_close(s);
    lk_store_close(c);

    s = open_ok(":memory:");
    CHECK_INT(lk_store_checkpoint(s, &used), LK_OK);
    CHECK_INT(used, 0);
    CHECK_INT(lk_store_checkpoint_restart(s, 10, &done), LK_OK);
    CHECK_INT(lk_store_checkpoint_restart(s, -1, &done), LK_EINVAL);
    lk_store_close(s);
}

/* With automatic checkpoints off and a WAL limit, the committing connection
 * itself keeps the log near the limit; without the limit it only grows. */
static void test_wal_limit(void)
{
    const char *p = path_of("limit.db");
    lk_store_opts o;
    lk_store *s = NULL, *plain;
    lk_diag diag = {0};
    char blob[8192];
    int64_t bytes = 0, most = 0;
    int i;

    memset(blob, 'x', sizeof blob);
    lk_store_opts_default(&o);
    o.wal_autocheckpoint = 0;
    o.wal_limit = 256 * 1024;
    CHECK_INT(lk_store_open(p, &o, &s, &diag), LK_OK);
    if (!s)
        return;
    for (i = 0; i < 400; i++) {
        char user[32];
        snprintf(user, sizeof user, "u%d", i);
        CHECK_INT(lk_store_begin(s), LK_OK);
        CHECK_INT(lk_store_save(s, "ws", user, blob, sizeof blob, i), LK_OK);
        CHECK_INT(lk_store_commit(s), LK_OK);
        CHECK_INT(lk_store_wal_size(s, &bytes), LK_OK);
        most = bytes > most ? bytes : most;
    }
    /* one transaction writes a few pages: the log stays within one of the limit */
    CHECK(most > 0 && most < o.wal_limit + 64 * 1024);

    /* a reader that never ends keeps the log from being reset: the commits
     * go on without waiting at each one, and once it ends the next commit
     * brings the log back under the limit */
    {
        sqlite3 *r = NULL;
        sqlite3_stmt *st = NULL;
        double t0;

        CHECK_INT(sqlite3_open(p, &r), SQLITE_OK);
        CHECK_INT(sqlite3_exec(r, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
        CHECK_INT(sqlite3_prepare_v2(r, "SELECT count(*) FROM sessions", -1, &st, NULL), SQLITE_OK);
        CHECK_INT(sqlite3_step(st), SQLITE_ROW);
        t0 = now_s();
        for (i = 0; i < 200; i++) {
            memset(blob, 'a' + i % 26, sizeof blob); /* every page of it written again */
            CHECK_INT(lk_store_begin(s), LK_OK);
            CHECK_INT(lk_store_save(s, "ws", "u0", blob, sizeof blob, 1000 + i), LK_OK);
            CHECK_INT(lk_store_commit(s), LK_OK);
        }
        /* a wait of 200 ms per commit would be 40 s; a few doubling retries are ~1 s */
        CHECK(now_s() - t0 < 8.0);
        CHECK_INT(lk_store_wal_size(s, &bytes), LK_OK);
        CHECK(bytes > 2 * o.wal_limit);
        sqlite3_finalize(st);
        sqlite3_exec(r, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(r);
        for (i = 0; i < 200 && bytes > o.wal_limit + 64 * 1024; i++) {
            CHECK_INT(lk_store_begin(s), LK_OK);
            CHECK_INT(lk_store_save(s, "ws", "u1", blob, sizeof blob, 2000 + i), LK_OK);
            CHECK_INT(lk_store_commit(s), LK_OK);
            CHECK_INT(lk_store_wal_size(s, &bytes), LK_OK);
        }
        CHECK(bytes < o.wal_limit + 64 * 1024);
    }
    lk_store_close(s);

    o.wal_limit = 0;
    CHECK_INT(lk_store_open(p, &o, &plain, &diag), LK_OK);
    for (i = 0; i < 400 && plain; i++) {
        memset(blob, 'a' + i % 26, sizeof blob);
        CHECK_INT(lk_store_begin(plain), LK_OK);
        CHECK_INT(lk_store_save(plain, "ws", "same", blob, sizeof blob, i), LK_OK);
        CHECK_INT(lk_store_commit(plain), LK_OK);
    }
    CHECK_INT(lk_store_wal_size(plain, &bytes), LK_OK);
    CHECK(bytes > 4 * 256 * 1024); /* the same load, no limit */
    lk_store_close(plain);
    o.wal_limit = -1;
    CHECK_INT(lk_store_open(p, &o, &s, &diag), LK_EINVAL);
    lk_diag_clear(&diag);
}

static void test_secret(void)
{
    const char *p = path_of("secret.db");
    lk_store *a = open_ok(p), *b = open_ok(p);
    lk_buf out = {0};

    CHECK_INT(lk_store_secret(a, "ws-resume", "first-32-bytes", 14, &out), LK_OK);
    CHECK(out.len == 14 && !memcmp(out.p, "first-32-bytes", 14));
    /* the second process gets the stored one, not its own fresh bytes */
    CHECK_INT(lk_store_secret(b, "ws-resume", "other", 5, &out), LK_OK);
    CHECK(out.len == 14 && !memcmp(out.p, "first-32-bytes", 14));
    CHECK_INT(lk_store_secret(b, "another", "other", 5, &out), LK_OK);
    CHECK(out.len == 5 && !memcmp(out.p, "other", 5));
    CHECK_INT(lk_store_begin(a), LK_OK);
    CHECK_INT(lk_store_secret(a, "ws-resume", "x", 1, &out), LK_EINVAL);
    lk_store_rollback(a);
    CHECK_INT(lk_store_secret(a, "", "x", 1, &out), LK_EINVAL);
    CHECK_INT(lk_store_secret(a, "n", "x", 0, &out), LK_EINVAL);
    lk_store_close(a);
    lk_store_close(b);
    a = open_ok(p);
    CHECK_INT(lk_store_secret(a, "ws-resume", "new", 3, &out), LK_OK);
    CHECK(out.len == 14 && !memcmp(out.p, "first-32-bytes", 14));
    lk_store_close(a);
    lk_buf_free(&out);
}

/* A version-3 database as it was shipped, with the rows of the bug: one
 * phone number that WhatsApp and then the generic webhook drove, websocket
 * ids with their old prefix, and sessions and processed ids without a log. */
static const char v3_db[] =
    "CREATE TABLE sessions(user TEXT PRIMARY KEY NOT NULL, blob BLOB NOT NULL,"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE TABLE log(id INTEGER PRIMARY KEY, user TEXT NOT NULL, channel TEXT NOT NULL,"
    "  dir TEXT NOT NULL, at_ms INTEGER NOT NULL, state TEXT, ext_id TEXT, text TEXT NOT NULL);"
    "CREATE TABLE seen(channel TEXT NOT NULL, ext_id TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(channel, ext_id)) WITHOUT ROWID;"
    "CREATE INDEX seen_at ON seen(at_ms);"
    "CREATE TABLE outbox(id INTEGER PRIMARY KEY, user TEXT NOT NULL, channel TEXT NOT NULL,"
    "  payload TEXT NOT NULL, created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at_ms INTEGER NOT NULL, sent_ms INTEGER, remote_id TEXT, last_error TEXT);"
    "CREATE INDEX outbox_due ON outbox(next_at_ms) WHERE sent_ms IS NULL;"
    "CREATE INDEX outbox_user ON outbox(user, id) WHERE sent_ms IS NULL;"
    "INSERT INTO sessions VALUES ('628111', 'riau', 30), ('628222', 'wa', 40),"
    "  ('ws:web-1', 'web', 50), ('ws:nolog', 'nl', 60), ('lonely', 'lone', 70);"
    "INSERT INTO log(user, channel, dir, at_ms, ext_id, text) VALUES"
    "  ('628111', 'whatsapp', 'in', 10, 'wamid.A', 'Hi Chika'),"
    "  ('628111', 'whatsapp', 'out', 10, NULL, 'menu'),"
    "  ('628111', 'generic', 'in', 30, 'g1', 'Riau'),"
    "  ('628222', 'whatsapp', 'in', 40, 'wamid.B', 'Hi'),"
    "  ('628222', 'generic', 'out', 41, NULL, 'an out row does not count'),"
    "  ('ws:web-1', 'ws', 'in', 50, 'm1', 'Halo'),"
    "  ('ws:web-1', 'ws', 'out', 50, NULL, 'menu');"
    "INSERT INTO seen VALUES ('whatsapp', 'wamid.A', 10), ('generic', 'g1', 30),"
    "  ('ws', 'm1', 50), ('ws', 'orphan', 55);"
    "INSERT INTO outbox(user, channel, payload, created_ms, next_at_ms)"
    "  VALUES ('628222', 'whatsapp', '{}', 40, 40);"
    "PRAGMA user_version = 3;";

static void test_migrate_keys(void)
{
    const char *p = path_of("v3.db");
    lk_store *s;
    int dup = -1;

    CHECK_INT(raw(p, v3_db, NULL, 0), SQLITE_OK);
    s = open_ok(p);
    CHECK_INT(raw(p, "PRAGMA user_version", NULL, 0), lk_store_schema_version());
    /* the channel of the last inbound message owns the session */
    CHECK_STR(load(s, "generic", "628111"), "riau");
    CHECK_STR(load(s, "whatsapp", "628111"), "");
    CHECK_STR(load(s, "whatsapp", "628222"), "wa");
    CHECK_STR(load(s, "generic", "628222"), "");
    CHECK_STR(load(s, "ws", "web-1"), "web");
    CHECK_STR(load(s, "ws", "ws:web-1"), "");
    CHECK_STR(load(s, "ws", "nolog"), "nl");
    /* no log: kept, but under a channel nothing reads */
    CHECK_STR(load(s, "legacy", "lonely"), "lone");
    CHECK_INT(raw(p, "SELECT count(*) FROM sessions", NULL, 0), 5);
    CHECK_INT(raw(p, "SELECT count(*) FROM log WHERE user LIKE 'ws:%'", NULL, 0), 0);
    CHECK_INT(raw(p, "SELECT count(*) FROM log WHERE user = 'web-1'", NULL, 0), 2);
    /* processed ids got their users from the log; the orphan is gone */
    CHECK_INT(lk_store_seen(s, "whatsapp", "628111", "wamid.A", 60, &dup), LK_OK);
    CHECK_INT(dup, 1);
    CHECK_INT(lk_store_seen(s, "generic", "628111", "g1", 60, &dup), LK_OK);
    CHECK_INT(dup, 1);
    CHECK_INT(lk_store_seen(s, "ws", "web-1", "m1", 60, &dup), LK_OK);
    CHECK_INT(dup, 1);
    CHECK_INT(raw(p, "SELECT count(*) FROM seen WHERE ext_id = 'orphan'", NULL, 0), 0);
    /* ... and another websocket user may now send the same message id */
    CHECK_INT(lk_store_seen(s, "ws", "web-2", "m1", 60, &dup), LK_OK);
    CHECK_INT(dup, 0);
    CHECK_INT(raw(p, "SELECT count(*) FROM outbox WHERE sent_ms IS NULL", NULL, 0), 1);
    CHECK_INT(raw(p, "SELECT count(*) FROM sqlite_master WHERE name = 'seen_at'", NULL, 0), 1);
    CHECK_INT(raw(p, "PRAGMA integrity_check", NULL, 0), 0);
    lk_store_close(s);
}

/* How many of this process's descriptors name path. */
static int fds_on(const char *path)
{
    char link[600], target[600];
    struct dirent *e;
    DIR *d = opendir("/proc/self/fd");
    ssize_t n;
    int count = 0;

    if (!d)
        return -1;
    while ((e = readdir(d))) {
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        if ((n = readlink(link, target, sizeof target - 1)) > 0) {
            target[n] = 0;
            count += strcmp(target, path) == 0;
        }
    }
    closedir(d);
    return count;
}

/* Sync behind (sqlite_sync.c): lk_store_wal_sync with no WAL yet, after a
 * commit (its own descriptor on the WAL, opened once), after a TRUNCATE
 * checkpoint (the same file, empty); lk_store_defer_sync only at FULL. */
static void test_wal_sync(void)
{
    const char *p = path_of("sync.db");
    char wal[600], real[600];
    lk_store_opts o;
    lk_store *s, *m, *n;
    lk_diag diag = {0};
    struct stat st;
    int done = 0, before;

    lk_store_opts_default(&o);
    o.sync = LK_SYNC_FULL;
    snprintf(wal, sizeof wal, "%s-wal", p);
    CHECK_INT(lk_store_open(p, &o, &s, &diag), LK_OK);
    lk_store_close(s); /* the last connection: the WAL is checkpointed and deleted */
    CHECK(stat(wal, &st) != 0);
    CHECK_INT(lk_store_open(p, &o, &s, &diag), LK_OK);
    CHECK_INT(lk_store_defer_sync(s), 1);
    CHECK_INT(lk_store_defer_sync(s), 0); /* already behind */
    if (stat(wal, &st) != 0) /* no WAL yet: nothing to sync */
        CHECK_INT(lk_store_wal_sync(s), LK_OK);

    save(s, "ws", "u", "durable", 1);
    CHECK(stat(wal, &st) == 0 && st.st_size > 0);
    CHECK(realpath(wal, real) != NULL);
    before = fds_on(real);
    CHECK_INT(lk_store_wal_sync(s), LK_OK);
    CHECK_INT(fds_on(real), before + 1); /* its own descriptor on the WAL */
    save(s, "ws", "u", "durable 2", 2);
    CHECK_INT(lk_store_wal_sync(s), LK_OK);
    CHECK_INT(fds_on(real), before + 1); /* kept, not opened again */

    CHECK_INT(lk_store_checkpoint_truncate(s, 1000, &done), LK_OK);
    CHECK_INT(done, 1);
    CHECK(stat(wal, &st) == 0 && st.st_size == 0);
    CHECK_INT(lk_store_wal_sync(s), LK_OK);
    save(s, "ws", "u", "after truncate", 3);
    CHECK_INT(lk_store_wal_sync(s), LK_OK);
    CHECK_INT(fds_on(real), before + 1);
    lk_store_close(s);
    CHECK_INT(fds_on(real), 0); /* closed with the store */

    s = open_ok(p);
    CHECK_STR(load(s, "ws", "u"), "after truncate");
    o.sync = LK_SYNC_NORMAL; /* not FULL: nothing to defer */
    CHECK_INT(lk_store_open(p, &o, &n, &diag), LK_OK);
    CHECK_INT(lk_store_defer_sync(n), 0);
    lk_store_close(n);
    lk_store_close(s);
    o.sync = LK_SYNC_FULL;
    CHECK_INT(lk_store_open(":memory:", &o, &m, &diag), LK_OK);
    CHECK_INT(lk_store_defer_sync(m), 0);
    CHECK_INT(lk_store_wal_sync(m), LK_OK);
    lk_store_close(m);
    CHECK_INT(lk_store_wal_sync(NULL), LK_EINVAL);
    lk_diag_clear(&diag);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    test_modes();
    test_lock();
    test_truncate();
    test_restart();
    test_wal_limit();
    test_secret();
    test_migrate_keys();
    test_wal_sync();
    {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return test_done("test_store_file");
}
