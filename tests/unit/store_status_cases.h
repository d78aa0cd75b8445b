/* Cases of test_store.c for delivery statuses (lk_store_outbox_status) and
 * the session time the sender reads (lk_store_session_time), run against
 * every backend. Included by test_store.c, which has the helpers. */

static void test_outbox_status(void)
{
    const char *p = dbpath("status.db");
    lk_store *s = open_ok(p);
    lk_outbox_item *it = NULL;
    int64_t a1, b1, t = -1;
    int n = 0, up = -1, found = -1;
    char tv[64], sql[160];

    if (!s)
        return;
    CHECK_INT(lk_store_outbox_add(s, "628111", "whatsapp:1001", "{}", 10, &a1), LK_OK);
    CHECK_INT(lk_store_outbox_add(s, "628222", "whatsapp:1001", "{}", 11, &b1), LK_OK);
    CHECK_INT(lk_store_outbox_due(s, 20, 10, &it, &n), LK_OK);
    lk_outbox_items_free(it, n);
    CHECK_INT(lk_store_outbox_sent(s, a1, "wamid.A", 21), LK_OK);
    CHECK_INT(lk_store_outbox_sent(s, b1, "wamid.B", 21), LK_OK);

    /* forward: sent, delivered, read */
    CHECK_INT(lk_store_outbox_status(s, "whatsapp:1001", "wamid.A", "sent", 0, 30, &up), LK_OK);
    CHECK_INT(up, 1);
    CHECK_INT(lk_store_outbox_status(s, "whatsapp:1001", "wamid.A", "read", 0, 32, &up), LK_OK);
    CHECK_INT(up, 1);
    /* a late "delivered" does not move the row back from read */
    CHECK_INT(lk_store_outbox_status(s, "whatsapp:1001", "wamid.A", "delivered", 0, 33, &up),
              LK_OK);
    CHECK_INT(up, 0);
    snprintf(sql, sizeof sql, "SELECT status_ms FROM outbox WHERE id = %lld", (long long)a1);
    CHECK_INT(raw1(p, sql, NULL, 0), 32);
    snprintf(sql, sizeof sql, "SELECT status FROM outbox WHERE id = %lld", (long long)a1);
    raw1(p, sql, tv, sizeof tv);
    CHECK_STR(tv, "read");

    /* failed keeps its error code */
    CHECK_INT(lk_store_outbox_status(s, "whatsapp:1001", "wamid.B", "failed", 131026, 40, &up),
              LK_OK);
    CHECK_INT(up, 1);
    snprintf(sql, sizeof sql, "SELECT error_code FROM outbox WHERE id = %lld", (long long)b1);
    CHECK_INT(raw1(p, sql, NULL, 0), 131026);

    /* another number's id, an unknown id, an unknown status */
    CHECK_INT(lk_store_outbox_status(s, "whatsapp:2002", "wamid.A", "failed", 1, 41, &up), LK_OK);
    CHECK_INT(up, 0);
    CHECK_INT(lk_store_outbox_status(s, "whatsapp:1001", "wamid.none", "read", 0, 41, &up), LK_OK);
    CHECK_INT(up, 0);
    CHECK_INT(lk_store_outbox_status(s, "whatsapp:1001", "wamid.A", "deleted", 0, 41, &up),
              LK_EINVAL);
    CHECK_INT(lk_store_outbox_status(s, "whatsapp:1001", "", "read", 0, 41, NULL), LK_EINVAL);

    /* the session time: none yet, then the time of the last save */
    CHECK_INT(lk_store_session_time(s, "whatsapp", "628111", &t, &found), LK_OK);
    CHECK_INT(found, 0);
    CHECK_INT(lk_store_begin(s), LK_OK);
    CHECK_INT(lk_store_save(s, "whatsapp", "628111", "x", 1, 5000), LK_OK);
    CHECK_INT(lk_store_commit(s), LK_OK);
    CHECK_INT(lk_store_session_time(s, "whatsapp", "628111", &t, &found), LK_OK);
    CHECK_INT(found, 1);
    CHECK_INT(t, 5000);
    CHECK_INT(lk_store_session_time(s, "generic", "628111", &t, &found), LK_OK);
    CHECK_INT(found, 0);
    lk_store_close(s);
}
