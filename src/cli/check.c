/* `loket check FLOW`: load a flow and report every problem. Exit 0 when
 * clean, 1 when there are problems, 2 when the flow cannot be read. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "loket/core.h"

int cmd_check(int argc, char **argv)
{
    lk_flow *flow = NULL;
    lk_diag diag = {0};
    lk_err err;
    size_t problems;

    if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: loket check FLOW\n\n"
               "Loads FLOW (and what it includes) and reports each problem as\n"
               "file:line:col: path: what. Beyond load errors it reports transitions\n"
               "to undefined states, unreachable states, dead ends, template variables\n"
               "no path sets, menu choices that can never be selected, and menus over\n"
               "WhatsApp's limits. Exit 0 clean, 1 problems, 2 unreadable.\n");
        return argc == 2 ? 0 : 2;
    }
    err = lk_flow_load(argv[1], &flow, &diag);
    if (err == LK_EIO || (err != LK_OK && diag.n == 0)) {
        lk_diag_print(&diag, stderr);
        if (diag.n == 0)
            fprintf(stderr, "%s: %s\n", argv[1], lk_strerror(err));
        lk_diag_clear(&diag);
        return 2;
    }
    if (flow)
        lk_flow_check(flow, &diag);
    problems = diag.n;
    lk_diag_print(&diag, stdout);
    if (problems)
        printf("%s: %zu problem%s\n", argv[1], problems, problems == 1 ? "" : "s");
    else
        printf("%s: ok, %d states, %d transitions\n", argv[1], lk_flow_state_count(flow),
               lk_flow_edge_count(flow));
    lk_diag_clear(&diag);
    lk_flow_free(flow);
    return problems ? 1 : 0;
}
