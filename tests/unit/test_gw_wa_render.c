/* Unit tests of the WhatsApp reply renderer (gw_wa_render in src/gateway/whatsapp.c), which
 * writes the Graph API body straight into the payload: byte for byte against a renderer
 * written here the way loket built the body before, as a cJSON tree printed with
 * cJSON_PrintUnformatted, over a matrix of replies: 0 to 11 choices, with and without a
 * question and a list button, titles short, at and over the button and row limits with
 * two- and four-byte characters and spaces where the cut falls, titles that are the same
 * once cut, choice ids too long to name their question, bodies at and over 1024 and 4096
 * characters, quotes, backslashes, control characters, '/', newlines, and users addressed
 * by phone number and by business-scoped id. Then the warning of a cut text body. */
#include "test.h"

#ifdef LOKET_HAVE_GATEWAY
#include <stdlib.h>
#include <unistd.h>

#include "gw.h"

/* ---- the renderer as it was: a cJSON tree ---------------------------------------------- */

static size_t ref_seq_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* At most max code points of s; when s is longer, the last one kept is an ellipsis. */
static void ref_utf8_cut(lk_buf *b, const char *s, size_t max)
{
    size_t i = 0, n = strlen(s), cp = 0, keep = 0;

    if (lk_utf8_len(s, n) <= max) {
        lk_buf_put(b, s, n);
        return;
    }
    while (i < n && cp + 1 < max) {
        i += ref_seq_len((unsigned char)s[i]);
        cp++;
    }
    keep = i > n ? n : i;
    while (keep > 0 && s[keep - 1] == ' ')
        keep--;
    lk_buf_put(b, s, keep);
    if (max > 0)
        lk_buf_puts(b, "\xe2\x80\xa6");
}

static cJSON *ref_cut_string(const char *s, size_t max)
{
    lk_buf b = {0};
    cJSON *j;

    ref_utf8_cut(&b, s, max);
    j = cJSON_CreateString(lk_buf_str(&b));
    lk_buf_free(&b);
    return j;
}

static int ref_titles_distinct(const lk_reply *r, size_t max)
{
    lk_buf a = {0}, b = {0};
    int i, k, ok = 1;

    for (i = 0; ok && i < r->nchoices; i++)
        for (k = i + 1; ok && k < r->nchoices; k++) {
            lk_buf_reset(&a);
            lk_buf_reset(&b);
            ref_utf8_cut(&a, r->choices[i].title, max);
            ref_utf8_cut(&b, r->choices[k].title, max);
            ok = strcmp(lk_buf_str(&a), lk_buf_str(&b)) != 0;
        }
    lk_buf_free(&a);
    lk_buf_free(&b);
    return ok;
}

static void ref_choice_id(cJSON *o, const lk_reply *r, int i)
{
    char id[GW_WA_ID_MAX + 1];

    if (!r->question)
        cJSON_AddStringToObject(o, "id", r->choices[i].id);
    else if (gw_wa_choice_id(id, r->question, r->choices[i].id) == 0)
        cJSON_AddStringToObject(o, "id", id);
}

static void ref_buttons(cJSON *inter, const lk_reply *r)
{
    cJSON *action = cJSON_AddObjectToObject(inter, "action");
    cJSON *btns = cJSON_AddArrayToObject(action, "buttons");
    int i;

    for (i = 0; i < r->nchoices; i++) {
        cJSON *b = cJSON_CreateObject(), *reply;

        cJSON_AddStringToObject(b, "type", "reply");
        reply = cJSON_AddObjectToObject(b, "reply");
        ref_choice_id(reply, r, i);
        cJSON_AddItemToObject(reply, "title", ref_cut_string(r->choices[i].title, 20));
        cJSON_AddItemToArray(btns, b);
    }
}

static void ref_list(cJSON *inter, const lk_reply *r)
{
    cJSON *action = cJSON_AddObjectToObject(inter, "action"), *sections, *sec, *rows;
    int i;

    cJSON_AddItemToObject(action, "button", ref_cut_string(r->list_button, 20));
    sections = cJSON_AddArrayToObject(action, "sections");
    sec = cJSON_CreateObject();
    cJSON_AddItemToArray(sections, sec);
    rows = cJSON_AddArrayToObject(sec, "rows");
    for (i = 0; i < r->nchoices; i++) {
        cJSON *row = cJSON_CreateObject();
        const char *t = r->choices[i].title;

        ref_choice_id(row, r, i);
        cJSON_AddItemToObject(row, "title", ref_cut_string(t, 24));
        if (lk_utf8_len(t, strlen(t)) > 24)
            cJSON_AddItemToObject(row, "description", ref_cut_string(t, 72));
        cJSON_AddItemToArray(rows, row);
    }
}

/* Appends the body as cJSON printed it; -1 when cJSON ran out of memory. */
static int ref_render(const char *user, const lk_reply *reply, lk_buf *payload)
{
    size_t chars = lk_utf8_len(reply->text, reply->len);
    cJSON *o = cJSON_CreateObject(), *inter, *body;
    int n = reply->nchoices, buttons;
    char *s;

    cJSON_AddStringToObject(o, "messaging_product", "whatsapp");
    cJSON_AddStringToObject(o, "recipient_type", "individual");
    cJSON_AddStringToObject(o, gw_wa_is_phone(user) ? "to" : "recipient", user);
    buttons = n >= 1 && n <= 3 && ref_titles_distinct(reply, 20);
    if (n >= 1 && n <= 10 && chars <= 1024 && (buttons || reply->list_button)) {
        cJSON_AddStringToObject(o, "type", "interactive");
        inter = cJSON_AddObjectToObject(o, "interactive");
        cJSON_AddStringToObject(inter, "type", buttons ? "button" : "list");
        body = cJSON_AddObjectToObject(inter, "body");
        cJSON_AddStringToObject(body, "text", reply->text);
        if (buttons)
            ref_buttons(inter, reply);
        else
            ref_list(inter, reply);
    } else {
        cJSON_AddStringToObject(o, "type", "text");
        body = cJSON_AddObjectToObject(o, "text");
        cJSON_AddFalseToObject(body, "preview_url");
        cJSON_AddItemToObject(body, "body", ref_cut_string(reply->text, 4096));
    }
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return -1;
    lk_buf_puts(payload, s);
    cJSON_free(s);
    return 0;
}

/* ---- texts to render ------------------------------------------------------------------- */

/* Cycles of characters a text is made of: ASCII, 2-byte é every other character, a 4-byte
 * emoji every third, runs of spaces (which a cut drops before its ellipsis), and every
 * character JSON escapes (plus '/', DEL and a 3-byte dash, which it does not). */
static const char *const cyc_ascii[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", NULL};
static const char *const cyc_e[] = {"K", "\xc3\xa9", NULL};
static const char *const cyc_emoji[] = {"x", "y", "\xf0\x9f\x98\x80", NULL};
static const char *const cyc_space[] = {"J", "a", " ", " ", "w", " ", NULL};
static const char *const cyc_esc[] = {"\"", "\\", "/",  "\n", "\x01", "\x1f",         "\x7f",
                                      "\t", "\r", "\b", "\f", "q",    "\xe2\x80\x94", NULL};
static const char *const *const cycles[] = {cyc_ascii, cyc_e, cyc_emoji, cyc_space, cyc_esc};
#define NCYCLES (sizeof cycles / sizeof *cycles)

/* Appends n characters of cycle c, starting at its character from. */
static void make(lk_buf *b, const char *const *c, size_t n, size_t from)
{
    size_t k, len = 0;

    while (c[len])
        len++;
    for (k = 0; k < n; k++)
        lk_buf_puts(b, c[(k + from) % len]);
}

/* Titles around each limit: a button's 20 characters, a row title's 24, a row
 * description's 72. */
static const size_t title_lens[] = {1, 18, 19, 20, 21, 22, 23, 24, 25, 26, 71, 72, 73, 74, 100};
#define NLENS (sizeof title_lens / sizeof *title_lens)
#define NTITLES (NCYCLES * 2 * NLENS + 6)

static lk_buf titles[NTITLES];

/* Ordered by cycle, start and length, so that neighbours share the 19 characters a
 * cut button title keeps (the same once cut) and titles NLENS apart are the same length
 * in another cycle. Then titles that are already what another one's cut gives. */
static void make_titles(void)
{
    size_t c, from, l, t = 0;

    for (c = 0; c < NCYCLES; c++)
        for (from = 0; from < 2; from++)
            for (l = 0; l < NLENS; l++)
                make(&titles[t++], cycles[c], title_lens[l], from);
    make(&titles[t], cyc_ascii, 19, 0); /* a cut button title of cyc_ascii, written out */
    lk_buf_puts(&titles[t++], "\xe2\x80\xa6");
    make(&titles[t], cyc_ascii, 23, 0); /* the same for a row title */
    lk_buf_puts(&titles[t++], "\xe2\x80\xa6");
    lk_buf_puts(&titles[t++], "");
    make(&titles[t++], (const char *const[]){" ", NULL}, 25, 0); /* nothing kept but "…" */
    lk_buf_puts(&titles[t++], "Jawa Barat               ");      /* 25: spaces at the cut */
    make(&titles[t++], (const char *const[]){"\xc3\xa9", NULL}, 30, 0);
}

static const char *const questions[] = {NULL, "prov", "kab:kota%#which", NULL /* long */};
static char long_question[197];
static const char *const list_buttons[] = {NULL, "Pilih",
                                           "Pilih kab/kota \xf0\x9f\x98\x80 \"Jawa\" \\ lainnya"};
static const char *const users[] = {"628123456789", "US.13491208655302741918", ""};

/* ---- comparing ------------------------------------------------------------------------- */

static lk_buf got, want; /* reused, as the runtime reuses its payload buffer */
static int shown;        /* mismatches printed so far */

/* Renders r both ways after a prefix already in the payload, and compares the bytes. */
static void check_render(const char *user, const lk_reply *r, const char *what)
{
    size_t i;
    int ok;

    lk_buf_reset(&got);
    lk_buf_reset(&want);
    lk_buf_puts(&got, "[prev]");
    lk_buf_puts(&want, "[prev]");
    CHECK_INT(ref_render(user, r, &want), 0);
    CHECK_INT(gw_wa_render(NULL, user, r, &got), 0);
    ok = got.len == want.len && memcmp(got.p, want.p, got.len) == 0;
    CHECK(ok);
    if (!ok && shown++ < 5) {
        for (i = 0; i < got.len && i < want.len && got.p[i] == want.p[i]; i++)
            ;
        fprintf(stderr, "  %s: %zu bytes, want %zu; from byte %zu:\n  got  %.200s\n  want %.200s\n",
                what, got.len, want.len, i, got.p + (i > 40 ? i - 40 : 0),
                want.p + (i > 40 ? i - 40 : 0));
    }
}

/* ---- the matrices ---------------------------------------------------------------------- */

static lk_choice_out choices[11];
static char ids[11][8], long_id[GW_WA_ID_MAX + 2];

/* Choices 0..n-1 from titles seed, seed + step, ...; every seventh seed with a choice id
 * too long to name a question and one that needs escapes, every eleventh with a NULL id
 * (left out, as cJSON left it out) when there is no question. */
static void make_choices(int n, size_t seed, size_t step, int question)
{
    int i;

    for (i = 0; i < n; i++) {
        choices[i].id = ids[i];
        choices[i].title = lk_buf_str(&titles[(seed + (size_t)i * step) % NTITLES]);
    }
    if (seed % 7 == 3 && n > 2) {
        choices[1].id = long_id;
        choices[2].id = "\"q\\:%/";
    }
    if (seed % 11 == 5 && n > 0 && !question)
        choices[0].id = NULL;
}

static void test_choices(void)
{
    static const size_t steps[] = {0, 1, NLENS};
    static const char *const texts[] = {"Pilih provinsi:", "1. \"Info\" \\ JKN/KIS\n\x01\x1f\x7f"};
    char what[160];
    lk_reply r = {0};
    size_t seed, s;
    int n, q, lb;

    for (n = 0; n <= 11; n++)
        for (seed = 0; seed < NTITLES; seed++)
            for (s = 0; s < sizeof steps / sizeof *steps; s++)
                for (q = 0; q < 4; q++)
                    for (lb = 0; lb < 3; lb++) {
                        make_choices(n, seed, steps[s], q > 0);
                        r.text = texts[seed % 2];
                        r.len = strlen(r.text);
                        r.choices = n ? choices : NULL;
                        r.nchoices = n;
                        r.question = q == 3 ? long_question : questions[q];
                        r.list_button = list_buttons[lb];
                        snprintf(what, sizeof what,
                                 "%d choices from title %zu step %zu, question %d, list button %d",
                                 n, seed, steps[s], q, lb);
                        check_render(users[seed % 2], &r, what);
                    }
}

/* Bodies at and over the 1024 characters of an interactive message and the 4096 of a text,
 * with the character at the cut two or four bytes long, or a space. */
static void test_bodies(void)
{
    static const int counts[] = {0, 1, 2, 3, 4, 10, 11};
    lk_buf texts[14] = {{0}};
    char what[160];
    lk_reply r = {0};
    size_t t, nt = 0;
    int c, q, lb, u;

    lk_buf_puts(&texts[nt++], "");
    lk_buf_puts(&texts[nt++],
                "Halo \"Chika\" \\ a/b\n\r\t\b\f\x01\x1f\x7f \xc3\xa9 \xf0\x9f\x98\x80");
    make(&texts[nt++], cyc_e, 1024, 0);
    make(&texts[nt++], cyc_e, 1025, 0);
    make(&texts[nt++], cyc_esc, 1024, 3);
    make(&texts[nt++], cyc_emoji, 4096, 0);
    make(&texts[nt++], cyc_emoji, 4097, 0); /* the emoji at the cut */
    make(&texts[nt++], cyc_emoji, 4097, 1);
    make(&texts[nt++], cyc_e, 4097, 1);
    make(&texts[nt++], cyc_space, 4097, 0); /* spaces before the ellipsis */
    make(&texts[nt++], cyc_space, 4100, 3);
    make(&texts[nt++], cyc_esc, 5000, 0);
    make(&texts[nt++], cyc_ascii, 9000, 0);
    lk_buf_put(&texts[nt++], "Halo\0rahasia", 12); /* a NUL inside: JSON holds what is before */

    gw_log_init(GW_LOG_ERROR); /* the warnings of cut texts: test_warning looks at them */
    for (t = 0; t < nt; t++)
        for (c = 0; c < (int)(sizeof counts / sizeof *counts); c++)
            for (q = 0; q < 2; q++)
                for (lb = 0; lb < 2; lb++)
                    for (u = 0; u < 3; u++) {
                        make_choices(counts[c], t * 3, 1, q);
                        r.text = texts[t].p;
                        r.len = texts[t].len;
                        r.choices = counts[c] ? choices : NULL;
                        r.nchoices = counts[c];
                        r.question = questions[q];
                        r.list_button = list_buttons[lb];
                        snprintf(what, sizeof what,
                                 "body %zu (%zu bytes), %d choices, question %d, list button %d, "
                                 "user %d",
                                 t, texts[t].len, counts[c], q, lb, u);
                        check_render(users[u], &r, what);
                    }
    gw_log_init(GW_LOG_INFO);
    for (t = 0; t < nt; t++)
        lk_buf_free(&texts[t]);
}

/* A text body over 4096 characters is cut, and says so in a warning with its length
 * (never its content); one at 4096 says nothing. */
static void test_warning(void)
{
    lk_buf text = {0}, out = {0};
    char log[4096] = "";
    lk_reply r = {0};
    FILE *f = tmpfile();
    int saved = dup(2);
    size_t n = 0;

    CHECK(f != NULL && saved >= 0);
    if (!f || saved < 0)
        return;
    fflush(stderr);
    dup2(fileno(f), 2);
    make(&text, cyc_e, 4096, 0);
    r.text = text.p;
    r.len = text.len;
    CHECK_INT(gw_wa_render(NULL, "628123456789", &r, &out), 0);
    lk_buf_puts(&text, "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"); /* 4099 */
    r.text = text.p;
    r.len = text.len;
    CHECK_INT(gw_wa_render(NULL, "628123456789", &r, &out), 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(f);
    n = fread(log, 1, sizeof log - 1, f);
    log[n] = '\0';
    fclose(f);
    CHECK(strstr(log, "whatsapp reply cut to 4096 characters") != NULL);
    CHECK(strstr(log, "chars=4099") != NULL);
    CHECK(strstr(log, "chars=4096") == NULL);
    CHECK(strstr(log, "\xf0\x9f\x98\x80") == NULL);
    CHECK(strstr(log, "level=warn") != NULL);
    lk_buf_free(&text);
    lk_buf_free(&out);
}

int main(void)
{
    size_t t;

    memset(long_question, 'z', 196); /* "q:" + 196 + ":" + a 1-character id is 200 */
    memset(long_id, '9', GW_WA_ID_MAX + 1);
    for (t = 0; t < 11; t++)
        snprintf(ids[t], sizeof ids[t], "%zu", t + 1);
    make_titles();
    test_warning();
    test_choices();
    test_bodies();
    lk_buf_free(&got);
    lk_buf_free(&want);
    for (t = 0; t < NTITLES; t++)
        lk_buf_free(&titles[t]);
    return test_done("test_gw_wa_render");
}
#else
int main(void)
{
    puts("test_gw_wa_render: no gateway in this build");
    return 0;
}
#endif
