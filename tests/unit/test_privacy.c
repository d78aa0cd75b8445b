/* Unit tests of personal data in the store (src/store/privacy.c, misses.c):
 * retention at each setting in small batches, erasing one user on one
 * channel or on every channel, exporting everything of a user, that no
 * index on the times is needed, and `loket misses`' query. One suite, two backends, as in
 * test_store.c: a SQLite file first, then the PostgreSQL database of
 * LOKET_TEST_PG (skipped, and said so, without it). Raw SQL checks from
 * outside what the store left behind. */
#include "test.h"

#include "store_test.h"

#include <stdint.h>

#define DAY (86400LL * 1000)
#define NOW (1800000000000LL) /* a fixed "now": 2027-01-15 */

static void log_at(lk_store *s, const char *channel, const char *user, int64_t at, const char *text,
                   const char *missed)
{
    lk_log_entry e = {user, channel, LK_DIR_IN, at, "st", NULL, text, strlen(text), missed};

    CHECK_INT(lk_store_log(s, &e), LK_OK);
}

static long long count(const char *p, const char *sql)
{
    return raw1(p, sql, NULL, 0);
}

/* ---- retention ---------------------------------------------------------- */

/* One round of retention: calls until *more is 0; the calls it took. No call
 * deletes more than a batch of any table. */
static int prune_round(lk_store *s, lk_prune_opts *o, lk_prune_counts *n)
{
    int calls = 0, more = 1, batch = o->batch > 0 ? o->batch : 500;

    memset(o->at, 0, sizeof o->at);
    while (more && calls < 100) {
        lk_prune_counts was = *n;

        CHECK_INT(lk_store_prune(s, o, n, &more), LK_OK);
        CHECK(n->log - was.log <= batch && n->outbox - was.outbox <= batch &&
              n->sessions - was.sessions <= batch);
        calls++;
    }
    CHECK_INT(more, 0);
    return calls;
}

static void test_prune(void)
{
    const char *p = dbpath("prune.db");
    lk_store *s = open_ok(p);
    lk_prune_opts o = {0};
    lk_prune_counts n = {0};
    int64_t id, pending_old;
    int i, more = -1;
    char u[16];

    /* 10 log rows, every other one 100 days old (a clock that went back, or
     * a server of another zone on PostgreSQL): old rows among new ones */
    CHECK_INT(lk_store_begin(s), LK_OK);
    for (i = 0; i < 10; i++)
        log_at(s, "whatsapp", "62811", i % 2 ? NOW - DAY : NOW - 100 * DAY + i,
               i % 2 ? "baru" : "lama", NULL);
    /* the outbox: sent 10 days ago, dropped 10 days ago, sent yesterday,
     * and one still pending since 10 days (it is never pruned) */
    CHECK_INT(lk_store_outbox_add(s, "62811", "whatsapp", "{}", NOW - 10 * DAY, &id), LK_OK);
    CHECK_INT(lk_store_commit(s), LK_OK);
    CHECK_INT(lk_store_outbox_sent(s, id, "wamid.1", NOW - 10 * DAY), LK_OK);
    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "62822", "whatsapp", "{}", NOW - 10 * DAY, &id), LK_OK);
    CHECK_INT(lk_store_commit(s), LK_OK);
    CHECK_INT(lk_store_outbox_drop(s, id, "refused", NOW - 10 * DAY), LK_OK);
    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "62833", "whatsapp", "{}", NOW - 2 * DAY, &id), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "62844", "whatsapp", "{}", NOW - 10 * DAY, &pending_old),
              LK_OK);
    CHECK_INT(lk_store_commit(s), LK_OK);
    CHECK_INT(lk_store_outbox_sent(s, id, "wamid.3", NOW - DAY), LK_OK);
    /* sessions u0 .. u5: u1 and u3 active yesterday, the others idle for 40
     * days, so that a window of three holds an active one between idle ones */
    CHECK_INT(lk_store_begin(s), LK_OK);
    for (i = 0; i < 6; i++) {
        snprintf(u, sizeof u, "u%d", i);
        CHECK_INT(lk_store_save(s, "ws", u, "x", 1, i == 1 || i == 3 ? NOW - DAY : NOW - 40 * DAY),
                  LK_OK);
    }
    CHECK_INT(lk_store_commit(s), LK_OK);

    /* nothing set: nothing deleted */
    CHECK_INT(lk_store_prune(s, &o, &n, &more), LK_OK);
    CHECK_INT(more, 0);
    CHECK_INT(n.log + n.outbox + n.sessions, 0);
    CHECK_INT(count(p, "SELECT count(*) FROM log"), 10);

    /* the log alone, 90 days, in windows of 3 rows: every old row goes,
     * none of the new ones between them, at most 3 a call */
    o.log_before_ms = NOW - 90 * DAY;
    o.batch = 3;
    CHECK(prune_round(s, &o, &n) >= 2);
    CHECK_INT(n.log, 5);
    CHECK_INT(n.outbox + n.sessions, 0);
    CHECK_INT(count(p, "SELECT count(*) FROM log"), 5);
    CHECK_INT(count(p, "SELECT count(*) FROM log WHERE text = 'baru'"), 5);
    CHECK_INT(count(p, "SELECT count(*) FROM outbox"), 4);
    CHECK_INT(count(p, "SELECT count(*) FROM sessions"), 6);
    /* a second round finds nothing */
    memset(&n, 0, sizeof n);
    prune_round(s, &o, &n);
    CHECK_INT(n.log, 0);

    /* the outbox, 7 days: the sent and the dropped row, not the recent one
     * nor the pending one however old */
    o.log_before_ms = 0;
    o.outbox_before_ms = NOW - 7 * DAY;
    o.batch = 0; /* the default batch */
    CHECK_INT(prune_round(s, &o, &n), 1);
    CHECK_INT(n.outbox, 2);
    CHECK_INT(count(p, "SELECT count(*) FROM outbox"), 2);
    CHECK_INT(count(p, "SELECT count(*) FROM outbox WHERE sent_ms IS NULL"), 1);
    {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox WHERE id = %lld",
                 (long long)pending_old);
        CHECK_INT(count(p, sql), 1);
    }

    /* sessions idle for 30 days, windows of 3: u0 u2 | u4 u5, never u1 u3 */
    memset(&n, 0, sizeof n);
    o.outbox_before_ms = 0;
    o.session_before_ms = NOW - 30 * DAY;
    o.batch = 3;
    memset(o.at, 0, sizeof o.at);
    CHECK_INT(lk_store_prune(s, &o, &n, &more), LK_OK);
    CHECK_INT(more, 1);
    CHECK_INT(n.sessions, 2);
    CHECK_INT(count(p, "SELECT count(*) FROM sessions WHERE \"user\" IN ('u1', 'u3')"), 2);
    CHECK_INT(lk_store_prune(s, &o, &n, &more), LK_OK);
    CHECK_INT(n.sessions, 4);
    for (i = 0; more && i < 10; i++)
        CHECK_INT(lk_store_prune(s, &o, &n, &more), LK_OK);
    CHECK_INT(more, 0);
    CHECK_INT(n.sessions, 4);
    CHECK_INT(count(p, "SELECT count(*) FROM sessions"), 2);
    CHECK_INT(count(p, "SELECT count(*) FROM sessions WHERE \"user\" IN ('u1', 'u3')"), 2);

    /* all three at once on what is left: nothing more is old */
    memset(&n, 0, sizeof n);
    o.log_before_ms = NOW - 90 * DAY;
    o.outbox_before_ms = NOW - 7 * DAY;
    prune_round(s, &o, &n);
    CHECK_INT(n.log + n.outbox + n.sessions, 0);

    /* inside a transaction it is refused, and the transaction stays usable */
    memset(o.at, 0, sizeof o.at);
    CHECK_INT(lk_store_begin(s), LK_OK);
    log_at(s, "ws", "x", NOW - 100 * DAY, "lama", NULL);
    CHECK(lk_store_prune(s, &o, &n, &more) != LK_OK);
    CHECK_INT(lk_store_commit(s), LK_OK);
    CHECK_INT(count(p, "SELECT count(*) FROM log WHERE text = 'lama'"), 1);
    CHECK_INT(lk_store_prune(NULL, &o, &n, &more), LK_EINVAL);
    CHECK_INT(lk_store_prune(s, NULL, &n, &more), LK_EINVAL);
    lk_store_close(s);
}

/* Retention needs no index on the times: none was added (each would cost
 * the message path a page write per message), and a window of the log is
 * read by its primary key. */
static void test_no_time_index(void)
{
    const char *p = dbpath("index.db");
    lk_store *s = open_ok(p);
    const char *q = pg_base ? "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() "
                              "AND (indexdef LIKE '%(updated_ms)%' OR indexdef LIKE '%(sent_ms)%' "
                              "OR indexdef LIKE '%log USING btree (at_ms)')"
                            : "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                              "(sql LIKE '%(updated_ms)%' OR sql LIKE '%(sent_ms)%' OR "
                              "sql LIKE '%ON log(at_ms)')";

    CHECK_INT(count(p, q), 0);
    if (!pg_base) {
        sqlite3 *db = raw_open(p);
        sqlite3_stmt *st = NULL;
        char plan[512] = "";

        if (db &&
            sqlite3_prepare_v2(db,
                               "EXPLAIN QUERY PLAN SELECT id, CASE WHEN at_ms < 5 THEN 1 ELSE 0 "
                               "END FROM log WHERE id > 7 ORDER BY id LIMIT 500",
                               -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            snprintf(plan, sizeof plan, "%s", (const char *)sqlite3_column_text(st, 3));
        sqlite3_finalize(st);
        sqlite3_close(db);
        CHECK(strstr(plan, "INTEGER PRIMARY KEY") != NULL);
    }
    lk_store_close(s);
}

/* ---- one user --------------------------------------------------------------- */

/* Three users, one of them on two channels, each with a session, log rows,
 * an outbox row and a processed id. */
static void fill_users(lk_store *s)
{
    static const char *const who[][2] = {
        {"whatsapp", "628111"}, {"ws", "628111"}, {"whatsapp", "628222"}, {"twilio", "628333"}};
    int i, dup;
    char ext[32];

    for (i = 0; i < 4; i++) {
        const char *ch = who[i][0], *u = who[i][1];

        snprintf(ext, sizeof ext, "wamid.%d", i);
        CHECK_INT(lk_store_begin(s), LK_OK);
        CHECK_INT(lk_store_seen(s, ch, u, ext, NOW + i, &dup), LK_OK);
        CHECK_INT(lk_store_save(s, ch, u, "lk1s4:main.", 11, NOW + i), LK_OK);
        log_at(s, ch, u, NOW + i, "Hi Chika", NULL);
        log_at(s, ch, u, NOW + i, "3273012345678901", NULL);
        /* WhatsApp's outbox rows name the sending number too */
        CHECK_INT(lk_store_outbox_add(s, u, !strcmp(ch, "whatsapp") ? "whatsapp:15550001" : ch,
                                      "{\"text\":\"Halo\"}", NOW + i, NULL),
                  LK_OK);
        CHECK_INT(lk_store_commit(s), LK_OK);
    }
}

static long long rows_of(const char *p, const char *table, const char *user)
{
    char sql[160];

    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE \"user\" = '%s'", table, user);
    return count(p, sql);
}

static void test_forget(void)
{
    const char *p = dbpath("forget.db");
    lk_store *s = open_ok(p);
    lk_user_counts n, two[2];
    lk_user_ref u = {"whatsapp", "628111"};
    lk_user_ref both[2] = {{"whatsapp", "628222"}, {NULL, "no-such-user"}};
    lk_buf sec = {0};

    fill_users(s);
    CHECK_INT(lk_store_secret(s, "ws", "0123456789abcdef", 16, &sec), LK_OK);

    /* one user on one channel: the other channel's rows of the same id stay */
    CHECK_INT(lk_store_forget(s, &u, 1, &n), LK_OK);
    CHECK_INT(n.sessions, 1);
    CHECK_INT(n.log, 2);
    CHECK_INT(n.outbox, 1);
    CHECK_INT(n.seen, 1);
    CHECK_INT(count(p, "SELECT count(*) FROM log WHERE \"user\" = '628111' AND "
                       "channel = 'whatsapp'"),
              0);
    CHECK_INT(rows_of(p, "log", "628111"), 2); /* its ws rows */
    CHECK_INT(rows_of(p, "sessions", "628111"), 1);

    /* a bare id: every channel */
    u.channel = NULL;
    CHECK_INT(lk_store_forget(s, &u, 1, &n), LK_OK);
    CHECK_INT(n.sessions, 1);
    CHECK_INT(n.log, 2);
    CHECK_INT(n.outbox, 1);
    CHECK_INT(n.seen, 1);
    CHECK_INT(rows_of(p, "sessions", "628111") + rows_of(p, "log", "628111") +
                  rows_of(p, "outbox", "628111") + rows_of(p, "seen", "628111"),
              0);

    /* nobody else lost anything; the server's secret is not a user's */
    CHECK_INT(rows_of(p, "log", "628222"), 2);
    CHECK_INT(rows_of(p, "log", "628333"), 2);
    CHECK_INT(rows_of(p, "sessions", "628222") + rows_of(p, "sessions", "628333"), 2);
    CHECK_INT(rows_of(p, "outbox", "628222") + rows_of(p, "seen", "628333"), 2);
    CHECK_INT(count(p, "SELECT count(*) FROM secrets"), 1);

    /* again: nothing left to remove, and that is not an error */
    CHECK_INT(lk_store_forget(s, &u, 1, &n), LK_OK);
    CHECK_INT(n.sessions + n.log + n.outbox + n.seen, 0);
    /* a user id with SQL in it is only a user id */
    u.user = "x' OR '1'='1";
    CHECK_INT(lk_store_forget(s, &u, 1, &n), LK_OK);
    CHECK_INT(n.log, 0);
    CHECK_INT(count(p, "SELECT count(*) FROM log"), 4);

    /* the user's next message finds no session: the flow starts over */
    {
        lk_buf b = {0};
        int found = -1;
        CHECK_INT(lk_store_load(s, "whatsapp", "628111", &b, &found), LK_OK);
        CHECK_INT(found, 0);
        lk_buf_free(&b);
    }

    /* a bad user among good ones: nothing is erased */
    both[1].channel = "";
    CHECK_INT(lk_store_forget(s, both, 2, two), LK_EINVAL);
    both[1].channel = NULL;
    both[1].user = "";
    CHECK_INT(lk_store_forget(s, both, 2, two), LK_EINVAL);
    CHECK_INT(lk_store_forget(s, both, 0, two), LK_EINVAL);
    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_forget(s, both, 1, two), LK_EINVAL); /* not inside one */
    lk_store_rollback(s);
    CHECK_INT(rows_of(p, "log", "628222"), 2);

    /* two users in one transaction, each with its own counts */
    both[1].user = "628333";
    CHECK_INT(lk_store_forget(s, both, 2, two), LK_OK);
    CHECK_INT(two[0].log, 2);
    CHECK_INT(two[0].sessions, 1);
    CHECK_INT(two[1].log, 2);
    CHECK_INT(two[1].outbox, 1);
    CHECK_INT(count(p, "SELECT count(*) FROM log") + count(p, "SELECT count(*) FROM sessions") +
                  count(p, "SELECT count(*) FROM outbox") + count(p, "SELECT count(*) FROM seen"),
              0);
    CHECK_STR(lk_store_user_table(0), "sessions");
    CHECK_STR(lk_store_user_table(3), "seen");
    CHECK(lk_store_user_table(4) == NULL);
    lk_buf_free(&sec);
    lk_store_close(s);
}

typedef struct seen_rows {
    char tables[64][16];
    char text[64][64];
    int n, log_ids_ordered, blob_ok, null_ok, kinds_ok;
    long long last_log_id;
} seen_rows;

static const char *col(const lk_store_row *r, const char *name, char *kind)
{
    int i;
    for (i = 0; i < r->ncols; i++)
        if (!strcmp(r->names[i], name)) {
            if (kind)
                *kind = r->kinds[i];
            return r->vals[i];
        }
    return "(no such column)";
}

static int on_row(void *ctx, const char *table, const lk_store_row *r)
{
    seen_rows *a = ctx;
    const char *v;
    char k = 0;

    if (a->n >= 64)
        return 1;
    snprintf(a->tables[a->n], sizeof a->tables[0], "%s", table);
    v = col(r, "user", NULL);
    snprintf(a->text[a->n], sizeof a->text[0], "%s", v ? v : "(null)");
    if (!strcmp(table, "log")) {
        long long id = atoll(col(r, "id", &k));
        a->kinds_ok &= k == 'i';
        if (id <= a->last_log_id)
            a->log_ids_ordered = 0;
        a->last_log_id = id;
        /* an inbound row has no ext_id here: SQL NULL */
        a->null_ok &= col(r, "ext_id", &k) == NULL && k == 'n';
        a->kinds_ok &= !strcmp(col(r, "dir", &k), "in") && k == 't';
    }
    if (!strcmp(table, "sessions")) {
        size_t i;
        for (i = 0; i < (size_t)r->ncols && strcmp(r->names[i], "blob"); i++)
            ;
        a->blob_ok &= i < (size_t)r->ncols && r->kinds[i] == 'b' && r->lens[i] == 11 &&
                      !memcmp(r->vals[i], "lk1s4:main.", 11);
    }
    a->n++;
    return 0;
}

static int stop_at_first(void *ctx, const char *table, const lk_store_row *r)
{
    (void)table;
    (void)r;
    return ++*(int *)ctx > 0;
}

static void test_export(void)
{
    const char *p = dbpath("export.db");
    lk_store *s = open_ok(p);
    seen_rows a;
    int i, calls = 0;

    fill_users(s);
    memset(&a, 0, sizeof a);
    a.log_ids_ordered = a.blob_ok = a.null_ok = a.kinds_ok = 1;
    CHECK_INT(lk_store_export(s, NULL, "628111", on_row, &a), LK_OK);
    /* both channels: 2 sessions, 4 log rows, 2 outbox rows, 2 ids, in
     * table order */
    CHECK_INT(a.n, 10);
    CHECK_STR(a.tables[0], "sessions");
    CHECK_STR(a.tables[1], "sessions");
    CHECK_STR(a.tables[2], "log");
    CHECK_STR(a.tables[5], "log");
    CHECK_STR(a.tables[6], "outbox");
    CHECK_STR(a.tables[8], "seen");
    CHECK_STR(a.tables[9], "seen");
    for (i = 0; i < a.n; i++)
        CHECK_STR(a.text[i], "628111");
    CHECK(a.log_ids_ordered);
    CHECK(a.blob_ok);
    CHECK(a.null_ok);
    CHECK(a.kinds_ok);

    /* one channel */
    memset(&a, 0, sizeof a);
    a.log_ids_ordered = a.blob_ok = a.null_ok = a.kinds_ok = 1;
    CHECK_INT(lk_store_export(s, "ws", "628111", on_row, &a), LK_OK);
    CHECK_INT(a.n, 5);
    /* nobody: nothing, no error */
    memset(&a, 0, sizeof a);
    CHECK_INT(lk_store_export(s, NULL, "629999", on_row, &a), LK_OK);
    CHECK_INT(a.n, 0);
    /* the reader stops it; the store is usable afterwards */
    CHECK_INT(lk_store_export(s, NULL, "628222", stop_at_first, &calls), LK_EIO);
    CHECK_INT(calls, 1);
    CHECK_INT(lk_store_begin(s), LK_OK);
    lk_store_rollback(s);
    CHECK_INT(lk_store_export(s, NULL, "628222", NULL, NULL), LK_EINVAL);
    lk_store_close(s);
}

/* lk_store_misses on every backend (it was SQLite's alone). */
static void test_misses(void)
{
    lk_store *s = open_ok(dbpath("misses.db"));
    lk_miss *m = NULL;
    int n = -1;

    CHECK_INT(lk_store_begin(s), LK_OK);
    log_at(s, "whatsapp", "a", NOW, "Mau bayar", "main");
    log_at(s, "whatsapp", "b", NOW + 5, "mau  BAYAR", "main");
    log_at(s, "whatsapp", "c", NOW + 9, "nik 3273012345678901", "main");
    log_at(s, "whatsapp", "c", NOW + 9, "dua", "pandawa_province");
    log_at(s, "whatsapp", "c", NOW + 9, "menu", NULL);
    CHECK_INT(lk_store_commit(s), LK_OK);
    CHECK_INT(lk_store_misses(s, 0, NULL, &m, &n), LK_OK);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_STR(m[0].state, "main");
        CHECK_STR(m[0].text, "mau bayar");
        CHECK_INT(m[0].count, 2);
        CHECK_INT(m[0].last_ms, NOW + 5);
        CHECK_STR(m[1].text, "dua");
        CHECK_STR(m[2].text, "nik #"); /* digits never show */
    }
    lk_store_misses_free(m, n);
    CHECK_INT(lk_store_misses(s, NOW + 6, "main", &m, &n), LK_OK);
    CHECK_INT(n, 1);
    lk_store_misses_free(m, n);
    lk_store_close(s);
}

static void run_cases(void)
{
    test_prune();
    test_no_time_index();
    test_forget();
    test_export();
    test_misses();
}

/* PostgreSQL: while another server holds the maintenance lock (it is
 * pruning), this one deletes nothing and finds the rows next time. */
static void test_pg_prune_lock(void)
{
    const char *p = dbpath("prunelock");
    lk_store *s = open_ok(p);
    lk_prune_opts o = {.log_before_ms = NOW, .batch = 10};
    lk_prune_counts n = {0};
    PGconn *c = PQconnectdb(p);
    PGresult *r;
    int more = -1;

    CHECK_INT(lk_store_begin(s), LK_OK);
    log_at(s, "ws", "a", NOW - DAY, "lama", NULL);
    CHECK_INT(lk_store_commit(s), LK_OK);
    CHECK(PQstatus(c) == CONNECTION_OK);
    r = PQexec(c, "SELECT pg_advisory_lock(7813581961993125890)");
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
    CHECK_INT(lk_store_prune(s, &o, &n, &more), LK_OK);
    CHECK_INT(n.log, 0);
    CHECK_INT(more, 0); /* this round is over */
    PQclear(PQexec(c, "SELECT pg_advisory_unlock(7813581961993125890)"));
    CHECK_INT(lk_store_prune(s, &o, &n, &more), LK_OK);
    CHECK_INT(n.log, 0);
    memset(o.at, 0, sizeof o.at); /* the next round */
    CHECK_INT(lk_store_prune(s, &o, &n, &more), LK_OK);
    CHECK_INT(n.log, 1);
    PQfinish(c);
    lk_store_close(s);
}

/* PostgreSQL: an error's DETAIL may quote a row ("Failing row contains
 * (..., 3273012345678901, ...)"), and store errors go to the server log: the
 * store keeps the first line only. */
static void test_pg_error_detail(void)
{
    lk_store *s = open_ok(dbpath("detail"));
    lk_sql_arg a[1] = {{.text = "3273012345678901"}};

    CHECK_INT(s->ops->query(s, "INSERT INTO log(\"user\", text) VALUES ('u', $1)", a, 1, NULL, NULL,
                            NULL),
              LK_ESTORE);
    CHECK(strstr(lk_store_errmsg(s), "not-null") != NULL);
    CHECK(strstr(lk_store_errmsg(s), "3273") == NULL);
    lk_store_close(s);
}

/* A database of its own in the test cluster, for this run: PostgreSQL's
 * advisory locks hold per database, and the maintenance lock these cases
 * take and hold must not meet test_store's pruning, run at the same time. */
static char own_db[64], own_uri[1024];

static const char *own_database(const char *base)
{
    const char *auth = strstr(base, "://"), *path, *rest;
    char sql[128];

    if (!auth)
        return base;
    auth += 3;
    path = auth + strcspn(auth, "/?");
    rest = *path == '/' ? path + 1 + strcspn(path + 1, "?") : path;
    snprintf(own_db, sizeof own_db, "lktpriv_%ld", test_pid);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", own_db);
    pg1(base, sql, NULL, 0);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", own_db);
    if (pg1(base, sql, NULL, 0) == -998)
        return base;
    snprintf(own_uri, sizeof own_uri, "%.*s/%s%s", (int)(path - base), base, own_db, rest);
    return own_uri;
}

int main(void)
{
    const char *cluster;

    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    run_cases();
    rm_tmpdir();
    CHECK(!file_exists(tmpdir));

    cluster = getenv("LOKET_TEST_PG");
    test_pid = (long)getpid();
    if (cluster && *cluster) {
        char sql[128];

        fprintf(stderr, "test_privacy: the same cases against PostgreSQL (LOKET_TEST_PG)\n");
        pg_base = own_database(cluster);
        run_cases();
        test_pg_prune_lock();
        test_pg_error_detail();
        pg_drop_schemas();
        if (pg_base == own_uri) {
            snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", own_db);
            CHECK(pg1(cluster, sql, NULL, 0) != -998);
        }
    } else {
        fprintf(stderr, "test_privacy: PostgreSQL cases SKIPPED: LOKET_TEST_PG is not set "
                        "(tools/test.sh starts a cluster and sets it)\n");
    }
    return test_done("test_privacy");
}
