/* Personal data in a step: the variables of inputs marked "sensitive" (a
 * NIK, a card number, a date of birth).
 *
 * The engine keeps them only while the flow needs them: a state's "clear"
 * list unsets variables when the state is entered (after its say texts,
 * which may still show them), and an end state unsets every sensitive
 * variable, since the next message starts over anyway. And it tells the
 * caller what was sensitive in the step (lk_out_sensitive_input,
 * lk_out_sensitive_values): the message itself when a sensitive input read
 * it, and every sensitive value the session held or took, so that the log
 * can mask them wherever they appear, in the message or in a reply that
 * repeats them. Pure, as the rest of the engine: it only notes. */
#include "engine_int.h"

#include <string.h>

static int is_sensitive(const lk_flow *flow, int slot)
{
    int i;

    for (i = 0; i < flow->nsensitive; i++)
        if (flow->sensitive[i] == slot)
            return 1;
    return 0;
}

/* Notes the value of slot, if set. Integers in decimal, as a reply would
 * show them. */
static void note(const lk_session *s, int slot, lk_out *o)
{
    lk_value v = lk_var_get(s, slot);
    char buf[24], *p = buf + sizeof buf;
    uint64_t u;

    if (v.type == LK_VT_STR) {
        lk_out_secret(o, 0, v.s, v.n);
    } else if (v.type == LK_VT_INT) {
        u = v.i < 0 ? (uint64_t)0 - (uint64_t)v.i : (uint64_t)v.i;
        do
            *--p = (char)('0' + u % 10);
        while ((u /= 10) > 0);
        if (v.i < 0)
            *--p = '-';
        lk_out_secret(o, 0, p, (size_t)(buf + sizeof buf - p));
    }
}

/* Unsets slot, wiping the text it held: a cleared value must not linger in
 * the session's memory either. */
static void wipe(lk_session *s, int slot)
{
    lk_var *x;

    if (slot < 0 || slot >= s->nvars)
        return;
    x = &s->vars[slot];
    if (x->s && x->cap)
        memset(x->s, 0, x->cap);
    x->len = 0;
    x->i = 0;
    x->type = LK_VT_NULL;
}

void lk_sensitive_held(const lk_flow *flow, const lk_session *s, lk_out *o)
{
    int i;

    for (i = 0; i < flow->nsensitive; i++)
        note(s, flow->sensitive[i], o);
}

void lk_sensitive_read(const lk_flow *flow, const lk_state *st, const lk_session *s, lk_out *o)
{
    (void)flow;
    if (st->kind != LK_S_INPUT || !st->input.sensitive)
        return;
    lk_out_secret(o, 1, NULL, 0);
    note(s, st->var, o);
    note(s, LK_SLOT_MATCH, o); /* a value waiting for "ya" */
}

void lk_sensitive_clear_state(const lk_flow *flow, const lk_state *st, lk_session *s, lk_out *o)
{
    int i;

    for (i = 0; i < st->nclear; i++) {
        if (is_sensitive(flow, st->clear[i]))
            note(s, st->clear[i], o); /* its says may have shown it */
        wipe(s, st->clear[i]);
    }
}

void lk_sensitive_clear_all(const lk_flow *flow, lk_session *s, lk_out *o)
{
    int i;

    for (i = 0; i < flow->nsensitive; i++) {
        note(s, flow->sensitive[i], o);
        wipe(s, flow->sensitive[i]);
    }
}
