/* Unit tests of the JSON reader without a tree (src/gateway/jscan.c) and of the WhatsApp
 * reader built on it (parse_wa.c), against the cJSON reader it replaced (wa_ref.h): every
 * WhatsApp body of the fuzz corpus (Meta's documented examples among them) and of
 * test_gw_wa.c, each cut at every byte, with bytes replaced and with random edits, must
 * be accepted or refused alike, with the same reason, and give the same events field by
 * field. Then the walking functions on their own: keys with escapes, duplicate keys,
 * numbers, strings and the arena. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "parse.h"
#include "test.h"
#include "wa_ref.h"

#define NOW_MS 1795485600000LL /* 2026-11-25 */
#define DAY_MS 86400000LL

typedef struct body {
    char *p;
    size_t n;
    char name[64];
} body;

static body bodies[128];
static int nbodies;
static long long compared, bad_u;

static void add_body(const char *name, const char *p, size_t n)
{
    body *b;

    if (nbodies >= (int)(sizeof bodies / sizeof *bodies))
        return;
    b = &bodies[nbodies++];
    b->p = malloc(n ? n : 1);
    memcpy(b->p, p, n);
    b->n = n;
    snprintf(b->name, sizeof b->name, "%.63s", name);
}

/* The corpus files hold a body, or "sha256=..." and a newline before it. */
static void load_corpus(void)
{
    const char *src = getenv("LOKET_SOURCE_DIR");
    char dir[512], path[1024];
    DIR *d;
    struct dirent *e;

    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/gw_whatsapp", src ? src : ".");
    if (!(d = opendir(dir))) {
        CHECK(!"the corpus directory");
        return;
    }
    while ((e = readdir(d))) {
        FILE *fp;
        char buf[16384];
        size_t n;
        const char *p = buf, *nl;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (!(fp = fopen(path, "rb")))
            continue;
        n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        if (n >= 7 && !memcmp(buf, "sha256=", 7) && (nl = memchr(buf, '\n', n))) {
            n -= (size_t)(nl + 1 - buf);
            p = nl + 1;
        }
        add_body(e->d_name, p, n);
    }
    closedir(d);
}

/* One comparison without an age limit; with clocks, also with a day's limit a day after
 * (for the stale messages). */
static void same_at(const char *what, const body *b, const char *s, size_t n, int clocks)
{
    char *copy = malloc(n ? n : 1); /* of exactly n bytes: a read past them is caught */
    int v, w;

    memcpy(copy, s, n);
    v = wa_same(copy, n, 0, 0);
    w = clocks ? wa_same(copy, n, NOW_MS + DAY_MS, DAY_MS) : v;
    free(copy);
    compared++;
    if (v == WA_BAD_U)
        bad_u++;
    test_checks++;
    if (v == WA_DIFFERENT || w == WA_DIFFERENT) {
        fprintf(stderr, "%s: %s differs (%zu bytes): %.*s\n", b->name, what, n,
                (int)(n > 300 ? 300 : n), s);
        test_failures++;
    }
}

static void same(const char *what, const body *b, const char *s, size_t n)
{
    same_at(what, b, s, n, 1);
}

static void test_bodies(void)
{
    int i;
    for (i = 0; i < nbodies; i++)
        same("the body", &bodies[i], bodies[i].p, bodies[i].n);
}

static void test_truncated(void)
{
    int i;
    size_t k;

    for (i = 0; i < nbodies; i++)
        for (k = 0; k < bodies[i].n; k++)
            same("a cut", &bodies[i], bodies[i].p, k);
}

/* Every byte replaced by some of these, one at a time: a different five at each byte,
 * so that each comes at every fourth byte. */
static void test_replaced(void)
{
    static const char subst[] = {'"', '\\', '{', '}', '[', ']',    ',',  ':',    ' ',    '0',
                                 '-', 'e',  'u', 'x', 'n', '\x01', '\0', '\xff', '\x80', '\xc3'};
    char buf[16384];
    int i;
    size_t k, j;

    for (i = 0; i < nbodies; i++) {
        const body *b = &bodies[i];
        memcpy(buf, b->p, b->n);
        for (k = 0; k < b->n; k++) {
            for (j = 0; j < 5; j++) {
                char c = subst[(k * 5 + j) % sizeof subst];
                if (b->p[k] == c)
                    continue;
                buf[k] = c;
                same_at("a replaced byte", b, buf, b->n, 0);
            }
            buf[k] = b->p[k];
        }
    }
}

/* Random edits (a fixed seed: the same every run): text spliced in, bytes removed. */
static void test_edits(void)
{
    static const char *const tokens[] = {
        "\\u0000",
        "\\ud800",
        "\\udc00",
        "\\ud83d\\ude00",
        "\\ud800\\u0041",
        "\\u00e9",
        "\\\"",
        "\\\\",
        "\\/",
        "\\x",
        "\\u12",
        "\"",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "1e400",
        "-0.5e-3",
        "01",
        "1.",
        "-",
        "1e",
        "1E+2",
        "2147483648",
        "-2147483649",
        "1e+",
        "\xff",
        "\xc3\xa9",
        "\xed\xa0\x80",
        "\x01",
        "\xef\xbb\xbf",
        "null",
        "true",
        "false",
        "nul",
        "\"x\":1",
        "[1,2]",
        "{}",
        "\t\r\n ",
        "\x7f",
        "123456789012345678901234567890123456789012345678901234567890123456789",
        "-.5",
        "+1",
        ".5",
        "1.5.3",
        "0x10",
        "\"code\":\"1\"",
    };
    char buf[20000];
    unsigned long long seed = 42;
    int i, r, e;

    for (i = 0; i < nbodies; i++) {
        const body *b = &bodies[i];
        for (r = 0; r < 400; r++) {
            size_t n = b->n;
            memcpy(buf, b->p, n);
            for (e = 0; e < 3; e++) {
                size_t at, len;
                const char *t;
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                at = n ? (size_t)(seed >> 33) % n : 0;
                t = tokens[(seed >> 20) % (sizeof tokens / sizeof *tokens)];
                len = strlen(t);
                if ((seed >> 12) % 4 == 0 && n > at + 3) { /* remove a few bytes */
                    memmove(buf + at, buf + at + 3, n - at - 3);
                    n -= 3;
                } else if (n + len < sizeof buf) {
                    memmove(buf + at + len, buf + at, n - at);
                    memcpy(buf + at, t, len);
                    n += len;
                }
            }
            same_at("an edit", b, buf, n, 0);
        }
    }
}

/* Bodies written for a point of the grammar, each compared with the reference. */
static void test_cases(void)
{
#define WA_HEAD                                                                                    \
    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"W\",\"changes\":[{\"value\":{" \
    "\"metadata\":{\"phone_number_id\":\"106540352242922\"},\"messages\":[{\"from\":\"628123\","   \
    "\"id\":\"wamid.1\",\"timestamp\":\"1795485600\",\"type\":\"text\",\"text\":{\"body\":"
#define WA_TAIL "}}]}}]}]}"
    static const char *const cases[] = {
        WA_HEAD "\"plain\"" WA_TAIL,
        WA_HEAD "\"\\u0000\"" WA_TAIL,
        WA_HEAD "\"a\\u0000b\"" WA_TAIL,
        WA_HEAD "\"\\ud800\"" WA_TAIL,
        WA_HEAD "\"\\udc00x\"" WA_TAIL,
        WA_HEAD "\"\\ud800\\ud800\\udc00\"" WA_TAIL,
        WA_HEAD "\"\\ud83d\\ude00 \\u00e9\\u20ac\\u0041\"" WA_TAIL,
        WA_HEAD "\"\\ud800\\u0000\"" WA_TAIL,
        WA_HEAD "\"\\ud800\"" WA_TAIL,
        WA_HEAD "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"" WA_TAIL,
        WA_HEAD "\"\\x\"" WA_TAIL,
        WA_HEAD "\"\\u12\"" WA_TAIL,
        WA_HEAD "\"\\" WA_TAIL,
        WA_HEAD "\"\xff\xfe\xc3\x28\xed\xa0\x80\"" WA_TAIL,     /* invalid UTF-8 */
        WA_HEAD "\"tab\there\x01\x1f\"" WA_TAIL,                /* control characters */
        WA_HEAD "\"a\",\"body\":\"second\"" WA_TAIL,            /* a duplicate key: the first */
        WA_HEAD "\"x\"},\"text\":{\"body\":\"second\"" WA_TAIL, /* a duplicate object */
        WA_HEAD "1e5" WA_TAIL,
        WA_HEAD "\"x\"" WA_TAIL " ",
        WA_HEAD "\"x\"" WA_TAIL " x",
        WA_HEAD "\"x\"" WA_TAIL "}",
        WA_HEAD "\"x\"" WA_TAIL "\x01",
        "\xef\xbb\xbf" WA_HEAD "\"bom\"" WA_TAIL,
        "\x01\x02 " WA_HEAD "\"lead\"" WA_TAIL,
        "{\"entry\":[{\"changes\":[{\"value\":{\"metadata\":{\"phone_number_id\":\"1\"},"
        "\"statuses\":[{\"id\":\"s\",\"status\":\"failed\",\"errors\":[{\"code\":1e400,"
        "\"title\":\"t\"}]},{\"errors\":[{\"code\":-1e400}]},{\"errors\":[{\"code\":2147483647.9}]}"
        ","
        "{\"errors\":[{\"code\":-2147483649}]},{\"errors\":[{\"code\":12.9}]},"
        "{\"errors\":[{\"code\":1E+2}]},{\"errors\":[{\"code\":-0}]},{\"errors\":[7]},"
        "{\"errors\":[{\"code\":"
        "123456789012345678901234567890123456789012345678901234567890123}]}]}}]}]}",
        "{\"entry\":[{\"changes\":[{\"value\":{\"statuses\":[{\"errors\":[{\"code\":"
        "1234567890123456789012345678901234567890123456789012345678901234}]}]}}]}]}",
        "{\"entry\":[{\"changes\":[{\"value\":{\"messages\":[{\"timestamp\":1795485600.5},"
        "{\"timestamp\":-1},{\"timestamp\":1e11},{\"timestamp\":01},{\"timestamp\":1.},"
        "{\"timestamp\":-.5},{\"timestamp\":\"17954856\\u0030\"}]}}]}]}",
        "{\"a\":01}",
        "{\"a\":-}",
        "{\"a\":1.5.3}",
        "{\"a\":+1}",
        "{\"a\":.5}",
        "{\"a\":1e}",
        "{\"a\":1e+}",
        "{\"a\":-01.e5}",
        "{\"a\":nul}",
        "{\"a\":nullx}",
        "{\"a\":[1,]}",
        "{\"a\":[,1]}",
        "{\"a\":{,}}",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":1,}",
        "{,",
        "{",
        "{ ",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":[",
        "{\"a\":[ ",
        "{\"a\":\"",
        "",
        " ",
        "[]",
        "[1,2",
        " [ {} ]",
        "\"x\"",
        "5",
        "{}",
        "{} {}",
        "{\"entry\":{}}",
        "{\"entry\":[1,\"x\",null,[],{\"changes\":[5,{\"value\":[]},{\"value\":{\"messages\":{}}}]}"
        "]}",
        "{\"entry\":[{\"changes\":[{\"value\":{\"messages\":[1,\"x\",[],{}],\"statuses\":[1,{}],"
        "\"errors\":[null,{\"code\":\"1\"}],\"metadata\":{\"phone_number_id\":12}}}]}]}",
        "{\"en\\u0074ry\":[{\"changes\":[{\"value\":{\"statuses\":[{\"id\":\"esc\"}]}}]}]}",
        "{\"entry\\u0000\":[{\"changes\":[{\"value\":{\"statuses\":[{\"id\":\"nul\"}]}}]}]}",
        "{\"entry\":[{\"changes\":[{\"value\":{\"statuses\":[{\"id\":\"a\\u0000\"}]}}]}]}",
    };
    body b = {0};
    size_t i;
    char deep[200];
    int d;

    snprintf(b.name, sizeof b.name, "a case");
    for (i = 0; i < sizeof cases / sizeof *cases; i++)
        same("the case", &b, cases[i], strlen(cases[i]));
    /* a NUL byte, in a string and outside */
    same("a NUL", &b, "{\"a\":\"x\0y\"}", 11);
    same("a NUL", &b, "{\"a\":1}\0", 8);
    same("a NUL", &b, "{\0}", 3);
    /* 32 levels and 33, and 33 after a syntax error */
    for (d = 31; d <= 34; d++) {
        size_t n = 0;
        int k;
        deep[n++] = '{';
        memcpy(deep + n, "\"a\":", 4);
        n += 4;
        for (k = 1; k < d; k++)
            deep[n++] = '[';
        for (k = 1; k < d; k++)
            deep[n++] = ']';
        deep[n++] = '}';
        same("a depth", &b, deep, n);
        deep[1] = 'x';
        same("a depth after an error", &b, deep, n);
    }
}

/* The one difference, on purpose: cJSON reads \u without four hex digits as U+0000
 * and cuts the string there (a text "ok\uZZZZ then" reached the engine as "ok"). */
static void test_bad_u(void)
{
    static const char s[] = WA_HEAD "\"ok\\uZZZZ then\"" WA_TAIL;
    gw_wa_iter it;
    char why[128];
    char want[64];

    CHECK_INT(gw_wa_open(s, strlen(s), 0, 0, &it, why, sizeof why), -1);
    snprintf(want, sizeof want, "malformed JSON at byte %zu", strchr(s, '\\') - s);
    CHECK_STR(why, want);
    CHECK(bad_u > 0); /* the random edits made some */
}

static void test_walk(void)
{
    static const char s[] = "{ \"a\" : [ 1 , {\"k\\u0065y\":\"v\\n\\u00e9\\ud83d\\ude00\"} ,"
                            "\"s\" ], \"dup\":1, \"dup\":2, \"n\":-12.5e1, \"big\":1e400,"
                            "\"t\":true, \"f\":false, \"z\":null, \"\\u0000\":3, \"e\":{}}";
    static const char *const keys[] = {"dup", "n", "nope", "t"};
    gw_js_doc d;
    gw_jv root, v, el, vals[4];
    char why[128], mem[64];
    gw_js_arena a = {mem, sizeof mem, 0};
    const char *str;

    CHECK_INT(gw_js_open(&d, s, strlen(s), why, sizeof why), 0);
    root = d.root;
    CHECK_INT(gw_js_type(root), GW_JS_OBJECT);
    v = gw_js_get(&d, root, "a");
    CHECK_INT(gw_js_type(v), GW_JS_ARRAY);
    el = gw_js_first(v);
    CHECK_INT(gw_js_int(el), 1);
    el = gw_js_next(&d, el);
    CHECK_INT(gw_js_type(el), GW_JS_OBJECT);
    str = gw_js_str(gw_js_get(&d, el, "key"), &a);
    CHECK_STR(str, "v\n\xc3\xa9\xf0\x9f\x98\x80");
    CHECK(gw_js_get(&d, el, "ke") == NULL && gw_js_get(&d, el, "keyy") == NULL);
    el = gw_js_next(&d, el);
    CHECK_STR(gw_js_str(el, &a), "s");
    CHECK(gw_js_next(&d, el) == NULL);
    gw_js_get_keys(&d, root, keys, 4, vals);
    CHECK_INT(gw_js_int(vals[0]), 1); /* the first of duplicates, as cJSON */
    CHECK(gw_js_double(vals[1]) == -125.0);
    CHECK(vals[2] == NULL);
    CHECK_INT(gw_js_type(vals[3]), GW_JS_TRUE);
    CHECK_INT(gw_js_int(gw_js_get(&d, root, "big")), 2147483647);
    CHECK_INT(gw_js_type(gw_js_get(&d, root, "f")), GW_JS_FALSE);
    CHECK_INT(gw_js_type(gw_js_get(&d, root, "z")), GW_JS_NULL);
    CHECK(gw_js_first(gw_js_get(&d, root, "e")) == NULL);        /* not an array */
    CHECK(gw_js_get(&d, gw_js_get(&d, root, "a"), "a") == NULL); /* not an object */
    CHECK(gw_js_str(gw_js_get(&d, root, "n"), &a) == NULL);      /* not a string */
    CHECK(gw_js_get(&d, NULL, "a") == NULL && gw_js_first(NULL) == NULL &&
          gw_js_next(&d, NULL) == NULL);
    /* an arena without room for the string gives none rather than a cut one */
    a.used = a.cap - 2;
    CHECK(gw_js_str(gw_js_next(&d, gw_js_next(&d, gw_js_first(gw_js_get(&d, root, "a")))), &a) ==
          NULL);
    /* \u0000 as gw_json_mark leaves it: six 0xFF bytes */
    a.used = 0;
    CHECK_INT(gw_js_int(gw_js_get(&d, root, "\xff\xff\xff\xff\xff\xff")), 3);
}

/* More arrays and objects than the index holds: the later ones are read through. */
static void test_index(void)
{
    char s[2000];
    size_t n = 0;
    int k, count = 0;
    gw_js_doc d;
    gw_jv el;
    char why[128];

    n += (size_t)snprintf(s + n, sizeof s - n, "{\"a\":[");
    for (k = 0; k < 100; k++)
        n += (size_t)snprintf(s + n, sizeof s - n, "%s{\"k\":[%d]}", k ? "," : "", k);
    n += (size_t)snprintf(s + n, sizeof s - n, "],\"b\":7}");
    CHECK_INT(gw_js_open(&d, s, n, why, sizeof why), 0);
    CHECK_INT(d.nc, GW_JS_INDEX);
    CHECK_INT(gw_js_int(gw_js_get(&d, d.root, "b")), 7);
    for (el = gw_js_first(gw_js_get(&d, d.root, "a")); el; el = gw_js_next(&d, el))
        CHECK_INT(gw_js_int(gw_js_first(gw_js_get(&d, el, "k"))), count++);
    CHECK_INT(count, 100);
}

/* A body of many messages and statuses, for the comparisons: more containers than the
 * index holds. */
static void add_many(void)
{
    char s[12000];
    size_t n = 0;
    int k;

    n += (size_t)snprintf(s + n, sizeof s - n,
                          "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"W\","
                          "\"changes\":[{\"value\":{\"messaging_product\":\"whatsapp\","
                          "\"metadata\":{\"phone_number_id\":\"106540352242922\"},\"messages\":[");
    for (k = 0; k < 30; k++)
        n += (size_t)snprintf(s + n, sizeof s - n,
                              "%s{\"from\":\"62812%04d\",\"id\":\"wamid.M%d\",\"timestamp\":"
                              "\"1795485600\",\"type\":\"text\",\"text\":{\"body\":\"pesan %d\"}}",
                              k ? "," : "", k, k, k);
    n += (size_t)snprintf(s + n, sizeof s - n, "],\"statuses\":[");
    for (k = 0; k < 30; k++)
        n += (size_t)snprintf(
            s + n, sizeof s - n,
            "%s{\"id\":\"wamid.S%d\",\"status\":\"read\",\"errors\":[{\"code\":%d}]}", k ? "," : "",
            k, 131000 + k);
    n += (size_t)snprintf(s + n, sizeof s - n, "]},\"field\":\"messages\"}]}]}");
    add_body("many (generated)", s, n);
}

int main(void)
{
    load_corpus();
    add_many();
    CHECK(nbodies >= 40);
    test_bodies();
    test_truncated();
    test_replaced();
    test_edits();
    test_cases();
    test_bad_u();
    test_walk();
    test_index();
    printf("%lld bodies compared (%lld with a bad \\u escape)\n", compared, bad_u);
    while (nbodies > 0)
        free(bodies[--nbodies].p);
    return test_done("test_gw_jscan");
}
