/* lk_store_ping: whether the database a store has open still answers, for
 * the server's /healthz. Off the message path. A PostgreSQL store answers
 * a query (pg.c); there is no file to check. */
#include "store_int.h"

#include <sqlite3.h>

lk_err lk_store_ping(lk_store *s)
{
    sqlite3 *db = lk_store_sqlite_db(s);
    sqlite3_stmt *st = NULL;
    const char *file;
    int moved = 0, rc;
    lk_err err;

    if (!s)
        return LK_EINVAL;
    if (!db && (err = lk_store_pg_ping(s)) != LK_EINVAL)
        return err == LK_OK ? LK_OK : LK_ESTORE;
    if (!db) {
        lk_store_set_err(s, "health check: not a SQLite store");
        return LK_EINVAL;
    }
    /* SQLite compares the inode it opened with the one at the path now; an
     * open connection would otherwise go on answering from a deleted file. */
    file = sqlite3_db_filename(db, "main");
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved) {
        lk_store_set_err(s,
                         "the database file %s was deleted, moved or replaced after it was opened",
                         file && *file ? file : "(memory)");
        return LK_ESTORE;
    }
    rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        lk_store_set_err(s, "the database does not answer: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return LK_ESTORE;
    }
    sqlite3_finalize(st);
    return LK_OK;
}
