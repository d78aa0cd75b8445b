/* The SQLite side of the operations written once for every backend in
 * privacy.c and misses.c: a read transaction and one statement with
 * arguments, prepared for the call. Off the message path (retention runs on
 * the maintenance thread, the rest in `loket forget`, `export`, `misses`),
 * so preparing each time costs nothing that matters. */
#include "sqlite_int.h"

#include <stdio.h>

#define SQ_MAXCOLS 16

lk_err sq_begin_read(lk_store *s)
{
    sq_store *q = (sq_store *)s;
    int rc;

    if (q->tx) {
        lk_store_set_err(s, "begin: a transaction is already open");
        return LK_EINVAL;
    }
    /* DEFERRED: the snapshot is taken at the first read and held until the
     * end; WAL lets the server write meanwhile. */
    rc = sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return fail(q, "begin", rc);
    q->tx = 1;
    return LK_OK;
}

lk_err sq_query(lk_store *s, const char *sql, const lk_sql_arg *args, int nargs, lk_row_fn fn,
                void *ctx, int64_t *changes)
{
    sq_store *q = (sq_store *)s;
    const char *names[SQ_MAXCOLS], *vals[SQ_MAXCOLS];
    char kinds[SQ_MAXCOLS];
    size_t lens[SQ_MAXCOLS];
    lk_store_row row = {0, names, vals, lens, kinds};
    sqlite3_stmt *st = NULL;
    lk_err err;
    int rc, i, ncols;

    if ((err = usable(q, "query")) != LK_OK)
        return err;
    rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        err = fail(q, "query", rc);
        sqlite3_finalize(st);
        return err;
    }
    /* $1 ... $n by name: SQLite numbers named parameters by first use */
    for (i = 0; i < nargs && rc == SQLITE_OK; i++) {
        char name[16];
        int k;

        snprintf(name, sizeof name, "$%d", i + 1);
        if (!(k = sqlite3_bind_parameter_index(st, name)))
            continue; /* not used by this statement */
        if (args[i].is_int)
            rc = sqlite3_bind_int64(st, k, (sqlite3_int64)args[i].i);
        else
            bind_text(st, k, args[i].text, -1, &rc);
    }
    ncols = sqlite3_column_count(st);
    if (ncols > SQ_MAXCOLS) {
        sqlite3_finalize(st);
        lk_store_set_err(s, "query: more than %d columns", SQ_MAXCOLS);
        return LK_EINVAL;
    }
    for (i = 0; i < ncols; i++)
        names[i] = sqlite3_column_name(st, i);
    while ((rc = step(st, rc)) == SQLITE_ROW) {
        for (i = 0; i < ncols; i++) {
            int t = sqlite3_column_type(st, i);

            vals[i] = t == SQLITE_NULL   ? NULL
                      : t == SQLITE_BLOB ? (const char *)sqlite3_column_blob(st, i)
                                         : (const char *)sqlite3_column_text(st, i);
            lens[i] = (size_t)sqlite3_column_bytes(st, i);
            if (t == SQLITE_BLOB && !vals[i])
                vals[i] = ""; /* an empty blob */
            kinds[i] = t == SQLITE_NULL      ? 'n'
                       : t == SQLITE_INTEGER ? 'i'
                       : t == SQLITE_BLOB    ? 'b'
                                             : 't';
        }
        row.ncols = ncols;
        if (fn && fn(ctx, &row) != 0) {
            sqlite3_finalize(st);
            lk_store_set_err(s, "query: stopped by the reader");
            return LK_EIO;
        }
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
        err = fail(q, "query", rc);
        sqlite3_finalize(st);
        return err;
    }
    if (changes)
        *changes = sqlite3_changes(q->db);
    sqlite3_finalize(st);
    return LK_OK;
}
