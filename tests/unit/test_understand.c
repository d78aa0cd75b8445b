/* Reading people (issue 8): the lexicon, fillers, word forms, menu scoring
 * and ties, number words, collective words, units with conversions and
 * refusals, yes/no with negation, corrections, per-state expiry, and the
 * misses the message log keeps. The bundled flow (flows/chika.json) is the
 * lexicon under test; the misses go through the runtime into a real SQLite
 * file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"
#include "loket/runtime.h"
#include "loket/store.h"
#include "test.h"

static lk_flow *chika;

static const lk_state *state(const char *name)
{
    int i = lk_flow_state_find(chika, name);
    if (i < 0) {
        fprintf(stderr, "no state %s\n", name);
        exit(1);
    }
    return &chika->states[i];
}

static const char *canon(const char *text, int bare)
{
    static lk_canon c;
    lk_canon_read(&chika->lex, text, strlen(text), &c);
    return bare ? c.bare : c.map;
}

static void test_lexicon(void)
{
    CHECK_STR(canon("Udah 2 THN kak", 0), "sudah 2 tahun kak");
    CHECK_STR(canon("Udah 2 THN kak", 1), "sudah 2 tahun");
    CHECK_STR(canon("yg nomor 6 ya", 1), "6");
    CHECK_STR(canon("ya kak", 1), "ya kak"); /* only fillers: kept */
    CHECK_STR(canon("gk ada", 0), "tidak ada");
    CHECK_STR(canon("eh salah, kembali", 1), "kembali");
    CHECK_STR(canon("kira2 lima", 0), "kira lima"); /* the doubling */
    CHECK_STR(canon("ya👍", 0), "ya 👍");             /* an emoji is a word of its own */
    {
        lk_canon c;
        lk_canon_read(&chika->lex, "iuran brp", 9, &c);
        CHECK(c.question);
        lk_canon_read(&chika->lex, "maaf, 5", 7, &c);
        CHECK(c.cue && !c.question);
    }
    /* the flow's own words are read the same way: "udah" in no list any more */
    CHECK_INT(chika->nlexwarn, 0);
}

static const char *stem(const char *w)
{
    static char out[64];
    lk_lex_stem(&chika->lex, w, strlen(w), out, sizeof out);
    return out;
}

static void test_word_forms(void)
{
    CHECK_STR(stem("kartunya"), "kartu");
    CHECK_STR(stem("pengaktifan"), "aktif");
    CHECK_STR(stem("aktifkan"), "aktif");
    CHECK_STR(stem("bekerja"), "kerja");
    CHECK_STR(stem("kerja"), "kerja");
    CHECK_STR(stem("bulan"), "bulan"); /* "bul" would be too short */
    CHECK_STR(stem("tiga"), "3");      /* a number word is its digits */
    CHECK_STR(stem("sekolah"), "sekolah");
}

/* The option chosen (0-based); -2 asked which, -3 confirmed, -1 none. */
static int menu(const char *st, const char *text)
{
    lk_canon c;
    lk_mmatch m;
    lk_canon_read(&chika->lex, text, strlen(text), &c);
    lk_match_menu(chika, state(st), &c, &m);
    return m.res == LK_M_CHOSEN    ? m.opt
           : m.res == LK_M_WHICH   ? -2
           : m.res == LK_M_CONFIRM ? -3
                                   : -1;
}

static void test_menus(void)
{
    CHECK_INT(menu("main", "6 kak"), 5);
    CHECK_INT(menu("main", "yg nomor 6"), 5);
    CHECK_INT(menu("main", "enam"), 5);
    CHECK_INT(menu("main", "pandwa"), -3);          /* a typo is confirmed */
    CHECK_INT(menu("main", "lokasi"), -2);          /* a tie is asked */
    CHECK_INT(menu("main", "nunggak 2 bulan"), -1); /* a number with a unit is no option */
    CHECK_INT(menu("main", "kartu sy gak aktif"), 5);
    CHECK_INT(menu("r0_cause", "nunggak"), 0);
    CHECK_INT(menu("r0_cause", "telat bayar"), 0);
    CHECK_INT(menu("r0_cause", "berhenti kerja"), 1);
    CHECK_INT(menu("r0_cause", "berhenti"), -3); /* half a phrase is confirmed */
    CHECK_INT(menu("r1_kelas", "kls 3"), 2);
    CHECK_INT(menu("r1_kelas", "kelas dua"), 1);
    CHECK_INT(menu("r1_kelas", "2 orang"), -1); /* the members, typed late: no class */
    CHECK_INT(menu("r1_kelas", "saya kelas 2 kak"), 1);
    CHECK_INT(menu("pandawa_form", "pengaktifan kembali"), 9);
    CHECK_INT(menu("pandawa_form", "aktifin lagi kartu"), 9);
    CHECK_INT(menu("r3_choice", "tidak"), -1); /* a negation alone says nothing */
}

static lk_nread nr;

static int64_t number(const char *st, const char *text)
{
    lk_read_number(chika, &state(st)->input, text, strlen(text), &nr);
    return nr.res == LK_N_OK || nr.res == LK_N_CONFIRM ? nr.val : -1;
}

static void test_numbers(void)
{
    CHECK_INT(number("r1_months", "nunggak 4 thn"), 48);
    CHECK_INT(nr.res, LK_N_OK);
    CHECK_INT(number("r1_months", "udah 2 tahun lebih"), 24);
    CHECK_INT(nr.res, LK_N_CONFIRM); /* a hedge is confirmed */
    CHECK_INT(number("r1_months", "setahun"), 12);
    CHECK_INT(number("r1_months", "dua belas bulan"), 12);
    CHECK_INT(number("r1_months", "1,5 tahun"), 18);
    CHECK_INT(number("r1_months", "1,3 tahun"), -1); /* no whole number of months */
    CHECK_INT(number("r1_months", "1 tahun 3 bulan"), 15);
    CHECK_INT(nr.res, LK_N_CONFIRM);
    CHECK_INT(number("r1_months", "seratus dua puluh lima"), 125);
    CHECK_INT(number("r1_months", "kelas 2"), -1);
    CHECK_INT(nr.res, LK_N_FOREIGN); /* another question's unit */
    CHECK_STR(nr.unit, "kelas");
    CHECK_INT(number("r1_months", "5 atau 6"), -1);
    CHECK_INT(nr.res, LK_N_TWO);
    CHECK_INT(number("r1_months", "5, ya 5"), 5); /* the same number twice */
    CHECK_INT(number("r1_members", "tiga org"), 3);
    CHECK_INT(number("r1_members", "saya sendiri"), 1);
    CHECK_INT(number("r1_members", "kami berempat"), 4);
    CHECK_INT(number("r1_members", "5 bulan"), -1);
    CHECK_STR(nr.unit, "bulan");
    CHECK_INT(number("r4_age", "berdua"), -1); /* a collective word counts people */
    CHECK_STR(nr.unit, "orang");
    CHECK_INT(number("penalty_cost", "dua juta"), 2000000);
    CHECK_INT(number("penalty_cost", "dua juta lima ratus ribu"), 2500000);
    CHECK_INT(number("r1_months", "dua tiga"), -1);
    CHECK_INT(nr.res, LK_N_TWO);
    CHECK_INT(number("r1_months", "dua belas"), 12);
    CHECK_INT(number("penalty_cost", "1,5 jt"), 1500000);
}

static int yesno(const char *st, const char *text)
{
    lk_canon c;
    lk_canon_read(&chika->lex, text, strlen(text), &c);
    return lk_match_yesno(chika, st ? state(st) : NULL, c.map, c.mapn);
}

static void test_yesno(void)
{
    CHECK_INT(yesno(NULL, "iyaa kak"), 1);
    CHECK_INT(yesno(NULL, "gk"), 0);
    CHECK_INT(yesno(NULL, "👍"), 1);
    CHECK_INT(yesno(NULL, "nggih"), 1);
    CHECK_INT(yesno(NULL, "ya tapi tidak"), -1); /* both: asked again */
    CHECK_INT(yesno(NULL, "tidak benar"), 0);    /* negation before a yes word */
    CHECK_INT(yesno(NULL, "gak ada kak"), 0);
    CHECK_INT(yesno(NULL, "tidak kak"), 0);
    CHECK_INT(yesno(NULL, "gak tau"), -1); /* not knowing is no answer */
    CHECK_INT(yesno("r4_study", "sudah lulus"), 0);
    CHECK_INT(yesno("r4_study", "masih kuliah s2"), 1);
    CHECK_INT(yesno("r4_study", "belum lulus"), 1); /* negation before the question's no word */
    CHECK_INT(yesno("r4_study", "udah gak kuliah"), 0);
    CHECK_INT(yesno("r4_married", "blm nikah"), 0);
    CHECK_INT(yesno("r4_married", "udah nikah"), 1);
}

/* ---- whole steps: corrections and expiry ---- */

static lk_session *sess;
static lk_out *out;

static const char *say(const char *text, int64_t at)
{
    lk_out_reset(out);
    if (lk_engine_step(chika, sess, text, strlen(text), at, out) != LK_OK)
        return "(step failed)";
    return lk_out_joined(out);
}

static const char *var(const char *name)
{
    static lk_buf b;
    const char *v;
    lk_buf_reset(&b);
    v = lk_session_var(sess, chika, name, &b);
    return v ? v : "(unset)";
}

static void to_months(int64_t at)
{
    const char *steps[] = {"halo", "6", "jawa barat", "kota bandung", "j", "1"};
    size_t i;
    lk_session_reset(sess, chika);
    for (i = 0; i < sizeof steps / sizeof *steps; i++)
        say(steps[i], at);
}

static void test_corrections(void)
{
    const int64_t at = 1795485600000LL; /* 2026-11-24 09:00 WIB, a Tuesday */

    to_months(at);
    say("5", at);
    CHECK_STR(lk_session_state(sess, chika), "r1_members");
    /* a correction that names the previous question's unit goes back */
    CHECK(strstr(say("eh salah, maksudnya 15 bulan", at), "jumlah peserta") != NULL);
    CHECK_STR(var("months"), "15");
    CHECK_STR(var("members"), "(unset)");
    CHECK_STR(lk_session_state(sess, chika), "r1_members");
    /* without a cue it is refused with the question's own words */
    CHECK(strstr(say("5 bulan", at), "*jumlah orang*") != NULL);
    CHECK_INT(lk_out_missed(out), lk_flow_state_find(chika, "r1_members"));
    CHECK_STR(var("months"), "15");
    /* a confirmation survives the store */
    CHECK(strstr(say("eh 4", at), "*4 orang*") != NULL);
    {
        lk_buf enc = {0};
        CHECK_INT(lk_session_encode(sess, chika, &enc), LK_OK);
        CHECK_INT(lk_session_decode(sess, chika, enc.p, enc.len), LK_OK);
        lk_buf_free(&enc);
    }
    say("iya", at);
    CHECK_STR(var("members"), "4");
    CHECK_STR(lk_session_state(sess, chika), "r1_kelas");

    /* a province named where the city is asked is taken again */
    lk_session_reset(sess, chika);
    say("halo", at);
    say("6", at);
    say("jawa barat", at);
    CHECK(strstr(say("eh salah, jawa tengah", at), "Provinsi *Jawa Tengah*") != NULL);
    CHECK_STR(var("prov"), "Jawa Tengah");
}

static void test_expiry(void)
{
    const int64_t at = 1795485600000LL, hour = 3600000, day = 24 * hour;

    to_months(at);
    say("2", at);
    say("1", at);
    say("3", at);
    CHECK_STR(lk_session_state(sess, chika), "pay");
    /* the payment question waits two days, other questions 30 minutes */
    CHECK(strstr(say("halo", at + 2 * hour), "Ada yang bisa Chika bantu?") != NULL);
    to_months(at);
    say("2", at);
    say("1", at);
    say("3", at);
    CHECK(strstr(say("sudah", at + day), "aktif maksimal") != NULL);
    /* after that, an offer to go on; the offer survives the store */
    to_months(at);
    say("2", at);
    say("1", at);
    say("3", at);
    CHECK(strstr(say("halo", at + 3 * day), "Lanjutkan dari sana?") != NULL);
    {
        lk_buf enc = {0};
        CHECK_INT(lk_session_encode(sess, chika, &enc), LK_OK);
        CHECK(strstr(lk_buf_str(&enc), "w1:3") == NULL); /* 'w' is an int: "w3;" */
        CHECK(strstr(lk_buf_str(&enc), "w3;") != NULL);
        CHECK_INT(lk_session_decode(sess, chika, enc.p, enc.len), LK_OK);
        lk_buf_free(&enc);
    }
    CHECK(strstr(say("iya", at + 3 * day), "Balas *SUDAH*") != NULL);
    CHECK(strstr(say("udah bayar kak", at + 3 * day), "aktif maksimal") != NULL);
    /* elsewhere, 30 minutes as before */
    to_months(at);
    CHECK(strstr(say("5", at + hour), "telah berakhir") != NULL);
}

/* loket check: a word that selects one option alone but belongs to another
 * option too, and a lexicon mapping a word the flow uses. */
static void test_check(void)
{
    static const char flow[] =
        "{\"loket\": 1, \"name\": \"t\", \"start\": \"m\",\n"
        " \"lexicon\": {\"words\": {\"udah\": \"sudah\"}, \"fillers\": [\"kak\"]},\n"
        " \"yes\": [\"ya\", \"udah\"], \"no\": [\"tidak\"],\n"
        " \"states\": {\"m\": {\"say\": \"?\", \"invalid\": \"?\", \"menu\": [\n"
        "   {\"title\": \"Cek Tagihan\", \"words\": [\"iuran\"], \"goto\": \"e\"},\n"
        "   {\"title\": \"Info Iuran\", \"goto\": \"e\"}]},\n"
        "  \"e\": {\"say\": \"bye\", \"end\": true}}}";
    lk_flow *f = NULL;
    lk_diag diag = {0};
    size_t i;
    int shared = 0, lex = 0;

    CHECK_INT(lk_flow_load_string("t.json", flow, strlen(flow), &f, &diag), LK_OK);
    if (!f) {
        lk_diag_print(&diag, stderr);
        return;
    }
    lk_flow_check(f, &diag);
    for (i = 0; i < diag.n; i++) {
        if (strstr(diag.items[i].msg, "word 'iuran' of option 1 is also a word of option 2"))
            shared++;
        if (strstr(diag.items[i].msg, "maps 'udah' -> 'sudah', a word the flow itself uses"))
            lex++;
    }
    CHECK_INT(shared, 1);
    CHECK_INT(lex, 1);
    CHECK_INT((int)lk_diag_errors(&diag), 0);
    lk_diag_clear(&diag);
    lk_flow_free(f);
}

/* The misses of a conversation, through the runtime into a real file. */
static void test_misses(void)
{
    char dir[] = "/tmp/loket-miss-XXXXXX", path[300];
    lk_store *st = NULL;
    lk_store_opts so;
    lk_diag diag = {0};
    lk_runtime *rt;
    lk_out *o = lk_out_new();
    lk_miss *m = NULL;
    int n = 0, i;
    const char *msgs[] = {"halo", "6",       "jawa barat", "kota bandung",     "j",
                          "1",    "kelas 2", "KELAS 2!",   "3201234567890123", "5"};

    if (!mkdtemp(dir) || !o)
        return;
    snprintf(path, sizeof path, "%s/m.db", dir);
    lk_store_opts_default(&so);
    CHECK_INT(lk_store_open(path, &so, &st, &diag), LK_OK);
    if (!st)
        return;
    rt = lk_runtime_new(chika, st);
    for (i = 0; i < (int)(sizeof msgs / sizeof *msgs); i++) {
        lk_inbound in = {0};
        in.channel = "test";
        in.user = "62811";
        in.text = msgs[i];
        in.len = strlen(msgs[i]);
        in.now_ms = 1795485600000LL + i * 1000;
        CHECK_INT(lk_runtime_handle(rt, &in, o, NULL, NULL), LK_OK);
    }
    CHECK_INT(lk_store_misses(st, 0, NULL, &m, &n), LK_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(m[0].state, "r1_months");
        CHECK_STR(m[0].text, "kelas 2");
        CHECK_INT(m[0].count, 2);
        CHECK_INT(m[0].last_ms, 1795485600000LL + 7000);
        CHECK_STR(m[1].text, "#"); /* a NIK never shows */
    }
    lk_store_misses_free(m, n);
    CHECK_INT(lk_store_misses(st, 1795485600000LL + 7500, NULL, &m, &n), LK_OK);
    CHECK_INT(n, 1);
    lk_store_misses_free(m, n);
    CHECK_INT(lk_store_misses(st, 0, "main", &m, &n), LK_OK);
    CHECK_INT(n, 0);
    lk_store_misses_free(m, n);
    lk_runtime_free(rt);
    lk_store_close(st);
    lk_out_free(o);
    unlink(path);
    snprintf(path, sizeof path, "%s/m.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/m.db-shm", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    lk_diag diag = {0};

    if (lk_flow_load("flows/chika.json", &chika, &diag) != LK_OK) {
        lk_diag_print(&diag, stderr);
        return 1;
    }
    sess = lk_session_new(chika);
    out = lk_out_new();
    test_lexicon();
    test_word_forms();
    test_menus();
    test_numbers();
    test_yesno();
    test_corrections();
    test_expiry();
    test_misses();
    test_check();
    lk_session_free(sess);
    lk_out_free(out);
    lk_flow_free(chika);
    return test_done("test_understand");
}
