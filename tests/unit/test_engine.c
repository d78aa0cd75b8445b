/* Unit tests of the step function and sessions (src/engine/step.c,
 * session.c, out.c): a whole conversation, global commands and their
 * precedence, `kembali`, invalid replies and the escape, expiry, ending and
 * starting over, determinism, the session encoding, the step bound and office
 * hours in three time zones. The flow is tests/unit/engine-flows/mini.json. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "loket/engine.h"
#include "loket/flow.h"
#include "test.h"

#define MINI "tests/unit/engine-flows/mini.json"
#define MIN_MS (60 * 1000LL)

static const char MAIN_MENU[] = "Halo, saya Chika. Balas dengan angka:\n1. Cek Status\n"
                                "2. Cek Tagihan\n3. PANDAWA\nX. Selesai";

static lk_flow *flow;
static lk_out *out;
static lk_buf vbuf;
static int64_t now = 1705278600000LL; /* 2024-01-15T00:30:00Z, a Monday */

static lk_flow *load_string(const char *name, const char *json)
{
    lk_diag diag = {0};
    lk_flow *f = NULL;
    if (lk_flow_load_string(name, json, strlen(json), &f, &diag) != LK_OK) {
        lk_diag_print(&diag, stderr);
        exit(1);
    }
    lk_diag_clear(&diag);
    return f;
}

static const char *say_at(lk_session *s, const char *text, int64_t at)
{
    lk_err err;
    lk_out_reset(out);
    err = lk_engine_step(flow, s, text, strlen(text), at, out);
    CHECK_INT(err, LK_OK);
    return lk_out_joined(out);
}

static const char *say(lk_session *s, const char *text)
{
    now += 1000;
    return say_at(s, text, now);
}

static const char *state(lk_session *s)
{
    return lk_session_state(s, flow);
}

static const char *var(lk_session *s, const char *name)
{
    const char *v = lk_session_var(s, flow, name, &vbuf);
    return v ? v : "(unset)";
}

static lk_buf encbuf;

static const char *encode(lk_session *s)
{
    lk_buf *b = &encbuf;
    lk_buf_reset(b);
    CHECK_INT(lk_session_encode(s, flow, b), LK_OK);
    return lk_buf_str(b);
}

static void test_conversation(void)
{
    lk_session *s = lk_session_new(flow);
    const int *ids;
    lk_reply r;
    int n, i;

    CHECK_STR(state(s), "idle");
    CHECK_INT(lk_session_last(s), 0);
    CHECK_STR(say(s, "Halo Chika"), MAIN_MENU);
    CHECK_INT(lk_session_last(s), now);
    CHECK_STR(var(s, "greeting"), "Halo Chika");
    CHECK_INT(lk_out_count(out), 1);
    lk_out_get(out, 0, &r);
    CHECK_INT(r.nchoices, 4);
    CHECK_STR(r.choices[2].id, "3");
    CHECK_STR(r.choices[2].title, "PANDAWA");
    CHECK_STR(r.choices[3].id, "X");         /* the key, not the number */
    CHECK_STR(r.choices[3].title, "Keluar"); /* the short title */
    CHECK_INT(r.len, strlen(MAIN_MENU));
    /* visited: the state that handled the message, then the one entered */
    n = lk_out_states(out, &ids);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(lk_flow_state_name(flow, ids[0]), "idle");
        CHECK_STR(lk_flow_state_name(flow, ids[1]), "main");
    }

    CHECK_STR(say(s, "2"), "Berapa bulan menunggak?");
    CHECK_STR(say(s, "sudah 5 bulan"), "Berapa anggota keluarga di KK?");
    CHECK_STR(var(s, "n"), "5");
    CHECK_STR(say(s, "3 orang"), "Kelas saat ini?\n1. Kelas I\n2. Kelas II\n3. Kelas III");
    CHECK_STR(say(s, "kelas iii"),
              "Tunggakan 5 bulan, 3 orang, kelas 3.\nTotal Rp630.000.\n"
              "Anda bisa ikut program REHAB (cicilan).\nSudah membayar? (ya/tidak)");
    CHECK_INT(lk_out_count(out), 4);
    lk_out_get(out, 1, &r);
    CHECK_STR(r.text, "Total Rp630.000.");
    CHECK(r.choices == NULL && r.nchoices == 0);
    lk_out_get(out, 9, &r);
    CHECK_STR(r.text, "");
    /* kelas (handling) -> total -> rehab -> pay: the option's edge and two nexts */
    n = lk_out_states(out, &ids);
    CHECK_INT(n, 4);
    if (n == 4) {
        CHECK_STR(lk_flow_state_name(flow, ids[0]), "kelas");
        CHECK_STR(lk_flow_state_name(flow, ids[1]), "total");
        CHECK_STR(lk_flow_state_name(flow, ids[3]), "pay");
    }
    n = lk_out_edges(out, &ids);
    CHECK_INT(n, 4);
    for (i = 0; i < n; i++) {
        int from, to;
        lk_flow_edge(flow, ids[i], &from, &to, NULL);
        if (i == 0)
            CHECK_STR(lk_flow_state_name(flow, from), "kelas");
        if (i == n - 1)
            CHECK_STR(lk_flow_state_name(flow, to), "pay");
    }
    CHECK_STR(var(s, "total"), "630000");
    CHECK_STR(var(s, "k"), "3");

    CHECK_STR(say(s, "ya sudah"), "Terima kasih.");
    CHECK(lk_session_ended(s));
    CHECK_STR(state(s), "bye");
    /* an ended session starts over silently, the message handled at start */
    CHECK_STR(say(s, "lagi dong"), MAIN_MENU);
    CHECK(!lk_session_ended(s));
    CHECK_STR(var(s, "total"), "(unset)");

    /* the status branch: a pass state on the way back to the menu */
    CHECK_STR(say(s, "cek status"), "Ketik NIK (16 digit) atau nomor kartu (13 digit):");
    CHECK_STR(say(s, "320123456789012"), "Maaf, pilihan tidak tersedia.");
    CHECK_STR(say(s, "3201 2345 6789 0123"), "Tanggal lahir (yyyy-mm-dd):");
    CHECK_STR(say(s, "2030-01-01"), "Maaf, pilihan tidak tersedia.");
    {
        static char want[512];
        snprintf(want, sizeof want, "NIK 3201234567890123 lahir 2000-02-29: status AKTIF.\n%s",
                 MAIN_MENU);
        CHECK_STR(say(s, " 2000-02-29 "), want);
    }
    CHECK_STR(state(s), "main");
    lk_session_free(s);
}

static void test_commands(void)
{
    lk_session *s = lk_session_new(flow);
    const int *ids;
    int n, from;

    say(s, "hai");
    /* "stop" is option 4's word and the cancel command's: commands first */
    CHECK_STR(say(s, "STOP"), "Terima kasih, sampai jumpa.");
    CHECK(lk_session_ended(s));
    n = lk_out_edges(out, &ids);
    CHECK_INT(n, 1);
    lk_flow_edge(flow, ids[0], &from, NULL, NULL);
    CHECK_INT(from, -1);

    say(s, "hai");
    CHECK_STR(say(s, "menu"), MAIN_MENU);
    CHECK_STR(say(s, "0"), MAIN_MENU); /* 0 is the menu command here */
    say(s, "2");
    /* in a number input 0 is data */
    CHECK_STR(say(s, "0"), "Berapa anggota keluarga di KK?");
    CHECK_STR(var(s, "n"), "0");
    CHECK_STR(say(s, "0"), "Maaf, pilihan tidak tersedia."); /* data, but below min 1 */
    CHECK_STR(state(s), "members");
    say(s, "1");
    CHECK_STR(state(s), "kelas");
    /* data_words: 0 is input in kelas, where it is no option */
    CHECK_STR(say(s, "0"), "Maaf, pilihan tidak tersedia.");
    CHECK_STR(state(s), "kelas");
    /* help says and stays */
    CHECK_STR(say(s, "Bantuan"), "Bantuan: ketik *menu* untuk mulai lagi.");
    CHECK_STR(state(s), "kelas");
    CHECK_INT(lk_out_count(out), 1);
    /* a word that is all punctuation is compared as typed */
    CHECK_STR(say(s, " ? "), "Bantuan: ketik *menu* untuk mulai lagi.");
    CHECK_STR(say(s, "??"), "Maaf, pilihan tidak tersedia.");
    /* the word menu still leaves */
    CHECK_STR(say(s, "Menu!"), MAIN_MENU);
    n = lk_out_edges(out, &ids);
    CHECK_INT(n, 1);
    lk_flow_edge(flow, ids[0], &from, NULL, NULL);
    CHECK_INT(from, -1);

    /* a command inside a longer message is not a command */
    CHECK_STR(say(s, "menu utama dong"), "Balas dengan angka 1-4.");
    lk_session_free(s);
}

/* A command marked anywhere fires on its word inside a longer message, but a
 * whole-message match of another command comes first, and data words stay
 * data. */
static void test_anywhere(void)
{
    static const char json[] = "{\"loket\":1,\"name\":\"any\",\"start\":\"ask\","
                               "\"invalid\":{\"message\":\"?\"},"
                               "\"commands\":["
                               "{\"name\":\"menu\",\"words\":[\"menu denda\"],\"goto\":\"ask\"},"
                               "{\"name\":\"penalty\",\"words\":[\"denda\"],\"anywhere\":true,"
                               "\"say\":\"penalty\"}],"
                               "\"states\":{\"ask\":{\"say\":\"how many?\","
                               "\"input\":{\"var\":\"n\",\"type\":\"text\"},\"next\":\"ask\"},"
                               "\"words\":{\"say\":\"w\",\"data_words\":[\"denda\"],"
                               "\"input\":{\"var\":\"w\",\"type\":\"text\"},\"next\":\"ask\"}}}";
    lk_flow *saved = flow;
    lk_session *s;

    flow = load_string("any.json", json);
    s = lk_session_new(flow);
    CHECK_STR(say(s, "berapa DENDA rawat inap?"), "penalty");
    CHECK_STR(say(s, "denda"), "penalty");
    CHECK_STR(say(s, "menu denda"), "how many?");      /* the whole-message match wins */
    CHECK_STR(say(s, "dendanya berapa"), "how many?"); /* not the whole word: input */
    CHECK_STR(var(s, "n"), "dendanya berapa");
    lk_session_free(s);
    lk_flow_free(flow);
    flow = saved;
}

static void test_back(void)
{
    lk_session *s = lk_session_new(flow);

    say(s, "hai");
    say(s, "2");
    say(s, "5");
    CHECK_STR(state(s), "members");
    CHECK_STR(say(s, "kembali"), "Berapa bulan menunggak?");
    CHECK_STR(state(s), "months");
    CHECK_STR(say(s, "balik"), MAIN_MENU);
    /* idle took the greeting but has nothing to ask: skipped, and with
     * nothing left to go back to, main asks again */
    CHECK_STR(say(s, "back"), MAIN_MENU);
    CHECK_STR(state(s), "main");

    /* the history holds 4 states (session.history): the oldest drop */
    say(s, "2"); /* main pushed */
    say(s, "5"); /* months */
    say(s, "2"); /* members */
    say(s, "2"); /* kelas -> total -> pay */
    CHECK_STR(state(s), "pay");
    CHECK_STR(say(s, "tidak"), MAIN_MENU); /* pay pushed, main dropped */
    CHECK_STR(say(s, "kembali"), "Sudah membayar? (ya/tidak)");
    CHECK_STR(say(s, "kembali"), "Kelas saat ini?\n1. Kelas I\n2. Kelas II\n3. Kelas III");
    CHECK_STR(say(s, "kembali"), "Berapa anggota keluarga di KK?");
    CHECK_STR(say(s, "kembali"), "Berapa bulan menunggak?");
    CHECK_STR(say(s, "kembali"), "Berapa bulan menunggak?");
    CHECK_STR(state(s), "months");

    /* a command that leaves a question keeps it: back returns to it */
    say(s, "menu");
    CHECK_STR(state(s), "main");
    CHECK_STR(say(s, "kembali"), "Berapa bulan menunggak?");
    CHECK_STR(state(s), "months");
    lk_session_free(s);
}

static void test_invalid(void)
{
    lk_session *s = lk_session_new(flow);

    say(s, "hai");
    CHECK_STR(say(s, "xyz"), "Balas dengan angka 1-4.");
    CHECK_STR(say(s, "9"), "Balas dengan angka 1-4.");
    CHECK_STR(say(s, "hmm"), "Ketik *menu* atau hubungi Care Center 165.");
    CHECK_STR(say(s, "hmm"), "Balas dengan angka 1-4."); /* the count starts again */
    CHECK_STR(say(s, "hmm"), "Balas dengan angka 1-4.");
    /* help neither counts nor resets */
    say(s, "help");
    CHECK_STR(say(s, "hmm"), "Ketik *menu* atau hubungi Care Center 165.");
    /* valid input resets the count */
    say(s, "x");
    say(s, "x");
    say(s, "1");
    CHECK_STR(say(s, "abc"), "Maaf, pilihan tidak tersedia.");
    CHECK_STR(say(s, "abc"), "Maaf, pilihan tidak tersedia.");
    CHECK_STR(say(s, "abc"), "Ketik *menu* atau hubungi Care Center 165.");
    CHECK_STR(state(s), "nik");
    lk_session_free(s);
}

static void test_expiry(void)
{
    lk_session *s = lk_session_new(flow);
    int64_t t = now;
    static char want[512];

    say_at(s, "hai", t);
    say_at(s, "2", t + 1000);
    CHECK_STR(state(s), "months");
    /* exactly 30 minutes is not yet expired */
    CHECK_STR(say_at(s, "5", t + 1000 + 30 * MIN_MS), "Berapa anggota keluarga di KK?");
    t += 1000 + 30 * MIN_MS;
    /* 30 minutes and a millisecond: the expired text, then the message at start */
    snprintf(want, sizeof want, "Sesi Anda telah berakhir.\n%s", MAIN_MENU);
    CHECK_STR(say_at(s, "2", t + 30 * MIN_MS + 1), want);
    CHECK_STR(var(s, "n"), "(unset)");
    CHECK_STR(var(s, "greeting"), "2");
    CHECK_INT(lk_session_last(s), t + 30 * MIN_MS + 1);
    t += 30 * MIN_MS + 1;

    /* a session idle at start starts over silently */
    lk_session_reset(s, flow);
    say_at(s, "hai", t);
    CHECK_STR(say_at(s, "cancel?", t + 1), "Balas dengan angka 1-4.");
    CHECK_STR(say_at(s, "stop", t + 2), "Terima kasih, sampai jumpa.");
    CHECK_STR(say_at(s, "hai", t + 2 + 60 * MIN_MS), MAIN_MENU);
    lk_session_free(s);
}

static const char *const SCRIPT[50] = {
    "halo",
    "2",
    "sudah 7 bulan",
    "2",
    "0",
    "kembali",
    "2",
    "1",
    "ya",
    "hai",
    "xx",
    "yy",
    "zz",
    "1",
    "3201234567890123",
    "1999-12-31",
    "3",
    "lagi",
    "lagi",
    "lagi",
    "jawa tenga",
    "tidak",
    "jateng",
    "bandung",
    "kota semarang",
    "kembali",
    "jabar",
    "bandung",
    "2",
    "menu",
    "3",
    "provinsi bali",
    "denpasar",
    "halo",
    "bantuan",
    "4",
    "halo",
    "pandawa",
    "maluku",
    "ambon",
    "hai",
    "3",
    "malut",
    "tidore kepulauan",
    "x",
    "2",
    "120",
    "20",
    "3",
    "tidak",
};

static void test_determinism(void)
{
    lk_session *a = lk_session_new(flow), *b = lk_session_new(flow);
    lk_buf ra = {0}, rb = {0}, ea = {0}, eb = {0};
    int i, j, same = 1;

    for (i = 0; i < 50; i++) {
        int64_t at = now + i * 7 * MIN_MS; /* crosses office hours, not expiry */
        lk_buf_reset(&ra);
        lk_buf_reset(&rb);
        lk_buf_reset(&ea);
        lk_buf_reset(&eb);
        say_at(a, SCRIPT[i], at);
        for (j = 0; j < lk_out_count(out); j++) {
            lk_reply r;
            int k;
            lk_out_get(out, j, &r);
            lk_buf_put(&ra, r.text, r.len + 1);
            for (k = 0; k < r.nchoices; k++)
                lk_buf_printf(&ra, "%s=%s;", r.choices[k].id, r.choices[k].title);
        }
        say_at(b, SCRIPT[i], at);
        for (j = 0; j < lk_out_count(out); j++) {
            lk_reply r;
            int k;
            lk_out_get(out, j, &r);
            lk_buf_put(&rb, r.text, r.len + 1);
            for (k = 0; k < r.nchoices; k++)
                lk_buf_printf(&rb, "%s=%s;", r.choices[k].id, r.choices[k].title);
        }
        lk_session_encode(a, flow, &ea);
        lk_session_encode(b, flow, &eb);
        if (ra.len != rb.len || memcmp(ra.p, rb.p, ra.len) != 0 || ea.len != eb.len ||
            memcmp(ea.p, eb.p, ea.len) != 0) {
            fprintf(stderr, "step %d (%s) differs\n", i, SCRIPT[i]);
            same = 0;
        }
    }
    CHECK(same);
    /* the script went somewhere: it ended at the pay question's "tidak" */
    CHECK_STR(state(a), "main");
    CHECK_STR(var(a, "total"), "17500000"); /* 20 x 35.000 x 25 */
    lk_buf_free(&ra);
    lk_buf_free(&rb);
    lk_buf_free(&ea);
    lk_buf_free(&eb);
    lk_session_free(a);
    lk_session_free(b);
}

/* encode, decode into another session, encode again: the same bytes; and
 * the decoded session answers the next message exactly as the original. */
static void roundtrip(lk_session *s, const char *next)
{
    lk_session *t = lk_session_new(flow);
    lk_buf e1 = {0}, e2 = {0}, r1 = {0};

    CHECK_INT(lk_session_encode(s, flow, &e1), LK_OK);
    CHECK_INT(lk_session_decode(t, flow, e1.p, e1.len), LK_OK);
    CHECK_INT(lk_session_encode(t, flow, &e2), LK_OK);
    CHECK_INT(e1.len, e2.len);
    CHECK(e1.len == e2.len && memcmp(e1.p, e2.p, e1.len) == 0);
    if (next) {
        int64_t at = lk_session_last(s) + 1000;
        lk_buf_puts(&r1, say_at(s, next, at));
        CHECK_STR(say_at(t, next, at), lk_buf_str(&r1));
        lk_buf_reset(&e1);
        lk_buf_reset(&e2);
        lk_session_encode(s, flow, &e1);
        lk_session_encode(t, flow, &e2);
        CHECK(e1.len == e2.len && memcmp(e1.p, e2.p, e1.len) == 0);
    }
    lk_buf_free(&e1);
    lk_buf_free(&e2);
    lk_buf_free(&r1);
    lk_session_free(t);
}

static void test_encoding(void)
{
    lk_session *s = lk_session_new(flow);
    static const char bin[] = "a\0b:c.\xff v3:x";
    int i;

    CHECK_STR(encode(s), "lk1s4:idle.");
    roundtrip(s, NULL);
    say_at(s, "hai", 1000);
    say_at(s, "2", 2000);
    say_at(s, "-5", 3000);
    CHECK_STR(encode(s), "lk1s6:monthst3000;i1;h4:idleh4:mainv8:greetings3:hai.");
    roundtrip(s, "12");
    roundtrip(s, "kembali");

    /* a pending confirmation, a page, history and field variables */
    lk_session_reset(s, flow);
    say(s, "hai");
    say(s, "3");
    say(s, "lagi");
    CHECK_INT(s->page, 1);
    roundtrip(s, NULL);
    say(s, "jawa barta");
    CHECK_INT(s->pending, LK_PEND_CONFIRM);
    roundtrip(s, "ya");
    say(s, "bandung");
    CHECK_INT(s->pending, LK_PEND_DISAMBIG);
    CHECK(strstr(encode(s), "dr5:32.73r5:32.04") != NULL);
    roundtrip(s, "2");
    roundtrip(s, "bandung");

    /* strings are binary-safe; integers keep their sign */
    for (i = 0; i < flow->nvars && strcmp(flow->vars[i], "greeting"); i++)
        ;
    lk_var_set_str(s, i, bin, sizeof bin - 1);
    for (i = 0; i < flow->nvars && strcmp(flow->vars[i], "total"); i++)
        ;
    lk_var_set_int(s, i, -9223372036854775807LL - 1);
    roundtrip(s, NULL);
    {
        lk_session *t = lk_session_new(flow);
        lk_buf e = {0};
        lk_session_encode(s, flow, &e);
        CHECK_INT(lk_session_decode(t, flow, e.p, e.len), LK_OK);
        for (i = 0; i < flow->nvars && strcmp(flow->vars[i], "greeting"); i++)
            ;
        CHECK_INT(t->vars[i].len, sizeof bin - 1);
        CHECK(t->vars[i].len == sizeof bin - 1 && memcmp(t->vars[i].s, bin, sizeof bin - 1) == 0);
        CHECK_STR(var(t, "total"), "-9223372036854775808");
        lk_buf_free(&e);
        lk_session_free(t);
    }
    lk_session_free(s);
}

static void test_decode(void)
{
    static const struct {
        const char *p;
        size_t n; /* 0: strlen */
    } garbage[] = {
        {"", 0},
        {"lk", 0},
        {"lk1", 0},
        {"lk2s4:main.", 0},
        {"lk1s4:main", 0},
        {"lk1s4:main.x", 0},
        {"lk1s5:main.", 0},
        {"lk1s99999999999:main.", 0},
        {"lk1s:main.", 0},
        {"lk1s4:maint;.", 0},
        {"lk1s4:maint-;.", 0},
        {"lk1s4:maint99999999999999999999;.", 0},
        {"lk1s4:maint0;.", 0},
        {"lk1s4:maini0;.", 0},
        {"lk1s4:mainv1:ni5.", 0},
        {"lk1s4:mainv1:nx5;.", 0},
        {"lk1s4:mainv1:ns5:abc.", 0},
        {"lk1s4:maincr2:32r2:33.", 0},
        {"lk1s4:mainc.", 0},
        {"lk1s4:mainr2:32.", 0},
        {"lk1s4:maing0;.", 0},
        {"lk1s4:mainh4:main.h4:main.", 0},
        {"lk1s4:mainee.", 0},
        {"LK1s4:main.", 0},
        {"lk1s4:mainv1:ni5;t3;.", 0},
        {"\x00\x01\x02", 3},
        {"lk1s4:main.\x00", 12},
        {"lk1s4:main\x00.", 12},
        {"lk1s4:mainv1:ni5;;.", 0},
        {"lk1s4:maint+5;.", 0},
        {"lk1s8:provinceg2147483647;.", 0},
    };
    static const char *const fine[] = {
        "lk1s4:main.",
        "lk1s4:maint1;i2;eh4:idleh6:monthsv8:greetings0:v1:ni-5;.",
        "lk1s8:provincet5;dr2:32r2:33g2;.",
        "lk1s8:provincecr2:51.",
    };
    lk_session *s = lk_session_new(flow);
    size_t i;

    for (i = 0; i < sizeof garbage / sizeof *garbage; i++) {
        size_t n = garbage[i].n ? garbage[i].n : strlen(garbage[i].p);
        say(s, "hai"); /* something to lose */
        if (lk_session_decode(s, flow, garbage[i].p, n) != LK_EINVAL) {
            fprintf(stderr, "garbage %zu accepted: %s\n", i, garbage[i].p);
            CHECK(0);
        }
        CHECK_STR(state(s), "idle");
        CHECK_STR(var(s, "greeting"), "(unset)");
    }
    for (i = 0; i < sizeof fine / sizeof *fine; i++) {
        lk_buf e = {0};
        CHECK_INT(lk_session_decode(s, flow, fine[i], strlen(fine[i])), LK_OK);
        lk_session_encode(s, flow, &e);
        CHECK_STR(lk_buf_str(&e), fine[i]);
        lk_buf_free(&e);
    }
    /* an unknown state starts over; an unknown variable or row is dropped */
#define DECODE(str) lk_session_decode(s, flow, str, strlen(str))
    CHECK_INT(DECODE("lk1s4:gonet5;v1:ni5;."), LK_OK);
    CHECK_STR(state(s), "idle");
    CHECK_STR(var(s, "n"), "(unset)");
    CHECK_INT(lk_session_last(s), 0);
    CHECK_INT(DECODE("lk1s6:monthsh4:goneh4:mainv3:oldi1;v1:ni5;."), LK_OK);
    CHECK_STR(state(s), "months");
    CHECK_STR(var(s, "n"), "5");
    CHECK_STR(encode(s), "lk1s6:monthsh4:mainv1:ni5;.");
    CHECK_INT(DECODE("lk1s7:kabkotadr5:99.99r5:32.04v7:prov_ids2:32."), LK_OK);
    CHECK_INT(s->pending, LK_PEND_NONE);
    CHECK_STR(encode(s), "lk1s7:kabkotav7:prov_ids2:32.");
    /* a session saved at an end state starts over even without its e */
    /* a page past the end of the list shows the first one */
    CHECK_INT(DECODE("lk1s8:provinceg1000000;."), LK_OK);
    CHECK_STR(say(s, "lagi"), "1. Aceh\n2. Sumatera Utara\n3. Jawa Barat\n"
                              "Ketik *lagi* untuk halaman berikutnya.");
    CHECK_INT(DECODE("lk1s3:bye."), LK_OK);
    CHECK_STR(say(s, "hai"), MAIN_MENU);
    lk_session_free(s);
}

/* A list page with pages after it names the word that shows the next one (a
 * client's "next page" button); a menu and the last page name none. */
static void test_more_word(void)
{
    lk_session *s = lk_session_new(flow);
    lk_reply r;
    int i;

    say(s, "hai");
    lk_out_get(out, lk_out_count(out) - 1, &r);
    CHECK(r.nchoices > 0 && r.more == NULL);
    say(s, "3");
    lk_out_get(out, lk_out_count(out) - 1, &r);
    CHECK(r.nchoices > 0 && r.more && strcmp(r.more, "lagi") == 0);
    for (i = 0; i < 100 && r.more; i++) {
        say(s, r.more);
        lk_out_get(out, lk_out_count(out) - 1, &r);
    }
    CHECK(i > 0 && i < 100 && r.nchoices > 0 && r.more == NULL);
    lk_session_free(s);
}

static void test_step_bound(void)
{
    /* b counts x up to 1000 by entering itself, then goes back to a: input
     * v enters 1000 - v + 1 states */
    static const char loop[] =
        "{\"loket\": 1, \"name\": \"loop\", \"start\": \"a\",\n"
        " \"session\": {\"max_steps\": 10},\n"
        " \"invalid\": {\"message\": \"?\"},\n"
        " \"states\": {\n"
        "  \"a\": {\"say\": [\"{{ note }}\", \"a{{ note }}\"],\n"
        "         \"input\": {\"var\": \"x\", \"type\": \"number\"}, \"next\": \"b\"},\n"
        "  \"b\": {\"set\": {\"x\": \"x + 1\"}, \"next\": [{\"if\": \"x < 1000\", \"goto\": "
        "\"b\"},\n"
        "         {\"goto\": \"a\"}]},\n"
        "  \"never\": {\"set\": {\"note\": \"\\\"n\\\"\"}, \"next\": \"a\"}\n"
        " }}\n";
    lk_flow *f = load_string("loop.json", loop), *keep = flow;
    lk_session *s = lk_session_new(f);

    flow = f;
    lk_out_reset(out);
    /* 992: b(993) ... b(1000) a: 9 states; the empty {{ note }} reply is dropped */
    CHECK_INT(lk_engine_step(f, s, "992", 3, now, out), LK_OK);
    CHECK_STR(lk_out_joined(out), "a");
    CHECK_INT(lk_out_count(out), 1);
    CHECK_STR(state(s), "a");
    lk_out_reset(out);
    /* 991 enters 10, the bound: still fine */
    CHECK_INT(lk_engine_step(f, s, "991", 3, now, out), LK_OK);
    CHECK_STR(var(s, "x"), "1000");
    lk_out_reset(out);
    /* 990 would enter 11 */
    CHECK_INT(lk_engine_step(f, s, "990", 3, now, out), LK_ELIMIT);
    lk_out_reset(out);
    lk_session_reset(s, f);
    CHECK_INT(lk_engine_step(f, s, "1", 1, now, out), LK_ELIMIT);
    lk_session_free(s);
    lk_flow_free(f);
    flow = keep;
}

static void test_office_hours(void)
{
    static const struct {
        int64_t at;
        const char *province, *regency, *want;
    } cases[] = {
        /* Monday 2024-01-15 00:30Z: 07:30 WIB, 08:30 WITA, 09:30 WIT */
        {1705278600000LL, "jawa barat", "kota bandung", "closed (WIB)"},
        {1705278600000LL, "bali", "denpasar", "open (WITA)"},
        {1705278600000LL, "maluku", "ambon", "open (WIT)"},
        /* 07:30Z: 14:30 WIB, 15:30 WITA, 16:30 WIT */
        {1705303800000LL, "jawa barat", "kota bandung", "open (WIB)"},
        {1705303800000LL, "bali", "denpasar", "closed (WITA)"},
        {1705303800000LL, "maluku", "ambon", "closed (WIT)"},
        /* Friday 2024-01-19 23:30Z: Saturday in all three */
        {1705707000000LL, "maluku", "ambon", "closed (WIT)"},
        {1705707000000LL, "jawa barat", "1", "closed (WIB)"},
    };
    lk_session *s = lk_session_new(flow);
    size_t i;

    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *got;
        lk_session_reset(s, flow);
        say_at(s, "hai", cases[i].at);
        say_at(s, "3", cases[i].at);
        say_at(s, cases[i].province, cases[i].at);
        got = say_at(s, cases[i].regency, cases[i].at);
        CHECK(lk_session_ended(s));
        if (!strstr(got, strncmp(cases[i].want, "open", 4) ? "di luar jam kerja" : "kantor buka") ||
            !strstr(got, strchr(cases[i].want, '('))) {
            fprintf(stderr, "case %zu: %s\n", i, got);
            CHECK(0);
        }
    }
    CHECK_STR(var(s, "kab"), "Kabupaten Bandung");
    lk_session_free(s);
}

int main(void)
{
    lk_diag diag = {0};

    if (lk_flow_load(MINI, &flow, &diag) != LK_OK) {
        lk_diag_print(&diag, stderr);
        return 1;
    }
    lk_diag_clear(&diag);
    out = lk_out_new();
    if (!out)
        return 1;

    test_conversation();
    test_commands();
    test_anywhere();
    test_back();
    test_invalid();
    test_expiry();
    test_determinism();
    test_encoding();
    test_decode();
    test_step_bound();
    test_more_word();
    test_office_hours();

    lk_out_free(out);
    lk_buf_free(&vbuf);
    lk_buf_free(&encbuf);
    lk_flow_free(flow);
    return test_done("test_engine");
}
