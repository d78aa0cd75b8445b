/* Expressions and templates at run time. The loader compiled every
 * expression to an lk_expr tree with names resolved to slots, so evaluation
 * is a walk over the tree with no parsing and no allocation: values are
 * integers, null, or strings borrowed from the flow and the session.
 *
 * Integer arithmetic wraps (computed in uint64_t) rather than being undefined
 * on overflow; money never comes near it, but a flow author's mistake must
 * not become undefined behaviour. */
#include "engine_int.h"

#include <string.h>

static const lk_value NULLV = {LK_VT_NULL, 0, NULL, 0};

static lk_value v_int(int64_t i)
{
    lk_value v = {LK_VT_INT, i, NULL, 0};
    return v;
}

int64_t lk_value_int(lk_value v)
{
    size_t k = 0;
    int neg = 0;
    uint64_t u = 0;

    if (v.type == LK_VT_INT)
        return v.i;
    if (v.type != LK_VT_STR)
        return 0;
    if (k < v.n && (v.s[k] == '-' || v.s[k] == '+'))
        neg = v.s[k++] == '-';
    for (; k < v.n && v.s[k] >= '0' && v.s[k] <= '9'; k++) {
        if (u > (uint64_t)INT64_MAX / 10) { /* saturate: more digits than int64 */
            u = (uint64_t)INT64_MAX;
            break;
        }
        u = u * 10 + (uint64_t)(v.s[k] - '0');
        if (u > (uint64_t)INT64_MAX)
            u = (uint64_t)INT64_MAX;
    }
    return neg ? -(int64_t)u : (int64_t)u;
}

int lk_truthy(lk_value v)
{
    switch (v.type) {
    case LK_VT_INT: return v.i != 0;
    case LK_VT_STR: return v.n != 0;
    default: return 0;
    }
}

/* A value as text: integers formatted into tmp. */
static const char *text_of(lk_value v, char tmp[24], size_t *n)
{
    switch (v.type) {
    case LK_VT_INT: return lk_fmt_int(tmp, v.i, n);
    case LK_VT_STR: *n = v.n; return v.s ? v.s : "";
    default: *n = 0; return "";
    }
}

/* Integers compare as numbers; anything else (a string or null on either
 * side) compares as text, byte by byte. */
static int compare(lk_value a, lk_value b)
{
    char ta[24], tb[24];
    const char *pa, *pb;
    size_t na, nb;
    int c;

    if (a.type == LK_VT_INT && b.type == LK_VT_INT)
        return (a.i > b.i) - (a.i < b.i);
    pa = text_of(a, ta, &na);
    pb = text_of(b, tb, &nb);
    c = memcmp(pa, pb, na < nb ? na : nb);
    if (c)
        return c < 0 ? -1 : 1;
    return (na > nb) - (na < nb);
}

static int64_t wrap_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}
static int64_t wrap_sub(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}
static int64_t wrap_mul(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a * (uint64_t)b);
}

static int64_t safe_div(int64_t a, int64_t b)
{
    if (b == 0)
        return 0;
    if (b == -1)
        return wrap_sub(0, a); /* INT64_MIN / -1 overflows */
    return a / b;
}

static int64_t safe_mod(int64_t a, int64_t b)
{
    if (b == 0 || b == -1)
        return 0;
    return a % b;
}

/* "08:00" -> 480; anything else 0. */
static int64_t minutes_of(lk_value v)
{
    char tmp[24];
    size_t n, k = 0;
    const char *p = text_of(v, tmp, &n);
    int h = 0, m = 0, nd = 0;

    while (k < n && p[k] >= '0' && p[k] <= '9' && nd < 2) {
        h = h * 10 + (p[k++] - '0');
        nd++;
    }
    if (!nd || k + 3 != n || p[k] != ':' || p[k + 1] < '0' || p[k + 1] > '9' || p[k + 2] < '0' ||
        p[k + 2] > '9')
        return 0;
    m = (p[k + 1] - '0') * 10 + (p[k + 2] - '0');
    if (h > 24 || m > 59)
        return 0;
    return h * 60 + m;
}

/* Kept out of line so its buffers are on the stack only while it runs, not
 * in every frame of a deep evaluation. */
static __attribute__((noinline)) int contains_word(lk_value text, lk_value word)
{
    char t[LK_NORM_MAX], w[256], tt[24], tw[24];
    size_t tn, wn;
    const char *pt = text_of(text, tt, &tn), *pw = text_of(word, tw, &wn);

    tn = lk_text_norm(pt, tn, t, sizeof t);
    wn = lk_text_norm(pw, wn, w, sizeof w);
    return lk_text_has_word(t, tn, w, wn);
}

static int64_t clamp_offset(int64_t off)
{
    return off < -1440 ? -1440 : off > 1440 ? 1440 : off;
}

static lk_value eval(const lk_ctx *c, const lk_expr *e, const lk_value *params, int nparams,
                     int depth);

static lk_value builtin(const lk_ctx *c, const lk_expr *e, const lk_value *params, int nparams,
                        int depth)
{
    lk_value a;
    lk_civil civ;
    int i;
    int64_t r;

    switch ((lk_builtin)e->slot) {
    case LK_FN_MIN:
    case LK_FN_MAX:
        if (e->nargs < 1)
            return NULLV;
        r = lk_value_int(eval(c, e->args[0], params, nparams, depth));
        for (i = 1; i < e->nargs; i++) {
            int64_t x = lk_value_int(eval(c, e->args[i], params, nparams, depth));
            if (e->slot == LK_FN_MIN ? x < r : x > r)
                r = x;
        }
        return v_int(r);
    case LK_FN_ABS:
        if (e->nargs < 1)
            return NULLV;
        r = lk_value_int(eval(c, e->args[0], params, nparams, depth));
        return v_int(r < 0 ? wrap_sub(0, r) : r);
    case LK_FN_IF:
        if (e->nargs < 3)
            return NULLV;
        a = eval(c, e->args[0], params, nparams, depth);
        return eval(c, e->args[lk_truthy(a) ? 1 : 2], params, nparams, depth);
    case LK_FN_LOCAL_WEEKDAY:
    case LK_FN_LOCAL_MINUTES:
        if (e->nargs < 1)
            return NULLV;
        r = clamp_offset(lk_value_int(eval(c, e->args[0], params, nparams, depth)));
        lk_civil_from_ms(c->now_ms, (int)r, &civ);
        return v_int(e->slot == LK_FN_LOCAL_WEEKDAY ? civ.wday : civ.hour * 60 + civ.min);
    case LK_FN_MINUTES:
        if (e->nargs < 1)
            return NULLV;
        return v_int(minutes_of(eval(c, e->args[0], params, nparams, depth)));
    case LK_FN_CONTAINS: {
        lk_value w;
        if (e->nargs < 2)
            return NULLV;
        a = eval(c, e->args[0], params, nparams, depth);
        w = eval(c, e->args[1], params, nparams, depth);
        return v_int(contains_word(a, w));
    }
    case LK_FN_LEN: {
        char tmp[24];
        size_t n;
        const char *p;
        if (e->nargs < 1)
            return NULLV;
        a = eval(c, e->args[0], params, nparams, depth);
        p = text_of(a, tmp, &n);
        return v_int((int64_t)lk_utf8_len(p, n));
    }
    default: return NULLV;
    }
}

static lk_value call(const lk_ctx *c, const lk_expr *e, const lk_value *params, int nparams,
                     int depth)
{
    lk_value frame[LK_EVAL_ARGS];
    const lk_func *f;
    int i;

    if (e->slot < 0 || e->slot >= c->flow->nfuncs || depth >= LK_EVAL_DEPTH)
        return NULLV;
    f = &c->flow->funcs[e->slot];
    if (f->nparams > LK_EVAL_ARGS || e->nargs > LK_EVAL_ARGS || !f->body)
        return NULLV;
    for (i = 0; i < f->nparams; i++)
        frame[i] = i < e->nargs ? eval(c, e->args[i], params, nparams, depth) : NULLV;
    return eval(c, f->body, frame, f->nparams, depth + 1);
}

static lk_value table_get(const lk_ctx *c, const lk_expr *e, const lk_value *params, int nparams,
                          int depth)
{
    const lk_table *t;
    lk_value key;
    char tmp[24];
    const char *k;
    size_t kn;
    int i;

    if (e->slot < 0 || e->slot >= c->flow->ntables || e->nargs < 1)
        return NULLV;
    t = &c->flow->tables[e->slot];
    key = eval(c, e->args[0], params, nparams, depth);
    k = text_of(key, tmp, &kn);
    for (i = 0; i < t->n; i++)
        if (strlen(t->keys[i]) == kn && memcmp(t->keys[i], k, kn) == 0)
            return t->vals[i];
    return NULLV;
}

static lk_value eval(const lk_ctx *c, const lk_expr *e, const lk_value *params, int nparams,
                     int depth)
{
    lk_value a, b;
    int64_t x, y;

    if (!e)
        return NULLV;
    switch (e->op) {
    case LK_X_CONST: return e->v;
    case LK_X_VAR: return lk_var_get(c->s, e->slot);
    case LK_X_PARAM: return e->slot >= 0 && e->slot < nparams ? params[e->slot] : NULLV;
    case LK_X_NEG:
        return v_int(wrap_sub(0, lk_value_int(eval(c, e->args[0], params, nparams, depth))));
    case LK_X_NOT: return v_int(!lk_truthy(eval(c, e->args[0], params, nparams, depth)));
    case LK_X_AND:
        if (!lk_truthy(eval(c, e->args[0], params, nparams, depth)))
            return v_int(0);
        return v_int(lk_truthy(eval(c, e->args[1], params, nparams, depth)));
    case LK_X_OR:
        if (lk_truthy(eval(c, e->args[0], params, nparams, depth)))
            return v_int(1);
        return v_int(lk_truthy(eval(c, e->args[1], params, nparams, depth)));
    case LK_X_BUILTIN: return builtin(c, e, params, nparams, depth);
    case LK_X_FUNC: return call(c, e, params, nparams, depth);
    case LK_X_INDEX: return table_get(c, e, params, nparams, depth);
    default: break;
    }
    /* binary operators */
    if (e->nargs < 2)
        return NULLV;
    a = eval(c, e->args[0], params, nparams, depth);
    b = eval(c, e->args[1], params, nparams, depth);
    switch (e->op) {
    case LK_X_EQ: return v_int(compare(a, b) == 0);
    case LK_X_NE: return v_int(compare(a, b) != 0);
    case LK_X_LT: return v_int(compare(a, b) < 0);
    case LK_X_LE: return v_int(compare(a, b) <= 0);
    case LK_X_GT: return v_int(compare(a, b) > 0);
    case LK_X_GE: return v_int(compare(a, b) >= 0);
    default: break;
    }
    x = lk_value_int(a);
    y = lk_value_int(b);
    switch (e->op) {
    case LK_X_ADD: return v_int(wrap_add(x, y));
    case LK_X_SUB: return v_int(wrap_sub(x, y));
    case LK_X_MUL: return v_int(wrap_mul(x, y));
    case LK_X_DIV: return v_int(safe_div(x, y));
    case LK_X_MOD: return v_int(safe_mod(x, y));
    default: return NULLV;
    }
}

lk_value lk_eval(const lk_ctx *c, const lk_expr *e)
{
    return eval(c, e, NULL, 0, 0);
}

/* ---- templates ---- */

void lk_put_value(lk_buf *b, lk_value v)
{
    char tmp[24];
    size_t n;
    const char *p = text_of(v, tmp, &n);
    lk_buf_put(b, p, n);
}

static void put_filtered(lk_buf *b, lk_value v, lk_filter f)
{
    size_t start = b->len, i;

    if (v.type == LK_VT_NULL) /* an unset variable renders as nothing */
        return;
    switch (f) {
    case LK_F_MONEY: lk_fmt_money(b, lk_value_int(v)); return;
    case LK_F_NUMBER: lk_fmt_thousands(b, lk_value_int(v)); return;
    case LK_F_UPPER:
    case LK_F_LOWER:
        lk_put_value(b, v);
        if (b->oom)
            return;
        for (i = start; i < b->len; i++) {
            char ch = b->p[i];
            if (f == LK_F_UPPER && ch >= 'a' && ch <= 'z')
                b->p[i] = (char)(ch - 32);
            else if (f == LK_F_LOWER && ch >= 'A' && ch <= 'Z')
                b->p[i] = (char)(ch + 32);
        }
        return;
    default: lk_put_value(b, v); return;
    }
}

void lk_render(const lk_ctx *c, const lk_template *t, lk_buf *b)
{
    int i;

    if (!t)
        return;
    for (i = 0; i < t->nsegs; i++) {
        const lk_tseg *sg = &t->segs[i];
        if (!sg->expr)
            lk_buf_put(b, sg->lit, sg->n);
        else
            put_filtered(b, lk_eval(c, sg->expr), sg->filter);
    }
}
