/* Unit tests of the engine's expressions and templates (src/engine/eval.c):
 * filters, unset variables, settings, operator precedence, builtins and flow
 * functions, with the worked examples of DOMAIN.md section 6. The flow is
 * compiled by the real loader; templates are rendered directly. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "loket/engine.h"
#include "loket/flow.h"
#include "test.h"

static const char FLOW[] =
    "{\"loket\": 1, \"name\": \"tpl\", \"start\": \"init\",\n"
    " \"settings\": {\"care_center\": \"165\", \"fee\": {\"1\": 150000, \"2\": 100000, \"3\": "
    "35000},\n"
    "   \"arrears_cap_months\": 24, \"penalty_pct\": 5, \"penalty_cap_months\": 12,\n"
    "   \"penalty_cap\": 30000000, \"hours\": {\"open\": \"08:00\", \"close\": \"15:00\"},\n"
    "   \"zones\": [\"WIB\", \"WITA\", \"WIT\"]},\n"
    " \"functions\": {\n"
    "   \"arrears_total\": {\"params\": [\"m\", \"k\", \"n\"],\n"
    "                     \"expr\": \"m * settings.fee[k] * arrears_months(n)\"},\n"
    "   \"arrears_months\": {\"params\": [\"n\"], \"expr\": \"min(n, settings.arrears_cap_months) "
    "+ 1\"},\n"
    "   \"penalty\": {\"params\": [\"n\", \"cost\"], \"expr\":\n"
    "     \"min(settings.penalty_pct * cost / 100 * min(n, settings.penalty_cap_months), "
    "settings.penalty_cap)\"},\n"
    "   \"office_open\": {\"params\": [\"off\"], \"expr\": \"local_weekday(off) >= 1 and "
    "local_weekday(off) <= 5"
    " and local_minutes(off) >= minutes(settings.hours.open) and local_minutes(off) < "
    "minutes(settings.hours.close)\"}\n"
    " },\n"
    " \"states\": {\n"
    "   \"init\": {\"set\": {\"m\": 0, \"k\": 0, \"n\": 0, \"cost\": 0, \"amount\": 0, \"name\": "
    "\"\\\"\\\"\"},\n"
    "            \"next\": \"t\"},\n"
    "   \"never\": {\"set\": {\"ghost\": \"\\\"boo\\\"\"}, \"next\": \"t\"},\n"
    "   \"t\": {\"say\": [\n"
    "     \"{{ amount | money }}\",\n"
    "     \"{{ amount | number }}\",\n"
    "     \"{{ name | upper }}|{{ name | lower }}|{{ name }}\",\n"
    "     \"[{{ ghost }}][{{ ghost | money }}]\",\n"
    "     \"Care Center {{ settings.care_center }}, fee {{ settings.fee[3] | money }}, {{ "
    "settings.zones[1] }}\",\n"
    "     \"{{ arrears_total(m, k, n) | money }}\",\n"
    "     \"{{ penalty(n, cost) | money }}\",\n"
    "     \"{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 / 2 }} {{ 7 % 3 }} {{ 5 / 0 }} {{ 5 % 0 }} {{ "
    "-3 + 1 }} {{ 10 - 4 - 3 }}\",\n"
    "     \"{{ 2 * 3 == 6 && 1 < 2 }} {{ 1 || 0 && 0 }} {{ !(1 == 1) }} {{ not 0 }} {{ 1 and 0 }} "
    "{{ 0 or 2 }}\",\n"
    "     \"{{ \\\"10\\\" < \\\"9\\\" }} {{ 10 < 9 }} {{ \\\"abc\\\" == \\\"abc\\\" }} {{ "
    "\\\"12abc\\\" + 1 }} {{ n == \\\"5\\\" }}\",\n"
    "     \"{{ if(n > 3, \\\"rehab\\\", \\\"lunas\\\") }}\",\n"
    "     \"{{ contains(name, \\\"bandung\\\") }} {{ len(name) }}\",\n"
    "     \"{{ min(4, 2, 9) }} {{ max(4, 2, 9) }} {{ abs(-4) }} {{ minutes(\\\"08:00\\\") }} {{ "
    "minutes(\\\"15:30\\\") }}\",\n"
    "     \"{{ local_weekday(420) }} {{ local_minutes(420) }} {{ local_weekday(0) }} {{ "
    "local_minutes(540) }}\",\n"
    "     \"{{ office_open(420) }}{{ office_open(480) }}{{ office_open(540) }}\",\n"
    "     \"*Total* _{{ amount | number }}_ {{amount}}\"\n"
    "   ], \"end\": true}\n"
    " }}\n";

enum {
    T_MONEY,
    T_NUMBER,
    T_CASE,
    T_GHOST,
    T_SETTINGS,
    T_ARREARS,
    T_PENALTY,
    T_ARITH,
    T_LOGIC,
    T_COMPARE,
    T_IF,
    T_TEXT,
    T_BUILTINS,
    T_CLOCK,
    T_OFFICE,
    T_MARKUP,
    T__COUNT
};

static lk_flow *flow;
static lk_session *sess;
static lk_buf rendered;
static int64_t now = 1705278600000LL; /* 2024-01-15T00:30:00Z, a Monday */

static int slot(const char *name)
{
    int i;
    for (i = 0; i < flow->nvars; i++)
        if (!strcmp(flow->vars[i], name))
            return i;
    fprintf(stderr, "no variable %s\n", name);
    exit(1);
}

static void set_int(const char *name, int64_t v)
{
    lk_var_set_int(sess, slot(name), v);
}

static void set_str(const char *name, const char *v)
{
    lk_var_set_str(sess, slot(name), v, strlen(v));
}

static const char *render(int i)
{
    int st = lk_flow_state_find(flow, "t");
    lk_ctx c = {flow, sess, now};

    lk_buf_reset(&rendered);
    if (st < 0 || i >= flow->states[st].nsay)
        return "(no template)";
    lk_render(&c, flow->states[st].say[i], &rendered);
    return lk_buf_str(&rendered);
}

static const char *arrears(int64_t m, int64_t k, int64_t n)
{
    set_int("m", m);
    set_int("k", k);
    set_int("n", n);
    return render(T_ARREARS);
}

static const char *penalty(int64_t n, int64_t cost)
{
    set_int("n", n);
    set_int("cost", cost);
    return render(T_PENALTY);
}

static void test_filters(void)
{
    static const struct {
        int64_t v;
        const char *money, *number;
    } cases[] = {
        {0, "Rp0", "0"},
        {630000, "Rp630.000", "630.000"},
        {3750000, "Rp3.750.000", "3.750.000"},
        {30000000, "Rp30.000.000", "30.000.000"},
        {999, "Rp999", "999"},
        {-5000, "-Rp5.000", "-5.000"},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        set_int("amount", cases[i].v);
        CHECK_STR(render(T_MONEY), cases[i].money);
        CHECK_STR(render(T_NUMBER), cases[i].number);
    }
    /* a string holding a number formats as that number */
    set_str("amount", "1500000");
    CHECK_STR(render(T_MONEY), "Rp1.500.000");
    set_int("amount", 3750000);
    CHECK_STR(render(T_MARKUP), "*Total* _3.750.000_ 3750000");

    set_str("name", "Kota Bandung");
    CHECK_STR(render(T_CASE), "KOTA BANDUNG|kota bandung|Kota Bandung");
    set_int("name", 42);
    CHECK_STR(render(T_CASE), "42|42|42");
}

static void test_unset(void)
{
    /* ghost is set only by a state nobody entered: it renders as nothing,
     * with or without a filter */
    CHECK_STR(render(T_GHOST), "[][]");
    set_str("ghost", "boo");
    CHECK_STR(render(T_GHOST), "[boo][Rp0]");
    lk_var_clear(sess, slot("ghost"));
    CHECK_STR(render(T_GHOST), "[][]");
}

static void test_settings(void)
{
    CHECK_STR(render(T_SETTINGS), "Care Center 165, fee Rp35.000, WITA");
}

static void test_worked_examples(void)
{
    /* DOMAIN.md 6.1: 5 months, 3 members, kelas III: 3 x 35.000 x 6 */
    CHECK_STR(arrears(3, 3, 5), "Rp630.000");
    /* 6.2: 48 months, 1 member, kelas I: 25 months charged */
    CHECK_STR(arrears(1, 1, 48), "Rp3.750.000");
    /* the cap's edge: 24 and 25 months both charge 25 */
    CHECK_STR(arrears(1, 1, 24), "Rp3.750.000");
    CHECK_STR(arrears(1, 1, 23), "Rp3.600.000");
    /* 6.3 and 6.4 as monthly figures: n = 0 gives one month */
    CHECK_STR(arrears(2, 2, 0), "Rp200.000");
    CHECK_STR(arrears(1, 3, 0), "Rp35.000");
    /* a kelas the table does not have: the fee is null, the total 0 */
    CHECK_STR(arrears(1, 4, 0), "Rp0");
    /* kelas as text, as a words input would store it */
    set_int("m", 3);
    set_str("k", "3");
    set_int("n", 5);
    CHECK_STR(render(T_ARREARS), "Rp630.000");

    /* 6.5: 5% x cost x min(n, 12), at most 30.000.000 */
    CHECK_STR(penalty(8, 20000000), "Rp8.000.000");
    CHECK_STR(penalty(15, 60000000), "Rp30.000.000");
    CHECK_STR(penalty(12, 10000000), "Rp6.000.000");
    CHECK_STR(penalty(13, 10000000), "Rp6.000.000");
}

static void test_expressions(void)
{
    CHECK_STR(render(T_ARITH), "7 9 3 1 0 0 -2 3");
    CHECK_STR(render(T_LOGIC), "1 1 0 1 0 1");
    set_int("n", 5);
    /* strings compare as text, integers as numbers; an integer and a string
     * compare as text; a string in arithmetic is its leading integer */
    CHECK_STR(render(T_COMPARE), "1 0 1 13 1");
    CHECK_STR(render(T_IF), "rehab");
    set_int("n", 3);
    CHECK_STR(render(T_IF), "lunas");
    set_str("name", "Saya di KAB. Bandung");
    CHECK_STR(render(T_TEXT), "1 20");
    set_str("name", "Bandungan");
    CHECK_STR(render(T_TEXT), "0 9");
    set_str("name", "Kota Bandung");
    CHECK_STR(render(T_TEXT), "1 12");
    set_str("name", "Sukabumi \xc3\xa9"); /* len counts code points */
    CHECK_STR(render(T_TEXT), "0 10");
    CHECK_STR(render(T_BUILTINS), "2 9 4 480 930");
}

static void test_clock(void)
{
    /* 2024-01-15T00:30Z: Monday 07:30 WIB, 08:30 WITA, 09:30 WIT */
    now = 1705278600000LL;
    CHECK_STR(render(T_CLOCK), "1 450 1 570");
    CHECK_STR(render(T_OFFICE), "011");
    /* 07:30Z: 14:30 WIB open, 15:30 WITA and 16:30 WIT closed */
    now = 1705303800000LL;
    CHECK_STR(render(T_OFFICE), "100");
    /* 08:00Z: 15:00 WIB is closing time */
    now = 1705305600000LL;
    CHECK_STR(render(T_OFFICE), "000");
    /* Sunday 2024-01-14T20:00Z is Monday 03:00 WIB, still Sunday in UTC */
    now = 1705262400000LL;
    CHECK_STR(render(T_CLOCK), "1 180 0 300");
    /* Friday 2024-01-19T23:30Z: Saturday 06:30 WIB, 08:30 WIT: closed */
    now = 1705707000000LL;
    CHECK_STR(render(T_CLOCK), "6 390 5 510");
    CHECK_STR(render(T_OFFICE), "000");
    /* Friday 2024-01-19T01:00Z: 08:00 WIB (opening), 10:00 WIT */
    now = 1705626000000LL;
    CHECK_STR(render(T_OFFICE), "111");
    now = 1705278600000LL;
}

int main(void)
{
    lk_diag diag = {0};
    lk_err err = lk_flow_load_string("tpl.json", FLOW, sizeof FLOW - 1, &flow, &diag);

    if (err != LK_OK) {
        lk_diag_print(&diag, stderr);
        fprintf(stderr, "the test flow does not load: %s\n", lk_strerror(err));
        return 1;
    }
    lk_diag_clear(&diag);
    sess = lk_session_new(flow);
    CHECK(sess != NULL);
    if (!sess)
        return 1;
    CHECK_INT(flow->states[lk_flow_state_find(flow, "t")].nsay, T__COUNT);

    test_filters();
    test_unset();
    test_settings();
    test_worked_examples();
    test_expressions();
    test_clock();

    lk_session_free(sess);
    lk_flow_free(flow);
    lk_buf_free(&rendered);
    return test_done("test_template");
}
