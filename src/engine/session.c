/* Sessions: the state of one conversation, its variables and its `kembali`
 * history, and their compact encoding for the store.
 *
 * The encoding names states, variables and rows instead of numbering them,
 * so a session saved under one flow still means the same after a reload that
 * added or reordered states. It is text with length-prefixed strings, so any
 * bytes survive, and it ends with '.', so a reader knows where it stops:
 *
 *   session = "lk1" "s" str ["t" int ";"] ["i" int ";"] ["e"] ("h" str)*
 *             [("c" | "d") ("r" str)+] ["g" int ";"] ["w" int ";" ("o" int ";")*]
 *             ("v" str value)* "."
 *   value   = "i" int ";" | "s" str
 *   str     = length ":" bytes          (length in decimal)
 *   int     = ["-"] digits
 *
 * s the current state, t the time of the last message (Unix ms), i the
 * invalid replies in a row, e ended, h the history (oldest first), c or d a
 * pending confirmation or disambiguation with its candidate row ids r, g the
 * page of the choice list, w a pending question of a menu or an input (1 a
 * confirmation, 3 an offer to go on after expiry) with its option numbers o,
 * v each variable that is set (but not `input`,
 * which every message sets again). Fields appear in this order or not at all
 * when they hold their default, so encoding is canonical: encode, decode and
 * encode again gives the same bytes. */
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>

#define ENC_MAX_HIST 4096 /* history entries a decoder accepts */
#define ENC_MAX_INVALID 1000000
#define ENC_MAX_PAGE 1000000 /* any page past the list's end shows the first */

int lk_session_fit(lk_session *s, const lk_flow *flow)
{
    int i;

    if (flow->nvars > s->capvars) {
        lk_var *v = realloc(s->vars, (size_t)flow->nvars * sizeof *v);
        if (!v)
            return -1;
        memset(v + s->capvars, 0, (size_t)(flow->nvars - s->capvars) * sizeof *v);
        s->vars = v;
        s->capvars = flow->nvars;
    }
    for (i = s->nvars; i < flow->nvars; i++)
        s->vars[i].type = LK_VT_NULL;
    s->nvars = flow->nvars;
    if (flow->history > s->caphist) {
        int *h = realloc(s->hist, (size_t)flow->history * sizeof *h);
        if (!h)
            return -1;
        s->hist = h;
        s->caphist = flow->history;
    }
    if (s->nhist > flow->history) {
        int drop = s->nhist - (flow->history > 0 ? flow->history : 0);
        memmove(s->hist, s->hist + drop, (size_t)(s->nhist - drop) * sizeof *s->hist);
        s->nhist -= drop;
    }
    return 0;
}

lk_session *lk_session_new(const lk_flow *flow)
{
    lk_session *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    if (lk_session_fit(s, flow) < 0) {
        lk_session_free(s);
        return NULL;
    }
    lk_session_reset(s, flow);
    return s;
}

void lk_session_free(lk_session *s)
{
    int i;

    if (!s)
        return;
    for (i = 0; i < s->capvars; i++)
        free(s->vars[i].s);
    free(s->vars);
    free(s->hist);
    free(s);
}

void lk_session_reset(lk_session *s, const lk_flow *flow)
{
    int i;

    /* A failure here leaves fewer slots than the flow has; the next step
     * tries again and reports LK_ENOMEM. */
    (void)lk_session_fit(s, flow);
    s->state = flow->start;
    s->last_ms = 0;
    s->invalid = 0;
    s->ended = 0;
    s->nhist = 0;
    s->pending = LK_PEND_NONE;
    s->ncand = 0;
    s->page = 0;
    s->child = -1;
    for (i = 0; i < s->nvars; i++)
        s->vars[i].type = LK_VT_NULL;
}

/* ---- variables ---- */

lk_value lk_var_get(const lk_session *s, int slot)
{
    lk_value v = {LK_VT_NULL, 0, NULL, 0};
    const lk_var *x;

    if (slot < 0 || slot >= s->nvars)
        return v;
    x = &s->vars[slot];
    v.type = x->type;
    if (x->type == LK_VT_INT) {
        v.i = x->i;
    } else if (x->type == LK_VT_STR) {
        v.s = x->s;
        v.n = x->len;
    }
    return v;
}

int lk_var_set_str(lk_session *s, int slot, const char *p, size_t n)
{
    lk_var *x;

    if (slot < 0 || slot >= s->nvars)
        return 0;
    x = &s->vars[slot];
    if (p == x->s && x->s && n < x->cap) { /* assigned (a prefix of) itself */
        x->s[n] = '\0';
        x->len = n;
        x->type = LK_VT_STR;
        return 0;
    }
    if (n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 16;
        char *np;
        while (cap < n + 1)
            cap *= 2;
        np = realloc(x->s, cap);
        if (!np)
            return -1;
        x->s = np;
        x->cap = cap;
    }
    if (n)
        memmove(x->s, p, n);
    x->s[n] = '\0';
    x->len = n;
    x->type = LK_VT_STR;
    return 0;
}

int lk_var_set_int(lk_session *s, int slot, int64_t i)
{
    if (slot < 0 || slot >= s->nvars)
        return 0;
    s->vars[slot].type = LK_VT_INT;
    s->vars[slot].i = i;
    return 0;
}

int lk_var_set(lk_session *s, int slot, lk_value v)
{
    switch (v.type) {
    case LK_VT_INT: return lk_var_set_int(s, slot, v.i);
    case LK_VT_STR: return lk_var_set_str(s, slot, v.s ? v.s : "", v.s ? v.n : 0);
    default: lk_var_clear(s, slot); return 0;
    }
}

void lk_var_clear(lk_session *s, int slot)
{
    if (slot >= 0 && slot < s->nvars)
        s->vars[slot].type = LK_VT_NULL;
}

/* ---- history ---- */

void lk_hist_push(lk_session *s, const lk_flow *flow, int state)
{
    int depth = flow->history < s->caphist ? flow->history : s->caphist;

    if (depth <= 0)
        return;
    if (s->nhist > 0 && s->hist[s->nhist - 1] == state)
        return;
    if (s->nhist >= depth) {
        int drop = s->nhist - depth + 1;
        memmove(s->hist, s->hist + drop, (size_t)(s->nhist - drop) * sizeof *s->hist);
        s->nhist -= drop;
    }
    s->hist[s->nhist++] = state;
}

int lk_hist_pop(lk_session *s, int current)
{
    while (s->nhist > 0) {
        int st = s->hist[--s->nhist];
        if (st != current)
            return st;
    }
    return -1;
}

/* ---- getters ---- */

const char *lk_session_state(const lk_session *s, const lk_flow *flow)
{
    int st = s->state >= 0 && s->state < flow->nstates ? s->state : flow->start;
    return flow->states[st].name;
}

int lk_session_ended(const lk_session *s)
{
    return s->ended;
}

int64_t lk_session_last(const lk_session *s)
{
    return s->last_ms;
}

static int var_find(const lk_flow *flow, const char *name, size_t n, int hint)
{
    int i;

    if (hint >= 0 && hint < flow->nvars && strlen(flow->vars[hint]) == n &&
        memcmp(flow->vars[hint], name, n) == 0)
        return hint;
    for (i = 0; i < flow->nvars; i++)
        if (strlen(flow->vars[i]) == n && memcmp(flow->vars[i], name, n) == 0)
            return i;
    return -1;
}

const char *lk_session_var(const lk_session *s, const lk_flow *flow, const char *name, lk_buf *buf)
{
    int slot = var_find(flow, name, strlen(name), -1);

    if (slot < 0 || slot >= s->nvars)
        return NULL;
    switch (s->vars[slot].type) {
    case LK_VT_STR: return s->vars[slot].s;
    case LK_VT_INT:
        lk_buf_reset(buf);
        lk_buf_printf(buf, "%lld", (long long)s->vars[slot].i);
        return buf->oom ? NULL : lk_buf_str(buf);
    default: return NULL;
    }
}

/* ---- encoding ---- */

/* tag, then the decimal digits of v (a '-' first when negative), then end.
 * Written by hand: every message encodes its session, and printf's format
 * parsing cost more than the rest of the encoding. */
static void put_num(lk_buf *b, char tag, int64_t v, char end)
{
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;

    *--p = end;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    *--p = tag;
    lk_buf_put(b, p, (size_t)(tmp + sizeof tmp - p));
}

static void put_str(lk_buf *b, char tag, const char *p, size_t n)
{
    put_num(b, tag, (int64_t)n, ':');
    lk_buf_put(b, p, n);
}

static void put_int(lk_buf *b, char tag, int64_t v)
{
    put_num(b, tag, v, ';');
}

lk_err lk_session_encode(const lk_session *s, const lk_flow *flow, lk_buf *out)
{
    const char *st = lk_session_state(s, flow);
    int i, cur = s->state >= 0 && s->state < flow->nstates ? s->state : -1;

    lk_buf_puts(out, "lk1");
    put_str(out, 's', st, strlen(st));
    if (s->last_ms)
        put_int(out, 't', s->last_ms);
    if (s->invalid)
        put_int(out, 'i', s->invalid);
    if (s->ended)
        lk_buf_putc(out, 'e');
    for (i = 0; i < s->nhist; i++) {
        const char *h;
        if (s->hist[i] < 0 || s->hist[i] >= flow->nstates)
            continue; /* only a session stepped with another flow has these */
        h = flow->states[s->hist[i]].name;
        put_str(out, 'h', h, strlen(h));
    }
    if (s->pending != LK_PEND_NONE && s->ncand > 0 && cur >= 0 &&
        flow->states[cur].kind == LK_S_CHOICE) {
        const lk_dataset *d = &flow->datasets[flow->states[cur].choice.dataset];
        lk_buf_putc(out, s->pending == LK_PEND_CONFIRM ? 'c' : 'd');
        for (i = 0; i < s->ncand; i++) {
            const char *id = s->cand[i] >= 0 && s->cand[i] < d->nrows ? d->rows[s->cand[i]].id : "";
            put_str(out, 'r', id, strlen(id));
        }
        if (s->pending == LK_PEND_CONFIRM && s->child >= 0 &&
            flow->states[cur].choice.children >= 0) {
            const lk_dataset *cd = &flow->datasets[flow->states[cur].choice.children];
            if (s->child < cd->nrows)
                put_str(out, 'k', cd->rows[s->child].id, strlen(cd->rows[s->child].id));
        }
    }
    if (s->page)
        put_int(out, 'g', s->page);
    if (cur >= 0 && (s->pending == LK_PEND_RESUME ||
                     (s->pending == LK_PEND_CONFIRM && flow->states[cur].kind != LK_S_CHOICE))) {
        put_int(out, 'w', s->pending);
        for (i = 0; i < s->ncand; i++)
            put_int(out, 'o', s->cand[i]);
    }
    for (i = 0; i < s->nvars && i < flow->nvars; i++) {
        const lk_var *v = &s->vars[i];
        if (i == LK_SLOT_INPUT || v->type == LK_VT_NULL)
            continue;
        put_str(out, 'v', flow->vars[i], strlen(flow->vars[i]));
        if (v->type == LK_VT_INT)
            put_int(out, 'i', v->i);
        else
            put_str(out, 's', v->s, v->len);
    }
    lk_buf_putc(out, '.');
    return out->oom ? LK_ENOMEM : LK_OK;
}

typedef struct reader {
    const char *p, *end;
} reader;

static int rd_tag(reader *r, char tag)
{
    if (r->p < r->end && *r->p == tag) {
        r->p++;
        return 1;
    }
    return 0;
}

/* ["-"] digits ";" into *v, without overflow. */
static int rd_int(reader *r, int64_t *v)
{
    int neg = 0, nd = 0;
    uint64_t u = 0, lim;

    if (r->p < r->end && *r->p == '-') {
        neg = 1;
        r->p++;
    }
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        unsigned d = (unsigned)(*r->p++ - '0');
        if (u > (lim - d) / 10)
            return -1;
        u = u * 10 + d;
        nd++;
    }
    if (!nd || !rd_tag(r, ';'))
        return -1;
    *v = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

/* length ":" bytes */
static int rd_str(reader *r, const char **p, size_t *n)
{
    size_t len = 0;
    int nd = 0;

    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        if (++nd > 10)
            return -1;
        len = len * 10 + (size_t)(*r->p++ - '0');
    }
    if (!nd || !rd_tag(r, ':') || len > (size_t)(r->end - r->p))
        return -1;
    *p = r->p;
    *n = len;
    r->p += len;
    return 0;
}

static int state_find(const lk_flow *flow, const char *name, size_t n)
{
    int lo = 0, hi = flow->nstates - 1, i;

    if (flow->state_by_name) {
        while (lo <= hi) {
            int mid = lo + (hi - lo) / 2, st = flow->state_by_name[mid];
            const char *sn = flow->states[st].name;
            size_t sl = strlen(sn);
            int c = memcmp(sn, name, sl < n ? sl : n);
            if (c == 0)
                c = sl < n ? -1 : sl > n;
            if (c == 0)
                return st;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
    }
    for (i = 0; i < flow->nstates; i++) /* an index sorted another way */
        if (strlen(flow->states[i].name) == n && memcmp(flow->states[i].name, name, n) == 0)
            return i;
    return -1;
}

static int row_find(const lk_dataset *d, const char *id, size_t n)
{
    int i;
    for (i = 0; i < d->nrows; i++)
        if (strlen(d->rows[i].id) == n && memcmp(d->rows[i].id, id, n) == 0)
            return i;
    return -1;
}

lk_err lk_session_decode(lk_session *s, const lk_flow *flow, const void *data, size_t n)
{
    reader r = {data, (const char *)data + n};
    const char *p;
    size_t len;
    int64_t v;
    int state, unknown_state = 0, hint = 0, nh = 0, pend = LK_PEND_NONE, nrows = 0;
    int rows_ok = 1;
    const lk_dataset *d = NULL;

    lk_session_reset(s, flow);
    if (s->nvars < flow->nvars)
        return LK_ENOMEM;
    if (n < 3 || memcmp(data, "lk1", 3) != 0)
        goto bad;
    r.p += 3;
    if (!rd_tag(&r, 's') || rd_str(&r, &p, &len) < 0)
        goto bad;
    state = state_find(flow, p, len);
    if (state < 0)
        unknown_state = 1;
    else
        s->state = state;
    if (rd_tag(&r, 't')) {
        if (rd_int(&r, &v) < 0 || v == 0)
            goto bad;
        s->last_ms = v;
    }
    if (rd_tag(&r, 'i')) {
        if (rd_int(&r, &v) < 0 || v <= 0 || v > ENC_MAX_INVALID)
            goto bad;
        s->invalid = (int)v;
    }
    if (rd_tag(&r, 'e'))
        s->ended = 1;
    while (rd_tag(&r, 'h')) {
        if (rd_str(&r, &p, &len) < 0 || ++nh > ENC_MAX_HIST)
            goto bad;
        if ((state = state_find(flow, p, len)) >= 0)
            lk_hist_push(s, flow, state);
    }
    if (rd_tag(&r, 'c'))
        pend = LK_PEND_CONFIRM;
    else if (rd_tag(&r, 'd'))
        pend = LK_PEND_DISAMBIG;
    if (pend != LK_PEND_NONE) {
        const lk_state *cs = &flow->states[s->state];
        if (!unknown_state && cs->kind == LK_S_CHOICE && cs->choice.dataset >= 0 &&
            cs->choice.dataset < flow->ndatasets)
            d = &flow->datasets[cs->choice.dataset];
        while (rd_tag(&r, 'r')) {
            int row;
            if (rd_str(&r, &p, &len) < 0 || nrows >= LK_MAX_CAND)
                goto bad;
            row = d ? row_find(d, p, len) : -1;
            if (row < 0)
                rows_ok = 0;
            else
                s->cand[nrows] = row;
            nrows++;
        }
        if (!nrows || (pend == LK_PEND_CONFIRM && nrows != 1))
            goto bad;
        if (pend == LK_PEND_CONFIRM && rd_tag(&r, 'k')) { /* the row named, for later */
            if (rd_str(&r, &p, &len) < 0)
                goto bad;
            if (d && cs->choice.children >= 0)
                s->child = row_find(&flow->datasets[cs->choice.children], p, len);
        }
        if (rows_ok) { /* a row the data set lost: forget the question */
            s->pending = pend;
            s->ncand = nrows;
        }
    }
    if (rd_tag(&r, 'g')) {
        if (rd_int(&r, &v) < 0 || v <= 0 || v > ENC_MAX_PAGE)
            goto bad;
        s->page = (int)v;
    }
    if (rd_tag(&r, 'w')) {
        int no = 0;
        if (rd_int(&r, &v) < 0 || (v != LK_PEND_CONFIRM && v != LK_PEND_RESUME))
            goto bad;
        pend = (int)v;
        while (rd_tag(&r, 'o')) {
            int64_t o;
            if (rd_int(&r, &o) < 0 || no >= LK_MAX_CAND || o < 0 || o > 1000000)
                goto bad;
            s->cand[no++] = (int)o;
        }
        if (pend == LK_PEND_CONFIRM && no != 1)
            goto bad;
        if (!unknown_state &&
            (pend == LK_PEND_RESUME || flow->states[s->state].kind != LK_S_CHOICE)) {
            s->pending = pend;
            s->ncand = no;
        }
    }
    while (rd_tag(&r, 'v')) {
        const char *name;
        size_t nlen;
        int slot;

        if (rd_str(&r, &name, &nlen) < 0)
            goto bad;
        slot = var_find(flow, name, nlen, hint);
        if (slot >= 0)
            hint = slot + 1;
        if (rd_tag(&r, 'i')) {
            if (rd_int(&r, &v) < 0)
                goto bad;
            if (slot >= 0 && slot != LK_SLOT_INPUT)
                lk_var_set_int(s, slot, v);
        } else if (rd_tag(&r, 's')) {
            if (rd_str(&r, &p, &len) < 0)
                goto bad;
            if (slot >= 0 && slot != LK_SLOT_INPUT && lk_var_set_str(s, slot, p, len) < 0) {
                lk_session_reset(s, flow);
                return LK_ENOMEM;
            }
        } else {
            goto bad;
        }
    }
    if (!rd_tag(&r, '.') || r.p != r.end)
        goto bad;
    if (unknown_state)
        lk_session_reset(s, flow);
    return LK_OK;
bad:
    lk_session_reset(s, flow);
    return LK_EINVAL;
}
