/* The read-only facts of a loaded flow (flow.h) and freeing it. */
#include <stdlib.h>
#include <string.h>

#include "flow_model.h"

void lk_flow_free(lk_flow *flow)
{
    int i;
    if (!flow)
        return;
    for (i = 0; i < flow->nstates; i++)
        if (flow->states[i].input.has_re)
            regfree(&flow->states[i].input.re);
    lk_arena_free(&flow->arena);
    free(flow);
}

const char *lk_flow_name(const lk_flow *flow)
{
    return flow->name;
}

const char *lk_flow_path(const lk_flow *flow)
{
    return flow->path;
}

int lk_flow_state_count(const lk_flow *flow)
{
    return flow->nstates;
}

const char *lk_flow_state_name(const lk_flow *flow, int state)
{
    return state >= 0 && state < flow->nstates ? flow->states[state].name : NULL;
}

int lk_flow_state_find(const lk_flow *flow, const char *name)
{
    int lo = 0, hi = flow->nstates - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, s = flow->state_by_name[mid];
        int c = strcmp(name, flow->states[s].name);
        if (c == 0)
            return s;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

int lk_flow_console_text(const lk_flow *flow, int i, const char **key, const char **text)
{
    if (i < 0 || i >= flow->nconsole)
        return 0;
    *key = flow->console_keys[i];
    *text = flow->console_texts[i];
    return 1;
}

int lk_flow_edge_count(const lk_flow *flow)
{
    return flow->nedges;
}

void lk_flow_edge(const lk_flow *flow, int e, int *from, int *to, const char **what)
{
    const lk_edge_info *ei = e >= 0 && e < flow->nedges ? &flow->edges[e] : NULL;
    if (from)
        *from = ei ? ei->from : -1;
    if (to)
        *to = ei ? ei->to : -1;
    if (what)
        *what = ei ? ei->what : NULL;
}
