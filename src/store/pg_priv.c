/* The PostgreSQL side of the operations written once for every backend in
 * privacy.c and misses.c: a read transaction that sees one snapshot, and one
 * statement with arguments (unnamed, prepared by the server for the call).
 * Off the message path. */
#include "pg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_MAXCOLS 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25

lk_err pg_begin_read(lk_store *s)
{
    pg_store *q = (pg_store *)s;
    PGresult *r;
    lk_err err;

    if (q->tx) {
        lk_store_set_err(s, "begin: a transaction is already open");
        return LK_EINVAL;
    }
    if ((err = pg_ready(q, "begin")) != LK_OK)
        return err;
    r = PQexec(q->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(q->conn);

        lk_store_set_err(s, "begin: %s: %.*s", q->where, (int)strcspn(m, "\n"), m);
        PQclear(r);
        return r ? LK_ESTORE : LK_ENOMEM;
    }
    PQclear(r);
    q->tx = 1;
    return LK_OK;
}

lk_err pg_query(lk_store *s, const char *sql, const lk_sql_arg *args, int nargs, lk_row_fn fn,
                void *ctx, int64_t *changes)
{
    pg_store *q = (pg_store *)s;
    const char *vals[PG_MAXP], *names[PG_MAXCOLS], *cols[PG_MAXCOLS];
    unsigned char *raw[PG_MAXCOLS];
    char ints[PG_MAXP][24];
    size_t lens[PG_MAXCOLS];
    char kinds[PG_MAXCOLS];
    lk_store_row rw = {0, names, cols, lens, kinds};
    Oid types[PG_MAXP];
    PGresult *r;
    lk_err err = LK_OK;
    int i, row, nrows, ncols;

    pg_pipe_leave(q); /* PQexecParams is refused in pipeline mode */
    if ((err = pg_usable(q, "query")) != LK_OK)
        return err;
    if (nargs > PG_MAXP) {
        lk_store_set_err(s, "query: more than %d arguments", PG_MAXP);
        return LK_EINVAL;
    }
    for (i = 0; i < nargs; i++) {
        if (args[i].is_int) {
            snprintf(ints[i], sizeof ints[i], "%" PRId64, args[i].i);
            vals[i] = ints[i];
            types[i] = OID_INT8;
        } else {
            vals[i] = args[i].text;
            types[i] = OID_TEXT;
        }
    }
    r = PQexecParams(q->conn, sql, nargs, types, vals, NULL, NULL, 0);
    if (!r || (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)) {
        /* the first line: the next ones may quote a row's values */
        const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(q->conn);

        lk_store_set_err(s, "query: %s: %.*s", q->where, (int)strcspn(m, "\n"), m);
        PQclear(r);
        return r ? LK_ESTORE : LK_ENOMEM;
    }
    ncols = PQnfields(r);
    nrows = PQntuples(r);
    if (ncols > PG_MAXCOLS) {
        PQclear(r);
        lk_store_set_err(s, "query: more than %d columns", PG_MAXCOLS);
        return LK_EINVAL;
    }
    for (i = 0; i < ncols; i++)
        names[i] = PQfname(r, i);
    for (row = 0; fn && row < nrows && err == LK_OK; row++) {
        memset(raw, 0, sizeof raw);
        for (i = 0; i < ncols; i++) {
            Oid t = PQftype(r, i);

            kinds[i] = PQgetisnull(r, row, i)                            ? 'n'
                       : t == OID_BYTEA                                  ? 'b'
                       : t == OID_INT8 || t == OID_INT2 || t == OID_INT4 ? 'i'
                                                                         : 't';
            if (PQgetisnull(r, row, i)) {
                cols[i] = NULL;
                lens[i] = 0;
            } else if (t == OID_BYTEA) {
                /* text format shows bytea as hex: the reader gets the bytes */
                raw[i] = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, i), &lens[i]);
                cols[i] = raw[i] ? (const char *)raw[i] : "";
                if (!raw[i])
                    err = LK_ENOMEM;
            } else {
                cols[i] = PQgetvalue(r, row, i);
                lens[i] = (size_t)PQgetlength(r, row, i);
            }
        }
        rw.ncols = ncols;
        if (err == LK_OK && fn(ctx, &rw) != 0) {
            lk_store_set_err(s, "query: stopped by the reader");
            err = LK_EIO;
        }
        for (i = 0; i < ncols; i++)
            PQfreemem(raw[i]);
    }
    if (err == LK_ENOMEM)
        lk_store_set_err(s, "query: out of memory");
    if (err == LK_OK && changes)
        *changes = atoll(PQcmdTuples(r));
    PQclear(r);
    return err;
}
