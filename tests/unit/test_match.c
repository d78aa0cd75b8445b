/* Unit tests of the engine's matchers (src/engine/match.c, choice.c): menu
 * options, every input validator at its boundaries, and choosing rows of a
 * data set by number, name, prefix, alias, contained name, typo, another
 * parent's name and page by page. Flows are compiled by the real loader;
 * tests/unit/engine-flows/mini.json carries a tiny province/regency data set. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "loket/engine.h"
#include "loket/flow.h"
#include "test.h"

#define MINI "tests/unit/engine-flows/mini.json"

static const char VALIDATORS[] =
    "{\"loket\": 1, \"name\": \"val\", \"start\": \"nik\",\n"
    " \"yes\": [\"ya\", \"iya\", \"y\"], \"no\": [\"tidak\", \"tdk\", \"n\"],\n"
    " \"invalid\": {\"message\": \"Maaf.\"},\n"
    " \"states\": {\n"
    "  \"nik\": {\"input\": {\"var\": \"nik\", \"type\": \"digits\", \"lengths\": [16, 13]}, "
    "\"next\": \"months\"},\n"
    "  \"months\": {\"input\": {\"var\": \"n\", \"type\": \"number\", \"min\": 1, \"max\": 24}, "
    "\"next\": \"cost\"},\n"
    "  \"cost\": {\"input\": {\"var\": \"cost\", \"type\": \"number\", \"min\": 0}, \"next\": "
    "\"birth\"},\n"
    "  \"rupiah\": {\"input\": {\"var\": \"rp\", \"type\": \"number\", \"min\": 0, \"units\": "
    "{\"ribu\": 1000, \"rb\": 1000, \"juta\": 1000000, \"jt\": 1000000}}, \"next\": \"birth\"},\n"
    "  \"birth\": {\"input\": {\"var\": \"birth\", \"type\": \"date\", \"not_future\": true}, "
    "\"next\": \"any\"},\n"
    "  \"any\": {\"input\": {\"var\": \"d\", \"type\": \"date\"}, \"next\": \"plate\"},\n"
    "  \"plate\": {\"input\": {\"var\": \"plate\", \"type\": \"regex\",\n"
    "            \"pattern\": \"^[a-z]{1,2} ?[0-9]{1,4} ?[a-z]{0,3}$\"}, \"next\": \"ok\"},\n"
    "  \"ok\": {\"input\": {\"var\": \"ok\", \"type\": \"yesno\"}, \"next\": \"kelas\"},\n"
    "  \"kelas\": {\"input\": {\"var\": \"kelas\", \"type\": \"words\", \"words\": [\"Satu\", "
    "\"dua\", \"tiga\"]},\n"
    "             \"next\": \"note\"},\n"
    "  \"note\": {\"input\": {\"var\": \"note\", \"type\": \"text\", \"max_len\": 10}, \"next\": "
    "\"done\"},\n"
    "  \"keyed\": {\"menu\": [{\"key\": \"3\", \"title\": \"Tiga\"}, {\"title\": \"Satu\"},\n"
    "             {\"title\": \"Dua\"}], \"next\": \"done\"},\n"
    "  \"done\": {\"say\": \"ok\", \"end\": true}\n"
    " }}\n";

static lk_flow *mini, *val;
static lk_out *out;
static int64_t now = 1717243200000LL; /* 2024-06-01T12:00:00Z */

static lk_flow *load(const char *path, const char *text, size_t n)
{
    lk_diag diag = {0};
    lk_flow *f = NULL;
    lk_err err =
        text ? lk_flow_load_string(path, text, n, &f, &diag) : lk_flow_load(path, &f, &diag);
    if (err != LK_OK) {
        lk_diag_print(&diag, stderr);
        fprintf(stderr, "%s does not load: %s\n", path, lk_strerror(err));
        exit(1);
    }
    lk_diag_clear(&diag);
    return f;
}

static const lk_state *state(const lk_flow *f, const char *name)
{
    int i = lk_flow_state_find(f, name);
    if (i < 0) {
        fprintf(stderr, "no state %s\n", name);
        exit(1);
    }
    return &f->states[i];
}

/* ---- menus ---- */

/* The option chosen; -2 when several fit (asked which), -3 a typo to
 * confirm, -1 none. */
static int menu_in(const lk_flow *f, const lk_state *st, const char *text)
{
    lk_canon c;
    lk_mmatch m;
    lk_canon_read(&f->lex, text, strlen(text), &c);
    lk_match_menu(f, st, &c, &m);
    return m.res == LK_M_CHOSEN    ? m.opt
           : m.res == LK_M_WHICH   ? -2
           : m.res == LK_M_CONFIRM ? -3
                                   : -1;
}

static int menu(const char *text)
{
    return menu_in(mini, state(mini, "main"), text);
}

static void test_menu(void)
{
    CHECK_INT(menu("1"), 0);
    CHECK_INT(menu("4"), 3);
    CHECK_INT(menu(" 2. "), 1);
    CHECK_INT(menu("0"), -1);
    CHECK_INT(menu("5"), -1);
    CHECK_INT(menu("x"), 3); /* by its key */
    CHECK_INT(menu("X."), 3);
    CHECK_INT(menu("status"), 0);
    CHECK_INT(menu("STATUS!"), 0);
    CHECK_INT(menu("Cek Tagihan"), 1); /* the title */
    CHECK_INT(menu("cek  tagihan."), 1);
    CHECK_INT(menu("iuran"), 1);
    CHECK_INT(menu("pandawa"), 2);
    CHECK_INT(menu("saya mau cek tagihan bulan ini"), 1); /* a word in a longer message */
    CHECK_INT(menu("mau pandawa dong"), 2);
    CHECK_INT(menu("status iuran"), -2); /* two options' words: asked which */
    CHECK_INT(menu("pandawaku"), -1);    /* not a whole word */
    CHECK_INT(menu("cek"), -2);          /* half of two titles: asked which */
    CHECK_INT(menu(""), -1);

    /* a key that is a number wins over the position it names */
    {
        const lk_state *k = state(val, "keyed");
        CHECK_INT(menu_in(val, k, "3"), 0);
        CHECK_INT(menu_in(val, k, "2"), 1);
        CHECK_INT(menu_in(val, k, "tiga"), 0);
    }
}

/* ---- validators ---- */

static lk_value got;
static char tmp[64];

static lk_nread nread;

/* 0 taken, -1 refused; the details of a number are in nread. */
static int input(const char *st, const char *raw, int64_t at)
{
    lk_canon c;
    lk_nres r;
    lk_canon_read(&val->lex, raw, strlen(raw), &c);
    r = lk_match_input(val, state(val, st), raw, strlen(raw), &c, at, tmp, sizeof tmp, &got,
                       &nread);
    return r == LK_N_OK ? 0 : -1;
}

static const char *got_str(void)
{
    static char buf[128];
    if (got.type != LK_VT_STR)
        return "(not a string)";
    snprintf(buf, sizeof buf, "%.*s", (int)got.n, got.s);
    return buf;
}

static void test_digits(void)
{
    CHECK_INT(input("nik", "3201234567890123", now), 0);
    CHECK_STR(got_str(), "3201234567890123");
    CHECK_INT(input("nik", "3201-2345 6789-0123", now), 0);
    CHECK_STR(got_str(), "3201234567890123");
    CHECK_INT(input("nik", "0001234567890", now), 0); /* 13: a card number */
    CHECK_STR(got_str(), "0001234567890");
    CHECK_INT(input("nik", "320123456789012", now), -1);   /* 15 */
    CHECK_INT(input("nik", "32012345678901234", now), -1); /* 17 */
    CHECK_INT(input("nik", "00012345678901", now), -1);    /* 14 */
    CHECK_INT(input("nik", "000123456789", now), -1);      /* 12 */
    CHECK_INT(input("nik", "32012345678901a3", now), -1);
    CHECK_INT(input("nik", "3201.2345.6789.0123", now), -1);
    /* among words, as one run of digits */
    CHECK_INT(input("nik", "nik saya 3201 2345 6789 0123 kak", now), 0);
    CHECK_STR(got_str(), "3201234567890123");
    CHECK_INT(input("nik", "3201234567890123 atau 0001234567890", now), -1);
    CHECK_INT(input("nik", "", now), -1);
    CHECK_INT(
        input("nik", "1234567890123456789012345678901234567890123456789012345678901234567890", now),
        -1);
}

static void test_number(void)
{
    CHECK_INT(input("months", "5", now), 0);
    CHECK_INT(got.type, LK_VT_INT);
    CHECK_INT(got.i, 5);
    CHECK_INT(input("months", "sudah 5 bulan", now), 0);
    CHECK_INT(got.i, 5);
    CHECK_INT(input("months", "12bulan", now), 0);
    CHECK_INT(got.i, 12);
    CHECK_INT(input("months", "1", now), 0);  /* min */
    CHECK_INT(input("months", "24", now), 0); /* max */
    CHECK_INT(got.i, 24);
    CHECK_INT(input("months", "0", now), -1);  /* min - 1 */
    CHECK_INT(input("months", "25", now), -1); /* max + 1 */
    CHECK_INT(input("months", "-5", now), -1);
    CHECK_INT(input("months", "5 atau 6", now), -1);     /* two numbers */
    CHECK_INT(input("months", "kira2 5 bulan", now), 0); /* "kira2": a doubled word */
    CHECK_INT(got.i, 5);
    CHECK_INT(input("months", "kira22 bulan", now), 0); /* 22 is a number */
    CHECK_INT(got.i, 22);
    CHECK_INT(input("months", "2", now), 0);
    CHECK_INT(got.i, 2);
    CHECK_INT(input("months", "lima", now), -1); /* none */
    CHECK_INT(input("months", "", now), -1);
    CHECK_INT(input("cost", "Rp20.000.000", now), 0); /* thousands dots */
    CHECK_INT(got.i, 20000000);
    CHECK_INT(input("cost", "biaya 1.500.000 rupiah", now), 0);
    CHECK_INT(got.i, 1500000);
    CHECK_INT(input("cost", "2.5", now), -1); /* not a thousands group */
    CHECK_INT(input("cost", "20.00", now), -1);
    CHECK_INT(input("cost", "0", now), 0);
    CHECK_INT(input("cost", "-1", now), -1);
    CHECK_INT(input("cost", "999999999999999999", now), 0);
    CHECK_INT(input("cost", "9999999999999999999", now), -1); /* 19 digits */
    /* without units, "20 juta" is refused: juta is another input's unit */
    CHECK_INT(input("cost", "20 juta", now), -1);
    CHECK_INT(nread.res, LK_N_FOREIGN);
    CHECK_STR(nread.unit, "juta");
}

static void test_number_units(void)
{
    CHECK_INT(input("rupiah", "20 juta", now), 0);
    CHECK_INT(got.i, 20000000);
    CHECK_INT(input("rupiah", "Rp 20jt", now), 0);
    CHECK_INT(got.i, 20000000);
    CHECK_INT(input("rupiah", "1,5 juta", now), 0);
    CHECK_INT(got.i, 1500000);
    CHECK_INT(input("rupiah", "1.5 JUTA", now), 0);
    CHECK_INT(got.i, 1500000);
    CHECK_INT(input("rupiah", "2,75 jt", now), 0);
    CHECK_INT(got.i, 2750000);
    CHECK_INT(input("rupiah", "500 ribu", now), 0);
    CHECK_INT(got.i, 500000);
    CHECK_INT(input("rupiah", "1.500 rb", now), 0); /* a thousands group, then the unit */
    CHECK_INT(got.i, 1500000);
    CHECK_INT(input("rupiah", "Rp20.000.000", now), 0);
    CHECK_INT(got.i, 20000000);
    CHECK_INT(input("rupiah", "20 jutaan", now), 0); /* not the unit: the number alone */
    CHECK_INT(got.i, 20);
    CHECK_INT(input("rupiah", "1,5", now), -1);                /* a fraction without a unit */
    CHECK_INT(input("rupiah", "1,555 juta", now), -1);         /* three decimals: ambiguous */
    CHECK_INT(input("rupiah", "20 juta 5", now), -1);          /* two numbers */
    CHECK_INT(input("rupiah", "9999999999999 juta", now), -1); /* overflows int64 */
    CHECK_INT(input("rupiah", "9223372036854 juta", now), 0);
    CHECK_INT(got.i, INT64_C(9223372036854000000));
}

static void test_date(void)
{
    CHECK_INT(input("birth", "2024-02-29", now), 0);
    CHECK_STR(got_str(), "2024-02-29");
    CHECK_INT(input("birth", "2023-02-29", now), -1);
    CHECK_INT(input("birth", "2000-02-29", now), 0);
    CHECK_INT(input("birth", "1900-02-29", now), -1);
    CHECK_INT(input("birth", "2024-13-01", now), -1);
    CHECK_INT(input("birth", "2024-2-29", now), 0);
    CHECK_STR(got_str(), "2024-02-29");
    CHECK_INT(input("birth", "29-02-2024", now), 0);
    CHECK_STR(got_str(), "2024-02-29");
    CHECK_INT(input("birth", "2024-04-31", now), -1);
    /* not in the future: 2024-06-01T12:00Z is 21:00 on June 1 in UTC+9 */
    CHECK_INT(input("birth", "2024-06-01", now), 0);
    CHECK_INT(input("birth", "2024-06-02", now), -1);
    CHECK_INT(input("birth", "2025-01-01", now), -1);
    /* 2024-06-01T15:00Z is already June 2 in Papua (UTC+9) */
    CHECK_INT(input("birth", "2024-06-02", now + 3 * 3600 * 1000LL), 0);
    CHECK_INT(input("birth", "2024-06-02", now + 3 * 3600 * 1000LL - 1), -1);
    CHECK_INT(input("any", "2999-01-01", now), 0);
}

static void test_regex(void)
{
    CHECK_INT(input("plate", "D 1234 ABC", now), 0);
    CHECK_STR(got_str(), "D 1234 ABC");
    CHECK_INT(input("plate", "b1", now), 0);
    CHECK_INT(input("plate", "1234", now), -1);
    CHECK_INT(input("plate", "D 12345 ABC", now), -1);
    CHECK_INT(input("plate", "", now), -1);
}

static void test_yesno(void)
{
    CHECK_INT(input("ok", "ya", now), 0);
    CHECK_INT(got.i, 1);
    CHECK_INT(input("ok", "Tidak.", now), 0);
    CHECK_INT(got.i, 0);
    CHECK_INT(input("ok", "Y", now), 0);
    CHECK_INT(got.i, 1);
    CHECK_INT(input("ok", "ya benar", now), 0);
    CHECK_INT(got.i, 1);
    CHECK_INT(input("ok", "tidak mau", now), 0);
    CHECK_INT(got.i, 0);
    CHECK_INT(input("ok", "yang mana", now), -1); /* "y" only as a whole word */
    CHECK_INT(input("ok", "mungkin", now), -1);
    CHECK_INT(input("ok", "", now), -1);
}

static void test_words_text(void)
{
    CHECK_INT(input("kelas", "Satu", now), 0);
    CHECK_STR(got_str(), "satu");
    CHECK_INT(input("kelas", " DUA! ", now), 0);
    CHECK_STR(got_str(), "dua");
    CHECK_INT(input("kelas", "empat", now), -1);
    CHECK_INT(input("kelas", "dua tiga", now), -1);

    CHECK_INT(input("note", "halo", now), 0);
    CHECK_STR(got_str(), "halo");
    CHECK_INT(input("note", "0123456789", now), 0);   /* 10 */
    CHECK_INT(input("note", "01234567890", now), -1); /* 11 */
    CHECK_INT(input("note",
                    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                    "\xc3\xa9\xc3\xa9",
                    now),
              0); /* 10 code points, 20 bytes */
    CHECK_INT(input("note", "", now), -1);
}

/* ---- data sets, through the step ---- */

static lk_session *sess;
static lk_buf vbuf;

static const char *say(const char *text)
{
    lk_err err;
    lk_out_reset(out);
    err = lk_engine_step(mini, sess, text, strlen(text), now, out);
    CHECK_INT(err, LK_OK);
    return lk_out_joined(out);
}

static const char *var(const char *name)
{
    const char *v = lk_session_var(sess, mini, name, &vbuf);
    return v ? v : "(unset)";
}

static void to_province(void)
{
    lk_session_reset(sess, mini);
    say("halo");
    say("3");
    CHECK_STR(lk_session_state(sess, mini), "province");
}

static void to_kabkota(const char *province)
{
    to_province();
    say(province);
    CHECK_STR(lk_session_state(sess, mini), "kabkota");
}

static lk_buf b;

/* The choices of the last reply, as "id=title;..." */
static const char *choices(void)
{
    lk_reply r;
    int i, n = lk_out_count(out);

    lk_buf_reset(&b);
    if (n == 0)
        return "(no reply)";
    lk_out_get(out, n - 1, &r);
    for (i = 0; i < r.nchoices; i++)
        lk_buf_printf(&b, "%s=%s;", r.choices[i].id, r.choices[i].title);
    return lk_buf_str(&b);
}

static void test_province(void)
{
    lk_session_reset(sess, mini);
    say("halo");
    CHECK_STR(say("3"), "Pilih provinsi:\n1. Aceh\n2. Sumatera Utara\n3. Jawa Barat\n"
                        "Ketik *lagi* untuk halaman berikutnya.");
    CHECK_STR(choices(), "1=Aceh;2=Sumatera Utara;3=Jawa Barat;");
    CHECK_INT(lk_out_count(out), 1);

    /* by list number, also one not on the page shown */
    to_province();
    say("3");
    CHECK_STR(var("prov"), "Jawa Barat");
    CHECK_STR(var("prov_id"), "32");
    CHECK_STR(var("prov_tz"), "WIB");
    CHECK_STR(var("prov_utc_offset"), "420");
    to_province();
    say("6");
    CHECK_STR(var("prov"), "Maluku");
    to_province();
    CHECK_STR(say("8"), "Maaf, pilihan tidak tersedia.");
    CHECK_STR(lk_session_state(sess, mini), "province");

    /* by name, with strip and replace words */
    to_province();
    CHECK_STR(say("Jawa Tengah"), "Pilih kabupaten/kota di Jawa Tengah:\n1. Kota Semarang\n"
                                  "2. Kabupaten Semarang\n3. Kota Surakarta");
    CHECK_STR(choices(), "1=Kota Semarang;2=Kabupaten Semarang;3=Kota Surakarta;");
    to_province();
    say("Provinsi Jawa Barat");
    CHECK_STR(var("prov"), "Jawa Barat");
    to_province();
    say("prov. sumatra utara");
    CHECK_STR(var("prov"), "Sumatera Utara");

    /* by alias */
    to_province();
    say("JABAR");
    CHECK_STR(var("prov"), "Jawa Barat");
    to_province();
    say("malut");
    CHECK_STR(var("prov"), "Maluku Utara");

    /* contained in a longer message: the longest name wins */
    to_province();
    say("saya tinggal di jawa barat");
    CHECK_STR(var("prov"), "Jawa Barat");
    to_province();
    say("saya di maluku utara pak");
    CHECK_STR(var("prov"), "Maluku Utara");
    to_province();
    say("saya di maluku");
    CHECK_STR(var("prov"), "Maluku");
    to_province();
    CHECK_STR(say("saya di jawa"), "Maaf, pilihan tidak tersedia.");
}

static void test_typo(void)
{
    to_province();
    CHECK_STR(say("jawa tenga"), "Maksud Anda *Jawa Tengah*? (ya/tidak)");
    CHECK_STR(lk_session_state(sess, mini), "province");
    CHECK_STR(var("prov"), "(unset)");
    say("ya");
    CHECK_STR(var("prov"), "Jawa Tengah");
    CHECK_STR(lk_session_state(sess, mini), "kabkota");

    /* "tidak": the state's invalid text, the question is forgotten */
    to_province();
    say("jawa barta");
    CHECK_STR(say("tidak"), "Maaf, pilihan tidak tersedia.");
    CHECK_STR(lk_session_state(sess, mini), "province");
    CHECK_INT(sess->invalid, 0); /* a fair answer, not counted */
    CHECK_INT(sess->pending, LK_PEND_NONE);
    CHECK_STR(say("ya"), "Maaf, pilihan tidak tersedia.");
    CHECK_STR(var("prov"), "(unset)");

    /* anything else is matched afresh */
    to_province();
    say("jawa barta");
    say("jateng");
    CHECK_STR(var("prov"), "Jawa Tengah");

    /* an alias typo, a short name takes one edit only */
    to_province();
    CHECK_STR(say("baly"), "Maksud Anda *Bali*? (ya/tidak)");
    to_province();
    CHECK_STR(say("bxly"), "Maaf, pilihan tidak tersedia.");
    to_province();
    CHECK_STR(say("sumatra utra"), "Maksud Anda *Sumatera Utara*? (ya/tidak)");
    say("iya benar");
    CHECK_STR(var("prov"), "Sumatera Utara");
    /* two edits are fine, three too many */
    to_province();
    CHECK_STR(say("jawa brt"), "Maksud Anda *Jawa Barat*? (ya/tidak)");
    to_province();
    CHECK_STR(say("jawa bt"), "Maaf, pilihan tidak tersedia.");
}

static void test_paging(void)
{
    to_province();
    CHECK_STR(say("lagi"), "4. Jawa Tengah\n5. Bali\n6. Maluku\n"
                           "Ketik *lagi* untuk halaman berikutnya.");
    CHECK_STR(choices(), "4=Jawa Tengah;5=Bali;6=Maluku;");
    CHECK_STR(say("Lagi!"), "7. Maluku Utara");
    CHECK_STR(choices(), "7=Maluku Utara;");
    CHECK_STR(say("lagi"), "1. Aceh\n2. Sumatera Utara\n3. Jawa Barat\n"
                           "Ketik *lagi* untuk halaman berikutnya.");
    say("7");
    CHECK_STR(var("prov"), "Maluku Utara");
    /* the regency list is numbered within the province */
    to_kabkota("jabar");
    CHECK_STR(say("lagi"), "4. Kota Bekasi\n5. Kabupaten Bekasi");
    CHECK_STR(choices(), "4=Kota Bekasi;5=Kabupaten Bekasi;");
    say("5");
    CHECK_STR(var("kab"), "Kabupaten Bekasi");
    CHECK_STR(var("kab_id"), "32.16");
    /* a list of exactly one page: "lagi" shows it again */
    to_kabkota("jateng");
    CHECK_STR(say("lagi"), "1. Kota Semarang\n2. Kabupaten Semarang\n3. Kota Surakarta");
}

static void test_regency(void)
{
    /* a bare name shared by a Kota and a Kabupaten: which one? */
    to_kabkota("jawa barat");
    CHECK_STR(say("bandung"), "Ada beberapa yang cocok, balas dengan angka:\n"
                              "1. Kota Bandung\n2. Kabupaten Bandung");
    CHECK_STR(choices(), "1=Kota Bandung;2=Kabupaten Bandung;");
    CHECK_STR(lk_session_state(sess, mini), "kabkota");
    say("2");
    CHECK_STR(var("kab"), "Kabupaten Bandung");
    CHECK_STR(var("kab_id"), "32.04");

    to_kabkota("jawa barat");
    say("Bandung");
    say("1");
    CHECK_STR(var("kab"), "Kota Bandung");

    /* a number beyond the question is refused and the question stays: it
     * is never a row of the whole list */
    to_kabkota("jawa barat");
    say("bandung");
    say("3");
    CHECK_STR(var("kab"), "(unset)");
    say("2");
    CHECK_STR(var("kab"), "Kabupaten Bandung");

    /* prefixes and their synonyms pick the class */
    to_kabkota("jawa barat");
    say("kab bandung");
    CHECK_STR(var("kab"), "Kabupaten Bandung");
    to_kabkota("jawa barat");
    say("Kab. Bandung");
    CHECK_STR(var("kab"), "Kabupaten Bandung");
    to_kabkota("jawa barat");
    say("kodya bandung");
    CHECK_STR(var("kab"), "Kota Bandung");
    to_kabkota("jawa barat");
    say("KOTA BEKASI");
    CHECK_STR(var("kab"), "Kota Bekasi");
    to_kabkota("jawa barat");
    say("kabupaten garut");
    CHECK_STR(var("kab"), "Kabupaten Garut");
    to_kabkota("jawa barat");
    say("garut");
    CHECK_STR(var("kab"), "Kabupaten Garut");
    /* the wrong class is not taken silently */
    to_kabkota("jawa barat");
    CHECK_STR(say("kota garut"), "Maksud Anda *Kabupaten Garut*? (ya/tidak)");

    /* contained, with a prefix deciding between the two Bandungs */
    to_kabkota("jawa barat");
    say("saya di kab bandung");
    CHECK_STR(var("kab"), "Kabupaten Bandung");
    to_kabkota("jawa barat");
    say("rumah saya di kota bandung");
    CHECK_STR(var("kab"), "Kota Bandung");
    to_kabkota("jawa barat");
    CHECK_STR(say("saya di bandung"), "Ada beberapa yang cocok, balas dengan angka:\n"
                                      "1. Kota Bandung\n2. Kabupaten Bandung");

    /* an alias */
    to_kabkota("jawa tengah");
    say("solo");
    CHECK_STR(var("kab"), "Kota Surakarta");

    /* a name under another province: elsewhere, counted as invalid */
    to_kabkota("jawa barat");
    CHECK_STR(say("kota semarang"), "Kota Semarang ada di Jawa Tengah, bukan di Jawa Barat.");
    CHECK_STR(lk_session_state(sess, mini), "kabkota");
    CHECK_INT(sess->invalid, 1);
    CHECK_STR(say("solo"), "Kota Surakarta ada di Jawa Tengah, bukan di Jawa Barat.");
    CHECK_STR(say("ambon"), "Ketik *menu* atau hubungi Care Center 165.");
    CHECK_INT(sess->invalid, 0);
    CHECK_STR(say("xyzzy"), "Kabupaten/kota tidak dikenal.");

    /* a typo as close to two names: which one? */
    to_kabkota("jawa barat");
    CHECK_STR(say("bandumg"), "Ada beberapa yang cocok, balas dengan angka:\n"
                              "1. Kota Bandung\n2. Kabupaten Bandung");
    say("1");
    CHECK_STR(var("kab"), "Kota Bandung");

    /* a typo of a regency */
    to_kabkota("jawa tengah");
    CHECK_STR(say("surakrta"), "Maksud Anda *Kota Surakarta*? (ya/tidak)");
    say("y");
    CHECK_STR(var("kab"), "Kota Surakarta");
}

static lk_cres choice_at(const lk_choice *ch, const char *text, lk_cmatch *m)
{
    lk_canon c;
    lk_canon_read(&mini->lex, text, strlen(text), &c);
    return lk_match_choice(mini, sess, ch, text, strlen(text), &c, m);
}

/* A regency named at the province question offers its province. */
static void test_child(void)
{
    const lk_state *st = state(mini, "province");
    const lk_dataset *pd = &mini->datasets[st->choice.dataset];
    lk_cmatch m;

    to_province();
    CHECK_INT(choice_at(&st->choice, "solo", &m), LK_C_CHILD);
    CHECK_STR(pd->rows[m.row].name, "Jawa Tengah");
    CHECK_STR(mini->datasets[st->choice.children].rows[m.cand[0]].name, "Kota Surakarta");
    CHECK_INT(choice_at(&st->choice, "kota denpasar", &m), LK_C_CHILD);
    CHECK_STR(pd->rows[m.row].name, "Bali");
    /* a province's own name still wins, and a typo of a regency is no child */
    CHECK_INT(choice_at(&st->choice, "jabar", &m), LK_C_CHOSEN);
    CHECK_INT(choice_at(&st->choice, "denpasr", &m), LK_C_INVALID);
    /* the whole step: ask, then yes chooses the province; two cities of that
     * name (Kota and Kabupaten Bekasi) leave the city question to be asked */
    CHECK_STR(say("bekasi"), "Kota Bekasi ada di Jawa Barat?");
    say("ya");
    CHECK_STR(var("prov"), "Jawa Barat");
    CHECK_STR(lk_session_state(sess, mini), "kabkota");

    /* one city: yes takes the province and the city, also when the session
     * was stored between the question and the answer */
    to_province();
    CHECK_STR(say("solo"), "Kota Surakarta ada di Jawa Tengah?");
    {
        lk_buf enc = {0};
        CHECK_INT(lk_session_encode(sess, mini, &enc), LK_OK);
        CHECK(strstr(lk_buf_str(&enc), "k5:33.72") != NULL);
        CHECK_INT(lk_session_decode(sess, mini, enc.p, enc.len), LK_OK);
        lk_buf_free(&enc);
    }
    say("ya");
    CHECK_STR(var("prov"), "Jawa Tengah");
    CHECK_STR(var("kab"), "Kota Surakarta");
    CHECK(strcmp(lk_session_state(sess, mini), "kabkota") != 0);
}

static void test_direct(void)
{
    const lk_state *st = state(mini, "kabkota");
    lk_cmatch m;

    to_kabkota("jawa barat");
    CHECK_INT(choice_at(&st->choice, "lagi", &m), LK_C_MORE);
    CHECK_INT(choice_at(&st->choice, "bandung", &m), LK_C_DISAMBIG);
    CHECK_INT(m.n, 2);
    CHECK_INT(choice_at(&st->choice, "kota ambon", &m), LK_C_ELSEWHERE);
    CHECK_STR(mini->datasets[st->choice.dataset].rows[m.row].name, "Kota Ambon");
    CHECK_INT(choice_at(&st->choice, "garutt", &m), LK_C_CONFIRM);
    CHECK_INT(choice_at(&st->choice, "1", &m), LK_C_CHOSEN);
    CHECK_STR(mini->datasets[st->choice.dataset].rows[m.row].name, "Kabupaten Bandung");
    CHECK_INT(choice_at(&st->choice, "6", &m), LK_C_INVALID);
    CHECK_INT(choice_at(&st->choice, "", &m), LK_C_INVALID);
    CHECK_INT(choice_at(&st->choice, "kab", &m), LK_C_INVALID);
}

int main(void)
{
    mini = load(MINI, NULL, 0);
    val = load("validators.json", VALIDATORS, sizeof VALIDATORS - 1);
    out = lk_out_new();
    sess = lk_session_new(mini);
    CHECK(out && sess);
    if (!out || !sess)
        return 1;

    test_menu();
    test_digits();
    test_number();
    test_number_units();
    test_date();
    test_regex();
    test_yesno();
    test_words_text();
    test_province();
    test_typo();
    test_paging();
    test_regency();
    test_direct();
    test_child();

    lk_session_free(sess);
    lk_out_free(out);
    lk_buf_free(&vbuf);
    lk_buf_free(&b);
    lk_flow_free(mini);
    lk_flow_free(val);
    return test_done("test_match");
}
