/* The PostgreSQL-only cases of test_store.c, which includes this file after
 * its helpers (dbpath, raw1, open_ok, check_blob, item_id, sleep_ms): the
 * migration lock, two connections stepping one user, the outbox lease. The
 * cases both backends pass are in test_store.c. */
#ifndef LOKET_STORE_PG_CASES_H
#define LOKET_STORE_PG_CASES_H

static void test_pg_open(void)
{
    const char *p = dbpath("pgopen");
    lk_store *s = open_ok(p), *t = NULL;
    lk_diag diag = {0};
    int64_t pages = 0;
    int psize = 0;

    CHECK_INT(lk_store_pg_schema_version(), lk_store_sqlite_schema_version());
    CHECK_INT(raw1(p, "SELECT version FROM loket_schema", NULL, 0), lk_store_schema_version());
    CHECK_INT(raw1(p, "SELECT count(*) FROM loket_schema", NULL, 0), 1);
    CHECK_INT(lk_store_ping(s), LK_OK);
    lk_store_close(s);
    /* opening again migrates nothing */
    s = open_ok(p);
    lk_store_close(s);
    CHECK_INT(raw1(p, "SELECT count(*) FROM loket_schema", NULL, 0), 1);

    /* a schema newer than this build is refused */
    CHECK(raw1(p, "UPDATE loket_schema SET version = 99", NULL, 0) != -998);
    CHECK_INT(lk_store_open(p, NULL, &t, &diag), LK_ESTORE);
    CHECK(t == NULL);
    CHECK(diag_has(&diag, "newer"));
    lk_diag_clear(&diag);

    /* a server that is not there: the message names the database and the
     * host, never the password of the URI */
    CHECK_INT(lk_store_open("postgresql://bob:sekrit@127.0.0.1:1/nodb", NULL, &t, &diag),
              LK_ESTORE);
    CHECK(diag_has(&diag, "nodb"));
    CHECK(diag_has(&diag, "127.0.0.1"));
    CHECK(!diag_has(&diag, "sekrit"));
    lk_diag_clear(&diag);

    /* `loket backup` is for SQLite files; PostgreSQL has pg_dump */
    CHECK_INT(lk_store_backup("postgres://bob:sekrit@h/db", dbpath("x"), &pages, &psize, &diag),
              LK_EINVAL);
    CHECK(diag_has(&diag, "pg_dump"));
    CHECK(!diag_has(&diag, "sekrit"));
    lk_diag_clear(&diag);
}

/* Two servers starting at once on a new database migrate it once. */
static const char *race_path;
static lk_err race_err[2];

static void *race_open(void *arg)
{
    lk_store *s = NULL;
    int i = (int)(long)arg;

    race_err[i] = lk_store_open(race_path, NULL, &s, NULL);
    lk_store_close(s);
    return NULL;
}

static void test_pg_migrate_race(void)
{
    pthread_t th[2];
    long i;

    race_path = dbpath("pgrace");
    for (i = 0; i < 2; i++)
        CHECK_INT(pthread_create(&th[i], NULL, race_open, (void *)i), 0);
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(race_err[0], LK_OK);
    CHECK_INT(race_err[1], LK_OK);
    CHECK_INT(raw1(race_path, "SELECT count(*) FROM loket_schema", NULL, 0), 1);
    CHECK_INT(raw1(race_path, "SELECT version FROM loket_schema", NULL, 0),
              lk_store_schema_version());
}

/* The second connection's step, run in a thread while the first holds its
 * transaction open: dedup of ext_id, then the session it reads. */
struct step2 {
    lk_store *s;
    const char *user, *ext_id;
    int dup, found, first_done; /* first_done: the first had committed */
    char blob[16];
    lk_err err;
};

static atomic_int first_committed;

static void *second_step(void *arg)
{
    struct step2 *t = arg;
    lk_buf b = {0};

    t->err = lk_store_begin(t->s);
    if (t->err == LK_OK && t->ext_id)
        t->err = lk_store_seen(t->s, "whatsapp", t->user, t->ext_id, 10, &t->dup);
    if (t->err == LK_OK && !t->dup)
        t->err = lk_store_load(t->s, "whatsapp", t->user, &b, &t->found);
    t->first_done = atomic_load(&first_committed);
    snprintf(t->blob, sizeof t->blob, "%.*s", (int)b.len, b.p ? (const char *)b.p : "");
    if (t->err == LK_OK && !t->dup)
        t->err = lk_store_save(t->s, "whatsapp", t->user, "second", 6, 11);
    if (t->err == LK_OK)
        t->err = lk_store_commit(t->s);
    else
        lk_store_rollback(t->s);
    lk_buf_free(&b);
    return NULL;
}

/* Runs the first connection's step on user (known or new) while the
 * second's waits for it; *t tells what the second saw. */
static void race_steps(lk_store *a, lk_store *b, const char *user, const char *ext_id,
                       struct step2 *t)
{
    lk_buf buf = {0};
    pthread_t th;
    int dup = -1, found = -1;

    memset(t, 0, sizeof *t);
    t->s = b;
    t->user = user;
    t->ext_id = ext_id;
    atomic_store(&first_committed, 0);
    CHECK_INT(lk_store_begin(a), LK_OK);
    if (ext_id) {
        CHECK_INT(lk_store_seen(a, "whatsapp", user, ext_id, 10, &dup), LK_OK);
        CHECK_INT(dup, 0);
    }
    CHECK_INT(lk_store_load(a, "whatsapp", user, &buf, &found), LK_OK);
    CHECK_INT(pthread_create(&th, NULL, second_step, t), 0);
    sleep_ms(200); /* the second is now waiting for the first's locks */
    CHECK_INT(lk_store_save(a, "whatsapp", user, "first", 5, 10), LK_OK);
    atomic_store(&first_committed, 1);
    CHECK_INT(lk_store_commit(a), LK_OK);
    pthread_join(th, NULL);
    CHECK_INT(t->err, LK_OK);
    CHECK_INT(t->first_done, 1); /* it did wait */
    lk_buf_free(&buf);
}

static void test_pg_two_servers(void)
{
    const char *p = dbpath("pgtwo");
    lk_store *a = open_ok(p), *b = open_ok(p);
    struct step2 t;
    lk_buf buf = {0};
    int found = -1;

    /* one message id on both: the second finds it processed */
    race_steps(a, b, "u1", "wamid.X", &t);
    CHECK_INT(t.dup, 1);
    /* a known user: the second reads what the first wrote, not the session
     * of before */
    CHECK_INT(lk_store_save(a, "whatsapp", "u2", "before", 6, 1), LK_OK);
    race_steps(a, b, "u2", NULL, &t);
    CHECK_INT(t.found, 1);
    CHECK_STR(t.blob, "first");
    /* a new user: nothing to lock yet; the advisory lock orders them */
    race_steps(a, b, "u3", NULL, &t);
    CHECK_INT(t.found, 1);
    CHECK_STR(t.blob, "first");
    CHECK_INT(lk_store_load(a, "whatsapp", "u3", &buf, &found), LK_OK);
    CHECK(found == 1 && buf.len == 6 && memcmp(buf.p, "second", 6) == 0);
    lk_buf_free(&buf);
    lk_store_close(b);
    lk_store_close(a);
}

/* The outbox between two servers: a claim keeps the rows from the other
 * until its lease runs out (a server that died), the user's order holds
 * meanwhile, and sent/retry end the claim. */
static void test_pg_lease(void)
{
    const char *p = dbpath("pglease");
    lk_store_opts o;
    lk_store *a = NULL, *b = NULL;
    lk_outbox_item *it = NULL;
    int64_t r1, r2, r3;
    int n = -1;

    lk_store_opts_default(&o);
    o.outbox_lease_ms = 1000;
    CHECK_INT(lk_store_open(p, &o, &a, NULL), LK_OK);
    CHECK_INT(lk_store_open(p, &o, &b, NULL), LK_OK);
    if (!a || !b)
        goto out;
    CHECK_INT(lk_store_outbox_add(a, "u1", "whatsapp", "{\"n\":1}", 10, &r1), LK_OK);
    CHECK_INT(lk_store_outbox_add(a, "u1", "whatsapp", "{\"n\":2}", 11, &r2), LK_OK);
    CHECK_INT(lk_store_outbox_add(a, "u2", "whatsapp", "{\"n\":3}", 12, &r3), LK_OK);

    CHECK_INT(lk_store_outbox_due(a, 100, 10, &it, &n), LK_OK);
    CHECK_INT(n, 2);
    CHECK_INT(item_id(it, n, 0), r1);
    CHECK_INT(item_id(it, n, 1), r3);
    lk_outbox_items_free(it, n);
    /* held by a: b gets nothing, not even u1's second reply */
    CHECK_INT(lk_store_outbox_due(b, 100, 10, &it, &n), LK_OK);
    CHECK_INT(n, 0);
    lk_outbox_items_free(it, n);
    CHECK_INT(lk_store_outbox_due(b, 1099, 10, &it, &n), LK_OK);
    CHECK_INT(n, 0);
    lk_outbox_items_free(it, n);
    /* a died: after the lease b takes its rows, in the same order */
    CHECK_INT(lk_store_outbox_due(b, 1100, 10, &it, &n), LK_OK);
    CHECK_INT(n, 2);
    CHECK_INT(item_id(it, n, 0), r1);
    CHECK_INT(item_id(it, n, 1), r3);
    lk_outbox_items_free(it, n);
    CHECK_INT(lk_store_outbox_sent(b, r1, "wamid.1", 1101), LK_OK);
    /* r1 sent: u1's next is due, u2's is still b's */
    CHECK_INT(lk_store_outbox_due(a, 1102, 10, &it, &n), LK_OK);
    CHECK_INT(n, 1);
    CHECK_INT(item_id(it, n, 0), r2);
    lk_outbox_items_free(it, n);
    /* a retry ends the claim: the row is due again at its time, for anyone */
    CHECK_INT(lk_store_outbox_retry(a, r2, 5000, "HTTP 503"), LK_OK);
    CHECK_INT(lk_store_outbox_due(b, 4999, 10, &it, &n), LK_OK);
    CHECK_INT(n, 1); /* r3's lease (from 1100) ran out at 2100 */
    CHECK_INT(item_id(it, n, 0), r3);
    lk_outbox_items_free(it, n);
    CHECK_INT(lk_store_outbox_due(b, 5000, 10, &it, &n), LK_OK);
    CHECK_INT(n, 1);
    CHECK_INT(item_id(it, n, 0), r2);
    if (n == 1)
        CHECK_INT(it[0].attempts, 1);
    lk_outbox_items_free(it, n);
    CHECK(raw1(p, "SELECT count(*) FROM outbox WHERE lease_until_ms IS NOT NULL", NULL, 0) == 2);
out:
    lk_store_close(b);
    lk_store_close(a);
}

#endif
