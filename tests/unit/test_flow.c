/* Unit tests of the flow loader and checker (src/flow): each kind of load
 * error with its exact line and column, the compiled model of a good flow,
 * and each kind of check warning. Inline flows are written with ' for " to
 * stay readable; the columns are those of the text after that swap (one
 * byte for one byte). Runs from the repository root (CTest sets it). */
#include <stdlib.h>
#include <string.h>

#include "flow_model.h"
#include "loket/flow.h"
#include "test.h"

static lk_diag diag;
static char qbuf[16384];

/* The inline flow with ' turned into ". */
static const char *q(const char *src)
{
    size_t i, n = strlen(src);
    if (n >= sizeof qbuf)
        abort();
    for (i = 0; i <= n; i++)
        qbuf[i] = src[i] == '\'' ? '"' : src[i];
    return qbuf;
}

static lk_err load_q(const char *src, lk_flow **out)
{
    const char *json = q(src);
    lk_diag_clear(&diag);
    return lk_flow_load_string("t.json", json, strlen(json), out, &diag);
}

/* The flow fails with nerr errors (0: any number), one of them at
 * line:col, with path (unless NULL) and want in its message. */
static void expect_error(const char *test, const char *src, size_t nerr, int line, int col,
                         const char *path, const char *want)
{
    lk_flow *f = NULL;
    lk_err e = load_q(src, &f);
    int found = 0;
    size_t i;

    CHECK_INT(e, LK_EFLOW);
    CHECK(f == NULL);
    for (i = 0; i < diag.n; i++) {
        const lk_diag_item *it = &diag.items[i];
        if (!it->warning && it->line == line && it->col == col && it->msg &&
            strstr(it->msg, want) && (!path || (it->path && strcmp(it->path, path) == 0)) &&
            it->file && strcmp(it->file, "t.json") == 0)
            found = 1;
    }
    CHECK(found);
    if (nerr)
        CHECK_INT(lk_diag_errors(&diag), nerr);
    if (!found || (nerr && lk_diag_errors(&diag) != nerr)) {
        fprintf(stderr, "  in %s: want %zu error(s), one at %d:%d %s: ...%s...; got:\n", test, nerr,
                line, col, path ? path : "", want);
        lk_diag_print(&diag, stderr);
    }
    lk_flow_free(f);
}

#define H "{'loket': 1, 'name': 't', 'start': 'a',\n"

/* ---- the JSON layer ---------------------------------------------------------------- */

static void test_json_errors(void)
{
    expect_error("syntax", "{'loket': 1, 'name': 't'\n 'start': 'a'}", 1, 2, 2, NULL,
                 "expected ',' or '}' after the value");
    expect_error("trailing comma", "{'loket': 1,\n 'name': 't',}", 1, 2, 13, NULL,
                 "trailing comma before '}'");
    expect_error("unclosed", "{'loket': 1,\n 'states': {'a': {}}", 1, 2, 21, NULL,
                 "the object opened at line 1, column 1 is not closed");
    expect_error("duplicate key",
                 "{'loket': 1, 'name': 't',\n 'name': 'u', 'start': 'a', 'states': {'a': "
                 "{'end': true}}}",
                 1, 2, 2, "name", "duplicate key 'name' (first at line 1, column 14)");
    expect_error("\\u0000", H "'states': {'a': {'say': 'x\\u0000y', 'end': true}}}", 1, 2, 27,
                 "states.a.say", "\\u0000 is not allowed");
    expect_error("invalid UTF-8", H "'states': {'a': {'say': 'caf\xe9!', 'end': true}}}", 1, 2, 29,
                 NULL, "invalid UTF-8: byte 0xe9");
    expect_error("control character", H "'states': {'a': {'say': 'x\ty', 'end': true}}}", 1, 2, 27,
                 "states.a.say", "raw control character 0x09");
    expect_error("lenient number",
                 "{'loket': 01, 'name': 't', 'start': 'a', 'states': {'a': {'end': true}}}", 1, 1,
                 11, "loket", "'01' is not a JSON number");
    expect_error("garbage after", "{'loket': 1} x", 1, 1, 14, NULL, "after the end of the JSON");
}

static void test_limits(void)
{
    char *big, src[512];
    lk_flow *f = NULL;
    size_t n = (16u << 20) + 1;
    int k;

    /* 64 nested containers are fine, 65 are not. */
    strcpy(src, H "'settings': {'x': ");
    for (k = 0; k < 62; k++)
        strcat(src, "[");
    for (k = 0; k < 62; k++)
        strcat(src, "]");
    strcat(src, "}, 'states': {'a': {'end': true}}}");
    CHECK_INT(load_q(src, &f), LK_OK);
    lk_flow_free(f);
    f = NULL;
    strcpy(src, H "'settings': {'x': ");
    for (k = 0; k < 63; k++)
        strcat(src, "[");
    for (k = 0; k < 63; k++)
        strcat(src, "]");
    strcat(src, "}, 'states': {'a': {'end': true}}}");
    expect_error("depth", src, 1, 2, 81, NULL, "nesting deeper than 64 levels");

    big = malloc(n);
    CHECK(big != NULL);
    if (!big)
        return;
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    lk_diag_clear(&diag);
    CHECK_INT(lk_flow_load_string("big.json", big, n, &f, &diag), LK_EFLOW);
    CHECK(diag.n == 1 && strstr(diag.items[0].msg, "the limit is 16 MiB"));
    CHECK(lk_flow_load_string("ok.json", big, n - 2, &f, &diag) != LK_OK); /* size ok, no keys */
    free(big);
}

/* ---- the format -------------------------------------------------------------------- */

static void test_format_errors(void)
{
    expect_error("unknown key", H "'states': {'a': {'say': 'hi', 'end': true, 'gotoo': 'a'}}}", 1,
                 2, 44, "states.a.gotoo",
                 "unknown key 'gotoo' in state 'a' (expected one of: say, "
                 "set, menu, input, choice, end, next, invalid, data_words, yes, no, "
                 "expire_after, resume, clear)");
    expect_error("unknown top key",
                 "{'loket': 1, 'nmae': 't', 'start': 'a',\n"
                 "'states': {'a': {'end': true}}}",
                 0, 1, 14, "nmae", "unknown key 'nmae' in the flow (did you mean 'name'?");
    expect_error("wrong type", H "'states': {'a': {'say': 'hi', 'end': 'yes'}}}", 1, 2, 38,
                 "states.a.end", "expected true or false, found a string");
    expect_error("missing key", H "'states': {'a': {'menu': [{'goto': 'a'}], 'invalid': 'no'}}}", 1,
                 2, 27, "states.a.menu[0]",
                 "missing required key 'title' in option 1 of state 'a'");
    expect_error("missing top key", "{'loket': 1, 'start': 'a', 'states': {'a': {'end': true}}}", 1,
                 1, 1, NULL, "missing required key 'name' in the flow");
    expect_error("undefined target", H "'states': {'a': {'next': 'bb'},\n 'b': {'end': true}}}", 1,
                 2, 26, "states.a.next", "no state named 'bb' (did you mean 'b'?)");
    expect_error("undefined start",
                 "{'loket': 1, 'name': 't', 'start': 'z', 'states': {'a': {'end': true}}}", 1, 1,
                 36, "start", "no state named 'z'");
    expect_error("menu and input",
                 H "'invalid': {'message': 'no'},\n'states': {'a': {'menu': [{'title': 'x', "
                   "'goto': 'a'}],\n 'input': {'var': 'v', 'type': 'text'}}}}",
                 1, 3, 12, "states.a", "has more than one of menu, input, choice and end");
    expect_error("pass without next", H "'states': {'a': {'say': 'x'}}}", 1, 2, 12, "states.a",
                 "needs \"next\"");
    expect_error("input key of another type",
                 H "'invalid': {'message': 'no'},\n'states': {'a': {'input': {'var': 'v', 'type': "
                   "'text', 'lengths': [3]}, 'next': 'a'}}}",
                 1, 3, 56, "states.a.input.lengths", "'lengths' is for inputs of type digits");
    expect_error("no invalid text",
                 H "'states': {'a': {'input': {'var': 'v', 'type': 'text'}, 'next': 'a'}}}", 1, 2,
                 12, "states.a", "has no \"invalid\" text");
    expect_error("yes/no needed",
                 H "'invalid': {'message': 'no'},\n'states': {'a': {'input': {'var': 'v', 'type': "
                   "'yesno'}, 'next': 'a'}}}",
                 1, 1, 1, "yes", "the flow needs \"yes\" and \"no\" words");
    expect_error("entry after unconditional",
                 H "'states': {'a': {'next': [{'goto': 'b'}, {'if': '1', 'goto': 'a'}]},\n"
                   "'b': {'end': true}}}",
                 1, 2, 42, "states.a.next[1]", "this entry is never taken");
    expect_error("reserved var", H "'states': {'a': {'set': {'input': 1}, 'end': true}}}", 1, 2, 26,
                 "states.a.set.input", "'input' is reserved");
    expect_error("bad duration",
                 H "'session': {'expire_after': '30 minutes'}, 'states': {'a': {'end': true}}}", 1,
                 2, 29, "session.expire_after", "is not a duration");
}

/* The keys that came with option keys, short titles, units and commands
 * that fire anywhere: each refuses a wrong value at its place. */
static void test_extension_errors(void)
{
    expect_error("key of two words",
                 H "'invalid': {'message': 'no'},\n'states': {'a': {'menu': [{'title': 'x', "
                   "'key': 'A B', 'goto': 'a'}]}}}",
                 1, 3, 49, "states.a.menu[0].key", "a key is one word");
    expect_error("empty short title",
                 H "'invalid': {'message': 'no'},\n'states': {'a': {'menu': [{'title': 'x', "
                   "'short': '', 'goto': 'a'}]}}}",
                 1, 3, 51, "states.a.menu[0].short", "the short title is empty");
    expect_error("unit multiplier",
                 H "'invalid': {'message': 'no'},\n'states': {'a': {'input': {'var': 'v', 'type': "
                   "'number', 'units': {'juta': 0}}, 'next': 'a'}}}",
                 1, 3, 76, "states.a.input.units.juta", "a unit multiplies by an integer");
    expect_error("unit of two words",
                 H "'invalid': {'message': 'no'},\n'states': {'a': {'input': {'var': 'v', 'type': "
                   "'number', 'units': {'se juta': 1000000}}, 'next': 'a'}}}",
                 1, 3, 68, "states.a.input.units.se juta", "a unit is one word");
    expect_error("units on text",
                 H "'invalid': {'message': 'no'},\n'states': {'a': {'input': {'var': 'v', 'type': "
                   "'text', 'units': {'juta': 1000000}}, 'next': 'a'}}}",
                 1, 3, 56, "states.a.input.units", "'units' is for inputs of type number");
    expect_error("anywhere not a bool",
                 H "'commands': [{'name': 'c', 'words': ['x'], 'anywhere': 'yes', 'say': 'y'}],\n"
                   "'states': {'a': {'end': true}}}",
                 1, 2, 56, "commands[0].anywhere", "expected true or false, found a string");
}

/* Several independent errors are all reported, each at its place. */
static void test_keeps_going(void)
{
    const char *src = H "'states': {'a': {'say': 'hi', 'nxt': 'b'},\n"
                        " 'b': {'say': '{{ nope }}', 'next': 'zz'}}}";
    lk_flow *f = NULL;

    CHECK_INT(load_q(src, &f), LK_EFLOW);
    CHECK(f == NULL);
    CHECK_INT(lk_diag_errors(&diag), 4);
    CHECK(diag.n == 4 && diag.items[0].line == 2 && diag.items[0].col == 31); /* nxt */
    CHECK(diag.n == 4 && diag.items[1].line == 2 && diag.items[1].col == 12); /* a: no next */
    CHECK(diag.n == 4 && diag.items[2].line == 3 && diag.items[2].col == 19); /* nope */
    CHECK(diag.n == 4 && diag.items[3].line == 3 && diag.items[3].col == 37); /* zz */
    if (lk_diag_errors(&diag) != 4)
        lk_diag_print(&diag, stderr);
}

/* ---- expressions and templates ------------------------------------------------------- */

/* Expressions are bounded, so neither the parser nor the engine's evaluation
 * can recurse without limit. */
static void test_expr_bounds(void)
{
    char src[2048];
    int i, n;

    n = snprintf(src, sizeof src, "%s", H "'states': {'a': {'set': {'x': '");
    for (i = 0; i < 70; i++)
        src[n++] = '!';
    n += snprintf(src + n, sizeof src - (size_t)n, "1'}, 'end': true}}}");
    expect_error("nested too deeply", src, 1, 2, 95, "states.a.set.x",
                 "the expression is nested too deeply (at most 64 levels)");

    n = snprintf(src, sizeof src, "%s", H "'states': {'a': {'set': {'x': '1");
    for (i = 0; i < 200; i++)
        n += snprintf(src + n, sizeof src - (size_t)n, "+1");
    n += snprintf(src + n, sizeof src - (size_t)n, "'}, 'end': true}}}");
    expect_error("too long", src, 1, 2, 289, "states.a.set.x",
                 "the expression is too long (at most 256 parts)");

    /* 63 levels of parentheses inside one another still load */
    n = snprintf(src, sizeof src, "%s", H "'states': {'a': {'set': {'x': '");
    for (i = 0; i < 62; i++)
        src[n++] = '(';
    src[n++] = '1';
    for (i = 0; i < 62; i++)
        src[n++] = ')';
    n += snprintf(src + n, sizeof src - (size_t)n, "'}, 'end': true}}}");
    {
        lk_flow *f = NULL;
        CHECK_INT(load_q(src, &f), LK_OK);
        lk_flow_free(f);
    }
}

static void test_expr_errors(void)
{
    expect_error("template variable",
                 H "'states': {'a': {'say': 'Halo {{ nama }}!', 'end': true}}}", 1, 2, 34,
                 "states.a.say", "unknown variable 'nama'");
    expect_error("bad expression", H "'states': {'a': {'set': {'x': '1 + * 2'}, 'end': true}}}", 1,
                 2, 36, "states.a.set.x",
                 "expected a value, found '*' (column 5 of the expression \"1 + * 2\")");
    /* Escapes before the error: the column is still the one in the file. */
    expect_error("bad expression after escapes",
                 H "'states': {'a': {'set': {'x': '\\'a\\' + * 2'}, 'end': true}}}", 1, 2, 40,
                 "states.a.set.x", "column 7 of the expression");
    expect_error("unknown filter",
                 H "'states': {'a': {'say': 'Hi {{ input | rupiah }}', 'end': "
                   "true}}}",
                 1, 2, 40, "states.a.say",
                 "unknown filter 'rupiah' (filters: money, number, upper, lower)");
    expect_error("unclosed placeholder", H "'states': {'a': {'say': 'Hi {{ input', 'end': true}}}",
                 1, 2, 29, "states.a.say", "'{{' is not closed");
    expect_error("single =", H "'states': {'a': {'set': {'x': '1 = 1'}, 'end': true}}}", 1, 2, 34,
                 NULL, "compare with '=='");
    expect_error("arity", H "'states': {'a': {'set': {'x': 'abs(1, 2)'}, 'end': true}}}", 1, 2, 32,
                 NULL, "abs() takes 1 argument, not 2");
    expect_error("unknown function", H "'states': {'a': {'set': {'x': 'foo(1)'}, 'end': true}}}", 1,
                 2, 32, NULL, "unknown function 'foo'");
    expect_error("minutes format",
                 H "'states': {'a': {'set': {'x': 'minutes(\\'8.00\\')'}, 'end': true}}}", 1, 2, 32,
                 NULL, "minutes() takes a time written \"HH:MM\"");
    expect_error("unknown setting",
                 H "'settings': {'fee': {'1': 5}},\n'states': {'a': {'set': {'x': "
                   "'settings.fees[1]'}, 'end': true}}}",
                 1, 3, 41, NULL, "no setting 'fees' in settings");
    expect_error("table without index",
                 H "'settings': {'fee': {'1': 5}},\n'states': {'a': {'set': {'x': "
                   "'settings.fee'}, 'end': true}}}",
                 1, 3, 32, NULL, "look a value up with settings.fee[key]");
    expect_error("table of objects",
                 H "'settings': {'fee': {'1': {'a': 1}}},\n'states': {'a': {'set': {'x': "
                   "'settings.fee[1]'}, 'end': true}}}",
                 1, 2, 27, "settings.fee.1", "values must be strings or integers");
    expect_error("regex",
                 H "'invalid': {'message': 'no'},\n'states': {'a': {'input': {'var': "
                   "'v', 'type': 'regex', 'pattern': '([a-z'}, 'next': 'a'}}}",
                 1, 3, 68, "states.a.input.pattern", "the pattern does not compile");
}

/* Precedence: || < && < == != < < <= > >= < + - < * / % < unary. */
static void test_expr_shapes(void)
{
    lk_flow *f = NULL;
    const lk_state *s;
    const lk_expr *e;

    CHECK_INT(load_q(H "'settings': {'hours': {'days': [1, 2], 'open': '08:00'}, 'v': {'1': "
                       "{'x': 7}}},\n'states': {'a': {'set': {"
                       "'p': '1 + 2 * 3', 'q': 'p || p and not p == 1', 'r': '-5 - -p', "
                       "'t': 'settings.hours.open', 'u': 'settings.hours.days[p % 2]', "
                       "'w': 'settings.v.1.x', 'y': '(1 + 2) * 3 >= 9 != 0', "
                       "'z': 'if(p < 2, \\'a\\', len(\\'b\\'))'}, 'end': true}}}",
                     &f),
              LK_OK);
    if (!f) {
        lk_diag_print(&diag, stderr);
        return;
    }
    s = &f->states[0];
    CHECK_INT(s->nset, 8);
    e = s->set[0].expr; /* 1 + (2 * 3) */
    CHECK(e->op == LK_X_ADD && e->args[0]->v.i == 1 && e->args[1]->op == LK_X_MUL);
    e = s->set[1].expr; /* p || (p && ((not p) == 1)) */
    CHECK(e->op == LK_X_OR && e->args[0]->op == LK_X_VAR && e->args[1]->op == LK_X_AND);
    CHECK(e->args[1]->args[1]->op == LK_X_EQ && e->args[1]->args[1]->args[0]->op == LK_X_NOT);
    e = s->set[2].expr; /* -5 folded, - (neg p) */
    CHECK(e->op == LK_X_SUB && e->args[0]->op == LK_X_CONST && e->args[0]->v.i == -5 &&
          e->args[1]->op == LK_X_NEG);
    e = s->set[3].expr;
    CHECK(e->op == LK_X_CONST && e->v.type == LK_VT_STR && !strcmp(e->v.s, "08:00"));
    e = s->set[4].expr; /* an array as a table: keys "0", "1" */
    CHECK(e->op == LK_X_INDEX && e->args[0]->op == LK_X_MOD);
    CHECK(f->ntables == 1 && f->tables[0].n == 2 && !strcmp(f->tables[0].keys[1], "1") &&
          !strcmp(f->tables[0].name, "hours.days"));
    e = s->set[5].expr;
    CHECK(e->op == LK_X_CONST && e->v.i == 7);
    e = s->set[6].expr; /* ((1 + 2) * 3 >= 9) != 0 */
    CHECK(e->op == LK_X_NE && e->args[0]->op == LK_X_GE && e->args[0]->args[0]->op == LK_X_MUL);
    e = s->set[7].expr;
    CHECK(e->op == LK_X_BUILTIN && e->slot == LK_FN_IF && e->nargs == 3 &&
          e->args[1]->v.type == LK_VT_STR && e->args[2]->slot == LK_FN_LEN);
    lk_flow_free(f);

    expect_error("builtin name",
                 H "'functions': {'min': {'expr': '1'}},\n"
                   "'states': {'a': {'end': true}}}",
                 1, 2, 15, "functions.min", "'min' is a builtin function");
}

static void test_loops(void)
{
    expect_error("pass loop", H "'states': {'a': {'say': 'x', 'next': 'b'},\n 'b': {'next': 'a'}}}",
                 1, 2, 38, "states.a.next", "these states loop forever: a -> b -> a");
    expect_error("function cycle",
                 H "'functions': {\n 'f': {'expr': 'g(1)'},\n 'g': {'params': ['x'], 'expr': "
                   "'f() + x'}},\n 'states': {'a': {'end': true}}}",
                 1, 3, 2, "functions.f", "function 'f' calls itself (f -> g -> f)");
    expect_error("self call",
                 H "'functions': {'f': {'params': ['n'], 'expr': 'f(n - 1)'}},\n"
                   " 'states': {'a': {'end': true}}}",
                 1, 2, 15, "functions.f", "(f -> f)");
}

/* A conditional cycle of pass states is left to the engine's step bound. */
static void test_conditional_loop_loads(void)
{
    lk_flow *f = NULL;
    CHECK_INT(load_q(H "'states': {'a': {'set': {'x': 1}, 'next': [{'if': 'x', 'goto': 'b'}, "
                       "{'goto': 'c'}]},\n 'b': {'next': 'a'}, 'c': {'end': true}}}",
                     &f),
              LK_OK);
    lk_flow_free(f);
}

/* ---- files --------------------------------------------------------------------------- */

static void test_includes(void)
{
    lk_flow *f = NULL;
    size_t i;
    int found = 0;

    expect_error("missing include",
                 H "'include': ['tests/unit/flows/nope.json'],\n 'states': "
                   "{'a': {'end': true}}}",
                 1, 2, 13, "include[0]",
                 "cannot read 'tests/unit/flows/nope.json': No such file or directory");

    lk_diag_clear(&diag);
    CHECK_INT(lk_flow_load("tests/unit/flows/dup-main.json", &f, &diag), LK_EFLOW);
    CHECK(f == NULL);
    for (i = 0; i < diag.n; i++) {
        const lk_diag_item *it = &diag.items[i];
        if (it->file && !strcmp(it->file, "tests/unit/flows/dup-inc.json") && it->line == 4 &&
            it->col == 5 && !strcmp(it->path, "states.b") &&
            strstr(it->msg, "state 'b' is defined twice: first at "
                            "tests/unit/flows/dup-main.json:8:5"))
            found = 1;
    }
    CHECK(found);
    CHECK_INT(lk_diag_errors(&diag), 1);
    if (!found)
        lk_diag_print(&diag, stderr);

    lk_diag_clear(&diag);
    CHECK_INT(lk_flow_load("tests/unit/flows/nope.json", &f, &diag), LK_EIO);
    CHECK(diag.n == 1 && strstr(diag.items[0].msg, "cannot read the file"));
}

static int has_error(const char *file, int line, int col, const char *want)
{
    size_t i;
    for (i = 0; i < diag.n; i++) {
        const lk_diag_item *it = &diag.items[i];
        if (!it->warning && it->file && !strcmp(it->file, file) && it->line == line &&
            it->col == col && strstr(it->msg, want))
            return 1;
    }
    lk_diag_print(&diag, stderr);
    return 0;
}

static void test_dataset_errors(void)
{
    lk_flow *f = NULL;

    lk_diag_clear(&diag);
    CHECK_INT(lk_flow_load("tests/unit/flows/bad-data.json", &f, &diag), LK_EFLOW);
    CHECK_INT(lk_diag_errors(&diag), 3);
    CHECK(has_error("tests/unit/flows/data/bad-regencies.json", 3, 50,
                    "no row of data set 'provinces' has the id '99'"));
    CHECK(has_error("tests/unit/flows/data/bad-regencies.json", 4, 71,
                    "a row's fields are strings or integers, not a fraction"));
    CHECK(has_error("tests/unit/flows/data/bad-regencies.json", 4, 10,
                    "id '3273' is used twice in data set 'regencies' (first by the row at line "
                    "2, column 3)"));
}

/* "children" must name the data set whose rows have the choice's rows as parents. */
static void test_children_error(void)
{
    lk_flow *f = NULL;

    lk_diag_clear(&diag);
    CHECK_INT(lk_flow_load("tests/unit/flows/bad-children.json", &f, &diag), LK_EFLOW);
    CHECK_INT(lk_diag_errors(&diag), 1);
    CHECK(has_error("tests/unit/flows/bad-children.json", 10, 68,
                    "the rows of 'provinces' do not have parents in 'regencies'"));
}

/* ---- a good flow and its model ------------------------------------------------------------ */

static int var(const lk_flow *f, const char *name)
{
    int i;
    for (i = 0; i < f->nvars; i++)
        if (!strcmp(f->vars[i], name))
            return i;
    return -1;
}

static void test_good_flow(void)
{
    lk_flow *f = NULL;
    const lk_state *s;
    const lk_dataset *prov, *reg;
    const lk_expr *e;
    const char *what;
    int i, from, to, main_, ask, bye, total;

    lk_diag_clear(&diag);
    CHECK_INT(lk_flow_load("tests/unit/flows/good.json", &f, &diag), LK_OK);
    if (!f) {
        lk_diag_print(&diag, stderr);
        return;
    }
    CHECK_INT(diag.n, 0);
    CHECK_STR(lk_flow_name(f), "test");
    CHECK_STR(lk_flow_path(f), "tests/unit/flows/good.json");
    CHECK_INT(lk_flow_state_count(f), 8);
    for (i = 0; i < f->nstates; i++)
        CHECK_INT(lk_flow_state_find(f, lk_flow_state_name(f, i)), i);
    CHECK_INT(lk_flow_state_find(f, "nope"), -1);
    CHECK(lk_flow_state_name(f, 8) == NULL);
    main_ = lk_flow_state_find(f, "main");
    ask = lk_flow_state_find(f, "ask_class");
    bye = lk_flow_state_find(f, "bye");
    CHECK_INT(f->start, main_);

    /* Slots: the reserved ones first, then in the order first assigned. */
    CHECK_STR(f->vars[LK_SLOT_INPUT], "input");
    CHECK_STR(f->vars[LK_SLOT_MATCH], "match");
    CHECK_STR(f->vars[LK_SLOT_MATCH_PARENT], "match_parent");
    CHECK_STR(f->vars[3], "done");
    CHECK_INT(f->nvars, 15);
    CHECK(var(f, "prov_id") > 0 && var(f, "prov_capital") > 0 && var(f, "prov_code") > 0);
    CHECK(var(f, "kab_id") > 0);

    /* The menu: numbered options, normalised words with the title first. */
    s = &f->states[main_];
    CHECK_INT(s->kind, LK_S_MENU);
    CHECK_INT(s->noptions, 3);
    CHECK_STR(s->options[0].title, "Cek Tagihan");
    CHECK_INT(s->options[0].nwords, 3);
    CHECK_STR(s->options[0].words[0], "cek tagihan");
    CHECK_STR(s->options[0].words[1], "tagihan");
    CHECK_STR(s->options[0].words[2], "bayar");
    CHECK_INT(s->options[0].edge.target, ask);
    CHECK_INT(s->options[2].edge.target, -1); /* no goto: the state's next */
    CHECK_INT(s->options[2].nset, 1);
    CHECK_INT(s->options[2].set[0].slot, var(f, "done"));
    CHECK_INT(s->nnext, 1);
    CHECK_INT(s->next[0].target, bye);
    CHECK(!s->no_history);
    CHECK_STR(s->file, "tests/unit/flows/good.json");
    CHECK_INT(s->line, 27);
    CHECK_INT(s->col, 5);

    /* Edges: next, then options, per state; then commands. */
    CHECK_INT(lk_flow_edge_count(f), 14);
    lk_flow_edge(f, s->options[1].edge.id, &from, &to, &what);
    CHECK_INT(from, main_);
    CHECK_INT(to, lk_flow_state_find(f, "province"));
    CHECK_STR(what, "menu 2");
    lk_flow_edge(f, s->next[0].id, &from, &to, &what);
    CHECK_STR(what, "next");
    lk_flow_edge(f, f->commands[0].edge, &from, &to, &what);
    CHECK_INT(from, -1);
    CHECK_INT(to, main_);
    CHECK_STR(what, "command menu");
    lk_flow_edge(f, 99, &from, &to, &what);
    CHECK(from == -1 && to == -1 && what == NULL);

    /* Inputs. */
    s = &f->states[ask];
    CHECK_INT(s->kind, LK_S_INPUT);
    CHECK_INT(s->input.kind, LK_V_NUMBER);
    CHECK_INT(s->input.min, 1);
    CHECK_INT(s->input.max, 3);
    CHECK_INT(s->var, var(f, "kelas"));
    CHECK_INT(s->nsay, 2);
    CHECK(s->invalid != NULL);
    CHECK(s->numbers_are_data);
    CHECK_INT(s->ndata_words, 1);
    CHECK_STR(s->data_words[0], "0");
    s = &f->states[lk_flow_state_find(f, "ask_months")];
    CHECK_INT(s->input.kind, LK_V_DIGITS);
    CHECK_INT(s->input.nlens, 2);
    CHECK_INT(s->input.lens[1], 2);
    s = &f->states[lk_flow_state_find(f, "confirm")];
    CHECK_INT(s->input.kind, LK_V_YESNO);
    CHECK_STR(s->file, "tests/unit/flows/good-more.json");
    CHECK_INT(s->line, 10);

    /* A pass state: set, say with filters, conditional next. */
    s = &f->states[lk_flow_state_find(f, "show_total")];
    CHECK_INT(s->kind, LK_S_PASS);
    CHECK(s->no_history);
    CHECK_INT(s->nset, 2);
    total = s->set[0].slot;
    CHECK_INT(total, var(f, "sum"));
    e = s->set[0].expr;
    CHECK_INT(e->op, LK_X_FUNC);
    CHECK_INT(e->nargs, 2);
    CHECK_STR(f->funcs[e->slot].name, "total");
    CHECK_INT(e->args[0]->op, LK_X_VAR);
    CHECK_INT(e->args[0]->slot, var(f, "kelas"));
    e = s->set[1].expr;
    CHECK(e->op == LK_X_CONST && e->v.type == LK_VT_STR && !strcmp(e->v.s, "Rp"));
    CHECK_INT(s->say[0]->nsegs, 7);
    CHECK_STR(s->say[0]->segs[0].lit, "Total {{ sum | money }} untuk kelas {{kelas}} "
                                      "({{ settings.fee[kelas] | number }}).");
    CHECK_INT(s->say[0]->segs[0].n, 6);
    CHECK_INT(s->say[0]->segs[1].filter, LK_F_MONEY);
    CHECK_INT(s->say[0]->segs[1].expr->slot, total);
    CHECK_INT(s->say[0]->segs[5].filter, LK_F_NUMBER);
    CHECK_INT(s->say[0]->segs[5].expr->op, LK_X_INDEX);
    CHECK_INT(s->nnext, 2);
    e = s->next[0].cond; /* sum > 1000000 and not done */
    CHECK_INT(e->op, LK_X_AND);
    CHECK_INT(e->args[0]->op, LK_X_GT);
    CHECK_INT(e->args[0]->args[1]->v.i, 1000000);
    CHECK_INT(e->args[1]->op, LK_X_NOT);
    CHECK(s->next[1].cond == NULL);
    lk_flow_edge(f, s->next[1].id, NULL, NULL, &what);
    CHECK_STR(what, "next[1]");

    /* Functions: params, settings folded, tables. */
    CHECK_INT(f->nfuncs, 2);
    e = f->funcs[0].body; /* min(n, settings.cap) + 1 */
    CHECK_INT(f->funcs[0].nparams, 1);
    CHECK_INT(e->op, LK_X_ADD);
    CHECK_INT(e->args[0]->op, LK_X_BUILTIN);
    CHECK_INT(e->args[0]->slot, LK_FN_MIN);
    CHECK_INT(e->args[0]->args[0]->op, LK_X_PARAM);
    CHECK_INT(e->args[0]->args[0]->slot, 0);
    CHECK(e->args[0]->args[1]->op == LK_X_CONST && e->args[0]->args[1]->v.i == 24);
    e = f->funcs[1].body; /* settings.fee[k] * months(n) */
    CHECK_INT(e->op, LK_X_MUL);
    CHECK_INT(e->args[0]->op, LK_X_INDEX);
    CHECK_INT(e->args[0]->args[0]->op, LK_X_PARAM);
    CHECK_INT(e->args[1]->op, LK_X_FUNC);
    CHECK_INT(e->args[1]->slot, 0);
    CHECK_INT(f->ntables, 1); /* fee, used twice, built once */
    CHECK_STR(f->tables[0].name, "fee");
    CHECK_INT(f->tables[0].n, 3);
    CHECK_STR(f->tables[0].keys[1], "2");
    CHECK(f->tables[0].vals[1].type == LK_VT_INT && f->tables[0].vals[1].i == 100000);

    /* Commands, yes/no, session, invalid. */
    CHECK_INT(f->ncommands, 4);
    CHECK_STR(f->commands[0].words[0], "menu");
    CHECK_INT(f->commands[0].action, LK_CMD_GOTO);
    CHECK_INT(f->commands[1].action, LK_CMD_BACK);
    CHECK_INT(f->commands[1].edge, -1);
    CHECK_INT(f->commands[2].action, LK_CMD_END);
    CHECK(f->commands[2].say != NULL && f->commands[2].edge >= 0);
    CHECK_INT(f->commands[3].action, LK_CMD_SAY);
    CHECK_STR(f->commands[3].words[1], "?"); /* all punctuation: kept as written */
    CHECK(f->nyes == 3 && !strcmp(f->yes[0], "ya") && f->nno == 2 && !strcmp(f->no[0], "tidak"));
    CHECK_INT(f->expire_ms, 30 * 60 * 1000);
    CHECK(f->expired != NULL);
    CHECK_INT(f->history, 8);
    CHECK_INT(f->max_steps, 32);
    CHECK_INT(f->invalid_limit, 2);
    CHECK(f->invalid != NULL && f->escape != NULL);
    CHECK(f->escape->nsegs == 3 && f->escape->segs[1].expr->op == LK_X_CONST &&
          !strcmp(f->escape->segs[1].expr->v.s, "165"));

    /* Data sets: fields, normalised names, prefixes, parent ranges. */
    CHECK_INT(f->ndatasets, 2);
    prov = &f->datasets[0];
    reg = &f->datasets[1];
    CHECK_STR(prov->name, "provinces");
    CHECK_STR(prov->file, "tests/unit/flows/data/provinces.json");
    CHECK_INT(prov->parent, -1);
    CHECK_INT(prov->nrows, 3);
    CHECK_INT(prov->nfields, 2);
    CHECK_STR(prov->field_names[0], "capital");
    CHECK_STR(prov->field_names[1], "code");
    CHECK(prov->rows[1].fields[1].type == LK_VT_INT && prov->rows[1].fields[1].i == 31);
    CHECK(prov->rows[0].fields[1].type == LK_VT_NULL);
    CHECK_STR(prov->rows[1].norm, "dki jakarta");
    CHECK_INT(prov->rows[1].naliases, 2);
    CHECK_STR(prov->rows[1].aliases[1], "dki");
    CHECK(prov->nstrip == 2 && !strcmp(prov->strip[0], "provinsi"));
    CHECK(prov->nreplace == 1 && !strcmp(prov->replace_to[0], "sumatera"));
    CHECK_INT(prov->fuzzy, 2);
    CHECK_INT(reg->fuzzy, 1);
    CHECK_INT(reg->parent, 0);
    CHECK_INT(reg->nclasses, 2);
    CHECK_STR(reg->classes[1], "kabupaten");
    CHECK_STR(reg->prefixes[0].word, "kota administrasi");
    CHECK_INT(reg->prefixes[0].klass, 0);
    CHECK_INT(reg->nprefixes, 7);
    /* Rows sorted by parent, file order kept within a parent. */
    CHECK_INT(reg->child_first[0], 0); /* Jawa Barat: 3273, 3204, 3201 */
    CHECK_INT(reg->child_count[0], 3);
    CHECK_INT(reg->child_first[1], 3); /* DKI: 3171, 3172 */
    CHECK_INT(reg->child_count[1], 2);
    CHECK_INT(reg->child_first[2], 5);
    CHECK_INT(reg->child_count[2], 1);
    CHECK_STR(reg->rows[0].id, "3273");
    CHECK_STR(reg->rows[1].id, "3204");
    CHECK_STR(reg->rows[2].id, "3201");
    CHECK_STR(reg->rows[3].id, "3171");
    CHECK_INT(reg->rows[3].parent, 1);
    CHECK_STR(reg->rows[0].bare, "bandung");
    CHECK_INT(reg->rows[0].klass, 0);
    CHECK_STR(reg->rows[1].bare, "bandung");
    CHECK_INT(reg->rows[1].klass, 1);
    CHECK_STR(reg->rows[2].bare, "bogor");         /* "Kab. Bogor" */
    CHECK_STR(reg->rows[3].bare, "jakarta pusat"); /* longest prefix wins */
    CHECK_STR(reg->rows[4].bare, "jakarta utara"); /* "Kota Adm." */
    CHECK_STR(reg->rows[4].name, "Kota Adm. Jakarta Utara");

    /* Choices. */
    s = &f->states[lk_flow_state_find(f, "province")];
    CHECK_INT(s->kind, LK_S_CHOICE);
    CHECK_INT(s->choice.dataset, 0);
    CHECK_INT(s->choice.var, var(f, "prov"));
    CHECK_INT(s->choice.id_slot, var(f, "prov_id"));
    CHECK_INT(s->choice.field_slots[1], var(f, "prov_code"));
    CHECK_INT(s->choice.parent_var, -1);
    CHECK_INT(s->choice.page, 10);
    CHECK(s->choice.confirm != NULL && s->choice.more == NULL);
    s = &f->states[lk_flow_state_find(f, "regency")];
    CHECK_INT(s->choice.parent_var, var(f, "prov_id"));
    CHECK_INT(s->choice.page, 5);
    CHECK_STR(s->choice.more_word, "lagi");
    CHECK(s->choice.elsewhere->nsegs == 4 &&
          s->choice.elsewhere->segs[2].expr->slot == LK_SLOT_MATCH_PARENT);
    s = &f->states[bye];
    CHECK_INT(s->kind, LK_S_END);
    CHECK(s->no_history);
    CHECK_INT(s->say[0]->segs[1].filter, LK_F_UPPER);

    CHECK_INT(lk_flow_check(f, &diag), 0);
    lk_flow_free(f);
}

/* ---- check warnings --------------------------------------------------------------------- */

/* Loads src (which must load) and checks it; want is a substring of the
 * warning expected at line:col. */
static void expect_warning(const char *test, const char *src, int line, int col, const char *path,
                           const char *want)
{
    lk_flow *f = NULL;
    size_t i, n;
    int found = 0;

    CHECK_INT(load_q(src, &f), LK_OK);
    if (!f) {
        fprintf(stderr, "  in %s:\n", test);
        lk_diag_print(&diag, stderr);
        return;
    }
    n = lk_flow_check(f, &diag);
    CHECK_INT(n, diag.n);
    for (i = 0; i < diag.n; i++) {
        const lk_diag_item *it = &diag.items[i];
        if (it->warning && it->line == line && it->col == col && strstr(it->msg, want) &&
            (!path || (it->path && !strcmp(it->path, path))))
            found = 1;
    }
    CHECK(found);
    if (!found) {
        fprintf(stderr, "  in %s: want %d:%d %s; got:\n", test, line, col, want);
        lk_diag_print(&diag, stderr);
    }
    lk_flow_free(f);
}

static void test_check(void)
{
    expect_warning("unreachable", H "'states': {'a': {'end': true},\n 'b': {'end': true}}}", 3, 2,
                   NULL, "state 'b' is never reached from the start 'a'");
    expect_warning("no way out",
                   H "'states': {'a': {'set': {'x': 1}, 'next': [{'if': 'x', 'goto': 'b'}]},\n"
                     " 'b': {'next': [{'if': 'x', 'goto': 'a'}]}}}",
                   2, 12, NULL, "no way out of state 'a'");
    expect_warning("all conditional",
                   H "'states': {'a': {'set': {'x': 1}, 'next': [{'if': 'x', 'goto': 'b'}]},\n"
                     " 'b': {'end': true}}}",
                   2, 12, "states.a.next", "every entry of next has an \"if\"");
    expect_warning("unset variable",
                   H "'invalid': {'message': 'no'},\n"
                     "'states': {'a': {'say': 'Hi {{ nama }}', 'next': 'b'},\n"
                     " 'b': {'input': {'var': 'nama', 'type': 'text'}, 'next': 'c'},\n"
                     " 'c': {'say': 'Bye {{ nama }}', 'end': true}}}",
                   3, 12, "states.a.say[0]",
                   "state 'a' reads 'nama', but no path from the start sets it first");
    expect_warning("unset in a function",
                   H "'functions': {'f': {'expr': 'y + 1'}},\n"
                     "'states': {'a': {'set': {'x': 'f()'}, 'next': 'b'},\n"
                     " 'b': {'set': {'y': 1}, 'end': true}}}",
                   3, 12, "states.a.set.x", "reads 'y'");
    expect_warning("word taken by command",
                   H "'commands': [{'name': 'menu', 'words': ['menu'], 'goto': 'a'}],\n"
                     "'states': {'a': {'menu': [{'title': 'Menu', 'goto': 'a'}], 'invalid': 'x'}}}",
                   3, 12, "states.a.menu[0]", "word 'menu' of option 1 is taken by command 'menu'");
    expect_warning("word taken by option",
                   H "'states': {'a': {'menu': [{'title': 'Satu', 'words': ['x'], 'goto': 'a'},\n"
                     " {'title': 'Dua', 'words': ['X'], 'goto': 'a'}], 'invalid': 'x'}}}",
                   2, 12, "states.a.menu[1]", "word 'x' of option 2 is taken by option 1");
    expect_warning("word is a number",
                   H "'states': {'a': {'menu': [{'title': 'Satu', 'words': ['2'], 'goto': 'a'},\n"
                     " {'title': 'Dua', 'goto': 'a'}], 'invalid': 'x'}}}",
                   2, 12, "states.a.menu[0]", "word '2' of option 1 is the number of option 2");
    expect_warning("same title",
                   H "'states': {'a': {'menu': [{'title': 'Satu', 'goto': 'a'},\n"
                     " {'title': 'satu!', 'goto': 'a'}], 'invalid': 'x'}}}",
                   2, 12, "states.a.menu[1]", "options 1 and 2 have the same title");
    expect_warning("button title",
                   H "'states': {'a': {'menu': [{'title': 'Cek Status Kepesertaan', 'goto': 'a'}"
                     "], 'invalid': 'x'}}}",
                   2, 12, "states.a.menu[0]",
                   "the title of option 1 has 22 characters; WhatsApp buttons show at most 20");
    expect_warning("list title",
                   H "'states': {'a': {'menu': [{'title': '1', 'goto': 'a'}, {'title': '2', "
                     "'goto': 'a'}, {'title': '3', 'goto': 'a'}, {'title': "
                     "'Pendaftaran Peserta Baru JKN', 'goto': 'a'}], 'invalid': 'x'}}}",
                   2, 12, "states.a.menu[3]",
                   "the title of option 4 has 28 characters; WhatsApp list rows show at most 24");
    expect_warning("too many options",
                   H "'states': {'a': {'menu': [{'title': 'a', 'goto': 'a'}, {'title': 'b', "
                     "'goto': 'a'}, {'title': 'c', 'goto': 'a'}, {'title': 'd', 'goto': 'a'}, "
                     "{'title': 'e', 'goto': 'a'}, {'title': 'f', 'goto': 'a'}, {'title': 'g', "
                     "'goto': 'a'}, {'title': 'h', 'goto': 'a'}, {'title': 'i', 'goto': 'a'}, "
                     "{'title': 'j', 'goto': 'a'}, {'title': 'k', 'goto': 'a'}], 'invalid': 'x'}}}",
                   2, 12, "states.a.menu",
                   "11 options: more than 10 options cannot be a WhatsApp list; shown as text");
    expect_warning("command word taken",
                   H "'commands': [{'name': 'menu', 'words': ['menu'], 'goto': 'a'},\n"
                     " {'name': 'home', 'words': ['Menu'], 'goto': 'a'}],\n"
                     "'states': {'a': {'end': true}}}",
                   0, 0, "commands[1].words",
                   "word 'menu' of command 'home' is taken by command 'menu'");
}

static void test_choice_page(void)
{
    lk_flow *f = NULL;
    size_t i;
    int found = 0;

    lk_diag_clear(&diag);
    CHECK_INT(lk_flow_load("tests/unit/flows/good.json", &f, &diag), LK_OK);
    if (!f)
        return;
    /* A flow is immutable once loaded; this test bends that rule to reach
     * a warning without another data set file. */
    f->states[lk_flow_state_find(f, "regency")].choice.page = 12;
    CHECK_INT(lk_flow_check(f, &diag), 1);
    for (i = 0; i < diag.n; i++)
        if (diag.items[i].warning && diag.items[i].line == 20 &&
            strstr(diag.items[i].msg, "a page of 12 rows cannot be a WhatsApp list"))
            found = 1;
    CHECK(found);
    lk_flow_free(f);
}

/* "console": plain texts for a chat client, each key checked, handed out in the order of
 * the format's list of keys. */
static void test_console_texts(void)
{
    lk_flow *f = NULL;
    const char *k, *t;

    expect_error("unknown console key",
                 H "'console': {'connecting': 'Connecting', 'conecting': 'x'},\n"
                   "'states': {'a': {'end': true}}}",
                 1, 2, 41, "console.conecting", "unknown key 'conecting'");
    expect_error("console text not a string",
                 H "'console': {'more': 3},\n'states': {'a': {'end': true}}}", 1, 2, 21,
                 "console.more", "expected a string");
    expect_error("empty console text",
                 H "'console': {'error': ''},\n'states': {'a': {'end': true}}}", 1, 2, 22,
                 "console.error", "an empty text");
    CHECK_INT(load_q(H "'console': {'more': 'Next page', 'lang': 'en'},\n"
                       "'states': {'a': {'end': true}}}",
                     &f),
              LK_OK);
    if (!f)
        return;
    CHECK(lk_flow_console_text(f, 0, &k, &t) && !strcmp(k, "lang") && !strcmp(t, "en"));
    CHECK(lk_flow_console_text(f, 1, &k, &t) && !strcmp(k, "more") && !strcmp(t, "Next page"));
    CHECK(!lk_flow_console_text(f, 2, &k, &t));
    lk_flow_free(f);
}

int main(void)
{
    test_json_errors();
    test_limits();
    test_format_errors();
    test_extension_errors();
    test_keeps_going();
    test_expr_errors();
    test_expr_bounds();
    test_expr_shapes();
    test_loops();
    test_conditional_loop_loads();
    test_includes();
    test_dataset_errors();
    test_children_error();
    test_good_flow();
    test_check();
    test_choice_page();
    test_console_texts();
    lk_diag_clear(&diag);
    return test_done("test_flow");
}
