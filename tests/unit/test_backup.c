/* Unit tests of the store's operations (src/store/backup.c, health.c) on real
 * SQLite files in a fresh directory under /tmp: a backup holds what was
 * committed, refuses every destination that could lose data or confuse SQLite,
 * leaves nothing behind when it fails; lk_store_ping notices a database file
 * moved, replaced or deleted under an open store. */
#include "loket/store.h"
#include "test.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/loket-backup-XXXXXX";

static const char *p(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];

    snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
    return b;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int count_files(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

/* 1 when no temporary copy (dest.tmp-PID and its journals) is left */
static int no_tmp_left(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int clean = 1;

    while (d && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp-"))
            clean = 0;
    if (d)
        closedir(d);
    return clean;
}

static void rm_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;

    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlink(p(e->d_name));
    if (d)
        closedir(d);
    rmdir(tmpdir);
}

static lk_store *open_store(const char *path)
{
    lk_store *s = NULL;
    CHECK_INT(lk_store_open(path, NULL, &s, NULL), LK_OK);
    return s;
}

static void log_text(lk_store *s, const char *user, const char *text)
{
    lk_log_entry e = {user, "chat", LK_DIR_IN, 1000, "main", NULL, text, strlen(text), NULL};
    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_save(s, "chat", user, "blob", 4, 1000), LK_OK);
    CHECK_INT(lk_store_log(s, &e), LK_OK);
    CHECK_INT(lk_store_commit(s), LK_OK);
}

static long long query_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static lk_err backup(const char *src, const char *dest, const char *why_has)
{
    lk_diag diag = {0};
    int64_t pages = 0;
    int psize = 0;
    lk_err err = lk_store_backup(src, dest, &pages, &psize, &diag);

    if (err == LK_OK) {
        CHECK(pages > 0);
        CHECK(psize >= 512);
        CHECK_INT(diag.n, 0);
    } else {
        CHECK(diag.n > 0);
        if (why_has && diag.n && !strstr(diag.items[0].msg, why_has)) {
            fprintf(stderr, "diagnostic \"%s\" lacks \"%s\"\n", diag.items[0].msg, why_has);
            CHECK(0);
        }
    }
    lk_diag_clear(&diag);
    return err;
}

static void test_backup_copies_committed(void)
{
    lk_store *s = open_store(p("live.db"));
    lk_store *open_tx;

    log_text(s, "u1", "Hi Chika");
    log_text(s, "u2", "6");
    /* a second connection inside an open, uncommitted transaction: its row
     * must not be in the copy, and the copy must not wait for it */
    open_tx = open_store(p("live.db"));
    CHECK_INT(lk_store_begin(open_tx), LK_OK);
    CHECK_INT(lk_store_save(open_tx, "chat", "uncommitted", "x", 1, 2000), LK_OK);
    CHECK_INT(backup(p("live.db"), p("copy.db"), NULL), LK_OK);
    CHECK(!exists(p("copy.db-wal")) && !exists(p("copy.db-journal")));
    CHECK(no_tmp_left());
    lk_store_rollback(open_tx);
    lk_store_close(open_tx);
    log_text(s, "u3", "after the backup");
    lk_store_close(s);

    CHECK_INT(query_int(p("copy.db"), "SELECT count(*) FROM log"), 2);
    CHECK_INT(query_int(p("copy.db"), "SELECT count(*) FROM sessions WHERE user='uncommitted'"), 0);
    CHECK_INT(query_int(p("copy.db"), "SELECT count(*) FROM log WHERE text='Hi Chika'"), 1);
    CHECK_INT(query_int(p("copy.db"), "PRAGMA user_version"), lk_store_schema_version());
    CHECK_INT(query_int(p("live.db"), "SELECT count(*) FROM log"), 3);
    /* the copy opens as a store */
    s = open_store(p("copy.db"));
    CHECK(s != NULL);
    lk_store_close(s);
}

static void test_backup_refuses(void)
{
    FILE *fp;
    int before;

    /* dest exists, dest is the source, a stale journal beside dest */
    CHECK_INT(backup(p("live.db"), p("copy.db"), "exists"), LK_EINVAL);
    CHECK_INT(backup(p("live.db"), p("live.db"), "database itself"), LK_EINVAL);
    fp = fopen(p("new.db-wal"), "w");
    CHECK(fp != NULL);
    if (fp)
        fclose(fp);
    CHECK_INT(backup(p("live.db"), p("new.db"), "journal"), LK_EINVAL);
    CHECK(!exists(p("new.db")));
    unlink(p("new.db-wal"));
    /* no source: not created */
    CHECK_INT(backup(p("missing.db"), p("new.db"), "no database"), LK_EINVAL);
    CHECK(!exists(p("missing.db")) && !exists(p("new.db")));
    CHECK_INT(backup(tmpdir, p("new.db"), "not a file"), LK_EINVAL);
    /* a source that is not a database: nothing left behind */
    fp = fopen(p("text.db"), "w");
    CHECK(fp != NULL);
    if (fp) {
        fputs("not a database, just some text that is long enough to have a header\n", fp);
        fclose(fp);
    }
    before = count_files();
    CHECK_INT(backup(p("text.db"), p("new.db"), NULL), LK_ESTORE);
    CHECK_INT(count_files(), before);
    CHECK(no_tmp_left());
    /* dest in a directory that does not exist (the source's last connection
     * may remove its -wal and -shm on close: count the files after one copy) */
    CHECK_INT(backup(p("live.db"), p("second.db"), NULL), LK_OK);
    before = count_files();
    CHECK(backup(p("live.db"), p("nodir/new.db"), NULL) != LK_OK);
    CHECK_INT(count_files(), before);
}

static void test_ping(void)
{
    lk_store *s = open_store(p("ping.db")), *mem = open_store(":memory:");
    lk_store *other;

    CHECK_INT(lk_store_ping(s), LK_OK);
    CHECK_INT(lk_store_ping(mem), LK_OK);
    CHECK_INT(lk_store_ping(NULL), LK_EINVAL);
    CHECK(rename(p("ping.db"), p("moved.db")) == 0);
    CHECK_INT(lk_store_ping(s), LK_ESTORE);
    CHECK(strstr(lk_store_errmsg(s), "deleted, moved or replaced") != NULL);
    CHECK(rename(p("moved.db"), p("ping.db")) == 0);
    CHECK_INT(lk_store_ping(s), LK_OK);
    /* another database put at the path */
    other = open_store(p("other.db"));
    lk_store_close(other);
    CHECK(rename(p("other.db"), p("ping.db")) == 0);
    CHECK_INT(lk_store_ping(s), LK_ESTORE);
    unlink(p("ping.db"));
    CHECK_INT(lk_store_ping(s), LK_ESTORE);
    lk_store_close(s);
    lk_store_close(mem);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_backup_copies_committed();
    test_backup_refuses();
    test_ping();
    rm_tmpdir();
    return test_done("test_backup");
}
