/* Unit tests of the flow loader (src/flow): each kind of load error with
 * its exact line and column (the compiled model of a good flow and the check
 * warnings are in test_flow_model.c). Inline flows are written with ' for "
 * to stay readable; the columns are those of the text after that swap (one
 * byte for one byte). Runs from the repository root (CTest sets it). */
#include "flow_test.h"

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
    lk_diag_clear(&diag);
    return test_done("test_flow");
}
