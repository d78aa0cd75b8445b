/* PostgreSQL-only cases of test_store.c (included after its helpers): the
 * message path in libpq's pipeline mode, where a write's error comes with
 * the next statement that reads, and the batch's lock of its users. */
#ifndef LOKET_STORE_PG_PIPE_CASES_H
#define LOKET_STORE_PG_PIPE_CASES_H

#include "pg_int.h" /* PG_MAXPEND */

static lk_log_entry pipe_entry(const char *user, const char *text)
{
    lk_log_entry e = {user, "t", LK_DIR_IN, 5, "s", NULL, text, strlen(text), NULL};
    return e;
}

/* Three messages of one batch, each in its savepoint; the second one's log
 * row is refused by the server (text that is not UTF-8). Its error comes
 * at its release, under the log's name, and rolling back to its savepoint
 * undoes that message alone: its session, its log row and its outbox row,
 * queued around the failing one. The first and third commit. */
static void test_pg_pipeline(void)
{
    const char *p = dbpath("pgpipe");
    lk_store *s = open_ok(p);
    lk_log_entry e;
    int i;

    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_savepoint(s), LK_OK);
    CHECK_INT(lk_store_save(s, "t", "a", "a1", 2, 5), LK_OK);
    e = pipe_entry("a", "hi");
    CHECK_INT(lk_store_log(s, &e), LK_OK);
    CHECK_INT(lk_store_release(s), LK_OK);

    CHECK_INT(lk_store_savepoint(s), LK_OK);
    CHECK_INT(lk_store_save(s, "t", "b", "b1", 2, 5), LK_OK);
    e = pipe_entry("b", "\xff\xfe");
    CHECK_INT(lk_store_log(s, &e), LK_OK); /* queued: nobody waited for it */
    CHECK_INT(lk_store_outbox_add(s, "b", "t", "{\"b\":1}", 5, NULL), LK_OK);
    CHECK_INT(lk_store_release(s), LK_ESTORE);
    CHECK(strstr(lk_store_errmsg(s), "log: ") != NULL);
    CHECK_INT(lk_store_save(s, "t", "b", "b2", 2, 5), LK_ESTORE); /* refused until undone */
    CHECK_INT(lk_store_rollback_to(s), LK_OK);

    /* more queued writes than the pipeline holds, one bad among them: the
     * write that fills it reads the answers and reports the failure */
    CHECK_INT(lk_store_savepoint(s), LK_OK);
    {
        lk_err last = LK_OK;
        for (i = 0; i < 2 * PG_MAXPEND && last == LK_OK; i++) {
            e = pipe_entry("d", i == 3 ? "\xff" : "row");
            last = lk_store_log(s, &e);
        }
        CHECK_INT(last, LK_ESTORE);
        CHECK(i <= PG_MAXPEND + 1);
    }
    CHECK_INT(lk_store_rollback_to(s), LK_OK);

    CHECK_INT(lk_store_savepoint(s), LK_OK);
    CHECK_INT(lk_store_save(s, "t", "c", "c1", 2, 5), LK_OK);
    e = pipe_entry("c", "halo");
    CHECK_INT(lk_store_log(s, &e), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "c", "t", "{\"c\":1}", 5, NULL), LK_OK);
    CHECK_INT(lk_store_release(s), LK_OK);
    CHECK_INT(lk_store_commit(s), LK_OK);

    check_blob(s, "a", "a1", 2);
    check_no_session(s, "b");
    check_blob(s, "c", "c1", 2);
    CHECK_INT(raw1(p, "SELECT count(*) FROM log", NULL, 0), 2);
    CHECK_INT(raw1(p, "SELECT count(*) FROM log WHERE \"user\" IN ('b', 'd')", NULL, 0), 0);
    CHECK_INT(raw1(p, "SELECT count(*) FROM outbox", NULL, 0), 1);
    CHECK_INT(raw1(p, "SELECT count(*) FROM outbox WHERE \"user\" = 'c'", NULL, 0), 1);

    /* a commit reads what was queued: a bad row fails it, and nothing of
     * the transaction stays */
    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_save(s, "t", "e", "e1", 2, 6), LK_OK);
    e = pipe_entry("e", "\xc3");
    CHECK_INT(lk_store_log(s, &e), LK_OK);
    CHECK_INT(lk_store_commit(s), LK_ESTORE);
    lk_store_rollback(s);
    check_no_session(s, "e");
    CHECK_INT(lk_store_retryable(s), 0); /* bad data is no lock conflict */
    lk_store_close(s);
}

/* A batch's users locked at once: another batch that wants one of them
 * waits; when it waits longer than lock_timeout (busy_timeout_ms) its
 * statement fails as a lock conflict, which lk_store_retryable names, and
 * the next begin forgets it. */
static void test_pg_lock_users(void)
{
    const char *p = dbpath("pglock");
    const char *ch[] = {"t", "t", "t"}, *us[] = {"u1", "u2", "u1"}, *rev[] = {"u2", "u1"};
    lk_store_opts o;
    lk_store *a = NULL, *b = NULL;

    lk_store_opts_default(&o);
    o.busy_timeout_ms = 200;
    CHECK_INT(lk_store_open(p, &o, &a, NULL), LK_OK);
    CHECK_INT(lk_store_open(p, &o, &b, NULL), LK_OK);
    if (!a || !b)
        goto out;
    CHECK_INT(lk_store_lock_users(a, ch, us, 2), LK_EINVAL); /* no transaction */
    CHECK_INT(lk_store_begin(a), LK_OK);
    CHECK_INT(lk_store_lock_users(a, ch, us, 3), LK_OK); /* u1 twice: one lock */
    CHECK_INT(lk_store_save(a, "t", "u1", "x", 1, 1), LK_OK);

    CHECK_INT(lk_store_begin(b), LK_OK);
    CHECK_INT(lk_store_lock_users(b, ch, rev, 2), LK_ESTORE);
    CHECK_INT(lk_store_retryable(b), 1);
    lk_store_rollback(b);
    CHECK_INT(lk_store_retryable(b), 1); /* still, for the caller that rolled back */
    CHECK_INT(lk_store_begin(b), LK_OK);
    CHECK_INT(lk_store_retryable(b), 0);
    lk_store_rollback(b);

    CHECK_INT(lk_store_commit(a), LK_OK); /* the locks go with the transaction */
    CHECK_INT(lk_store_begin(b), LK_OK);
    CHECK_INT(lk_store_lock_users(b, ch, rev, 2), LK_OK);
    CHECK_INT(lk_store_commit(b), LK_OK);
    /* a new user of a batch: load finds no row and needs no second lock */
    CHECK_INT(lk_store_begin(b), LK_OK);
    CHECK_INT(lk_store_lock_users(b, ch, rev, 1), LK_OK);
    check_no_session(b, "u2");
    CHECK_INT(lk_store_commit(b), LK_OK);
out:
    lk_store_close(b);
    lk_store_close(a);
}

#endif
