/* lk_store_backup: a consistent copy of a live SQLite database.
 *
 * SQLite's online backup API copies every page in one step, inside one read
 * transaction on the source: in WAL mode that transaction sees exactly the
 * commits made before it began, and the server's writers go on beside it
 * (they append to the WAL; the checkpointer leaves the pages a reader still
 * needs). The copy goes to a temporary file next to dest, is checked, synced,
 * and only then linked into place, so a crash or a full disk never leaves a
 * half-written dest that looks like a backup. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TRIES 50 /* the source can be briefly locked (WAL recovery) */
#define BUSY_WAIT_MS 100

static const char *const sidecars[] = {"-wal", "-shm", "-journal"};

static void remove_tmp(const char *tmp)
{
    char side[PATH_MAX + 16];
    size_t i;

    unlink(tmp);
    for (i = 0; i < sizeof sidecars / sizeof *sidecars; i++) {
        snprintf(side, sizeof side, "%s%s", tmp, sidecars[i]);
        unlink(side);
    }
}

/* Refuses a dest that exists, is the source, or has a journal of an old
 * database beside it (SQLite would apply that journal to the copy). */
static lk_err check_dest(const char *path, const struct stat *src, const char *dest, lk_diag *diag)
{
    char side[PATH_MAX + 16];
    struct stat st;
    size_t i;

    if (lstat(dest, &st) == 0) {
        if (st.st_dev == src->st_dev && st.st_ino == src->st_ino)
            lk_diag_add(diag, dest, 0, 0, NULL, "backup: this is the database itself (%s)", path);
        else
            lk_diag_add(diag, dest, 0, 0, NULL,
                        "backup: the file exists; a backup never replaces a file, so remove it "
                        "or choose another name");
        return LK_EINVAL;
    }
    for (i = 0; i < sizeof sidecars / sizeof *sidecars; i++) {
        snprintf(side, sizeof side, "%s%s", dest, sidecars[i]);
        if (lstat(side, &st) == 0) {
            lk_diag_add(diag, side, 0, 0, NULL,
                        "backup: a journal of an older database is there; remove it first");
            return LK_EINVAL;
        }
    }
    return LK_OK;
}

static lk_err db_fail(sqlite3 *db, const char *file, const char *what, lk_diag *diag)
{
    lk_diag_add(diag, file, 0, 0, NULL, "backup: %s: %s", what,
                db ? sqlite3_errmsg(db) : "out of memory");
    return LK_ESTORE;
}

static int pragma_int(sqlite3 *db, const char *sql, int64_t *v)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *v = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* PRAGMA quick_check on the copy: 0 when it says "ok". */
static int quick_check(sqlite3 *db, char *why, size_t n)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL), bad = 1;

    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *z = (const char *)sqlite3_column_text(st, 0);
        bad = !z || strcmp(z, "ok") != 0;
        snprintf(why, n, "%s", z ? z : "no answer");
    } else {
        snprintf(why, n, "%s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return bad;
}

/* Makes the rename of a file in dir durable. */
static void sync_dir_of(const char *file)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(file, '/');
    int fd;

    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == file)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - file), file);
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Puts tmp at dest without replacing a file that appeared meanwhile; a file
 * system without hard links gets a rename. */
static lk_err place(const char *tmp, const char *dest, lk_diag *diag)
{
    int fd = open(tmp, O_RDONLY);

    if (fd < 0 || fsync(fd) != 0) {
        lk_diag_add(diag, tmp, 0, 0, NULL, "backup: cannot sync the copy: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return LK_EIO;
    }
    close(fd);
    if (link(tmp, dest) == 0) {
        unlink(tmp);
    } else if (errno == EEXIST) {
        lk_diag_add(diag, dest, 0, 0, NULL, "backup: the file appeared during the backup");
        return LK_EINVAL;
    } else if (rename(tmp, dest) != 0) {
        lk_diag_add(diag, dest, 0, 0, NULL, "backup: cannot put the copy in place: %s",
                    strerror(errno));
        return LK_EIO;
    }
    sync_dir_of(dest);
    return LK_OK;
}

lk_err lk_store_backup(const char *path, const char *dest, int64_t *pages, int *page_size,
                       lk_diag *diag)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *bk = NULL;
    struct stat sst;
    char tmp[PATH_MAX], why[256];
    int64_t v = 0, npages = 0, psize = 0;
    lk_err err = LK_EINVAL;
    int rc, tries, made = 0;

    if (!path || !*path || !dest || !*dest) {
        lk_diag_add(diag, NULL, 0, 0, NULL, "backup: a database and a destination are needed");
        return LK_EINVAL;
    }
    if (lk_store_pg_uri(path)) { /* named without the URI: it may hold a password */
        lk_diag_add(diag, NULL, 0, 0, NULL,
                    "backup: this is a PostgreSQL database; back it up with pg_dump");
        return LK_EINVAL;
    }
    if (stat(path, &sst) != 0) {
        lk_diag_add(diag, path, 0, 0, NULL, "backup: no database here: %s", strerror(errno));
        return LK_EINVAL;
    }
    if (!S_ISREG(sst.st_mode)) {
        lk_diag_add(diag, path, 0, 0, NULL, "backup: no database here: not a file");
        return LK_EINVAL;
    }
    if ((err = check_dest(path, &sst, dest, diag)) != LK_OK)
        return err;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%ld", dest, (long)getpid()) >= sizeof tmp) {
        lk_diag_add(diag, dest, 0, 0, NULL, "backup: the path is too long");
        return LK_EINVAL;
    }
    err = LK_ESTORE;
    /* Without SQLITE_OPEN_CREATE: a mistyped path must not become a new,
     * empty database that then gets backed up. */
    rc = sqlite3_open_v2(path, &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err = db_fail(src, path, "cannot open the database", diag);
        goto done;
    }
    sqlite3_busy_timeout(src, 5000);
    if (pragma_int(src, "PRAGMA user_version", &v) != SQLITE_OK) {
        err = db_fail(src, path, "cannot read the database", diag);
        goto done;
    }
    remove_tmp(tmp); /* a leftover of a crashed run with our pid */
    made = 1;
    rc = sqlite3_open_v2(tmp, &dst,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        lk_diag_add(diag, dest, 0, 0, NULL, "backup: cannot create the copy: %s",
                    dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
        err = LK_EIO;
        goto done;
    }
    if (!(bk = sqlite3_backup_init(dst, "main", src, "main"))) {
        err = db_fail(dst, dest, "cannot start", diag);
        goto done;
    }
    /* -1: every page in one step, so one read transaction sees them all. */
    for (tries = 0; (rc = sqlite3_backup_step(bk, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED;
         tries++) {
        if (tries == BUSY_TRIES)
            break;
        sqlite3_sleep(BUSY_WAIT_MS);
    }
    sqlite3_backup_finish(bk);
    bk = NULL;
    if (rc != SQLITE_DONE) {
        lk_diag_add(diag, path, 0, 0, NULL, "backup: the copy failed: %s", sqlite3_errstr(rc));
        goto done;
    }
    if (quick_check(dst, why, sizeof why)) {
        lk_diag_add(diag, dest, 0, 0, NULL, "backup: the copy does not pass quick_check: %s", why);
        goto done;
    }
    if (pragma_int(dst, "PRAGMA page_count", &npages) != SQLITE_OK ||
        pragma_int(dst, "PRAGMA page_size", &psize) != SQLITE_OK) {
        err = db_fail(dst, dest, "cannot read the copy", diag);
        goto done;
    }
    if (sqlite3_close(dst) != SQLITE_OK) {
        err = db_fail(dst, dest, "cannot close the copy", diag);
        goto done;
    }
    dst = NULL;
    if ((err = place(tmp, dest, diag)) != LK_OK)
        goto done;
    made = 0;
    if (pages)
        *pages = npages;
    if (page_size)
        *page_size = (int)psize;
done:
    if (bk)
        sqlite3_backup_finish(bk);
    sqlite3_close(dst);
    sqlite3_close(src);
    if (made)
        remove_tmp(tmp);
    return err;
}
