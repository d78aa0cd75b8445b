/* The helpers of the flow loader's unit tests (test_flow.c, test_flow_model.c):
 * inline flows written with ' for ", loaded from a string, and the check
 * that a flow fails with an error at an exact line and column. */
#ifndef LOKET_TEST_FLOW_H
#define LOKET_TEST_FLOW_H

#include <stdlib.h>
#include <string.h>

#include "flow_model.h"
#include "loket/flow.h"
#include "test.h"

static lk_diag diag;
static char qbuf[16384];

/* The inline flow with ' turned into ". */
static inline const char *q(const char *src)
{
    size_t i, n = strlen(src);
    if (n >= sizeof qbuf)
        abort();
    for (i = 0; i <= n; i++)
        qbuf[i] = src[i] == '\'' ? '"' : src[i];
    return qbuf;
}

static inline lk_err load_q(const char *src, lk_flow **out)
{
    const char *json = q(src);
    lk_diag_clear(&diag);
    return lk_flow_load_string("t.json", json, strlen(json), out, &diag);
}

/* The flow fails with nerr errors (0: any number), one of them at
 * line:col, with path (unless NULL) and want in its message. */
static inline void expect_error(const char *test, const char *src, size_t nerr, int line, int col,
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

#endif
