/* Unit tests of src/core: money and integer formats, normalisation, UTF-8, edit distance,
 * civil time, durations and buffers. */
#include <stdlib.h>
#include <string.h>

#include "loket/core.h"
#include "test.h"

static const char *money(int64_t v)
{
    static lk_buf b;
    lk_buf_reset(&b);
    lk_fmt_money(&b, v);
    return lk_buf_str(&b);
}

static const char *norm(const char *s)
{
    static char out[256];
    lk_text_norm(s, strlen(s), out, sizeof out);
    return out;
}

static void test_money(void)
{
    CHECK_STR(money(0), "Rp0");
    CHECK_STR(money(999), "Rp999");
    CHECK_STR(money(1000), "Rp1.000");
    CHECK_STR(money(35000), "Rp35.000");
    CHECK_STR(money(630000), "Rp630.000");
    CHECK_STR(money(3750000), "Rp3.750.000");
    CHECK_STR(money(30000000), "Rp30.000.000");
    CHECK_STR(money(-5000), "-Rp5.000");
    CHECK_STR(money(INT64_MAX), "Rp9.223.372.036.854.775.807");
    CHECK_STR(money(INT64_MIN), "-Rp9.223.372.036.854.775.808");
}

/* Plain decimal integers (menu numbers, ids, JSON numbers): no grouping. */
static void test_int(void)
{
    static const struct {
        int64_t v;
        const char *s;
    } cases[] = {{0, "0"},
                 {7, "7"},
                 {-5000, "-5000"},
                 {1234567, "1234567"},
                 {INT64_MAX, "9223372036854775807"},
                 {INT64_MIN, "-9223372036854775808"}};
    lk_buf b = {0};
    char buf[24];
    size_t i, n;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_STR(lk_fmt_int(buf, cases[i].v, &n), cases[i].s);
        CHECK_INT((int)n, (int)strlen(cases[i].s));
        lk_buf_reset(&b);
        lk_buf_puts(&b, "x=");
        lk_buf_put_int(&b, cases[i].v);
        CHECK(!strncmp(lk_buf_str(&b), "x=", 2) && !strcmp(lk_buf_str(&b) + 2, cases[i].s));
    }
    lk_buf_free(&b);
}

static void test_norm(void)
{
    CHECK_STR(norm("  Hi   Chika!! "), "hi chika");
    CHECK_STR(norm("Kab. Bandung"), "kab bandung");
    CHECK_STR(norm("Toli-Toli"), "toli toli");
    CHECK_STR(norm("D.I. Yogyakarta"), "d i yogyakarta");
    CHECK_STR(norm("JAWA\tBARAT\n"), "jawa barat");
    CHECK_STR(norm("?"), "");
    CHECK_STR(norm("Bau-Bau / kota"), "bau bau kota");
    /* non-ASCII bytes stay as they are */
    CHECK_STR(norm("Sulawesi \xc3\x89"), "sulawesi \xc3\x89");
    {
        char small[6];
        CHECK_INT(lk_text_norm("abc def ghi", 11, small, sizeof small), 5);
        CHECK_STR(small, "abc d");
    }
}

static void test_utf8(void)
{
    size_t bad = 0;
    CHECK(lk_utf8_valid("halo", 4, NULL));
    CHECK(lk_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x91\x8b", 9, NULL));
    CHECK(!lk_utf8_valid("ab\xff", 3, &bad));
    CHECK_INT(bad, 2);
    CHECK(!lk_utf8_valid("a\0b", 3, &bad));
    CHECK_INT(bad, 1);
    CHECK(!lk_utf8_valid("\xc0\xaf", 2, NULL));         /* overlong */
    CHECK(!lk_utf8_valid("\xed\xa0\x80", 3, NULL));     /* surrogate */
    CHECK(!lk_utf8_valid("\xf4\x90\x80\x80", 4, NULL)); /* > U+10FFFF */
    CHECK(!lk_utf8_valid("\xe2\x82", 2, NULL));         /* cut short */
    CHECK_INT(lk_utf8_len("\xc3\xa9t\xc3\xa9", 5), 3);
}

static void test_edit(void)
{
    CHECK_INT(lk_text_edit("jawa tengah", 11, "jawa tenga", 10, 2), 1);
    CHECK_INT(lk_text_edit("sumatera", 8, "sumatra", 7, 2), 1);
    CHECK_INT(lk_text_edit("bali", 4, "bali", 4, 2), 0);
    CHECK_INT(lk_text_edit("aceh", 4, "papua", 5, 2), 3);
    CHECK_INT(lk_text_edit("kitten", 6, "sitting", 7, 3), 3);
    CHECK_INT(lk_text_edit("a", 1, "abcdef", 6, 2), 3);
    {
        char a[200], b[200];
        memset(a, 'x', sizeof a);
        memcpy(b, a, sizeof b);
        b[100] = 'y';
        CHECK_INT(lk_text_edit(a, sizeof a, b, sizeof b, 2), 1);
    }
    CHECK(lk_text_has_word("saya di jawa barat", 18, "jawa barat", 10));
    CHECK(!lk_text_has_word("saya di jawa baratan", 20, "jawa barat", 10));
    CHECK(!lk_text_has_word("kotabaru", 8, "kota", 4));
}

static void test_time(void)
{
    int64_t ms = 0, d = 0;
    lk_civil c;
    int y, m, dd;

    CHECK_INT(lk_time_parse_iso("2026-11-24T09:00:00+07:00", &ms), 0);
    CHECK_INT(ms, INT64_C(1795485600000));
    CHECK_INT(lk_time_parse_iso("2026-11-24T02:00:00Z", &ms), 0);
    CHECK_INT(ms, INT64_C(1795485600000));
    CHECK_INT(lk_time_parse_iso("2026-11-24T09:00+07:00", &ms), 0);
    CHECK_INT(lk_time_parse_iso("2026-11-24 09:00", &ms), 0);
    CHECK_INT(lk_time_parse_iso("2026-13-24T09:00:00Z", &ms), -1);
    CHECK_INT(lk_time_parse_iso("2026-11-24T24:00:00Z", &ms), -1);
    CHECK_INT(lk_time_parse_iso("2026-11-24T09:00:00+07", &ms), -1);
    CHECK_INT(lk_time_parse_iso("yesterday", &ms), -1);

    lk_civil_from_ms(INT64_C(1795485600000), 420, &c);
    CHECK_INT(c.year, 2026);
    CHECK_INT(c.month, 11);
    CHECK_INT(c.day, 24);
    CHECK_INT(c.hour, 9);
    CHECK_INT(c.wday, 2); /* Tuesday */
    lk_civil_from_ms(INT64_C(1795485600000), 540, &c);
    CHECK_INT(c.hour, 11);                                                /* WIT */
    lk_civil_from_ms(INT64_C(1795485600000) - 10 * 3600 * 1000, 420, &c); /* Monday 23:00 */
    CHECK_INT(c.wday, 1);
    CHECK_INT(c.hour, 23);
    lk_civil_from_ms(-1000, 0, &c);
    CHECK_INT(c.year, 1969);
    CHECK_INT(c.sec, 59);
    CHECK_INT(c.wday, 3);

    CHECK_INT(lk_date_parse("2024-02-29", 10, &y, &m, &dd), 0);
    CHECK_INT(lk_date_parse("2023-02-29", 10, &y, &m, &dd), -1);
    CHECK_INT(lk_date_parse("2000-02-29", 10, &y, &m, &dd), 0);
    CHECK_INT(lk_date_parse("1900-02-29", 10, &y, &m, &dd), -1);
    CHECK_INT(lk_date_parse("1990-04-31", 10, &y, &m, &dd), -1);
    CHECK_INT(lk_date_parse("1990-8-17", 9, &y, &m, &dd), -1);
    CHECK_INT(lk_date_parse("17-08-1990", 10, &y, &m, &dd), -1);

    CHECK_INT(lk_duration_parse("31m", &d), 0);
    CHECK_INT(d, 31 * 60 * 1000);
    CHECK_INT(lk_duration_parse("2h", &d), 0);
    CHECK_INT(d, 2 * 3600 * 1000);
    CHECK_INT(lk_duration_parse("1d", &d), 0);
    CHECK_INT(d, 86400 * 1000);
    CHECK_INT(lk_duration_parse("45", &d), 0);
    CHECK_INT(d, 45 * 1000);
    CHECK_INT(lk_duration_parse("5w", &d), -1);
    CHECK_INT(lk_duration_parse("m", &d), -1);
    CHECK_INT(lk_duration_parse("10mm", &d), -1);
}

static void test_buf_and_diag(void)
{
    lk_buf b = {0};
    lk_diag d = {0};
    int i;

    CHECK_STR(lk_buf_str(&b), "");
    for (i = 0; i < 1000; i++)
        lk_buf_printf(&b, "%d,", i);
    CHECK(b.len > 3000);
    CHECK(!strncmp(b.p, "0,1,2,", 6));
    lk_buf_reset(&b);
    CHECK_INT(b.len, 0);
    CHECK(b.cap > 3000); /* capacity kept for reuse */
    lk_buf_free(&b);

    lk_diag_add(&d, "flows/x.json", 3, 7, "states.main", "unknown key '%s'", "gotoo");
    CHECK_INT(d.n, 1);
    CHECK_INT(lk_diag_errors(&d), 1);
    CHECK_STR(d.items[0].msg, "unknown key 'gotoo'");
    CHECK_INT(d.items[0].line, 3);
    lk_diag_clear(&d);
    CHECK_INT(d.n, 0);
}

int main(void)
{
    test_money();
    test_int();
    test_norm();
    test_utf8();
    test_edit();
    test_time();
    test_buf_and_diag();
    return test_done("test_core");
}
