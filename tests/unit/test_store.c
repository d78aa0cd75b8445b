/* Unit tests of the store (src/store) against real SQLite files in a fresh
 * directory under /tmp: round trips, dedup, rollback, a process that dies in
 * the middle of a transaction, schema migration and refusal, the outbox
 * order, the pragmas actually in force, a full database and two connections
 * on one file. Raw sqlite3 calls look at the files from outside.
 *
 * One suite, two backends: the cases that hold for every backend run again
 * against the PostgreSQL database of LOKET_TEST_PG (a libpq URI; tools/test.sh
 * starts a throwaway cluster and sets it), each "file" a schema of its own,
 * with PostgreSQL's own cases beside them (two connections, the outbox
 * lease, the migration lock). Without LOKET_TEST_PG that run is skipped and
 * says so. */
#include "loket/store.h"
#include "store_int.h"
#include "test.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store_test.h"

/* Checks that user's session is exactly want[0..n). */
static void check_blob(lk_store *s, const char *user, const void *want, size_t n)
{
    lk_buf b = {0};
    int found = -1;

    CHECK_INT(lk_store_load(s, "t", user, &b, &found), LK_OK);
    CHECK_INT(found, 1);
    CHECK_INT(b.len, n);
    CHECK(b.len == n && (n == 0 || memcmp(b.p, want, n) == 0));
    lk_buf_free(&b);
}

static void check_no_session(lk_store *s, const char *user)
{
    lk_buf b = {0};
    int found = -1;

    lk_buf_puts(&b, "stale");
    CHECK_INT(lk_store_load(s, "t", user, &b, &found), LK_OK);
    CHECK_INT(found, 0);
    CHECK_INT(b.len, 0);
    lk_buf_free(&b);
}

static void test_open_close(void)
{
    lk_store *s = NULL;
    lk_diag diag = {0};
    lk_store_opts o;
    FILE *fp;

    CHECK_INT(lk_store_schema_version(), 7);
    lk_store_close(NULL);
    CHECK(lk_store_errmsg(NULL) != NULL);

    s = open_ok(":memory:");
    CHECK_STR(lk_store_errmsg(s), "");
    CHECK_INT(lk_store_checkpoint(s, NULL), LK_OK);
    lk_store_close(s);

    s = open_ok(dbpath("open.db"));
    CHECK(file_exists(dbpath("open.db")));
    CHECK_INT(lk_store_checkpoint(s, NULL), LK_OK);
    lk_store_close(s);
    /* reopening an up-to-date database works and changes nothing */
    s = open_ok(dbpath("open.db"));
    lk_store_close(s);
    CHECK_INT(raw1(dbpath("open.db"), "PRAGMA user_version", NULL, 0), lk_store_schema_version());

    s = (lk_store *)1;
    CHECK_INT(lk_store_open(NULL, NULL, &s, &diag), LK_EINVAL);
    CHECK(s == NULL);
    CHECK_INT(diag.n, 1);
    lk_diag_clear(&diag);

    lk_store_opts_default(&o);
    CHECK_INT(o.sync, LK_SYNC_FULL);
    CHECK_INT(o.wal_autocheckpoint, 1000);
    CHECK_INT(o.busy_timeout_ms, 5000);
    o.sync = (lk_sync)7;
    CHECK_INT(lk_store_open(":memory:", &o, &s, &diag), LK_EINVAL);
    CHECK(s == NULL);
    CHECK(diag_has(&diag, "bad options"));
    lk_diag_clear(&diag);

    /* root writes anyway, so only others can see the refusal */
    if (geteuid() != 0 && chmod(dbpath("open.db"), 0444) == 0) {
        CHECK_INT(lk_store_open(dbpath("open.db"), NULL, &s, &diag), LK_ESTORE);
        CHECK(s == NULL);
        CHECK(diag_has(&diag, "not writable"));
        lk_diag_clear(&diag);
        chmod(dbpath("open.db"), 0644);
    }

    CHECK_INT(lk_store_open(dbpath("no/such/dir.db"), NULL, &s, &diag), LK_ESTORE);
    CHECK(s == NULL);
    CHECK(diag_has(&diag, "cannot open"));
    lk_diag_clear(&diag);

    fp = fopen(dbpath("junk.db"), "w");
    CHECK(fp != NULL);
    if (fp) {
        for (int i = 0; i < 512; i++)
            fputs("this is not a database ", fp);
        fclose(fp);
    }
    CHECK_INT(lk_store_open(dbpath("junk.db"), NULL, &s, &diag), LK_ESTORE);
    CHECK(s == NULL);
    CHECK(diag_has(&diag, "not a database"));
    if (diag.n)
        CHECK_STR(diag.items[0].file, dbpath("junk.db"));
    lk_diag_clear(&diag);
}

static void test_roundtrip(void)
{
    lk_store *s = open_ok(dbpath("rt.db"));
    unsigned char bin[300], big[1 << 20];
    int64_t n = -1;
    size_t i;

    for (i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 7); /* NULs and bytes above 0x7f */
    for (i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i ^ (i >> 8));

    check_no_session(s, "u1");
    CHECK_INT(lk_store_save(s, "t", "u1", bin, sizeof bin, 1000), LK_OK);
    check_blob(s, "u1", bin, sizeof bin);
    /* a second save replaces the first (the upsert) */
    CHECK_INT(lk_store_save(s, "t", "u1", "\0x\0", 3, 2000), LK_OK);
    check_blob(s, "u1", "\0x\0", 3);
    CHECK_INT(lk_store_save(s, "t", "u2", big, sizeof big, 3000), LK_OK);
    check_blob(s, "u2", big, sizeof big);
    /* an empty session is a session, not a missing one */
    CHECK_INT(lk_store_save(s, "t", "u3", NULL, 0, 4000), LK_OK);
    check_blob(s, "u3", "", 0);
    CHECK_INT(raw1(dbpath("rt.db"), "SELECT count(*) FROM sessions WHERE blob IS NULL", NULL, 0),
              0);

    CHECK_INT(lk_store_active_sessions(s, 0, &n), LK_OK);
    CHECK_INT(n, 3);
    CHECK_INT(lk_store_active_sessions(s, 2000, &n), LK_OK);
    CHECK_INT(n, 3); /* u1 was updated at 2000 */
    CHECK_INT(lk_store_active_sessions(s, 3500, &n), LK_OK);
    CHECK_INT(n, 1);

    CHECK_INT(lk_store_delete(s, "t", "u2"), LK_OK);
    check_no_session(s, "u2");
    CHECK_INT(lk_store_delete(s, "t", "nobody"), LK_OK);
    lk_store_close(s);

    /* it is on disk */
    s = open_ok(dbpath("rt.db"));
    check_blob(s, "u1", "\0x\0", 3);
    check_no_session(s, "u2");
    lk_store_close(s);
}

static void test_log(void)
{
    lk_store *s = open_ok(dbpath("log.db"));
    lk_log_entry e = {.user = "u1",
                      .channel = "ws",
                      .dir = LK_DIR_IN,
                      .at_ms = 5,
                      .state = NULL,
                      .ext_id = "x1",
                      .text = "halo kak",
                      .text_len = 4};
    char tv[64];

    CHECK_INT(lk_store_log(s, &e), LK_OK);
    e.dir = LK_DIR_OUT;
    e.state = "menu";
    e.ext_id = "";
    e.text = "Halo! Ada yang bisa dibantu?";
    e.text_len = strlen(e.text);
    CHECK_INT(lk_store_log(s, &e), LK_OK);
    e.dir = (lk_dir)2;
    CHECK_INT(lk_store_log(s, &e), LK_EINVAL);
    lk_store_close(s);

    CHECK_INT(raw1(dbpath("log.db"), "SELECT count(*) FROM log", NULL, 0), 2);
    raw1(dbpath("log.db"), "SELECT text FROM log WHERE id = 1", tv, sizeof tv);
    CHECK_STR(tv, "halo"); /* text_len counts, not the NUL */
    raw1(dbpath("log.db"),
         "SELECT dir || ',' || coalesce(state, 'null') || ',' || ext_id "
         "FROM log WHERE id = 1",
         tv, sizeof tv);
    CHECK_STR(tv, "in,null,x1");
    raw1(dbpath("log.db"),
         "SELECT dir || ',' || state || ',' || coalesce(ext_id, 'null') "
         "FROM log WHERE id = 2",
         tv, sizeof tv);
    CHECK_STR(tv, "out,menu,null");
}

static void test_seen(void)
{
    lk_store *s = open_ok(dbpath("seen.db"));
    int dup = -1;
    int64_t n = -1;

    CHECK_INT(lk_store_seen(s, "whatsapp", "u", "wamid.1", 100, &dup), LK_OK);
    CHECK_INT(dup, 0);
    CHECK_INT(lk_store_seen(s, "whatsapp", "u", "wamid.1", 150, &dup), LK_OK);
    CHECK_INT(dup, 1);
    CHECK_INT(lk_store_seen(s, "twilio", "u", "wamid.1", 160, &dup), LK_OK);
    CHECK_INT(dup, 0); /* another channel's ids are another space */
    CHECK_INT(lk_store_seen(s, "whatsapp", "u", "", 170, &dup), LK_OK);
    CHECK_INT(dup, 0);
    CHECK_INT(lk_store_seen(s, "whatsapp", "u", "", 180, &dup), LK_OK);
    CHECK_INT(dup, 0);
    CHECK_INT(lk_store_seen(s, "whatsapp", "u", NULL, 190, &dup), LK_OK);
    CHECK_INT(dup, 0);
    CHECK_INT(raw1(dbpath("seen.db"), "SELECT count(*) FROM seen", NULL, 0), 2);

    /* a rolled-back message was not processed: its id is new again */
    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_seen(s, "whatsapp", "u", "wamid.2", 200, &dup), LK_OK);
    CHECK_INT(dup, 0);
    lk_store_rollback(s);
    CHECK_INT(lk_store_seen(s, "whatsapp", "u", "wamid.2", 300, &dup), LK_OK);
    CHECK_INT(dup, 0);

    /* at 100, 160, 250 and 300: pruning before 250 drops the first two */
    CHECK_INT(lk_store_seen(s, "ws", "u", "at250", 250, &dup), LK_OK);
    CHECK_INT(lk_store_prune_seen(s, 250, &n), LK_OK);
    CHECK_INT(n, 2);
    CHECK_INT(lk_store_seen(s, "ws", "u", "at250", 420, &dup), LK_OK);
    CHECK_INT(dup, 1);
    CHECK_INT(lk_store_prune_seen(s, 250, &n), LK_OK);
    CHECK_INT(n, 0);
    CHECK_INT(lk_store_prune_seen(s, 250, NULL), LK_OK);
    CHECK_INT(lk_store_seen(s, "whatsapp", "u", "wamid.1", 400, &dup), LK_OK);
    CHECK_INT(dup, 0);
    CHECK_INT(lk_store_seen(s, "whatsapp", "u", "wamid.2", 410, &dup), LK_OK);
    CHECK_INT(dup, 1);
    CHECK_INT(lk_store_seen(s, NULL, "u", "x", 0, &dup), LK_EINVAL);
    CHECK_INT(lk_store_seen(s, "ws", "u", "x", 0, NULL), LK_EINVAL);
    lk_store_close(s);
}

static void test_rollback(void)
{
    lk_store *s = open_ok(dbpath("rb.db"));
    lk_log_entry e = {
        .user = "u", .channel = "chat", .dir = LK_DIR_IN, .text = "hi", .text_len = 2};
    int64_t n = -1;

    CHECK_INT(lk_store_save(s, "t", "u", "old", 3, 1), LK_OK);
    lk_store_rollback(s); /* no transaction: nothing happens */
    CHECK_INT(lk_store_commit(s), LK_EINVAL);

    /* a step that fails midway */
    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_begin(s), LK_EINVAL);
    CHECK_INT(lk_store_save(s, "t", "u", "new", 3, 2), LK_OK);
    check_blob(s, "u", "new", 3); /* the transaction sees its own write */
    CHECK_INT(lk_store_log(s, &e), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "u", "ws", "{}", 2, NULL), LK_OK);
    lk_store_rollback(s);
    check_blob(s, "u", "old", 3);
    CHECK_INT(lk_store_outbox_depth(s, &n), LK_OK);
    CHECK_INT(n, 0);
    CHECK_INT(raw1(dbpath("rb.db"), "SELECT count(*) FROM log", NULL, 0), 0);

    /* and one that commits */
    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_save(s, "t", "u", "new", 3, 2), LK_OK);
    CHECK_INT(lk_store_commit(s), LK_OK);
    check_blob(s, "u", "new", 3);

    /* closing with an open transaction rolls it back */
    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_save(s, "t", "u", "lost", 4, 3), LK_OK);
    lk_store_close(s);
    s = open_ok(dbpath("rb.db"));
    check_blob(s, "u", "new", 3);

    /* SQLite may roll a transaction back by itself after an error; then the
     * store must refuse to go on as if the transaction were still open,
     * or the next writes would each commit on their own. Simulate it. */
    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_save(s, "t", "u", "half", 4, 4), LK_OK);
    if (pg_base) {
        /* PostgreSQL aborts the transaction at an error (here text that is
         * not UTF-8, which SQLite would take): the same refusal follows. The
         * log row is only queued (pipeline mode): its error comes with the
         * next statement that reads, under the log's name */
        lk_buf b = {0};
        int found = 0;

        e.text = "\xff\xfe";
        CHECK_INT(lk_store_log(s, &e), LK_OK);
        CHECK_INT(lk_store_load(s, "t", "u", &b, &found), LK_ESTORE);
        CHECK(strstr(lk_store_errmsg(s), "log: ") != NULL);
        lk_buf_free(&b);
    } else {
        CHECK_INT(raw_exec(lk_store_sqlite_db(s), "ROLLBACK"), SQLITE_OK);
    }
    CHECK_INT(lk_store_save(s, "t", "u", "half", 4, 4), LK_ESTORE);
    CHECK(strstr(lk_store_errmsg(s), "rolled back") != NULL);
    CHECK_INT(lk_store_commit(s), LK_ESTORE);
    lk_store_rollback(s);
    check_blob(s, "u", "new", 3);
    CHECK_INT(lk_store_begin(s), LK_OK);
    lk_store_rollback(s);
    lk_store_close(s);
}

static void test_crash(void)
{
    lk_store *s = open_ok(dbpath("crash.db"));
    int status = -1, fds[2];
    char reached = 0;
    pid_t pid;

    CHECK_INT(lk_store_save(s, "t", "a", "old", 3, 1), LK_OK);
    lk_store_close(s); /* a connection must not cross a fork */

    /* The child tells through a pipe that it got to the crash point; its
     * exit code is not enough, since valgrind replaces it with its own. */
    if (pipe(fds) != 0) {
        CHECK(!"pipe");
        return;
    }
    fflush(NULL);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        lk_log_entry e = {
            .user = "a", .channel = "chat", .dir = LK_DIR_IN, .text = "x", .text_len = 1};
        static unsigned char big[256 * 1024]; /* spills pages into the WAL */
        lk_store *c = NULL;

        if (lk_store_open(dbpath("crash.db"), NULL, &c, NULL) != LK_OK)
            _exit(2);
        /* one committed message ... */
        if (lk_store_begin(c) || lk_store_save(c, "t", "b", "bee", 3, 2) || lk_store_log(c, &e) ||
            lk_store_commit(c))
            _exit(3);
        /* ... and one cut off before its commit */
        memset(big, 'z', sizeof big);
        if (lk_store_begin(c) || lk_store_save(c, "t", "a", big, sizeof big, 3) ||
            lk_store_log(c, &e) || lk_store_log(c, &e) ||
            lk_store_outbox_add(c, "a", "ws", "{}", 3, NULL))
            _exit(4);
        if (write(fds[1], "k", 1) != 1)
            _exit(5);
        _exit(1); /* no commit, no close */
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return;
    }
    CHECK(read(fds[0], &reached, 1) == 1 && reached == 'k');
    close(fds[0]);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0);

    s = open_ok(dbpath("crash.db"));
    check_blob(s, "a", "old", 3);
    check_blob(s, "b", "bee", 3);
    lk_store_close(s);
    CHECK_INT(raw1(dbpath("crash.db"), "SELECT count(*) FROM log", NULL, 0), 1);
    CHECK_INT(raw1(dbpath("crash.db"), "SELECT count(*) FROM outbox", NULL, 0), 0);
    if (!pg_base)
        CHECK_INT(raw1(dbpath("crash.db"), "PRAGMA integrity_check", NULL, 0), 0); /* "ok" */
}

/* The schema of version 1 as it was shipped, written by hand so that this
 * test keeps checking the upgrade of real version-1 files even when the
 * migrations change. */
static const char v1_schema[] =
    "CREATE TABLE sessions(user TEXT PRIMARY KEY NOT NULL, blob BLOB NOT NULL,"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE INDEX sessions_updated ON sessions(updated_ms);"
    "CREATE TABLE log(id INTEGER PRIMARY KEY, user TEXT NOT NULL, channel TEXT NOT NULL,"
    "  dir TEXT NOT NULL, at_ms INTEGER NOT NULL, state TEXT, ext_id TEXT, text TEXT NOT NULL);"
    "CREATE INDEX log_user ON log(user, id);"
    "CREATE TABLE seen(channel TEXT NOT NULL, ext_id TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(channel, ext_id)) WITHOUT ROWID;"
    "CREATE INDEX seen_at ON seen(at_ms);"
    "PRAGMA user_version = 1;";

static int make_db(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    int rc = db ? raw_exec(db, sql) : SQLITE_ERROR;

    sqlite3_close(db);
    return rc;
}

static int64_t item_id(const lk_outbox_item *items, int n, int i)
{
    return i < n ? items[i].id : -1;
}

/* Every call of lk_store_outbox_due below is at a later time than the one
 * before, and PostgreSQL's lease is 1 ms here: its claims run out by the
 * next call, so both backends hand out the same rows (the lease itself is
 * test_pg_lease's). */
static void test_outbox(void)
{
    const char *p = dbpath("outbox.db");
    lk_store_opts o;
    lk_store *s = NULL;
    lk_outbox_item *it = NULL;
    int64_t a1, b1, a2, c1, a3, depth = -1;
    char tv[64];
    int n = -1;

    lk_store_opts_default(&o);
    o.outbox_lease_ms = 1;
    CHECK_INT(lk_store_open(p, &o, &s, NULL), LK_OK);
    if (!s)
        return;
    CHECK_INT(lk_store_outbox_add(s, "a", "whatsapp", "{\"n\":1}", 10, &a1), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "b", "whatsapp", "{\"n\":2}", 11, &b1), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "a", "whatsapp", "{\"n\":3}", 12, &a2), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "c", "twilio", "{\"n\":4}", 13, &c1), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "a", "whatsapp", "{\"n\":5}", 14, NULL), LK_OK);
    CHECK(a1 < b1 && b1 < a2 && a2 < c1);
    CHECK_INT(lk_store_outbox_depth(s, &depth), LK_OK);
    CHECK_INT(depth, 5);

    /* nothing is due before it was created */
    CHECK_INT(lk_store_outbox_due(s, 9, 10, &it, &n), LK_OK);
    CHECK_INT(n, 0);
    CHECK(it == NULL);
    CHECK_INT(lk_store_outbox_due(s, 11, 10, &it, &n), LK_OK);
    CHECK_INT(n, 2);
    lk_outbox_items_free(it, n);

    /* the oldest of each user, oldest first */
    CHECK_INT(lk_store_outbox_due(s, 100, 10, &it, &n), LK_OK);
    CHECK_INT(n, 3);
    CHECK_INT(item_id(it, n, 0), a1);
    CHECK_INT(item_id(it, n, 1), b1);
    CHECK_INT(item_id(it, n, 2), c1);
    if (n == 3) {
        CHECK_STR(it[0].user, "a");
        CHECK_STR(it[0].channel, "whatsapp");
        CHECK_STR(it[0].payload, "{\"n\":1}");
        CHECK_INT(it[0].attempts, 0);
        CHECK_INT(it[0].next_at_ms, 10);
        CHECK_INT(it[0].created_ms, 10);
        CHECK_INT(it[2].created_ms, 13);
        CHECK_STR(it[2].channel, "twilio");
    }
    lk_outbox_items_free(it, n);
    CHECK_INT(lk_store_outbox_due(s, 101, 2, &it, &n), LK_OK);
    CHECK_INT(n, 2);
    CHECK_INT(item_id(it, n, 1), b1);
    lk_outbox_items_free(it, n);
    CHECK_INT(lk_store_outbox_due(s, 102, 0, &it, &n), LK_OK);
    CHECK_INT(n, 0);
    CHECK_INT(lk_store_outbox_due(s, 102, -1, &it, &n), LK_EINVAL);

    /* a1 fails: a's later replies wait behind it */
    CHECK_INT(lk_store_outbox_retry(s, a1, 200, "HTTP 503"), LK_OK);
    CHECK_INT(lk_store_outbox_sent(s, b1, "wamid.B1", 101), LK_OK);
    CHECK_INT(lk_store_outbox_due(s, 150, 10, &it, &n), LK_OK);
    CHECK_INT(n, 1);
    CHECK_INT(item_id(it, n, 0), c1);
    lk_outbox_items_free(it, n);
    CHECK_INT(lk_store_outbox_due(s, 200, 10, &it, &n), LK_OK);
    CHECK_INT(n, 2);
    CHECK_INT(item_id(it, n, 0), a1);
    if (n >= 1) {
        CHECK_INT(it[0].attempts, 1);
        CHECK_INT(it[0].next_at_ms, 200);
    }
    lk_outbox_items_free(it, n);
    CHECK_INT(lk_store_outbox_retry(s, a1, 300, "timeout"), LK_OK);
    raw1(p, "SELECT attempts || ',' || next_at_ms || ',' || last_error FROM outbox WHERE id = 1",
         tv, sizeof tv);
    CHECK_STR(tv, "2,300,timeout");

    CHECK_INT(lk_store_outbox_sent(s, a1, "wamid.A1", 300), LK_OK);
    CHECK_INT(lk_store_outbox_sent(s, a1, "wamid.A1", 301), LK_EINVAL); /* not pending */
    CHECK_INT(lk_store_outbox_retry(s, a1, 400, "late"), LK_EINVAL);
    CHECK_INT(lk_store_outbox_sent(s, 9999, "x", 301), LK_EINVAL);
    CHECK(strstr(lk_store_errmsg(s), "9999") != NULL);
    raw1(p, "SELECT sent_ms || ',' || remote_id || ',' || attempts FROM outbox WHERE id = 1", tv,
         sizeof tv);
    CHECK_STR(tv, "300,wamid.A1,2");

    CHECK_INT(lk_store_outbox_due(s, 300, 10, &it, &n), LK_OK);
    CHECK_INT(n, 2);
    CHECK_INT(item_id(it, n, 0), a2);
    CHECK_INT(item_id(it, n, 1), c1);
    lk_outbox_items_free(it, n);
    CHECK_INT(lk_store_outbox_sent(s, a2, NULL, 301), LK_OK);
    CHECK_INT(lk_store_outbox_sent(s, c1, "SM1", 301), LK_OK);
    CHECK_INT(lk_store_outbox_due(s, 400, 10, &it, &n), LK_OK);
    CHECK_INT(n, 1);
    a3 = item_id(it, n, 0);
    CHECK(a3 > c1);
    if (n == 1)
        CHECK_STR(it[0].payload, "{\"n\":5}");
    lk_outbox_items_free(it, n);
    CHECK_INT(lk_store_outbox_depth(s, &depth), LK_OK);
    CHECK_INT(depth, 1);
    CHECK_INT(lk_store_outbox_sent(s, a3, "x", 401), LK_OK);
    CHECK_INT(lk_store_outbox_due(s, 1000, 10, &it, &n), LK_OK);
    CHECK_INT(n, 0);
    CHECK_INT(lk_store_outbox_depth(s, &depth), LK_OK);
    CHECK_INT(depth, 0);
    lk_outbox_items_free(NULL, 0);

    /* more due rows than the first allocation holds */
    for (int i = 0; i < 40; i++) {
        char user[16];
        snprintf(user, sizeof user, "u%02d", i);
        CHECK_INT(lk_store_outbox_add(s, user, "ws", "{}", 500 + i, NULL), LK_OK);
    }
    CHECK_INT(lk_store_outbox_due(s, 1000, 35, &it, &n), LK_OK);
    CHECK_INT(n, 35);
    if (n == 35)
        CHECK_STR(it[34].user, "u34");
    lk_outbox_items_free(it, n);

    /* a reply refused for good is dropped: the user's next reply can go */
    CHECK_INT(lk_store_outbox_add(s, "d", "whatsapp", "{\"n\":6}", 2000, &a1), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "d", "whatsapp", "{\"n\":7}", 2001, &a2), LK_OK);
    CHECK_INT(lk_store_outbox_due(s, 3000, 100, &it, &n), LK_OK);
    CHECK_INT(item_id(it, n, n - 1), a1);
    lk_outbox_items_free(it, n);
    CHECK_INT(lk_store_outbox_drop(s, a1, "HTTP 400: invalid recipient", 2500), LK_OK);
    CHECK_INT(lk_store_outbox_drop(s, a1, "again", 2501), LK_EINVAL); /* not pending */
    CHECK_INT(lk_store_outbox_sent(s, a1, "x", 2501), LK_EINVAL);
    CHECK_INT(lk_store_outbox_due(s, 3001, 100, &it, &n), LK_OK);
    CHECK_INT(item_id(it, n, n - 1), a2);
    lk_outbox_items_free(it, n);
    {
        char q[200];
        snprintf(q, sizeof q,
                 "SELECT sent_ms || ',' || coalesce(remote_id, '-') || ',' || last_error "
                 "FROM outbox WHERE id = %lld",
                 (long long)a1);
        raw1(p, q, tv, sizeof tv);
    }
    CHECK_STR(tv, "2500,-,HTTP 400: invalid recipient");
    lk_store_close(s);
}

static void test_bad_args(void)
{
    lk_store *s = open_ok(pg_base ? dbpath("bad.db") : ":memory:");
    lk_buf b = {0};
    int found = -1;
    int64_t n;
    lk_outbox_item *it = NULL;
    int k;

    CHECK_INT(lk_store_begin(NULL), LK_EINVAL);
    CHECK_INT(lk_store_save(NULL, "t", "u", "x", 1, 0), LK_EINVAL);
    CHECK_INT(lk_store_save(s, "t", NULL, "x", 1, 0), LK_EINVAL);
    CHECK_INT(lk_store_save(s, "t", "", "x", 1, 0), LK_EINVAL);
    CHECK(strstr(lk_store_errmsg(s), "save") != NULL);
    CHECK_INT(lk_store_save(s, "t", "u", NULL, 1, 0), LK_EINVAL);
    CHECK_INT(lk_store_load(s, "t", NULL, &b, &found), LK_EINVAL);
    CHECK_INT(lk_store_load(s, "t", "u", NULL, &found), LK_EINVAL);
    CHECK_INT(lk_store_delete(s, "t", ""), LK_EINVAL);
    CHECK_INT(lk_store_log(s, NULL), LK_EINVAL);
    CHECK_INT(lk_store_outbox_add(s, "u", "ws", NULL, 0, NULL), LK_EINVAL);
    CHECK_INT(lk_store_outbox_due(s, 0, 1, NULL, &k), LK_EINVAL);
    CHECK_INT(lk_store_outbox_due(NULL, 0, 1, &it, &k), LK_EINVAL);
    CHECK_INT(lk_store_outbox_depth(s, NULL), LK_EINVAL);
    CHECK_INT(lk_store_active_sessions(s, 0, NULL), LK_EINVAL);
    CHECK_INT(lk_store_prune_seen(NULL, 0, &n), LK_EINVAL);
    lk_store_rollback(NULL);
    lk_buf_free(&b);
    lk_store_close(s);

    /* what the log may say of a database: never a URI's user or password */
    {
        char buf[128];
        CHECK_STR(lk_store_redact("postgresql://bob:p%40ss@db.internal:5433/loket?sslmode=require"
                                  "&password=x",
                                  buf, sizeof buf),
                  "postgresql://db.internal:5433/loket");
        CHECK_STR(lk_store_redact("postgres:///loket?host=/run/pg", buf, sizeof buf),
                  "postgres:///loket");
        CHECK_STR(lk_store_redact("/var/lib/loket/loket.db", buf, sizeof buf),
                  "/var/lib/loket/loket.db");
    }
}

#include "store_sqlite_cases.h"  /* migration, pragmas, a full disk: SQLite only */
#include "store_pg_cases.h"      /* test_pg_*: PostgreSQL only */
#include "store_pg_pipe_cases.h" /* pipeline mode and batch locks: PostgreSQL only */
#include "store_status_cases.h"  /* delivery statuses, every backend */
#include "store_outbox_cases.h"  /* the outbox's queues, every backend; upgrades */

/* The cases every backend passes. */
static void run_common(void)
{
    test_roundtrip();
    test_log();
    test_seen();
    test_rollback();
    test_crash();
    test_outbox();
    test_outbox_heads();
    test_outbox_status();
    test_bad_args();
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_open_close();
    run_common();
    test_migrate();
    test_migrate_v6();
    test_outbox_plan();
    test_refuse();
    test_pragmas();
    test_full();
    test_two_connections();
    rm_tmpdir();
    CHECK(!file_exists(tmpdir));

    pg_base = getenv("LOKET_TEST_PG");
    test_pid = (long)getpid();
    if (pg_base && *pg_base) {
        fprintf(stderr, "test_store: the same cases against PostgreSQL (LOKET_TEST_PG)\n");
        run_common();
        test_pg_open();
        test_pg_migrate_race();
        test_pg_two_servers();
        test_pg_lease();
        test_pg_migrate_v6();
        test_pg_heads_race();
        test_pg_pipeline();
        test_pg_lock_users();
        pg_drop_schemas();
    } else {
        fprintf(stderr, "test_store: PostgreSQL cases SKIPPED: LOKET_TEST_PG is not set "
                        "(tools/test.sh starts a cluster and sets it)\n");
    }
    return test_done("test_store");
}
