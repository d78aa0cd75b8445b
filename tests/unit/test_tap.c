/* Unit tests of taps and media (src/engine/tap.c and their use in step.c): the
 * question a reply's choices answer, a tap taken by its question and title, a tap on
 * an old list (the province list while the kabupaten list is asked) answered with the
 * flow's note and never by its number, a tap taken by a title that fits, a cut title,
 * the "which one?" list, and media kept by a media input or refused elsewhere. The
 * flow is tests/unit/engine-flows/taps.json. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "loket/engine.h"
#include "loket/flow.h"
#include "test.h"

#define TAPS "tests/unit/engine-flows/taps.json"
#define STALE "Pilihan itu dari daftar sebelumnya."

static lk_flow *flow;
static lk_out *out;
static lk_buf vbuf;
static int64_t now = 1705278600000LL;

static const char *run_in(lk_session *s, lk_input *in)
{
    now += 1000;
    lk_out_reset(out);
    CHECK_INT(lk_engine_input(flow, s, in, now, out), LK_OK);
    return lk_out_joined(out);
}

static const char *say(lk_session *s, const char *text)
{
    lk_input in = {0};
    in.text = text;
    in.len = strlen(text);
    return run_in(s, &in);
}

static const char *tap(lk_session *s, const char *question, const char *id, const char *title)
{
    lk_input in = {0};
    in.text = id;
    in.len = strlen(id);
    in.tap = 1;
    in.tap_question = question;
    in.tap_title = title;
    return run_in(s, &in);
}

static const char *media(lk_session *s, const char *type, const char *id, const char *mime,
                         const char *caption)
{
    lk_input in = {0};
    in.text = caption;
    in.len = strlen(caption);
    in.media_type = type;
    in.media_id = id;
    in.media_mime = mime;
    return run_in(s, &in);
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

/* The last reply with choices: its question, or "(none)". */
static const char *question(void)
{
    lk_reply r;
    int i;
    for (i = lk_out_count(out) - 1; i >= 0; i--) {
        lk_out_get(out, i, &r);
        if (r.nchoices)
            return r.question ? r.question : "(null)";
    }
    return "(none)";
}

static lk_session *at_kabkota_jabar(void)
{
    lk_session *s = lk_session_new(flow);
    say(s, "halo");
    tap(s, "main", "1", "PANDAWA");
    CHECK_STR(state(s), "province");
    CHECK_STR(question(), "province");
    tap(s, "province", "3", "Jawa Barat");
    CHECK_STR(state(s), "kabkota");
    CHECK_STR(var(s, "prov"), "Jawa Barat");
    CHECK_STR(question(), "kabkota");
    return s;
}

static void test_questions(void)
{
    lk_session *s = lk_session_new(flow);
    lk_reply r;

    say(s, "halo");
    CHECK_INT(lk_out_count(out), 1);
    lk_out_get(out, 0, &r);
    CHECK_INT(r.nchoices, 3);
    CHECK_STR(r.question, "main");
    CHECK_STR(r.list_button, "Lihat pilihan");
    CHECK_STR(r.choices[0].id, "1");
    CHECK_STR(r.choices[2].id, "X");
    CHECK_STR(r.choices[2].title, "Keluar");
    /* a tap on the button with the short title */
    CHECK_STR(tap(s, "main", "X", "Keluar"), "Terima kasih.");
    lk_session_free(s);
}

static void test_stale(void)
{
    lk_session *s = at_kabkota_jabar();
    const char *got;

    /* "Aceh" is row 1 of the province list and Kabupaten Bandung row 1 here */
    got = tap(s, "province", "1", "Aceh");
    CHECK(strncmp(got, STALE "\nPilih kabupaten/kota di Jawa Barat:", strlen(STALE) + 36) == 0);
    CHECK(strstr(got, "1. Kabupaten Bandung") != NULL);
    CHECK_STR(state(s), "kabkota");
    CHECK_STR(var(s, "kab"), "(unset)");
    CHECK_STR(question(), "kabkota");
    /* the same without a title, and an id that names no question */
    CHECK(strncmp(tap(s, "province", "7", NULL), STALE, strlen(STALE)) == 0);
    CHECK(strncmp(tap(s, NULL, "2", NULL), STALE, strlen(STALE)) == 0);
    CHECK(strncmp(tap(s, NULL, "2", "Kota Bandung Barat"), STALE, strlen(STALE)) == 0);
    CHECK_STR(var(s, "kab"), "(unset)");
    /* the row's number with another row's title: the list of another province */
    CHECK(strncmp(tap(s, "kabkota", "1", "Kota Semarang"), STALE, strlen(STALE)) == 0);
    CHECK_STR(state(s), "kabkota");
    /* a title that fits one row of the current list is that row, whatever its list */
    CHECK_STR(tap(s, "province", "4", "Kota Bekasi"), "Kota Bekasi dipilih.");
    lk_session_free(s);
}

static void test_taken(void)
{
    lk_session *s = at_kabkota_jabar();

    CHECK_STR(tap(s, "kabkota", "2", "Kota Bandung"), "Kota Bandung dipilih.");
    lk_session_free(s);
    /* a tap whose list came back with no title */
    s = at_kabkota_jabar();
    CHECK_STR(tap(s, "kabkota", "3", NULL), "Kabupaten Garut dipilih.");
    lk_session_free(s);
}

static void test_cut_title(void)
{
    lk_session *s = lk_session_new(flow);

    say(s, "halo");
    /* the title cut to 24 characters by the channel, from a list of before */
    CHECK_STR(tap(s, "old", "9", "Kirim Foto KTP untuk ve\xe2\x80\xa6"), "Kirim foto KTP Anda.");
    CHECK_STR(state(s), "photo");
    lk_session_free(s);
    /* too short a cut fits nothing */
    s = lk_session_new(flow);
    say(s, "halo");
    CHECK(strncmp(tap(s, "old", "2", "Kirim\xe2\x80\xa6"), STALE, strlen(STALE)) == 0);
    CHECK_STR(state(s), "main");
    lk_session_free(s);
}

static void test_which(void)
{
    lk_session *s = at_kabkota_jabar();
    const char *got = say(s, "bandung");

    CHECK(strstr(got, "Ada beberapa yang cocok") != NULL);
    CHECK_STR(question(), "kabkota#which");
    /* the page list's row 1 while "which one?" is asked: its title decides */
    CHECK_STR(tap(s, "kabkota", "1", "Kabupaten Bandung"), "Kabupaten Bandung dipilih.");
    lk_session_free(s);
    s = at_kabkota_jabar();
    say(s, "bandung");
    /* the which list lists Kota before Kabupaten */
    CHECK_STR(tap(s, "kabkota#which", "1", "Kota Bandung"), "Kota Bandung dipilih.");
    lk_session_free(s);
}

static void test_idle(void)
{
    lk_session *s = lk_session_new(flow);

    /* a state that asks nothing takes the tap as any text */
    CHECK(strncmp(tap(s, "main", "1", "PANDAWA"), "Pilih layanan:", 14) == 0);
    CHECK_STR(state(s), "main");
    lk_session_free(s);
}

static void test_media(void)
{
    lk_session *s = lk_session_new(flow);

    say(s, "halo");
    /* no caption where no input takes media: the flow's note, nothing moves */
    CHECK_STR(media(s, "image", "111", "image/jpeg", ""),
              "Maaf, saya hanya bisa membaca pesan teks.");
    CHECK_STR(state(s), "main");
    CHECK_STR(media(s, "location", NULL, NULL, ""), "Maaf, saya hanya bisa membaca pesan teks.");
    /* a caption is text */
    CHECK_STR(media(s, "image", "112", "image/jpeg", "Kirim Foto KTP untuk verifikasi data"),
              "Kirim foto KTP Anda.");
    CHECK_STR(state(s), "photo");
    CHECK_STR(say(s, "ini ktp saya"), "Mohon kirim foto atau dokumen KTP.");
    CHECK_STR(media(s, "audio", "113", "audio/ogg", ""), "Mohon kirim foto atau dokumen KTP.");
    CHECK_STR(state(s), "photo");
    CHECK_STR(media(s, "image", "1234567890", "image/jpeg", "KTP depan"),
              "Diterima: image image/jpeg KTP depan");
    CHECK_STR(var(s, "ktp"), "1234567890");
    CHECK_STR(var(s, "ktp_caption"), "KTP depan");
    lk_session_free(s);
    s = lk_session_new(flow);
    say(s, "halo");
    say(s, "2");
    CHECK_STR(media(s, "document", "55", "application/pdf", ""),
              "Diterima: document application/pdf ");
    CHECK_STR(var(s, "ktp_caption"), "(unset)");
    lk_session_free(s);
}

static void test_load(void)
{
    static const char bad[] =
        "{\"loket\": 1, \"name\": \"b\", \"start\": \"a\", \"list_button\": "
        "\"Pilih salah satu dari daftar\", \"states\": {\"a\": {\"input\": {\"var\": \"f\", "
        "\"type\": \"media\", \"accept\": [\"gif\"]}, \"next\": \"a\"}}}";
    lk_diag diag = {0};
    lk_flow *f = NULL;

    CHECK_INT(lk_flow_load_string("bad.json", bad, strlen(bad), &f, &diag), LK_EFLOW);
    CHECK(diag_has(&diag, "list_button is 1 to 20 characters"));
    CHECK(diag_has(&diag, "accept lists media types"));
    lk_diag_clear(&diag);
}

int main(void)
{
    lk_diag diag = {0};

    if (lk_flow_load(TAPS, &flow, &diag) != LK_OK) {
        lk_diag_print(&diag, stderr);
        return 1;
    }
    lk_diag_clear(&diag);
    out = lk_out_new();
    test_questions();
    test_stale();
    test_taken();
    test_cut_title();
    test_which();
    test_idle();
    test_media();
    test_load();
    lk_out_free(out);
    lk_flow_free(flow);
    lk_buf_free(&vbuf);
    return test_done("test_tap");
}
