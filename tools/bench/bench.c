/* loket-bench: how fast the engine and the store handle messages.
 *
 *   loket-bench [--flow F] [--users N] [--messages N] [--dir D] [--pg URI]
 *
 * 1. engine: lk_engine_step on in-memory sessions of N simulated users, no
 *    store: steps per second (target >= 1,000,000).
 * 2. store: lk_runtime_handle (dedup, load, step, save, log in one
 *    transaction) on a SQLite file in D, at synchronous=FULL and NORMAL.
 * 3. sqlite: SQLite's own rate for one UPSERT of a session-sized blob per
 *    transaction on the same disk and setting, the yardstick for 2 (target:
 *    the store within 80% of it).
 * 4. with --pg URI: 2 against that PostgreSQL database (synchronous_commit
 *    on, then off), its message ids new on every run.
 * Every user walks the PANDAWA reactivation path and starts over. */
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "loket/engine.h"
#include "loket/runtime.h"

static const char *script[] = {"Hi Chika", "6", "jawa barat", "kota bandung", "j", "1", "5",
                               "3",        "3", "2",          "sudah"};
#define NSCRIPT (int)(sizeof script / sizeof *script)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long max_rss_kib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static int bench_engine(const lk_flow *flow, int users, long messages)
{
    lk_session **s = calloc((size_t)users, sizeof *s);
    lk_out *out = lk_out_new();
    int64_t t = INT64_C(1795485600000);
    double t0, dt;
    long i;
    int u;

    if (!s || !out)
        return -1;
    for (u = 0; u < users; u++)
        if (!(s[u] = lk_session_new(flow)))
            return -1;
    t0 = now_s();
    for (i = 0; i < messages; i++) {
        const char *m;
        u = (int)(i % users);
        m = script[(i / users) % NSCRIPT];
        lk_out_reset(out);
        if (lk_engine_step(flow, s[u], m, strlen(m), t, out) != LK_OK) {
            fprintf(stderr, "engine: step failed\n");
            return -1;
        }
    }
    dt = now_s() - t0;
    printf("engine   %8ld steps  %6.3f s  %10.0f steps/s  (%d users, no store)\n", messages, dt,
           messages / dt, users);
    {
        /* what the sessions hold after the walk: variables, history, buffers */
        lk_buf enc = {0};
        size_t bytes = 0;
        for (u = 0; u < users; u++) {
            lk_buf_reset(&enc);
            lk_session_encode(s[u], flow, &enc);
            bytes += enc.len;
        }
        printf("memory   %8ld KiB max RSS, %zu bytes per stored session on average\n",
               max_rss_kib(), bytes / (size_t)users);
        lk_buf_free(&enc);
    }
    for (u = 0; u < users; u++)
        lk_session_free(s[u]);
    free(s);
    lk_out_free(out);
    return 0;
}

static int bench_store(const lk_flow *flow, const char *dir, const char *pg, lk_sync sync,
                       int users, long messages)
{
    char path[512], user[32], id[48];
    lk_store_opts so;
    lk_store *st = NULL;
    lk_runtime *rt;
    lk_out *out = lk_out_new();
    lk_diag diag = {0};
    double t0, dt;
    long i;

    if (pg)
        snprintf(path, sizeof path, "%s", pg);
    else
        snprintf(path, sizeof path, "%s/loket-bench-%d.db", dir, (int)sync);
    if (!pg)
        unlink(path);
    lk_store_opts_default(&so);
    so.sync = sync;
    if (lk_store_open(path, &so, &st, &diag) != LK_OK) {
        lk_diag_print(&diag, stderr);
        return -1;
    }
    rt = lk_runtime_new(flow, st);
    t0 = now_s();
    for (i = 0; i < messages; i++) {
        lk_inbound in = {0};
        snprintf(user, sizeof user, "62811%07d", (int)(i % users));
        snprintf(id, sizeof id, "wamid.%ld.%d.%ld", (long)getpid(), (int)sync, i);
        in.channel = "bench";
        in.user = user;
        in.ext_id = id;
        in.text = script[(i / users) % NSCRIPT];
        in.len = strlen(in.text);
        in.now_ms = INT64_C(1795485600000) + i;
        if (lk_runtime_handle(rt, &in, out, NULL, NULL) != LK_OK) {
            fprintf(stderr, "store: %s\n", lk_store_errmsg(st));
            return -1;
        }
    }
    dt = now_s() - t0;
    printf("%s %8ld msgs   %6.3f s  %10.0f msgs/s   (%s, dedup+load+step+save+log)\n",
           pg ? "store/pg" : "store   ", messages, dt, messages / dt,
           pg ? (sync == LK_SYNC_OFF ? "synchronous_commit=off" : "synchronous_commit=on")
              : (sync == LK_SYNC_FULL ? "synchronous=FULL" : "synchronous=NORMAL"));
    lk_runtime_free(rt);
    lk_store_close(st);
    lk_out_free(out);
    if (pg)
        return 0;
    unlink(path);
    strcat(path, "-wal");
    unlink(path);
    return 0;
}

static int bench_sqlite(const char *dir, lk_sync sync, int users, long messages)
{
    char path[512], user[32], blob[160];
    sqlite3 *db;
    sqlite3_stmt *up, *begin, *commit;
    double t0, dt;
    long i;

    snprintf(path, sizeof path, "%s/sqlite-bench-%d.db", dir, (int)sync);
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    sqlite3_exec(db, sync == LK_SYNC_FULL ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                 NULL, NULL, NULL);
    sqlite3_exec(db, "CREATE TABLE s(user TEXT PRIMARY KEY, blob BLOB, t INTEGER)", NULL, NULL,
                 NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO s VALUES(?1, ?2, ?3) ON CONFLICT(user) DO UPDATE SET "
                       "blob = excluded.blob, t = excluded.t",
                       -1, &up, NULL);
    sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL);
    sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL);
    memset(blob, 'x', sizeof blob);
    t0 = now_s();
    for (i = 0; i < messages; i++) {
        snprintf(user, sizeof user, "62811%07d", (int)(i % users));
        sqlite3_step(begin);
        sqlite3_reset(begin);
        sqlite3_bind_text(up, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_blob(up, 2, blob, sizeof blob, SQLITE_STATIC);
        sqlite3_bind_int64(up, 3, i);
        if (sqlite3_step(up) != SQLITE_DONE)
            return -1;
        sqlite3_reset(up);
        sqlite3_step(commit);
        sqlite3_reset(commit);
    }
    dt = now_s() - t0;
    printf("sqlite   %8ld upserts %6.3f s  %10.0f upserts/s (synchronous=%s, the yardstick)\n",
           messages, dt, messages / dt, sync == LK_SYNC_FULL ? "FULL" : "NORMAL");
    sqlite3_finalize(up);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_close(db);
    unlink(path);
    strcat(path, "-wal");
    unlink(path);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"flow", required_argument, NULL, 'f'},
                                         {"users", required_argument, NULL, 'u'},
                                         {"messages", required_argument, NULL, 'm'},
                                         {"store-messages", required_argument, NULL, 's'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"pg", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    const char *flow_path = "flows/chika.json", *dir = ".", *pg = NULL;
    long messages = 2000000, store_messages = 20000;
    int users = 10000, c, rc = 0;
    lk_flow *flow = NULL;
    lk_diag diag = {0};

    while ((c = getopt_long(argc, argv, "f:u:m:s:d:p:", opts, NULL)) != -1) {
        switch (c) {
        case 'f': flow_path = optarg; break;
        case 'u': users = atoi(optarg); break;
        case 'm': messages = atol(optarg); break;
        case 's': store_messages = atol(optarg); break;
        case 'd': dir = optarg; break;
        case 'p': pg = optarg; break;
        default:
            fprintf(stderr, "usage: loket-bench [--flow F] [--users N] [--messages N] "
                            "[--store-messages N] [--dir D] [--pg URI]\n");
            return 2;
        }
    }
    if (users < 1 || messages < 1 || store_messages < 1) {
        fprintf(stderr, "loket-bench: counts must be positive\n");
        return 2;
    }
    if (lk_flow_load(flow_path, &flow, &diag) != LK_OK) {
        lk_diag_print(&diag, stderr);
        return 1;
    }
    lk_diag_clear(&diag);
    rc |= bench_engine(flow, users, messages);
    rc |= bench_store(flow, dir, NULL, LK_SYNC_FULL, users, store_messages);
    rc |= bench_sqlite(dir, LK_SYNC_FULL, users, store_messages);
    rc |= bench_store(flow, dir, NULL, LK_SYNC_NORMAL, users, store_messages);
    rc |= bench_sqlite(dir, LK_SYNC_NORMAL, users, store_messages);
    if (pg) {
        rc |= bench_store(flow, dir, pg, LK_SYNC_FULL, users, store_messages);
        rc |= bench_store(flow, dir, pg, LK_SYNC_OFF, users, store_messages);
    }
    lk_flow_free(flow);
    return rc ? 1 : 0;
}
