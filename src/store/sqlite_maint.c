/* Housekeeping of the SQLite backend, off the message path: the counts the
 * metrics show, pruning processed ids, WAL checkpoints and the log's size,
 * the server lock, the database's secrets and the mode new files get. */
#include "sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- housekeeping and metrics ---------------------------------------------------------- */

static lk_err count(sq_store *q, sqlite3_stmt *st, int rc, int64_t *n, const char *op)
{
    lk_err err;

    if ((err = usable(q, op)) != LK_OK)
        return err;
    rc = step(st, rc);
    if (rc == SQLITE_ROW)
        *n = (int64_t)sqlite3_column_int64(st, 0);
    return done(q, st, rc, op);
}

lk_err sq_outbox_depth(lk_store *s, int64_t *n)
{
    sq_store *q = (sq_store *)s;

    return count(q, q->st[ST_OB_DEPTH], SQLITE_OK, n, "outbox_depth");
}

lk_err sq_active_sessions(lk_store *s, int64_t since_ms, int64_t *n)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_ACTIVE];
    int rc = SQLITE_OK;

    bind_i64(st, 1, since_ms, &rc);
    return count(q, st, rc, n, "active_sessions");
}

lk_err sq_prune_seen(lk_store *s, int64_t before_ms, int64_t *n)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_PRUNE_SEEN];
    int rc = SQLITE_OK;
    lk_err err;

    if ((err = usable(q, "prune_seen")) != LK_OK)
        return err;
    bind_i64(st, 1, before_ms, &rc);
    rc = step(st, rc);
    if (rc == SQLITE_DONE)
        *n = sqlite3_changes(q->db);
    return done(q, st, rc, "prune_seen");
}

lk_err sq_checkpoint(lk_store *s, int64_t *log_bytes)
{
    sq_store *q = (sq_store *)s;
    int rc, frames = 0;

    /* PASSIVE copies what it can without waiting for readers or writers, so
     * it never stalls the message path. Without WAL it does nothing and says
     * -1 frames. */
    *log_bytes = 0;
    rc = sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, NULL);
    if (rc != SQLITE_OK)
        return fail(q, "checkpoint", rc);
    if (frames > 0)
        *log_bytes = (int64_t)frames * SQ_FRAME_BYTES(q);
    return LK_OK;
}

/* A PASSIVE checkpoint never finishes while a writer keeps appending, and a
 * log that is never wholly copied is never reset: it grows for as long as
 * the load lasts. TRUNCATE and RESTART wait (through the busy handler, here
 * for at most wait_ms) until the writer of the moment commits, keep new
 * writers out while they copy everything and wait for readers to leave the
 * log. Then TRUNCATE cuts the file to zero bytes; after RESTART the next
 * commit writes the file again from its start (PRAGMA journal_size_limit cuts
 * it back should it have grown past that). The message path waits for either
 * as for any writer. */
lk_err sq_checkpoint_full(lk_store *s, int wait_ms, int truncate, int *done)
{
    sq_store *q = (sq_store *)s;
    int rc;

    *done = 0;
    if (!q->wal_path)
        return LK_OK;
    sqlite3_busy_timeout(q->db, wait_ms);
    rc = sqlite3_wal_checkpoint_v2(
        q->db, NULL, truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    sqlite3_busy_timeout(q->db, q->busy_ms);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return LK_OK; /* someone kept it busy: the next try will do */
    if (rc != SQLITE_OK)
        return fail(q, "checkpoint", rc);
    *done = 1;
    return LK_OK;
}

lk_err sq_wal_size(lk_store *s, int64_t *bytes)
{
    sq_store *q = (sq_store *)s;
    struct stat st;

    *bytes = 0;
    if (!q->wal_path)
        return LK_OK;
    if (stat(q->wal_path, &st) == 0)
        *bytes = (int64_t)st.st_size;
    else if (errno != ENOENT) {
        lk_store_set_err(s, "wal_size: %s: %s", q->wal_path, strerror(errno));
        return LK_EIO;
    }
    return LK_OK;
}

/* Not on the message path: the statements are prepared here. */
lk_err sq_secret(lk_store *s, const char *name, const void *fresh, size_t n, lk_buf *out)
{
    static const char put[] = "INSERT OR IGNORE INTO secrets(name, value) VALUES (?1, ?2)";
    static const char get[] = "SELECT value FROM secrets WHERE name = ?1";
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    int rc;

    if (q->tx) {
        lk_store_set_err(s, "secret: not inside a transaction");
        return LK_EINVAL;
    }
    rc = sqlite3_prepare_v2(q->db, put, -1, &st, NULL);
    bind_text(st, 1, name, -1, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, fresh, (int)n, SQLITE_STATIC);
    rc = step(st, rc);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        st = NULL;
        rc = sqlite3_prepare_v2(q->db, get, -1, &st, NULL);
        bind_text(st, 1, name, -1, &rc);
        rc = step(st, rc);
    }
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) > 0)
        lk_buf_put(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    if (rc != SQLITE_ROW) {
        lk_err err = fail(q, "secret", rc);
        sqlite3_finalize(st);
        return err;
    }
    sqlite3_finalize(st);
    if (out->oom) {
        lk_store_set_err(s, "secret: out of memory");
        return LK_ENOMEM;
    }
    return LK_OK;
}

/* ---- the database file ------------------------------------------------------------------ */

void sq_create_private(const char *path)
{
    int fd;

    if (!strncmp(path, "file:", 5))
        return; /* a URI: SQLite parses it */
    /* O_EXCL: an existing file keeps the mode its owner gave it. Any error
     * (a missing directory, no permission) is SQLite's to report. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0)
        close(fd);
}

/* An flock() on a file beside the database rather than on the database
 * itself: closing a descriptor of the database would drop SQLite's own POSIX
 * locks on it, and where flock() is emulated with fcntl() locks the two
 * would meet.
 * The lock file is never removed (removing it would let a second server
 * lock a new file while the first holds the old one); it holds the pid of
 * its server, for the message a second one prints. */
lk_err sq_lock(const char *path, int *out, lk_diag *diag)
{
    char lpath[4096], pid[32] = "";
    int fd, n;

    *out = -1;
    if ((size_t)snprintf(lpath, sizeof lpath, "%s.lock", path) >= sizeof lpath) {
        lk_diag_add(diag, path, 0, 0, NULL, "store: the database path is too long");
        return LK_EINVAL;
    }
    fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        lk_diag_add(diag, path, 0, 0, NULL, "store: cannot create the lock file %s: %s", lpath,
                    strerror(errno));
        return LK_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;

        if ((n = (int)pread(fd, pid, sizeof pid - 1, 0)) > 0)
            pid[strspn(pid, "0123456789")] = '\0'; /* the file is text we wrote */
        close(fd);
        if (e == EWOULDBLOCK)
            lk_diag_add(diag, path, 0, 0, NULL,
                        "store: another loket serve%s%s%s is already running on this database; "
                        "two servers on one SQLite file would both send the outbox. Stop it, or "
                        "give this one another --db",
                        *pid ? " (pid " : "", pid, *pid ? ")" : "");
        else
            lk_diag_add(diag, path, 0, 0, NULL, "store: cannot lock %s: %s", lpath, strerror(e));
        return LK_ESTORE;
    }
    n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* the lock holds all the same; only the pid in the message is lost */
    }
    *out = fd;
    return LK_OK;
}

void sq_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock() */
}
