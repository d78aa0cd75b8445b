/* The helpers of the store's unit tests (test_store.c, test_privacy.c):
 * a database of the backend under test (a file in a fresh directory under
 * /tmp, or a schema of the PostgreSQL database of LOKET_TEST_PG), raw looks
 * at it from outside with sqlite3 or libpq, and opening a store or giving
 * up. Include it after test.h. */
#ifndef LOKET_STORE_TEST_H
#define LOKET_STORE_TEST_H

#include "loket/store.h"
#include "store_int.h"
#include "test.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/loket-store-XXXXXX";

/* The backend of the current run: NULL for SQLite, else the base URI; and
 * the test's process id, which names its schemas (forked children too). */
static const char *pg_base;
static long test_pid;

static inline void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* Runs sql on the PostgreSQL database at uri; the first column of the first
 * row as an integer (text to tv when given), -999 without a row. */
static inline long long pg1(const char *uri, const char *sql, char *tv, size_t tcap)
{
    PGconn *c = PQconnectdb(uri);
    PGresult *r = NULL;
    long long v = -999;

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "raw connect: %s", PQerrorMessage(c));
        v = -997;
        goto out;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "raw sql failed: %s: %s", sql, PQresultErrorMessage(r));
        v = -998;
    } else if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
        v = atoll(PQgetvalue(r, 0, 0));
        if (tv)
            snprintf(tv, tcap, "%s", PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    }
out:
    PQclear(r);
    PQfinish(c);
    return v;
}

/* A database of the current backend: a path in the test directory, or a
 * PostgreSQL URI whose search_path is a schema of this process named after
 * name (created here). Rotates through a few buffers so that two can be
 * live at once. */
static inline const char *dbpath(const char *name)
{
    static char bufs[4][1024];
    static int next;
    char *b = bufs[next++ % 4], schema[80], sql[160];
    size_t i, k;

    if (!pg_base) {
        snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
        return b;
    }
    k = (size_t)snprintf(schema, sizeof schema, "lkt%ld_", test_pid);
    for (i = 0; name[i] && k + 1 < sizeof schema; i++)
        schema[k++] = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')
                          ? name[i]
                          : '_';
    schema[k] = 0;
    snprintf(b, sizeof bufs[0], "%s%coptions=-csearch_path%%3D%s", pg_base,
             strchr(pg_base, '?') ? '&' : '?', schema);
    snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s", schema);
    pg1(pg_base, sql, NULL, 0);
    return b;
}

/* Drops the schemas of this process. */
static inline void pg_drop_schemas(void)
{
    char sql[512];

    snprintf(sql, sizeof sql,
             "DO $$DECLARE n text; BEGIN FOR n IN SELECT nspname FROM pg_namespace "
             "WHERE nspname LIKE 'lkt%ld\\_%%' LOOP EXECUTE 'DROP SCHEMA ' || n || ' CASCADE'; "
             "END LOOP; END$$",
             test_pid);
    pg1(pg_base, sql, NULL, 0);
}

static inline void rm_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlink(dbpath(e->d_name));
    }
    closedir(d);
    rmdir(tmpdir);
}

static inline int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static inline lk_store *open_ok(const char *path)
{
    lk_store *s = NULL;
    lk_diag diag = {0};
    lk_err err = lk_store_open(path, NULL, &s, &diag);

    CHECK_INT(err, LK_OK);
    if (err != LK_OK) {
        lk_diag_print(&diag, stderr);
        lk_diag_clear(&diag);
        fprintf(stderr, "cannot go on without a store\n");
        rm_tmpdir();
        exit(1);
    }
    CHECK_INT(diag.n, 0);
    lk_diag_clear(&diag);
    return s;
}

/* Runs sql on db and returns the first column of the first row as an
 * integer; text results go to tv when given. -999 when there is no row. */
static inline long long q1(sqlite3 *db, const char *sql, char *tv, size_t tcap)
{
    sqlite3_stmt *st = NULL;
    long long v = -999;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "raw sql failed: %s: %s\n", sql, sqlite3_errmsg(db));
        return -998;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        if (tv) {
            const char *z = (const char *)sqlite3_column_text(st, 0);
            snprintf(tv, tcap, "%s", z ? z : "(null)");
        }
    }
    sqlite3_finalize(st);
    return v;
}

static inline sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;

    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "raw open %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static inline long long raw1(const char *path, const char *sql, char *tv, size_t tcap)
{
    sqlite3 *db;
    long long v;

    if (lk_store_pg_uri(path))
        return pg1(path, sql, tv, tcap);
    db = raw_open(path);
    v = db ? q1(db, sql, tv, tcap) : -997;

    sqlite3_close(db);
    return v;
}

static inline int raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK)
        fprintf(stderr, "raw exec failed: %s\n", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return rc;
}

#endif
