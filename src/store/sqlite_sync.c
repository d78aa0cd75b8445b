/* Sync behind: the store workers of `loket serve` commit at synchronous
 * NORMAL and a syncer thread makes those commits durable with one fdatasync
 * of the WAL for every commit that happened since the last one, while the
 * next batch is being stepped (pipeline_sync.c). The server answers nothing
 * of a commit before that sync returned.
 *
 * Why this is as durable as synchronous FULL, for what was answered:
 *  - In WAL mode a commit appends its frames to PATH-wal; at FULL SQLite
 *    fdatasyncs the WAL before the commit returns, at NORMAL it does not.
 *    Checkpoints sync the same way at both levels: the WAL before its frames
 *    are copied into the database, the database before the WAL restarts.
 *    So NORMAL loses, after a power cut, only commits whose frames were not
 *    yet synced, never the database itself.
 *  - fdatasync on any descriptor of the WAL's inode flushes every page of
 *    that file written before the call (Linux: the page cache belongs to the
 *    inode, not to the descriptor). A sync begun after a commit returned
 *    therefore covers that commit's frames, and every earlier commit's.
 *  - WAL frames are written in order, each with a checksum chained to the
 *    frame before it and the salts of the WAL header. Recovery reads frames
 *    from the start and stops at the first that does not check: a later
 *    commit cannot survive without the earlier ones, and a commit whose
 *    frames were torn is dropped whole. What recovery keeps is a prefix of
 *    the commits, and every commit that was answered lies in the synced
 *    prefix.
 *  - The WAL is reused in place after a checkpoint (same inode, new salts)
 *    and truncated by a TRUNCATE checkpoint (same inode); only when it is
 *    deleted (the last connection closed) and created again does the inode
 *    change: lk_store_wal_sync compares the path's inode with its
 *    descriptor's at each call and opens the new file. A WAL created since
 *    the last call also needs its directory entry on disk: the directory is
 *    synced once after each such open.
 *  - No WAL file yet (ENOENT) means no commit since the WAL was last deleted,
 *    which SQLite does only after checkpointing everything into the
 *    database (synced): nothing to sync.
 *  - A failed fdatasync may have dropped dirty pages that a later call
 *    would then report clean; frames after a lost one are lost with it. So
 *    once one failed, every later lk_store_wal_sync of this store fails too
 *    and nothing more is answered as a success until the server restarts. */
#include "sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sq_defer_sync(lk_store *s)
{
    sq_store *q = (sq_store *)s;

    if (!q->full || !q->wal_path)
        return 0;
    if (sqlite3_exec(q->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK)
        return 0; /* stays at FULL: every commit is synced as before */
    q->full = 0;
    return 1;
}

/* fsync of the directory that holds path (its new entries reach the disk). */
static lk_err sync_dir(sq_store *q, const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int fd, rc;

    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        lk_store_set_err(&q->base, "wal_sync: cannot open the directory: %s", strerror(errno));
        return LK_EIO;
    }
    rc = fsync(fd);
    close(fd);
    if (rc != 0) {
        lk_store_set_err(&q->base, "wal_sync: directory fsync: %s", strerror(errno));
        return LK_EIO;
    }
    return LK_OK;
}

lk_err sq_wal_sync(lk_store *s)
{
    sq_store *q = (sq_store *)s;
    struct stat st;
    lk_err err;
    int fd;

    if (!q->wal_path)
        return LK_OK; /* in memory */
    if (q->wal_broken) {
        lk_store_set_err(s, "wal_sync: an earlier fdatasync of the WAL failed");
        return LK_EIO;
    }
    if (stat(q->wal_path, &st) != 0) {
        if (errno == ENOENT)
            return LK_OK; /* no WAL: nothing committed since the last checkpoint into the db */
        lk_store_set_err(s, "wal_sync: %s", strerror(errno));
        return LK_EIO;
    }
    if (q->wal_fd < 0 || (unsigned long long)st.st_ino != q->wal_ino ||
        (unsigned long long)st.st_dev != q->wal_dev) {
        if ((fd = open(q->wal_path, O_RDONLY | O_CLOEXEC)) < 0) {
            if (errno == ENOENT)
                return LK_OK;
            lk_store_set_err(s, "wal_sync: cannot open the WAL: %s", strerror(errno));
            return LK_EIO;
        }
        if (fstat(fd, &st) != 0) {
            lk_store_set_err(s, "wal_sync: %s", strerror(errno));
            close(fd);
            return LK_EIO;
        }
        if (q->wal_fd >= 0)
            close(q->wal_fd);
        q->wal_fd = fd;
        q->wal_dev = (unsigned long long)st.st_dev;
        q->wal_ino = (unsigned long long)st.st_ino;
        /* a WAL created since the last open: its name must reach the disk too */
        if ((err = sync_dir(q, q->wal_path)) != LK_OK) {
            close(q->wal_fd);
            q->wal_fd = -1; /* opened again (and the directory synced) next time */
            return err;
        }
    }
    if (fdatasync(q->wal_fd) != 0) {
        q->wal_broken = 1;
        lk_store_set_err(s, "wal_sync: fdatasync: %s", strerror(errno));
        return LK_EIO;
    }
    return LK_OK;
}

void sq_sync_close(sq_store *q)
{
    if (q->wal_fd >= 0)
        close(q->wal_fd);
    q->wal_fd = -1;
}
