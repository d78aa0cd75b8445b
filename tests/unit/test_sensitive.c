/* Unit tests of sensitive inputs (src/flow/sensitive.c, src/engine/sensitive.c,
 * src/runtime/mask.c): the flow keys "sensitive" and "clear" checked at load
 * with file:line:col, the engine clearing what the flow no longer needs and
 * saying what was sensitive, the masks, and a conversation of the bundled
 * flow (flows/chika.json) through the runtime into a real SQLite file whose
 * log and session are then read from outside. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loket/engine.h"
#include "loket/flow.h"
#include "loket/mask.h"
#include "loket/runtime.h"
#include "loket/store.h"
#include "test.h"

#define NOW 1800000000000LL

/* A flow with a sensitive input whose value a pass state shows and clears,
 * and one whose value an end state shows (cleared with the session's end). */
static const char FLOW[] =
    "{\"loket\": 1, \"name\": \"t\", \"start\": \"ask\", \"invalid\": {\"message\": \"?\"},\n"
    " \"states\": {\n"
    "  \"ask\": {\"say\": \"NIK?\", \"input\": {\"var\": \"nik\", \"type\": \"digits\",\n"
    "           \"lengths\": [16], \"sensitive\": true}, \"invalid\": \"16 digit\",\n"
    "           \"next\": \"shown\"},\n"
    "  \"shown\": {\"say\": \"Nomor {{nik}} dicatat.\", \"clear\": [\"nik\"], \"next\": \"pin\"},\n"
    "  \"pin\": {\"say\": \"Kode?\", \"input\": {\"var\": \"code\", \"type\": \"text\",\n"
    "          \"sensitive\": true}, \"next\": \"bye\"},\n"
    "  \"bye\": {\"say\": \"Kode {{code}} diterima, nomor {{nik}}.\", \"end\": true}\n"
    " }}\n";

static lk_flow *load(const char *json, lk_diag *diag)
{
    lk_flow *f = NULL;

    lk_flow_load_string("t.json", json, strlen(json), &f, diag);
    return f;
}

/* A one-state flow with the input's extra keys and the state's. */
static int load_fails(const char *input_extra, const char *state_extra, const char *msg,
                      const char *where)
{
    char json[1024];
    lk_diag diag = {0};
    lk_flow *f;
    int ok;

    snprintf(
        json, sizeof json,
        "{\"loket\": 1, \"name\": \"t\", \"start\": \"a\", \"invalid\": {\"message\": \"?\"},\n"
        " \"states\": {\n"
        "  \"a\": {\"say\": \"x\", \"input\": {\"var\": \"v\", \"type\": \"text\"%s},\n"
        "         \"next\": \"b\"},\n"
        "  \"b\": {\"say\": \"y\"%s, \"end\": true}}}\n",
        input_extra, state_extra);
    f = load(json, &diag);
    ok = !f && diag_has(&diag, msg);
    if (ok && where) {
        char at[64];
        size_t i;
        ok = 0;
        for (i = 0; i < diag.n; i++) {
            snprintf(at, sizeof at, "%d:%d", diag.items[i].line, diag.items[i].col);
            ok |= strstr(diag.items[i].msg, msg) && !strcmp(at, where);
        }
    }
    if (!ok)
        lk_diag_print(&diag, stderr);
    lk_diag_clear(&diag);
    lk_flow_free(f);
    return ok;
}

static void test_load(void)
{
    lk_diag diag = {0};
    lk_flow *f = load(FLOW, &diag);

    CHECK(f != NULL);
    lk_diag_print(&diag, stderr);
    lk_diag_clear(&diag);
    /* loket check: 'nik' is cleared, 'code' only by the end state */
    if (f) {
        CHECK_INT(lk_flow_check(f, &diag), 1);
        CHECK(diag_has(&diag, "no state clears 'code'"));
        CHECK(!diag_has(&diag, "'nik'"));
        lk_diag_clear(&diag);
    }
    lk_flow_free(f);
    /* a wrong type names the line and column of the value */
    CHECK(load_fails(", \"sensitive\": \"yes\"", "", "expected true or false", "3:72"));
    CHECK(load_fails("", ", \"clear\": [\"nope\"]", "'nope' is not a variable", "5:31"));
    CHECK(load_fails("", ", \"clear\": [\"input\"]", "cannot be cleared", NULL));
    CHECK(load_fails("", ", \"clear\": [7]", "clear lists variable names", NULL));
    CHECK(load_fails("", ", \"clear\": \"v\"", "expected an array", NULL));
    /* "sensitive" belongs to inputs, not to states */
    CHECK(load_fails("", ", \"sensitive\": true", "sensitive", NULL));
}

static int holds(const lk_buf *b, const char *needle)
{
    size_t i, n = strlen(needle);

    for (i = 0; i + n <= b->len; i++)
        if (!memcmp(b->p + i, needle, n))
            return 1;
    return 0;
}

static void test_engine(void)
{
    lk_diag diag = {0};
    lk_flow *f = load(FLOW, &diag);
    lk_session *s = f ? lk_session_new(f) : NULL;
    lk_out *o = lk_out_new();
    lk_buf b = {0};
    const char *vals;
    size_t nv = 0;

    lk_diag_clear(&diag);
    if (!s || !o) {
        CHECK(!"flow, session or output");
        goto out;
    }
    /* the start state is the sensitive input: even an invalid answer there
     * is sensitive (a NIK with a digit missing is still a NIK) */
    CHECK_INT(lk_engine_step(f, s, "3273", 4, NOW + 1, o), LK_OK);
    CHECK_STR(lk_out_joined(o), "16 digit");
    CHECK_INT(lk_out_sensitive_input(o), 1);
    lk_out_sensitive_values(o, &nv);
    CHECK_INT(nv, 0);
    lk_out_reset(o);
    CHECK_INT(lk_engine_step(f, s, "3273012345678901", 16, NOW + 2, o), LK_OK);
    CHECK(strstr(lk_out_joined(o), "Nomor 3273012345678901 dicatat.") != NULL);
    CHECK_INT(lk_out_sensitive_input(o), 1);
    vals = lk_out_sensitive_values(o, &nv);
    CHECK_INT(nv, 17);
    CHECK(nv == 17 && !strcmp(vals, "3273012345678901"));
    /* cleared by "shown": neither the session nor its encoding has it */
    CHECK(lk_session_var(s, f, "nik", &b) == NULL);
    lk_buf_reset(&b);
    CHECK_INT(lk_session_encode(s, f, &b), LK_OK);
    CHECK(!holds(&b, "3273"));
    CHECK_STR(lk_session_state(s, f), "pin");
    lk_out_reset(o);
    /* the end state shows the code and ends: the code is cleared with it */
    CHECK_INT(lk_engine_step(f, s, "rahasia99", 9, NOW + 3, o), LK_OK);
    CHECK(strstr(lk_out_joined(o), "Kode rahasia99 diterima, nomor .") != NULL);
    vals = lk_out_sensitive_values(o, &nv);
    CHECK(nv == 10 && !strcmp(vals, "rahasia99"));
    CHECK(lk_session_var(s, f, "code", &b) == NULL);
    CHECK_INT(lk_session_ended(s), 1);
    lk_buf_reset(&b);
    CHECK_INT(lk_session_encode(s, f, &b), LK_OK);
    CHECK(!holds(&b, "rahasia"));
out:
    lk_buf_free(&b);
    lk_out_free(o);
    lk_session_free(s);
    lk_flow_free(f);
}

static const char *masked(const char *v)
{
    static lk_buf b;

    lk_buf_reset(&b);
    lk_mask_value(v, strlen(v), &b);
    return lk_buf_str(&b);
}

static void test_mask(void)
{
    CHECK_STR(masked("3273012345678901"), "3273********8901");
    CHECK_STR(masked("0001234567890"), "0001*****7890");
    CHECK_STR(masked("123456789012"), "1234****9012");
    CHECK_STR(masked("12345678901"), "***********");
    CHECK_STR(masked("1990-08-17"), "**********");
    CHECK_STR(masked(""), "");
    /* one star per character, and kept characters whole */
    CHECK_STR(masked("ééééxxxxxxxxéééé"), "éééé********éééé");
    CHECK_STR(masked("Nasi goreng"), "***********");
}

/* Sessions whose stored blob holds v, read from outside. */
static int held(const char *path, const char *v)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int n = -1;

    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM sessions WHERE instr(blob, ?1) > 0", -1, &q,
                           NULL) == SQLITE_OK &&
        sqlite3_bind_blob(q, 1, v, (int)strlen(v), SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* The bundled flow through the runtime into a real file: the log has the
 * masks, the session forgets the numbers after the answer. */
static void test_runtime(void)
{
    static const char *const convo[] = {"Hi Chika",   "1", "nik saya 3273012345678901",
                                        "1988-12-03", "2", "3273 0123 4567 8901",
                                        "1985-01-02"};
    char dir[] = "/tmp/loket-sensitive-XXXXXX", path[128], *text;
    lk_flow *flow = NULL;
    lk_store *st = NULL;
    lk_runtime *rt = NULL;
    lk_out *o = lk_out_new();
    lk_diag diag = {0};
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    size_t i;
    int rows = 0;
    lk_buf all = {0};

    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/t.db", dir);
    CHECK_INT(lk_flow_load("flows/chika.json", &flow, &diag), LK_OK);
    lk_diag_print(&diag, stderr);
    lk_diag_clear(&diag);
    CHECK_INT(lk_store_open(path, NULL, &st, &diag), LK_OK);
    lk_diag_clear(&diag);
    if (!flow || !st || !o || !(rt = lk_runtime_new(flow, st)))
        goto out;
    for (i = 0; i < sizeof convo / sizeof *convo; i++) {
        lk_inbound in = {.channel = "whatsapp", .user = "628111", .text = convo[i]};

        in.len = strlen(convo[i]);
        in.now_ms = NOW + (int64_t)i * 1000;
        CHECK_INT(lk_runtime_handle(rt, &in, o, NULL, NULL), LK_OK);
        if (i == 3) /* the user sees the number the flow repeats */
            CHECK(strstr(lk_out_joined(o), "untuk nomor 3273012345678901 (lahir 1988-12-03)"));
        /* kept while the flow needs it (asking the date of birth), gone after */
        if (i == 3 || i == 5 || i == 6)
            CHECK_INT(held(path, "3273012345678901"), i == 5);
    }
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT dir, text FROM log ORDER BY id", -1, &q, NULL) ==
          SQLITE_OK);
    while (q && sqlite3_step(q) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(q, 0);
        text = (char *)sqlite3_column_text(q, 1);
        lk_buf_puts(&all, text);
        lk_buf_putc(&all, '\n');
        if (!strcmp(d, "in") && rows == 2)
            CHECK_STR(text, "nik *****************8901");
        rows += !strcmp(d, "in");
    }
    sqlite3_finalize(q);
    CHECK_INT(rows, 7);
    lk_buf_putc(&all, '\0');
    /* the answer repeats the number: masked in the log row */
    CHECK(strstr(all.p, "untuk nomor 3273********8901 (lahir **********)") != NULL);
    CHECK(strstr(all.p, "3273***********8901") != NULL); /* typed with spaces */
    CHECK(!strstr(all.p, "3273012345678901"));
    CHECK(!strstr(all.p, "1988-12-03"));
    CHECK(!strstr(all.p, "0123 4567"));
    CHECK(!strstr(all.p, "1985-01-02"));
    /* what is not sensitive stays as typed */
    CHECK(strstr(all.p, "Hi Chika\n") != NULL);
    CHECK_INT(held(path, "1988-12-03"), 0);
    CHECK_INT(held(path, "1985-01-02"), 0);
out:
    sqlite3_close(db);
    lk_buf_free(&all);
    lk_runtime_free(rt);
    lk_store_close(st);
    lk_out_free(o);
    lk_flow_free(flow);
    for (i = 0; i < 3; i++) {
        static const char *const ext[] = {"", "-wal", "-shm"};
        char p[160];
        snprintf(p, sizeof p, "%s%s", path, ext[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(void)
{
    test_load();
    test_engine();
    test_mask();
    test_runtime();
    return test_done("test_sensitive");
}
