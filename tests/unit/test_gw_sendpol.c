/* Unit tests of the WhatsApp sender's rules (src/gateway/sendpol.c): the rate
 * per phone number at its limit and one past it, the throughput and token
 * pauses and their end, the pause while the Graph API cannot be reached, the
 * outside_window template per number and its Graph API body, addressed as the
 * reply was. */
#include "test.h"

#ifdef LOKET_HAVE_GATEWAY
#include "gw.h"

static void test_rate(void)
{
    gw_config c;
    gw_sendpol *p;
    int64_t t = 1000000000, w;
    int i, ok = 0;

    gw_config_defaults(&c);
    c.wa_rate = 5;
    c.retry_base_ms = 100;
    c.retry_cap_ms = 400;
    p = gw_sendpol_new(&c);
    CHECK(p != NULL);
    if (!p) {
        gw_config_free(&c);
        return;
    }
    /* one second's worth at once, then no more */
    for (i = 0; i < 6; i++)
        ok += gw_sendpol_take(p, "1001", t) == 0;
    CHECK_INT(ok, 5);
    w = gw_sendpol_take(p, "1001", t);
    CHECK(w > 190000 && w <= 200001); /* the next token in 1/5 s */
    CHECK_INT(gw_sendpol_take(p, "1001", t + 200000), 0);
    CHECK(gw_sendpol_take(p, "1001", t + 200000) > 0);
    /* another number has its own budget */
    CHECK_INT(gw_sendpol_take(p, "2002", t), 0);

    /* throughput: the number pauses, doubling, and a success ends it */
    t += 10 * 1000000;
    gw_sendpol_answer(p, "1001", GW_SEND_THROUGHPUT, t);
    CHECK_INT(gw_sendpol_take(p, "1001", t), 100000);
    CHECK_INT(gw_sendpol_take(p, "2002", t), 0);
    gw_sendpol_answer(p, "1001", GW_SEND_THROUGHPUT, t);
    CHECK_INT(gw_sendpol_take(p, "1001", t), 200000);
    gw_sendpol_answer(p, "1001", GW_SEND_THROUGHPUT, t);
    gw_sendpol_answer(p, "1001", GW_SEND_THROUGHPUT, t);
    CHECK_INT(gw_sendpol_take(p, "1001", t), 400000); /* the cap */
    gw_sendpol_answer(p, "1001", GW_SEND_SENT, t);
    gw_sendpol_answer(p, "1001", GW_SEND_THROUGHPUT, t);
    CHECK_INT(gw_sendpol_take(p, "1001", t), 100000); /* from the start again */

    /* the token: every number waits */
    t += 10 * 1000000;
    gw_sendpol_answer(p, "1001", GW_SEND_AUTH, t);
    CHECK_INT(gw_sendpol_wait(p, t), 100000);
    CHECK_INT(gw_sendpol_take(p, "2002", t), 100000);
    CHECK_INT(gw_sendpol_wait(p, t + 100000), 0);
    gw_sendpol_answer(p, "2002", GW_SEND_AUTH, t);
    gw_sendpol_answer(p, "2002", GW_SEND_SENT, t);
    CHECK_INT(gw_sendpol_wait(p, t), 0);
    gw_sendpol_free(p);
    gw_config_free(&c);
}

static void test_templates(void)
{
    static const char *const params[] = {"Sobat JKN", "165"};
    const lk_flow_template chika = {"chika_lanjut", "id", params, 2};
    const lk_flow_template other = {"pandawa_lanjut", "en_US", NULL, 0};
    gw_config c;
    gw_sendpol *p;
    lk_buf b = {0};
    char name[64];

    gw_config_defaults(&c);
    p = gw_sendpol_new(&c);
    CHECK(p != NULL);
    if (!p) {
        gw_config_free(&c);
        return;
    }
    CHECK_INT(gw_sendpol_template_body(p, "1001", "{\"to\":\"628111\"}", &b, name, sizeof name),
              0); /* none known yet */
    gw_sendpol_set_template(p, NULL, &chika);
    gw_sendpol_set_template(p, "2002", &other);
    gw_sendpol_set_template(p, "3003", NULL);
    CHECK_INT(gw_sendpol_template_body(p, "1001", "{\"to\":\"628111\",\"type\":\"text\"}", &b, name,
                                       sizeof name),
              1);
    CHECK_STR(name, "chika_lanjut");
    CHECK_STR(
        lk_buf_str(&b),
        "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
        "\"to\":\"628111\",\"type\":\"template\",\"template\":{\"name\":\"chika_lanjut\","
        "\"language\":{\"code\":\"id\"},\"components\":[{\"type\":\"body\",\"parameters\":"
        "[{\"type\":\"text\",\"text\":\"Sobat JKN\"},{\"type\":\"text\",\"text\":\"165\"}]}]}}");
    lk_buf_reset(&b);
    /* a number's own flow; a business-scoped id stays a recipient */
    CHECK_INT(gw_sendpol_template_body(p, "2002", "{\"recipient\":\"ID.1234567890\"}", &b, name,
                                       sizeof name),
              1);
    CHECK_STR(lk_buf_str(&b),
              "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
              "\"recipient\":\"ID.1234567890\",\"type\":\"template\",\"template\":{\"name\":"
              "\"pandawa_lanjut\",\"language\":{\"code\":\"en_US\"}}}");
    lk_buf_reset(&b);
    CHECK_INT(gw_sendpol_template_body(p, "3003", "{\"to\":\"628111\"}", &b, name, sizeof name),
              0); /* that number's flow names none: not another flow's */
    CHECK_INT(gw_sendpol_template_body(p, "1001", "{}", &b, name, sizeof name), -1);

    /* who got the template, since when */
    CHECK(!gw_sendpol_template_since(p, "whatsapp:1001", "628111", 0));
    gw_sendpol_template_sent(p, "whatsapp:1001", "628111", 5000);
    CHECK(gw_sendpol_template_since(p, "whatsapp:1001", "628111", 4000));
    CHECK(!gw_sendpol_template_since(p, "whatsapp:1001", "628111", 6000)); /* wrote since */
    CHECK(!gw_sendpol_template_since(p, "whatsapp:2002", "628111", 0));
    lk_buf_free(&b);
    gw_sendpol_free(p);
    gw_config_free(&c);
}

/* The Graph API out of reach: every request pauses, the requests that were
 * out before the pause tell nothing new, a failed probe lengthens the next
 * pause, and any answer ends it. */
static void test_unreachable(void)
{
    gw_config c;
    gw_sendpol *p;
    int64_t t = 1000000000;
    lk_buf m = {0};

    gw_config_defaults(&c);
    p = gw_sendpol_new(&c);
    CHECK(p != NULL);
    if (!p) {
        gw_config_free(&c);
        return;
    }
    CHECK_INT(gw_sendpol_probing(p), 0);
    CHECK_INT(gw_sendpol_unreachable(p, t, 500000, "Couldn't connect to server"), 1);
    CHECK_INT(gw_sendpol_unreachable_level(p), 1);
    CHECK_INT(gw_sendpol_wait(p, t + 100000), 400000);
    CHECK_INT(gw_sendpol_probing(p), 1);
    gw_sendpol_metrics(&m);
    CHECK(strstr(lk_buf_str(&m), "\nloket_whatsapp_api_unreachable 1\n") != NULL);
    /* a request started before the outage fails during the pause: no change */
    CHECK_INT(gw_sendpol_unreachable(p, t + 1000, 4000000, "again"), 0);
    CHECK_INT(gw_sendpol_unreachable_level(p), 1);
    CHECK_INT(gw_sendpol_wait(p, t + 100000), 400000);
    /* the probe after the pause fails: a longer pause */
    CHECK_INT(gw_sendpol_wait(p, t + 500000), 0);
    CHECK_INT(gw_sendpol_unreachable(p, t + 600000, 1000000, "again"), 0);
    CHECK_INT(gw_sendpol_unreachable_level(p), 2);
    CHECK_INT(gw_sendpol_wait(p, t + 600000), 1000000);
    /* the token's pause counts too: the longer of both */
    gw_sendpol_answer(p, "1001", GW_SEND_AUTH, t + 600000);
    CHECK_INT(gw_sendpol_wait(p, t + 600000), 1000000);
    /* an answer, whatever it says, ends the outage (not the token's pause) */
    gw_sendpol_reachable(p, t + 700000);
    CHECK_INT(gw_sendpol_unreachable_level(p), 0);
    CHECK_INT(gw_sendpol_wait(p, t + 700000), 900000); /* retry_base 1 s from t + 600000 */
    CHECK_INT(gw_sendpol_probing(p), 1);
    gw_sendpol_answer(p, "1001", GW_SEND_SENT, t + 800000);
    CHECK_INT(gw_sendpol_probing(p), 0);
    CHECK_INT(gw_sendpol_wait(p, t + 800000), 0);
    lk_buf_reset(&m);
    gw_sendpol_metrics(&m);
    CHECK(strstr(lk_buf_str(&m), "\nloket_whatsapp_api_unreachable 0\n") != NULL);
    /* the next outage is logged and counted again, from the first pause */
    CHECK_INT(gw_sendpol_unreachable(p, t + 900000, 500000, "down"), 1);
    CHECK_INT(gw_sendpol_unreachable_level(p), 1);
    gw_sendpol_reachable(p, t + 1000000);
    lk_buf_free(&m);
    gw_sendpol_free(p);
    gw_config_free(&c);
}

int main(void)
{
    test_rate();
    test_templates();
    test_unreachable();
    return test_done("test_gw_sendpol");
}
#else
int main(void)
{
    puts("test_gw_sendpol: no gateway in this build");
    return 0;
}
#endif
