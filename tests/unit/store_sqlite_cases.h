/* The SQLite-only cases of test_store.c, included by it: schema migration
 * and refusal, the pragmas in force, a full database and two connections on
 * one file. They use its helpers and its temporary directory. */

static void test_migrate(void)
{
    lk_store *s = NULL;
    lk_diag diag = {0};
    const char *p = dbpath("v1.db");
    int dup = -1;
    int64_t id = 0;

    CHECK_INT(make_db(p, v1_schema), SQLITE_OK);
    CHECK_INT(make_db(p, "INSERT INTO sessions VALUES ('old-user', x'00ff01', 42);"
                         "INSERT INTO log(user, channel, dir, at_ms, ext_id, text) "
                         "  VALUES ('old-user', 'ws', 'in', 42, 'm1', 'hi');"
                         "INSERT INTO seen VALUES ('ws', 'm1', 42);"),
              SQLITE_OK);
    CHECK_INT(raw1(p, "PRAGMA user_version", NULL, 0), 1);

    s = open_ok(p);
    /* version 4 gave the session and the processed id the channel and user
     * of the log row */
    {
        lk_buf b = {0};
        int found = -1;
        CHECK_INT(lk_store_load(s, "ws", "old-user", &b, &found), LK_OK);
        CHECK_INT(found, 1);
        CHECK(b.len == 3 && !memcmp(b.p, "\x00\xff\x01", 3));
        lk_buf_free(&b);
    }
    CHECK_INT(lk_store_seen(s, "ws", "old-user", "m1", 50, &dup), LK_OK);
    CHECK_INT(dup, 1);
    CHECK_INT(lk_store_outbox_add(s, "old-user", "ws", "{}", 50, &id), LK_OK);
    CHECK(id > 0);
    lk_store_close(s);
    CHECK_INT(raw1(p, "PRAGMA user_version", NULL, 0), lk_store_schema_version());
    /* version 3 dropped the indexes nothing on the message path reads */
    CHECK_INT(raw1(p,
                   "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                   "AND name IN ('sessions_updated', 'log_user')",
                   NULL, 0),
              0);
    CHECK_INT(raw1(p, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'outbox'",
                   NULL, 0),
              1);
    CHECK_INT(raw1(p,
                   "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                   "AND name IN ('outbox_due', 'outbox_user')",
                   NULL, 0),
              2);

    /* a migration that fails leaves the database as it was */
    p = dbpath("v1-broken.db");
    CHECK_INT(make_db(p, v1_schema), SQLITE_OK);
    CHECK_INT(make_db(p, "CREATE TABLE outbox(x);"
                         "INSERT INTO sessions VALUES ('u', x'01', 1);"),
              SQLITE_OK);
    CHECK_INT(lk_store_open(p, NULL, &s, &diag), LK_ESTORE);
    CHECK(s == NULL);
    CHECK(diag_has(&diag, "from version 1 to 2"));
    lk_diag_clear(&diag);
    CHECK_INT(raw1(p, "PRAGMA user_version", NULL, 0), 1);
    CHECK_INT(raw1(p, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox_due'", NULL, 0), 0);
    CHECK_INT(raw1(p, "SELECT count(*) FROM sessions", NULL, 0), 1);
}

static void test_refuse(void)
{
    lk_store *s = NULL;
    lk_diag diag = {0};
    const char *p = dbpath("future.db");

    CHECK_INT(make_db(p, "CREATE TABLE sessions(user, blob, updated_ms, mood);"
                         "PRAGMA user_version = 99;"),
              SQLITE_OK);
    CHECK_INT(lk_store_open(p, NULL, &s, &diag), LK_ESTORE);
    CHECK(s == NULL);
    CHECK(diag_has(&diag, "schema version 99"));
    CHECK(diag_has(&diag, "newer loket"));
    lk_diag_clear(&diag);
    CHECK_INT(raw1(p, "PRAGMA user_version", NULL, 0), 99);

    /* somebody else's database: tables but no version */
    p = dbpath("foreign.db");
    CHECK_INT(make_db(p, "CREATE TABLE sessions(a, b);"), SQLITE_OK);
    CHECK_INT(lk_store_open(p, NULL, &s, &diag), LK_ESTORE);
    CHECK(s == NULL);
    CHECK(diag_has(&diag, "not a loket database"));
    lk_diag_clear(&diag);
    CHECK_INT(raw1(p, "SELECT count(*) FROM sqlite_master", NULL, 0), 1);
}

static void test_pragmas(void)
{
    const char *p = dbpath("pragma.db");
    lk_store_opts o;
    lk_store *s = NULL;
    lk_diag diag = {0};
    char tv[32] = "";
    sqlite3 *db;

    lk_store_opts_default(&o);
    o.sync = LK_SYNC_NORMAL;
    o.wal_autocheckpoint = 123;
    o.busy_timeout_ms = 777;
    CHECK_INT(lk_store_open(p, &o, &s, &diag), LK_OK);
    lk_diag_clear(&diag);
    if (!s)
        return;
    raw1(p, "PRAGMA journal_mode", tv, sizeof tv);
    CHECK_STR(tv, "wal");
    CHECK(file_exists(dbpath("pragma.db-wal")));
    /* these are per connection: ask the store's own */
    db = lk_store_sqlite_db(s);
    CHECK(db != NULL);
    if (db) {
        CHECK_INT(q1(db, "PRAGMA synchronous", NULL, 0), 1);
        CHECK_INT(q1(db, "PRAGMA wal_autocheckpoint", NULL, 0), 123);
        CHECK_INT(q1(db, "PRAGMA busy_timeout", NULL, 0), 777);
        CHECK_INT(q1(db, "PRAGMA foreign_keys", NULL, 0), 0);
    }
    lk_store_close(s);

    s = open_ok(p); /* defaults: FULL */
    db = lk_store_sqlite_db(s);
    if (db) {
        CHECK_INT(q1(db, "PRAGMA synchronous", NULL, 0), 2);
        CHECK_INT(q1(db, "PRAGMA wal_autocheckpoint", NULL, 0), 1000);
        CHECK_INT(q1(db, "PRAGMA busy_timeout", NULL, 0), 5000);
    }
    lk_store_close(s);

    o.sync = LK_SYNC_OFF;
    o.wal_autocheckpoint = 0;
    CHECK_INT(lk_store_open(p, &o, &s, &diag), LK_OK);
    if (s && (db = lk_store_sqlite_db(s)) != NULL) {
        CHECK_INT(q1(db, "PRAGMA synchronous", NULL, 0), 0);
        CHECK_INT(q1(db, "PRAGMA wal_autocheckpoint", NULL, 0), 0);
    }
    lk_store_close(s);

    s = open_ok(":memory:");
    db = lk_store_sqlite_db(s);
    if (db) {
        q1(db, "PRAGMA journal_mode", tv, sizeof tv);
        CHECK_STR(tv, "memory");
        CHECK_INT(q1(db, "PRAGMA user_version", NULL, 0), lk_store_schema_version());
    }
    lk_store_close(s);
}

/* SQLITE_FULL, made cheaply: max_page_count is a per-connection limit, so
 * it is set on the store's own connection to the pages already in use. */
static void test_full(void)
{
    static unsigned char big[512 * 1024];
    const char *p = dbpath("full.db");
    lk_store *s = open_ok(p);
    sqlite3 *db = lk_store_sqlite_db(s);
    lk_log_entry e = {
        .user = "u", .channel = "chat", .dir = LK_DIR_IN, .text = "hi", .text_len = 2};
    char sql[64];
    lk_err err;

    memset(big, 'q', sizeof big);
    CHECK_INT(lk_store_save(s, "t", "u", "old", 3, 1), LK_OK);
    if (!db)
        goto out;
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", q1(db, "PRAGMA page_count", NULL, 0));
    q1(db, sql, NULL, 0);

    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_log(s, &e), LK_OK);
    err = lk_store_save(s, "t", "u", big, sizeof big, 2);
    CHECK_INT(err, LK_ESTORE);
    CHECK(strstr(lk_store_errmsg(s), "save: database or disk is full") != NULL);
    lk_store_rollback(s); /* what the runtime does after any error */
    check_blob(s, "u", "old", 3);

    /* outside a transaction, too */
    CHECK_INT(lk_store_save(s, "t", "v", big, sizeof big, 3), LK_ESTORE);
    check_no_session(s, "v");

    /* room again: the same store goes on working */
    q1(db, "PRAGMA max_page_count = 1000000", NULL, 0);
    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_save(s, "t", "u", big, sizeof big, 4), LK_OK);
    CHECK_INT(lk_store_commit(s), LK_OK);
    check_blob(s, "u", big, sizeof big);
out:
    lk_store_close(s);
    CHECK_INT(raw1(p, "SELECT count(*) FROM log", NULL, 0), 0);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Holds the write lock of another store for a while, then commits. */
static lk_err slow_commit_err = LK_EINVAL;

static void *slow_commit(void *arg)
{
    sleep_ms(200);
    slow_commit_err = lk_store_commit(arg);
    return NULL;
}

static void test_two_connections(void)
{
    const char *p = dbpath("two.db");
    lk_store *a = open_ok(p), *b = open_ok(p), *impatient = NULL;
    lk_store_opts o;
    lk_outbox_item *it = NULL;
    pthread_t th;
    int n = -1;
    int64_t id = 0;

    lk_store_opts_default(&o);
    o.busy_timeout_ms = 50;
    CHECK_INT(lk_store_open(p, &o, &impatient, NULL), LK_OK);
    if (!impatient)
        goto out;

    /* a reader is not blocked by a writer, and sees only committed rows */
    CHECK_INT(lk_store_begin(a), LK_OK);
    CHECK_INT(lk_store_outbox_add(a, "u", "ws", "{}", 1, &id), LK_OK);
    CHECK_INT(lk_store_outbox_due(b, 10, 10, &it, &n), LK_OK);
    CHECK_INT(n, 0);
    lk_outbox_items_free(it, n);

    /* a second writer waits for the busy timeout, then says why */
    CHECK_INT(lk_store_begin(impatient), LK_ESTORE);
    CHECK(strstr(lk_store_errmsg(impatient), "locked") != NULL);
    CHECK_INT(lk_store_outbox_sent(impatient, id, "r", 2), LK_ESTORE);

    CHECK_INT(lk_store_commit(a), LK_OK);
    CHECK_INT(lk_store_outbox_due(b, 10, 10, &it, &n), LK_OK);
    CHECK_INT(n, 1);
    lk_outbox_items_free(it, n);

    /* with a long enough timeout the sender's update just waits its turn */
    CHECK_INT(lk_store_begin(a), LK_OK);
    CHECK_INT(lk_store_save(a, "t", "u", "s", 1, 3), LK_OK);
    CHECK_INT(pthread_create(&th, NULL, slow_commit, a), 0);
    CHECK_INT(lk_store_outbox_sent(b, id, "remote", 4), LK_OK);
    pthread_join(th, NULL);
    CHECK_INT(slow_commit_err, LK_OK);
    check_blob(b, "u", "s", 1);
    CHECK_INT(lk_store_outbox_due(a, 10, 10, &it, &n), LK_OK);
    CHECK_INT(n, 0);
    lk_outbox_items_free(it, n);
    CHECK_INT(lk_store_checkpoint(b, NULL), LK_OK);
out:
    lk_store_close(impatient);
    lk_store_close(b);
    lk_store_close(a);
}
