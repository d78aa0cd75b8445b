/* Unit tests of the /chat frames written in place (src/gateway/wsframe.c): JSON string
 * escaping, the three length forms of RFC 6455 at each boundary, byte for byte against
 * frames built here from the RFC's rule, and the reply, done and error frames against
 * what cJSON prints for the same objects (what the server sent before). */
#include "test.h"

#ifdef LOKET_HAVE_GATEWAY
#include <stdint.h>
#include <stdlib.h>

#include "gw.h"
#include "wsframe.h"

/* A server frame by RFC 6455 section 5.2: FIN + text opcode, no mask, the payload length
 * in 7 bits, or 126 and 16 bits, or 127 and 64 bits (network order), then the payload. */
static void rfc_frame(lk_buf *b, const char *payload, size_t n)
{
    unsigned char h[10];
    size_t hn, v = n;
    int i;

    h[0] = 0x80 | 0x1;
    if (n <= 125) {
        h[1] = (unsigned char)n;
        hn = 2;
    } else if (n <= 0xffff) {
        h[1] = 126;
        h[2] = (unsigned char)(n / 256);
        h[3] = (unsigned char)(n % 256);
        hn = 4;
    } else {
        h[1] = 127;
        for (i = 9; i >= 2; i--) {
            h[i] = (unsigned char)(v % 256);
            v /= 256;
        }
        hn = 10;
    }
    lk_buf_put(b, h, hn);
    lk_buf_put(b, payload, n);
}

static int same_bytes(const lk_buf *got, const lk_buf *want)
{
    size_t i;

    if (got->len != want->len) {
        fprintf(stderr, "  %zu bytes, want %zu\n", got->len, want->len);
        return 0;
    }
    for (i = 0; i < got->len; i++) {
        if (got->p[i] != want->p[i]) {
            fprintf(stderr, "  byte %zu is 0x%02x, want 0x%02x\n", i, (unsigned char)got->p[i],
                    (unsigned char)want->p[i]);
            return 0;
        }
    }
    return 1;
}

static const char *escaped(const char *s, size_t n, lk_buf *b)
{
    lk_buf_reset(b);
    gw_json_string(b, s, n);
    return lk_buf_str(b);
}

static void test_escaping(void)
{
    lk_buf b = {0};
    char ctl[32];
    int i;

    CHECK_STR(escaped("", 0, &b), "\"\"");
    CHECK_STR(escaped("Hi Chika", 8, &b), "\"Hi Chika\"");
    CHECK_STR(escaped("a\"b\\c", 5, &b), "\"a\\\"b\\\\c\"");
    CHECK_STR(escaped("1. Info\n2. PANDAWA\r\n\tend", 24, &b),
              "\"1. Info\\n2. PANDAWA\\r\\n\\tend\"");
    CHECK_STR(escaped("\b\f", 2, &b), "\"\\b\\f\"");
    /* the other control characters in the \u form, NUL included when it is in n */
    CHECK_STR(escaped("\x01\x1f", 2, &b), "\"\\u0001\\u001f\"");
    CHECK_STR(escaped("a\0b", 3, &b), "\"a\\u0000b\"");
    CHECK_STR(escaped("\x1b[31m", 5, &b), "\"\\u001b[31m\"");
    /* not control characters: slash, DEL, and UTF-8 (2, 3 and 4 bytes) pass unchanged */
    CHECK_STR(escaped("a/b\x7f", 4, &b), "\"a/b\x7f\"");
    CHECK_STR(escaped("Rp 42.000 \xe2\x80\x94 Jawa \xc3\xa9 \xf0\x9f\x99\x8f", 26, &b),
              "\"Rp 42.000 \xe2\x80\x94 Jawa \xc3\xa9 \xf0\x9f\x99\x8f\"");
    /* only n bytes are read */
    CHECK_STR(escaped("abc\"def", 3, &b), "\"abc\"");
    /* appends */
    lk_buf_reset(&b);
    lk_buf_puts(&b, "x=");
    gw_json_string(&b, "\"", 1);
    CHECK_STR(lk_buf_str(&b), "x=\"\\\"\"");

    /* every control character as cJSON prints it */
    for (i = 1; i < 32; i++)
        ctl[i - 1] = (char)i;
    ctl[31] = '\0';
    {
        cJSON *str = cJSON_CreateString(ctl);
        char *want = cJSON_PrintUnformatted(str);
        CHECK_STR(escaped(ctl, 31, &b), want);
        cJSON_free(want);
        cJSON_Delete(str);
    }
    lk_buf_free(&b);
}

/* {"type":"reply","text":"xxx..."} with a payload of exactly n bytes, through gw_wsf_simple
 * and by hand, after what is in the buffer already. */
static void check_length(size_t n)
{
    static const char pre[] = "{\"type\":\"reply\",\"text\":\"", post[] = "\"}";
    size_t k = n - (sizeof pre - 1) - (sizeof post - 1);
    char *text = malloc(k + 1);
    lk_buf got = {0}, want = {0}, payload = {0};
    int ok;

    if (!text) {
        CHECK(text != NULL);
        return;
    }
    memset(text, 'x', k);
    text[k] = '\0';
    lk_buf_puts(&payload, pre);
    lk_buf_puts(&payload, text);
    lk_buf_puts(&payload, post);
    CHECK_INT(payload.len, n);

    lk_buf_put(&got, "\0\0\0", 3); /* what came before: headroom, another frame */
    lk_buf_put(&want, "\0\0\0", 3);
    CHECK_INT(gw_wsf_simple(&got, "reply", "text", text), 0);
    rfc_frame(&want, payload.p, payload.len);
    ok = same_bytes(&got, &want);
    if (!ok)
        fprintf(stderr, "  (the frame of a %zu-byte payload)\n", n);
    CHECK(ok);
    CHECK(got.p[got.len] == '\0');
    free(text);
    lk_buf_free(&got);
    lk_buf_free(&want);
    lk_buf_free(&payload);
}

static void test_lengths(void)
{
    size_t sizes[] = {27, 125, 126, 127, 300, 65535, 65536, 70000, 200000};
    size_t i;
    lk_buf b = {0};

    for (i = 0; i < sizeof sizes / sizeof *sizes; i++)
        check_length(sizes[i]);

    /* the header bytes themselves, at the boundaries */
    CHECK_INT(gw_wsf_simple(&b, "done", NULL, NULL), 0);
    CHECK_INT(b.len, 2 + 15);
    CHECK_INT((unsigned char)b.p[0], 0x81);
    CHECK_INT((unsigned char)b.p[1], 15);
    CHECK_STR(b.p + 2, "{\"type\":\"done\"}");
    lk_buf_free(&b);
}

/* The payload of the one frame in b (a 2- or 4-byte header here). */
static const char *payload_of(const lk_buf *b)
{
    if (b->len < 2 || (unsigned char)b->p[0] != 0x81)
        return "(no frame)";
    return b->p + ((b->p[1] & 0x7f) == 126 ? 4 : 2);
}

static void check_reply(const lk_reply *r)
{
    cJSON *o = gw_reply_json(r, "reply");
    char *want = o ? cJSON_PrintUnformatted(o) : NULL;
    lk_buf b = {0};

    CHECK(want != NULL);
    CHECK_INT(gw_wsf_reply(&b, r), 0);
    CHECK_STR(payload_of(&b), want ? want : "");
    cJSON_free(want);
    cJSON_Delete(o);
    lk_buf_free(&b);
}

static void test_frames(void)
{
    static const lk_choice_out menu[] = {
        {"1", "Info Program JKN"}, {"6", "PANDAWA"}, {"7", "Ubah \"Data\" \\ Peserta\n(baru)"}};
    static const char text[] = "Halo, saya *Chika* \xf0\x9f\x98\x8a\nPilih menu:\t1-7";
    lk_reply r = {0};
    lk_buf b = {0};
    cJSON *o;
    char *want;

    r.text = text;
    r.len = sizeof text - 1;
    check_reply(&r);
    r.choices = menu;
    r.nchoices = 3;
    check_reply(&r);
    r.more = "lagi";
    check_reply(&r);
    r.choices = NULL;
    r.nchoices = 0;
    check_reply(&r);
    r.more = NULL;
    r.text = "";
    r.len = 0;
    check_reply(&r);
    /* a reply without text is no frame (as gw_reply_json gives none) */
    r.text = NULL;
    CHECK_INT(gw_wsf_reply(&b, &r), 0);
    CHECK_INT(b.len, 0);

    CHECK_INT(gw_wsf_done(&b, 3, 0), 0);
    CHECK_STR(payload_of(&b), "{\"type\":\"done\",\"replies\":3}");
    lk_buf_reset(&b);
    CHECK_INT(gw_wsf_done(&b, 0, 1), 0);
    CHECK_STR(payload_of(&b), "{\"type\":\"done\",\"replies\":0,\"duplicate\":true}");
    lk_buf_reset(&b);
    CHECK_INT(gw_wsf_done(&b, 1234567, 0), 0);
    CHECK_STR(payload_of(&b), "{\"type\":\"done\",\"replies\":1234567}");
    lk_buf_reset(&b);
    CHECK_INT(gw_wsf_simple(&b, "error", "error", "message larger than \"64 KiB\""), 0);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "error");
    cJSON_AddStringToObject(o, "error", "message larger than \"64 KiB\"");
    want = cJSON_PrintUnformatted(o);
    CHECK_STR(payload_of(&b), want);
    cJSON_free(want);
    cJSON_Delete(o);

    /* frames one after the other in one buffer, each whole */
    lk_buf_reset(&b);
    r.text = "Pilih provinsi";
    r.len = strlen(r.text);
    CHECK_INT(gw_wsf_reply(&b, &r), 0);
    CHECK_INT(gw_wsf_done(&b, 1, 0), 0);
    CHECK_INT(b.len, 2 + 40 + 2 + 27);
    CHECK_STR(b.p + 2 + 40 + 2, "{\"type\":\"done\",\"replies\":1}");
    CHECK(memcmp(b.p + 2, "{\"type\":\"reply\",\"text\":\"Pilih provinsi\"}", 40) == 0);
    lk_buf_free(&b);
}

static void test_fields(void)
{
    lk_buf b = {0};
    gw_wsf w;

    gw_wsf_begin(&w, &b);
    gw_wsf_str(&w, "type", "welcome");
    gw_wsf_str(&w, "state", NULL); /* no field */
    gw_wsf_bool(&w, "resumed", 1);
    gw_wsf_bool(&w, "ended", 0);
    gw_wsf_int(&w, "n", -42);
    CHECK_INT(gw_wsf_end(&w), 0);
    CHECK_STR(payload_of(&b), "{\"type\":\"welcome\",\"resumed\":true,\"ended\":false,\"n\":-42}");
    lk_buf_free(&b);
}

int main(void)
{
    test_escaping();
    test_lengths();
    test_frames();
    test_fields();
    return test_done("test_gw_wsframe");
}
#else
int main(void)
{
    puts("test_gw_wsframe: no gateway in this build");
    return 0;
}
#endif
