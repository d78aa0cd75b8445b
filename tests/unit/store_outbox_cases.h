/* Cases of test_store.c for the outbox's queues (schema 7): only a user's
 * oldest pending row has a due time, and every way a row ends gives the row
 * behind it one; the upgrade of a version-6 database with rows queued
 * behind others (SQLite from a file written by hand, PostgreSQL from a
 * schema put back into its version-6 shape); and on PostgreSQL, a reply
 * added while the sender ends the row before it, in both orders; and on
 * SQLite the plan of the due query (the index, no sort). Included
 * by test_store.c after its helpers (dbpath, raw1, open_ok, item_id,
 * sleep_ms, make_db). */

/* The due time of row id: -1 for none (NULL), -999 for no such row. */
static long long next_of(const char *p, int64_t id)
{
    char sql[128];

    snprintf(sql, sizeof sql, "SELECT coalesce(next_at_ms, -1) FROM outbox WHERE id = %lld",
             (long long)id);
    return raw1(p, sql, NULL, 0);
}

/* The ids of the rows due at now (at most 10), "id,id,..." into out. */
static const char *due_ids(lk_store *s, int64_t now, char *out, size_t cap)
{
    lk_outbox_item *it = NULL;
    int n = 0, i;
    size_t k = 0;

    out[0] = 0;
    CHECK_INT(lk_store_outbox_due(s, now, 10, &it, &n), LK_OK);
    for (i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%lld", i ? "," : "", (long long)it[i].id);
    lk_outbox_items_free(it, n);
    return out;
}

static const char *ids(char *out, size_t cap, int n, const int64_t *v)
{
    size_t k = 0;
    int i;

    out[0] = 0;
    for (i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%lld", i ? "," : "", (long long)v[i]);
    return out;
}

/* Every backend. The lease is 1 ms and each call is at a later time, so a
 * claim never hides a row from the next call (test_outbox says why). */
static void test_outbox_heads(void)
{
    const char *p = dbpath("heads.db");
    lk_store_opts o;
    lk_store *s = NULL;
    lk_user_ref forget = {"whatsapp", "c"};
    int64_t a1, a2, a3, a4, b1, c1, c2;
    char got[128], want[128];

    lk_store_opts_default(&o);
    o.outbox_lease_ms = 1;
    CHECK_INT(lk_store_open(p, &o, &s, NULL), LK_OK);
    if (!s)
        return;
    CHECK_INT(lk_store_outbox_add(s, "a", "whatsapp:1", "{\"n\":1}", 10, &a1), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "a", "whatsapp:1", "{\"n\":2}", 11, &a2), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "b", "whatsapp:1", "{\"n\":3}", 12, &b1), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "a", "whatsapp:1", "{\"n\":4}", 13, &a3), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "c", "whatsapp:1", "{\"n\":5}", 14, &c1), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "c", "twilio", "{\"n\":6}", 15, &c2), LK_OK);
    /* the heads are due when made; the rows behind them have no time */
    CHECK_INT(next_of(p, a1), 10);
    CHECK_INT(next_of(p, b1), 12);
    CHECK_INT(next_of(p, c1), 14);
    CHECK_INT(next_of(p, a2), -1);
    CHECK_INT(next_of(p, a3), -1);
    CHECK_INT(next_of(p, c2), -1);
    CHECK_STR(due_ids(s, 100, got, sizeof got), ids(want, sizeof want, 3, (int64_t[]){a1, b1, c1}));

    /* a retry moves the head only: a's queue waits behind it */
    CHECK_INT(lk_store_outbox_retry(s, a1, 500, "HTTP 503"), LK_OK);
    CHECK_INT(next_of(p, a2), -1);
    CHECK_STR(due_ids(s, 101, got, sizeof got), ids(want, sizeof want, 2, (int64_t[]){b1, c1}));
    /* sent with nothing behind it: nothing else changes */
    CHECK_INT(lk_store_outbox_sent(s, b1, "wamid.B1", 102), LK_OK);
    CHECK_STR(due_ids(s, 103, got, sizeof got), ids(want, sizeof want, 1, (int64_t[]){c1}));

    /* erasing the user on one channel deletes the head: the user's row on
     * the other channel, behind it, is due now */
    CHECK_INT(lk_store_forget(s, &forget, 1, NULL), LK_OK);
    CHECK_INT(next_of(p, c1), -999);
    CHECK_INT(next_of(p, c2), 15);
    CHECK_STR(due_ids(s, 104, got, sizeof got), ids(want, sizeof want, 1, (int64_t[]){c2}));

    /* dropped: the row behind is due from then on */
    CHECK_INT(lk_store_outbox_drop(s, a1, "HTTP 400", 200), LK_OK);
    CHECK_INT(next_of(p, a2), 200);
    CHECK_INT(next_of(p, a3), -1);
    CHECK_STR(due_ids(s, 199, got, sizeof got), ids(want, sizeof want, 1, (int64_t[]){c2}));
    CHECK_STR(due_ids(s, 201, got, sizeof got), ids(want, sizeof want, 2, (int64_t[]){a2, c2}));
    /* sent: the next, and a reply added meanwhile queues behind it */
    CHECK_INT(lk_store_outbox_sent(s, a2, "wamid.A2", 300), LK_OK);
    CHECK_INT(next_of(p, a3), 300);
    CHECK_INT(lk_store_outbox_add(s, "a", "whatsapp:1", "{\"n\":7}", 301, &a4), LK_OK);
    CHECK_INT(next_of(p, a4), -1);
    /* released (a claim given back): nothing changes but the claim */
    CHECK_STR(due_ids(s, 302, got, sizeof got), ids(want, sizeof want, 2, (int64_t[]){a3, c2}));
    CHECK_INT(lk_store_outbox_release(s, a3), LK_OK);
    CHECK_INT(next_of(p, a3), 300);
    snprintf(got, sizeof got, "SELECT attempts%s FROM outbox WHERE id = %lld",
             pg_base ? " + (lease_until_ms IS NOT NULL)::int" : "", (long long)a3);
    CHECK_INT(raw1(p, got, NULL, 0), 0); /* no attempt counted, no claim left */
    CHECK_INT(lk_store_outbox_sent(s, a3, "wamid.A3", 400), LK_OK);
    CHECK_INT(next_of(p, a4), 400);
    CHECK_INT(lk_store_outbox_sent(s, a3, "again", 401), LK_EINVAL);
    if (pg_base)
        CHECK_INT(lk_store_outbox_release(s, a3), LK_EINVAL); /* not pending */
    /* sent rows keep the time they had: only pending ones are queued */
    CHECK_INT(raw1(p, "SELECT count(*) FROM outbox WHERE sent_ms IS NULL AND next_at_ms IS NULL",
                   NULL, 0),
              0);
    CHECK_STR(due_ids(s, 500, got, sizeof got), ids(want, sizeof want, 2, (int64_t[]){c2, a4}));
    lk_store_close(s);
}

/* A version-6 database as it was shipped, every table of it, with one
 * user's replies queued behind a head that waits for a retry, another
 * user's single reply, and a sent row with its delivery status. */
static const char v6_db[] =
    "CREATE TABLE sessions(channel TEXT NOT NULL, user TEXT NOT NULL, blob BLOB NOT NULL,"
    "  updated_ms INTEGER NOT NULL, PRIMARY KEY(channel, user));"
    "CREATE TABLE log(id INTEGER PRIMARY KEY, user TEXT NOT NULL, channel TEXT NOT NULL,"
    "  dir TEXT NOT NULL, at_ms INTEGER NOT NULL, state TEXT, ext_id TEXT, text TEXT NOT NULL,"
    "  missed TEXT);"
    "CREATE INDEX log_missed ON log(at_ms) WHERE missed IS NOT NULL;"
    "CREATE TABLE seen(channel TEXT NOT NULL, user TEXT NOT NULL, ext_id TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL, PRIMARY KEY(channel, user, ext_id)) WITHOUT ROWID;"
    "CREATE INDEX seen_at ON seen(at_ms);"
    "CREATE TABLE secrets(name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);"
    "CREATE TABLE outbox(id INTEGER PRIMARY KEY, user TEXT NOT NULL, channel TEXT NOT NULL,"
    "  payload TEXT NOT NULL, created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at_ms INTEGER NOT NULL, sent_ms INTEGER, remote_id TEXT, last_error TEXT,"
    "  status TEXT, status_ms INTEGER, error_code INTEGER);"
    "CREATE INDEX outbox_due ON outbox(next_at_ms) WHERE sent_ms IS NULL;"
    "CREATE INDEX outbox_user ON outbox(user, id) WHERE sent_ms IS NULL;"
    "CREATE INDEX outbox_remote ON outbox(remote_id) WHERE remote_id IS NOT NULL;"
    "INSERT INTO outbox VALUES"
    "  (1, '628111', 'whatsapp:1', 'r1', 5, 0, 5, 6, 'wamid.1', NULL, 'read', 9, NULL),"
    "  (2, '628111', 'whatsapp:1', 'r2', 7, 2, 500, NULL, NULL, 'HTTP 503', NULL, NULL, NULL),"
    "  (3, '628111', 'whatsapp:1', 'r3', 8, 0, 8, NULL, NULL, NULL, NULL, NULL, NULL),"
    "  (4, '628222', 'whatsapp:1', 'r4', 9, 0, 9, NULL, NULL, NULL, NULL, NULL, NULL),"
    "  (5, '628111', 'whatsapp:1', 'r5', 10, 0, 10, NULL, NULL, NULL, NULL, NULL, NULL);"
    "PRAGMA user_version = 6;";

/* What a version-6 outbox above must be after the upgrade (both backends):
 * the queues behind the heads have no time, the rest is as it was. */
static void check_v6_upgraded(const char *p, lk_store *s)
{
    char got[128], tv[64];

    CHECK_INT(next_of(p, 1), 5);
    CHECK_INT(next_of(p, 2), 500);
    CHECK_INT(next_of(p, 3), -1);
    CHECK_INT(next_of(p, 4), 9);
    CHECK_INT(next_of(p, 5), -1);
    raw1(p,
         "SELECT attempts || ',' || last_error || ',' || created_ms || ',' || payload "
         "FROM outbox WHERE id = 2",
         tv, sizeof tv);
    CHECK_STR(tv, "2,HTTP 503,7,r2");
    raw1(p, "SELECT status || ',' || status_ms || ',' || remote_id FROM outbox WHERE id = 1", tv,
         sizeof tv);
    CHECK_STR(tv, "read,9,wamid.1");
    /* 628111's later replies do not overtake the one waiting for its retry */
    CHECK_STR(due_ids(s, 100, got, sizeof got), "4");
    CHECK_STR(due_ids(s, 501, got, sizeof got), "2,4");
    CHECK_INT(lk_store_outbox_sent(s, 2, "wamid.2", 502), LK_OK);
    CHECK_STR(due_ids(s, 503, got, sizeof got), "3,4");
    CHECK_INT(lk_store_outbox_sent(s, 3, "wamid.3", 504), LK_OK);
    CHECK_INT(next_of(p, 5), 504);
}

static void test_migrate_v6(void)
{
    const char *p = dbpath("v6.db");
    lk_store_opts o;
    lk_store *s = NULL;

    CHECK_INT(make_db(p, v6_db), SQLITE_OK);
    lk_store_opts_default(&o);
    o.outbox_lease_ms = 1;
    CHECK_INT(lk_store_open(p, &o, &s, NULL), LK_OK);
    if (!s)
        return;
    CHECK_INT(raw1(p, "PRAGMA user_version", NULL, 0), lk_store_schema_version());
    CHECK_INT(raw1(p, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'", NULL, 0), 2);
    CHECK_INT(raw1(p,
                   "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                   "('outbox_due', 'outbox_user', 'outbox_remote')",
                   NULL, 0),
              3);
    check_v6_upgraded(p, s);
    CHECK_INT(raw1(p, "PRAGMA integrity_check", NULL, 0), 0);
    lk_store_close(s);
}

/* The schema made by this build, put back into the shape of version 6 (no
 * triggers, every row with a time, the old index) with the rows of v6_db. */
static void test_pg_migrate_v6(void)
{
    const char *p = dbpath("pgv6");
    lk_store_opts o;
    lk_store *s = open_ok(p);

    lk_store_close(s);
    CHECK(raw1(p,
               "DROP TRIGGER outbox_next_sent ON outbox; DROP TRIGGER outbox_next_gone ON outbox;"
               "DROP FUNCTION outbox_next(); DROP INDEX outbox_due;"
               "CREATE INDEX outbox_due ON outbox(next_at_ms) WHERE sent_ms IS NULL;"
               "ALTER TABLE outbox ALTER COLUMN next_at_ms SET NOT NULL;"
               "INSERT INTO outbox(id, \"user\", channel, payload, created_ms, attempts, "
               "  next_at_ms, sent_ms, remote_id, last_error, status, status_ms) VALUES"
               "  (1, '628111', 'whatsapp:1', 'r1', 5, 0, 5, 6, 'wamid.1', NULL, 'read', 9),"
               "  (2, '628111', 'whatsapp:1', 'r2', 7, 2, 500, NULL, NULL, 'HTTP 503', NULL, NULL),"
               "  (3, '628111', 'whatsapp:1', 'r3', 8, 0, 8, NULL, NULL, NULL, NULL, NULL),"
               "  (4, '628222', 'whatsapp:1', 'r4', 9, 0, 9, NULL, NULL, NULL, NULL, NULL),"
               "  (5, '628111', 'whatsapp:1', 'r5', 10, 0, 10, NULL, NULL, NULL, NULL, NULL);"
               "UPDATE loket_schema SET version = 6",
               NULL, 0) != -998);
    lk_store_opts_default(&o);
    o.outbox_lease_ms = 1;
    s = NULL;
    CHECK_INT(lk_store_open(p, &o, &s, NULL), LK_OK);
    if (!s)
        return;
    CHECK_INT(raw1(p, "SELECT version FROM loket_schema", NULL, 0), lk_store_schema_version());
    CHECK_INT(raw1(p,
                   "SELECT count(*) FROM information_schema.triggers WHERE "
                   "event_object_table = 'outbox' AND trigger_schema = current_schema()",
                   NULL, 0),
              2);
    check_v6_upgraded(p, s);
    lk_store_close(s);
}

/* Waits (up to 10 s) until a connection of the test database waits for a
 * lock on a statement naming the outbox: 1, or 0 when none came to wait. */
static int lock_waited(void)
{
    int i;

    for (i = 0; i < 1000; i++) {
        if (pg1(pg_base,
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database() AND query LIKE '%outbox%'",
                NULL, 0) > 0)
            return 1;
        sleep_ms(10);
    }
    return 0;
}

struct other_side {
    lk_store *s;
    int64_t id; /* sent: the row to mark sent; add: the new row's id */
    int add;    /* 1: a message's transaction adds a reply; 0: the sender marks id sent */
    lk_err err;
};

static void *other_side_run(void *arg)
{
    struct other_side *t = arg;

    if (!t->add) {
        t->err = lk_store_outbox_sent(t->s, t->id, "wamid.race", 1000);
        return NULL;
    }
    if ((t->err = lk_store_begin(t->s)) == LK_OK &&
        (t->err = lk_store_outbox_add(t->s, "u", "whatsapp:1", "{\"n\":2}", 900, &t->id)) == LK_OK)
        t->err = lk_store_commit(t->s);
    if (t->err != LK_OK)
        lk_store_rollback(t->s);
    return NULL;
}

/* A message's transaction adds a reply of a user whose only pending row the
 * sender (another connection) marks sent at the same moment. Whichever
 * comes first, the new row must end up due: queued behind a row that is no
 * longer pending, it would never be sent. */
static void test_pg_heads_race(void)
{
    const char *p = dbpath("pgrace");
    lk_store *msg = open_ok(p), *snd = open_ok(p);
    struct other_side t;
    pthread_t th;
    int64_t head, added;

    /* the message's transaction first: the sender's update waits for it */
    CHECK_INT(lk_store_outbox_add(msg, "u", "whatsapp:1", "{\"n\":1}", 800, &head), LK_OK);
    CHECK_INT(lk_store_begin(msg), LK_OK);
    CHECK_INT(lk_store_outbox_add(msg, "u", "whatsapp:1", "{\"n\":2}", 900, &added), LK_OK);
    memset(&t, 0, sizeof t);
    t.s = snd;
    t.id = head;
    CHECK_INT(pthread_create(&th, NULL, other_side_run, &t), 0);
    CHECK(lock_waited());
    CHECK_INT(lk_store_commit(msg), LK_OK);
    pthread_join(th, NULL);
    CHECK_INT(t.err, LK_OK);
    CHECK_INT(next_of(p, added), 1000);

    /* the sender's update first: the message's insert waits for it */
    CHECK_INT(lk_store_outbox_sent(snd, added, "wamid.2", 1100), LK_OK);
    CHECK_INT(lk_store_outbox_add(msg, "u", "whatsapp:1", "{\"n\":3}", 1200, &head), LK_OK);
    CHECK_INT(lk_store_begin(snd), LK_OK);
    CHECK_INT(lk_store_outbox_sent(snd, head, "wamid.3", 1300), LK_OK);
    memset(&t, 0, sizeof t);
    t.s = msg;
    t.add = 1;
    CHECK_INT(pthread_create(&th, NULL, other_side_run, &t), 0);
    CHECK(lock_waited());
    CHECK_INT(lk_store_commit(snd), LK_OK);
    pthread_join(th, NULL);
    CHECK_INT(t.err, LK_OK);
    CHECK_INT(next_of(p, t.id), 900); /* its own time: it is the head */
    lk_store_close(snd);
    lk_store_close(msg);
}

/* The plan SQLite makes of a prepared statement of s whose SQL starts with
 * head, every line of it joined by "; " into out. */
static const char *plan_of(lk_store *s, const char *head, char *out, size_t cap)
{
    sqlite3 *db = lk_store_sqlite_db(s);
    sqlite3_stmt *st = NULL, *q = NULL;
    char sql[2048];
    size_t k = 0;

    out[0] = 0;
    while (db && (st = sqlite3_next_stmt(db, st)))
        if (!strncmp(sqlite3_sql(st), head, strlen(head)))
            break;
    if (!st)
        return out;
    snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", sqlite3_sql(st));
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return out;
    while (sqlite3_step(q) == SQLITE_ROW && k < cap)
        k += (size_t)snprintf(out + k, cap - k, "%s; ", (const char *)sqlite3_column_text(q, 3));
    sqlite3_finalize(q);
    return out;
}

/* SQLite: a call hands out due heads in the order of outbox_due and stops
 * at its limit (no scan of the table, no sort of every due row), however
 * many rows wait behind the heads; adding a reply looks into outbox_user. */
static void test_outbox_plan(void)
{
    const char *p = dbpath("plan.db");
    lk_store *s = open_ok(p);
    char plan[1024], user[16];
    int i;

    CHECK_INT(lk_store_begin(s), LK_OK);
    for (i = 0; i < 2000; i++) {
        snprintf(user, sizeof user, "u%02d", i % 20);
        CHECK_INT(lk_store_outbox_add(s, user, "whatsapp:1", "{}", 10 + i, NULL), LK_OK);
    }
    CHECK_INT(lk_store_commit(s), LK_OK);
    CHECK_INT(raw1(p, "SELECT count(*) FROM outbox WHERE next_at_ms IS NOT NULL", NULL, 0), 20);
    plan_of(s, "SELECT o.id", plan, sizeof plan);
    CHECK(strstr(plan, "SEARCH o USING INDEX outbox_due (next_at_ms<?)") != NULL);
    CHECK(strstr(plan, "SEARCH p USING INDEX outbox_user (user=?)") != NULL);
    CHECK(strstr(plan, "TEMP B-TREE") == NULL && strstr(plan, "SCAN") == NULL);
    if (!strstr(plan, "outbox_due") || strstr(plan, "TEMP") || strstr(plan, "SCAN"))
        fprintf(stderr, "the plan of outbox_due: %s\n", plan);
    plan_of(s, "INSERT INTO outbox", plan, sizeof plan);
    CHECK(strstr(plan, "USING INDEX outbox_user (user=?)") != NULL);
    lk_store_close(s);
}
