/* Unit tests of the WhatsApp notification parser (src/gateway/parse_wa.c): row and
 * button ids that name their question (written and read back, escaped, too long), taps,
 * media and captions, business-scoped user ids, group messages, types not answered, and
 * the order of messages, statuses and value-level errors, each body also read by the
 * cJSON reader of before (wa_ref.h) for the same events; the webhook signature's HMAC
 * against RFC 4231's vectors. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "gw.h"
#include "parse.h"
#include "test.h"
#include "wa_ref.h"

#define HEAD                                                                                       \
    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"W\",\"changes\":[{\"field\":"  \
    "\"messages\",\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":{"                    \
    "\"display_phone_number\":\"15550000000\",\"phone_number_id\":\"106540352242922\"},"
#define TAIL "}}]}]}"
#define MSG(extra) "{\"id\":\"wamid.1\",\"timestamp\":\"1795485600\"," extra "}"

typedef struct seen {
    int n;
    gw_wa_event ev[8];
    char text[8][64], from[8][64], title[8][64];
} seen;

static void keep(void *ctx, const gw_wa_event *ev)
{
    seen *s = ctx;
    if (s->n >= 8)
        return;
    s->ev[s->n] = *ev;
    snprintf(s->text[s->n], 64, "%s", ev->text ? ev->text : "(null)");
    snprintf(s->from[s->n], 64, "%s", ev->from ? ev->from : "(null)");
    snprintf(s->title[s->n], 64, "%s", ev->tap_title ? ev->tap_title : "(null)");
    s->n++;
}

static seen parse(const char *body)
{
    seen s;
    char why[128];
    memset(&s, 0, sizeof s);
    CHECK_INT(gw_wa_parse(body, strlen(body), keep, &s, why, sizeof why), 0);
    /* and the reader before jscan.c gives the same events */
    CHECK_INT(wa_same(body, strlen(body), 0, 0), WA_SAME);
    return s;
}

static void test_ids(void)
{
    char id[GW_WA_ID_MAX + 1], q[300];

    CHECK_INT(gw_wa_choice_id(id, "pandawa_kabkota", "4"), 0);
    CHECK_STR(id, "q:pandawa_kabkota:4");
    CHECK_INT(gw_wa_choice_id(id, "a:b%c#which", "X"), 0);
    CHECK_STR(id, "q:a%3Ab%25c#which:X");
    memset(q, 'z', 250);
    q[250] = '\0';
    CHECK_INT(gw_wa_choice_id(id, q, "12"), 0);
    CHECK_STR(id, "12"); /* too long to name its question */
    memset(q, 'z', 196);
    q[196] = '\0';
    CHECK_INT(gw_wa_choice_id(id, q, "1"), 0);
    CHECK_INT((long long)strlen(id), 2 + 196 + 1 + 1);
    CHECK(strlen(id) <= GW_WA_ID_MAX);
}

static void test_taps(void)
{
    seen s =
        parse(HEAD
              "\"messages\":[" MSG(
                  "\"from\":\"628123\",\"type\":\"interactive\",\"interactive\":{\"type\":\"list_"
                  "reply\","
                  "\"list_reply\":{\"id\":\"q:a%3Ab%25c#which:X:1\",\"title\":\"Riau\","
                  "\"description\":\"\"}}") "," MSG("\"from\":\"628123\",\"type\":\"interactive\","
                                                    "\"interactive\":{\"type\":\"button_reply\","
                                                    "\"button_reply\":{\"id\":\"4\",\"title\":"
                                                    "\"Riau\"}}") "," MSG("\"from\":\"628123\","
                                                                          "\"type\":"
                                                                          "\"interactive\","
                                                                          "\"interactive\":{"
                                                                          "\"type\":\"nfm_reply\","
                                                                          "\"nfm_reply\":{"
                                                                          "\"response_json\":\"{}"
                                                                          "\"}}") "," MSG("\"from\""
                                                                                          ":\"62812"
                                                                                          "3\","
                                                                                          "\"type\""
                                                                                          ":\"butto"
                                                                                          "n\","
                                                                                          "\"button"
                                                                                          "\":{"
                                                                                          "\"payloa"
                                                                                          "d\":"
                                                                                          "\"Ya\","
                                                                                          "\"text\""
                                                                                          ":\"Ya\""
                                                                                          "}") "]" TAIL);

    CHECK_INT(s.n, 4);
    CHECK_INT(s.ev[0].kind, GW_WA_MESSAGE);
    CHECK_INT(s.ev[0].tap, 1);
    CHECK_INT(s.ev[0].has_question, 1);
    CHECK_STR(s.ev[0].question, "a:b%c#which");
    CHECK_STR(s.text[0], "X:1");
    CHECK_STR(s.title[0], "Riau");
    /* a bare id names no question */
    CHECK_INT(s.ev[1].tap, 1);
    CHECK_INT(s.ev[1].has_question, 0);
    CHECK_STR(s.text[1], "4");
    CHECK_INT(s.ev[2].kind, GW_WA_UNHANDLED);
    /* a template's quick reply is its payload, as text */
    CHECK_INT(s.ev[3].kind, GW_WA_MESSAGE);
    CHECK_INT(s.ev[3].tap, 0);
    CHECK_STR(s.text[3], "Ya");
}

static void test_media(void)
{
    seen s = parse(HEAD "\"messages\":[" MSG("\"from\":\"628123\",\"type\":\"image\",\"image\":{"
                                             "\"caption\":\"KTP depan\","
                                             "\"mime_type\":\"image/"
                                             "jpeg\",\"sha256\":\"ab\",\"id\":"
                                             "\"2754859441498128\"}") "," MSG("\"from\":\"628123\","
                                                                              "\"type\":\"audio\","
                                                                              "\"audio\":{\"mime_"
                                                                              "type\":\"audio/ogg; "
                                                                              "codecs=opus\","
                                                                              "\"id\":\"77\","
                                                                              "\"voice\":true}") "," MSG("\"from\":\"628123\",\"type\":\"location\",\"location\":{\"latitude\":-6.9,"
                                                                                                         "\"longitude\":107.6}") "," MSG("\"from\":\"628123\",\"type\":\"reaction\",\"reaction\":{\"message_id\":\"wamid.0\","
                                                                                                                                         "\"emoji\":\"x\"}") "]" TAIL);

    CHECK_INT(s.n, 4);
    CHECK_INT(s.ev[0].kind, GW_WA_MESSAGE);
    CHECK_STR(s.ev[0].media_type, "image");
    CHECK_STR(s.text[0], "KTP depan");
    CHECK_INT(s.ev[1].kind, GW_WA_MESSAGE);
    CHECK_STR(s.ev[1].media_type, "voice");
    CHECK_STR(s.text[1], "");
    CHECK_INT((long long)s.ev[1].len, 0);
    CHECK_STR(s.ev[2].media_type, "location");
    CHECK(s.ev[2].media_id == NULL);
    CHECK_INT(s.ev[3].kind, GW_WA_UNHANDLED);
}

static void test_users_groups_errors(void)
{
    seen s =
        parse(HEAD
              "\"messages\":[" MSG(
                  "\"from_user_id\":\"US.13491208655302741918\",\"type\":\"text\","
                  "\"text\":{\"body\":\"Hi\"}") "," MSG("\"from\":\"628123\",\"from_user_id\":\"US."
                                                        "1\",\"type\":\"text\",\"text\":{\"body\":"
                                                        "\"Hi\"}") "," MSG("\"from_user_id\":\"US."
                                                                           "1 "
                                                                           "2\",\"type\":\"text\","
                                                                           "\"text\":{\"body\":"
                                                                           "\"Hi\"}") "," MSG("\"fr"
                                                                                              "om\""
                                                                                              ":\"6"
                                                                                              "2812"
                                                                                              "3\","
                                                                                              "\"ty"
                                                                                              "pe\""
                                                                                              ":\"t"
                                                                                              "ext"
                                                                                              "\","
                                                                                              "\"te"
                                                                                              "xt\""
                                                                                              ":{"
                                                                                              "\"bo"
                                                                                              "dy\""
                                                                                              ":\"H"
                                                                                              "i\"}"
                                                                                              ",\"c"
                                                                                              "onte"
                                                                                              "xt\""
                                                                                              ":{"
                                                                                              "\"gr"
                                                                                              "oup_"
                                                                                              "id\""
                                                                                              ":\"1"
                                                                                              "2036"
                                                                                              "3@g."
                                                                                              "us\""
                                                                                              "}") "],"
                                                                                                   "\"statuses\":[{\"id\":\"wamid.S\",\"status\":\"read\"}],"
                                                                                                   "\"errors\":[{\"code\":131000,\"title\":\"Something went wrong\"}]" TAIL);

    CHECK_INT(s.n, 6);
    CHECK_INT(s.ev[0].kind, GW_WA_MESSAGE);
    CHECK_INT(s.ev[0].bsuid, 1);
    CHECK_STR(s.from[0], "US.13491208655302741918");
    CHECK_INT(s.ev[1].bsuid, 0);
    CHECK_STR(s.from[1], "628123");
    CHECK_INT(s.ev[2].kind, GW_WA_INVALID);
    CHECK_INT(s.ev[3].kind, GW_WA_GROUP);
    CHECK_INT(s.ev[4].kind, GW_WA_STATUS);
    CHECK_INT(s.ev[5].kind, GW_WA_ERROR);
    CHECK_INT(s.ev[5].code, 131000);
}

/* A phone number is addressed as "to", a business-scoped user id as "recipient", in
 * replies and in the 24-hour window's template alike. */
static void test_addressing(void)
{
    lk_buf b = {0}, t = {0};
    lk_reply r = {0};

    CHECK(gw_wa_is_phone("628123456789"));
    CHECK(!gw_wa_is_phone("US.13491208655302741918"));
    CHECK(!gw_wa_is_phone(""));
    r.text = "Halo";
    r.len = 4;
    CHECK_INT(gw_wa_render(NULL, "US.13491208655302741918", &r, &b), 0);
    CHECK(strstr(lk_buf_str(&b), "\"recipient\":\"US.13491208655302741918\"") != NULL);
    CHECK(strstr(lk_buf_str(&b), "\"to\"") == NULL);
    /* the template is addressed as the reply it replaces was */
    CHECK_INT(gw_wa_template_render(lk_buf_str(&b), "layanan", "id", NULL, 0, &t), 0);
    CHECK(strstr(lk_buf_str(&t), "\"recipient\":\"US.13491208655302741918\"") != NULL);
    CHECK(strstr(lk_buf_str(&t), "\"to\"") == NULL);
    lk_buf_reset(&b);
    lk_buf_reset(&t);
    CHECK_INT(gw_wa_render(NULL, "628123456789", &r, &b), 0);
    CHECK_INT(gw_wa_template_render(lk_buf_str(&b), "layanan", "id", NULL, 0, &t), 0);
    CHECK(strstr(lk_buf_str(&t), "\"to\":\"628123456789\"") != NULL);
    lk_buf_free(&t);
    lk_buf_free(&b);
}

/* HMAC-SHA256 (gw_hmac_sha256_hex, as X-Hub-Signature-256 uses it): RFC 4231's test
 * cases 2 and 6, keys changing between calls (the keyed context is kept per key), a key
 * longer than that cache against OpenSSL's one-shot HMAC, and the signature check. */
static void test_hmac(void)
{
    static const char *want2 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    static const char *want6 = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
    static const char *data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    char key6[132], big[400], out[65], hdr[80], want[65];
    unsigned char md[32];
    unsigned int mdlen = 0, i;
    int k;

    memset(key6, 0xaa, 131);
    key6[131] = 0;
    for (k = 0; k < 3; k++) { /* a, b, a: each call with the right key */
        CHECK(gw_hmac_sha256_hex("Jefe", "what do ya want for nothing?", 28, out) == 0);
        CHECK(strcmp(out, want2) == 0);
        CHECK(gw_hmac_sha256_hex(key6, data6, strlen(data6), out) == 0);
        CHECK(strcmp(out, want6) == 0);
    }
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = 0;
    CHECK(HMAC(EVP_sha256(), big, (int)strlen(big), (const unsigned char *)"body", 4, md, &mdlen));
    for (i = 0; i < mdlen; i++)
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    CHECK(gw_hmac_sha256_hex(big, "body", 4, out) == 0);
    CHECK(strcmp(out, want) == 0);
    CHECK(gw_hmac_sha256_hex("Jefe", "what do ya want for nothing?", 28, out) == 0);
    CHECK(strcmp(out, want2) == 0);
    snprintf(hdr, sizeof hdr, "sha256=%s", want2);
    CHECK(gw_wa_signature_ok(hdr, "Jefe", "what do ya want for nothing?", 28));
    CHECK(!gw_wa_signature_ok(hdr, "Jefe", "what do ya want for nothing!", 28));
    CHECK(!gw_wa_signature_ok(hdr, "jefe", "what do ya want for nothing?", 28));
}

int main(void)
{
    test_hmac();
    test_addressing();
    test_ids();
    test_taps();
    test_media();
    test_users_groups_errors();
    return test_done("test_gw_wa");
}
