/* Unit tests of the flow's "outside_window" block (src/flow/window.c): the
 * template a WhatsApp reply goes as outside the 24-hour window, read from the
 * flow and refused at load, with file:line:col, where Meta would refuse it. */
#include "loket/flow.h"
#include "test.h"

#define H "{\"loket\": 1, \"name\": \"t\", \"start\": \"a\",\n"
#define S "\"states\": {\"a\": {\"say\": \"hi\", \"end\": true}}"

/* Loads src; with want, expects one error at line:col holding want. */
static const lk_flow_template *load(const char *src, int line, int col, const char *want,
                                    lk_flow **f)
{
    lk_diag diag = {0};
    lk_err e = lk_flow_load_string("w.json", src, strlen(src), f, &diag);
    size_t i;
    int found = 0;

    if (!want) {
        CHECK_INT(e, LK_OK);
        if (e != LK_OK)
            lk_diag_print(&diag, stderr);
        lk_diag_clear(&diag);
        return *f ? lk_flow_outside_window(*f) : NULL;
    }
    CHECK_INT(e, LK_EFLOW);
    for (i = 0; i < diag.n; i++)
        if (diag.items[i].line == line && diag.items[i].col == col && diag.items[i].msg &&
            strstr(diag.items[i].msg, want) && diag.items[i].path &&
            !strncmp(diag.items[i].path, "outside_window", 14))
            found = 1;
    CHECK(found);
    if (!found) {
        fprintf(stderr, "  want an error at %d:%d with '%s'; got:\n", line, col, want);
        lk_diag_print(&diag, stderr);
    }
    lk_diag_clear(&diag);
    return NULL;
}

static void test_read(void)
{
    lk_flow *f = NULL;
    const lk_flow_template *t;

    t = load(H "\"outside_window\": {\"template\": \"chika_lanjut\", \"language\": \"id\",\n"
               "  \"params\": [\"Sobat JKN\", \"165\"]},\n" S "}",
             0, 0, NULL, &f);
    CHECK(t != NULL);
    if (t) {
        CHECK_STR(t->name, "chika_lanjut");
        CHECK_STR(t->language, "id");
        CHECK_INT(t->nparams, 2);
        CHECK_STR(t->params[1], "165");
    }
    lk_flow_free(f);
    f = NULL;
    t = load(H S "}", 0, 0, NULL, &f);
    CHECK(f != NULL && t == NULL); /* no block: no template */
    lk_flow_free(f);
    f = NULL;
    t = load(H "\"outside_window\": {\"template\": \"x\", \"language\": \"en_US\"},\n" S "}", 0, 0,
             NULL, &f);
    CHECK(t && t->nparams == 0);
    lk_flow_free(f);
}

static void test_errors(void)
{
    lk_flow *f = NULL;

    load(H "\"outside_window\": {\"language\": \"id\"},\n" S "}", 2, 19, "template", &f);
    load(H "\"outside_window\": {\"template\": \"Chika Lanjut\", \"language\": \"id\"},\n" S "}", 2,
         32, "lowercase letters, digits and _", &f);
    load(H "\"outside_window\": {\"template\": \"a\", \"language\": \"indonesia!\"},\n" S "}", 2,
         49, "not a language code", &f);
    load(H "\"outside_window\": {\"template\": \"a\", \"language\": \"id\",\n"
           "  \"params\": [\"ok\", \"two\\nlines\"]},\n" S "}",
         3, 20, "new line", &f);
    load(H "\"outside_window\": {\"template\": \"a\", \"language\": \"id\",\n"
           "  \"params\": [\"a     b\"]},\n" S "}",
         3, 14, "four spaces", &f);
    load(H "\"outside_window\": {\"template\": \"a\", \"language\": \"id\", \"param\": []},\n" S
           "}",
         2, 55, "did you mean 'params'", &f);
    load(H "\"outside_window\": {\"template\": \"a\", \"language\": \"id\",\n"
           "  \"params\": [7]},\n" S "}",
         3, 14, "expected", &f);
}

int main(void)
{
    test_read();
    test_errors();
    return test_done("test_flow_window");
}
