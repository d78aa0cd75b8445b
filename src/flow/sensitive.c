/* Personal data in a flow: inputs marked `"sensitive": true` (a NIK, a card
 * number, a date of birth) and the states' `"clear"` lists, which unset
 * variables once the flow no longer needs them. The engine clears a state's
 * list when it enters it, after its say texts, and every sensitive variable
 * at an end state; whoever logs a step masks what the engine says was
 * sensitive (src/runtime/mask.c). */
#include "load.h"

#include <stdio.h>
#include <string.h>

void ld_state_clear(ld *l, lk_state *s, const cJSON *st)
{
    char what[300];
    const cJSON *c, *e;
    size_t mark;
    int k;

    snprintf(what, sizeof what, "state '%s'", s->name);
    if (!(c = ld_member(l, st, "clear", LD_ARR, 0, what)))
        return;
    mark = ld_push(l, "clear");
    if (!(s->clear = ld_alloc(l, ((size_t)cJSON_GetArraySize(c) + 1) * sizeof *s->clear))) {
        ld_pop(l, mark);
        return;
    }
    for (e = c->child, k = 0; e; e = e->next, k++) {
        size_t m2 = ld_push_i(l, k);
        int slot = cJSON_IsString(e) ? ld_var(l, e->valuestring) : -1;

        if (!cJSON_IsString(e))
            ld_err(l, e, "clear lists variable names, not %s", ld_type_name(e));
        else if (slot >= 0 && slot < LK_SLOT__RESERVED)
            ld_err(l, e, "'%s' is set by the engine for each message; it cannot be cleared",
                   e->valuestring);
        else if (slot < 0)
            ld_err(l, e, "'%s' is not a variable of the flow (nothing sets it)", e->valuestring);
        else
            s->clear[s->nclear++] = slot;
        ld_pop(l, m2);
    }
    ld_pop(l, mark);
}

void ld_sensitive(ld *l)
{
    lk_flow *f = l->f;
    int i, k, n = 0;

    for (i = 0; i < f->nstates; i++)
        n += f->states[i].kind == LK_S_INPUT && f->states[i].input.sensitive;
    if (!n || !(f->sensitive = ld_alloc(l, (size_t)n * sizeof *f->sensitive)))
        return;
    for (i = 0; i < f->nstates; i++) {
        const lk_state *s = &f->states[i];

        if (s->kind != LK_S_INPUT || !s->input.sensitive || s->var < 0)
            continue;
        for (k = 0; k < f->nsensitive && f->sensitive[k] != s->var; k++)
            ;
        if (k == f->nsensitive)
            f->sensitive[f->nsensitive++] = s->var;
    }
}
