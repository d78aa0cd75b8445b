/* Choosing a row of a data set from what a person typed: "jabar", "kab
 * bandung", "saya tinggal di jawa barat", "jawa tenga". The order of the
 * tests is the one flows/README.md ("Choices from data sets") promises:
 *
 *   pending answer (ya/tidak to a typo, a number to "which one?"),
 *   more_word, list number, exact name (with or without its prefix),
 *   alias, a name or alias inside a longer message (longest wins),
 *   a name under another parent (elsewhere), a typo (confirm).
 *
 * Rows that fit equally well (a bare name that is both a Kota and a
 * Kabupaten, two names contained at the same length, typos at the same
 * distance) are not guessed between: the person is asked which, with a
 * numbered list of at most LK_MAX_CAND rows (Kota before Kabupaten).
 *
 * The loader normalised every name, bare name and alias, so matching is
 * comparisons of normalised strings; nothing here allocates. */
#include "engine_int.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

typedef struct cset {
    int n;
    int rows[LK_MAX_CAND];
    int overflow; /* more rows fit than rows[] holds */
} cset;

static void cset_add(cset *c, int row)
{
    int i;
    for (i = 0; i < c->n; i++)
        if (c->rows[i] == row)
            return;
    if (c->n < LK_MAX_CAND)
        c->rows[c->n++] = row;
    else
        c->overflow = 1;
}

static int eq(const char *s, const char *p, size_t n)
{
    return s && strncmp(s, p, n) == 0 && s[n] == '\0';
}

int lk_choice_rows(const lk_flow *flow, const lk_session *s, const lk_choice *ch, int *first,
                   int *count)
{
    const lk_dataset *d = &flow->datasets[ch->dataset], *pd;
    lk_value v;
    char tmp[24];
    const char *id;
    size_t n;
    int p;

    *first = 0;
    *count = d->nrows;
    if (ch->parent_var < 0 || d->parent < 0 || d->parent >= flow->ndatasets || !d->child_first ||
        !d->child_count)
        return 0;
    v = lk_var_get(s, ch->parent_var);
    if (v.type == LK_VT_NULL) /* nothing chosen yet: offer every row */
        return 0;
    if (v.type == LK_VT_INT) {
        n = (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)v.i);
        id = tmp;
    } else {
        id = v.s;
        n = v.n;
    }
    pd = &flow->datasets[d->parent];
    for (p = 0; p < pd->nrows; p++) {
        if (eq(pd->rows[p].id, id, n)) {
            *first = d->child_first[p];
            *count = d->child_count[p];
            return 1;
        }
    }
    return 0;
}

/* Input words rewritten (replace) and dropped (strip), whole words only. */
static size_t clean(const lk_dataset *d, const char *q, size_t qn, char *out, size_t cap)
{
    size_t i = 0, o = 0;
    int k;

    while (i < qn) {
        const char *emit = NULL;
        size_t take = 0, en;

        for (k = 0; k < d->nreplace && !take; k++) {
            size_t fl = strlen(d->replace_from[k]);
            if (fl && i + fl <= qn && memcmp(q + i, d->replace_from[k], fl) == 0 &&
                (i + fl == qn || q[i + fl] == ' ')) {
                emit = d->replace_to[k];
                take = fl;
            }
        }
        for (k = 0; k < d->nstrip && !take; k++) {
            size_t sl = strlen(d->strip[k]);
            if (sl && i + sl <= qn && memcmp(q + i, d->strip[k], sl) == 0 &&
                (i + sl == qn || q[i + sl] == ' '))
                take = sl;
        }
        if (!take) {
            while (i + take < qn && q[i + take] != ' ')
                take++;
            emit = q + i;
            en = take;
        } else {
            en = emit ? strlen(emit) : 0;
        }
        if (emit && en) {
            if (o + en + 2 > cap)
                break;
            if (o)
                out[o++] = ' ';
            memcpy(out + o, emit, en);
            o += en;
        }
        i += take;
        if (i < qn && q[i] == ' ')
            i++;
    }
    out[o] = '\0';
    return o;
}

/* The input without its leading prefix word ("kab bandung" -> class
 * kabupaten, "bandung"); *cls is -1 when it has none. */
static const char *unprefix(const lk_dataset *d, const char *c, size_t cn, int *cls, size_t *rn)
{
    int k;

    *cls = -1;
    *rn = cn;
    for (k = 0; k < d->nprefixes; k++) { /* longest first */
        const char *w = d->prefixes[k].word;
        size_t wl = strlen(w);
        if (wl && wl < cn && memcmp(c, w, wl) == 0 && c[wl] == ' ') {
            *cls = d->prefixes[k].klass;
            *rn = cn - wl - 1;
            return c + wl + 1;
        }
    }
    return c;
}

typedef struct query {
    const char *c; /* cleaned input */
    size_t cn;
    const char *rest; /* without its prefix */
    size_t rn;
    int cls;
} query;

static int row_exact(const lk_row *r, const query *x)
{
    if (eq(r->norm, x->c, x->cn))
        return 1;
    if (x->cls < 0)
        return eq(r->bare, x->c, x->cn);
    return r->klass == x->cls && eq(r->bare, x->rest, x->rn);
}

static int row_alias(const lk_row *r, const query *x)
{
    int k;
    for (k = 0; k < r->naliases; k++)
        if (eq(r->aliases[k], x->c, x->cn) ||
            (x->cls >= 0 && r->klass == x->cls && eq(r->aliases[k], x->rest, x->rn)))
            return 1;
    return 0;
}

static void has_at_least(size_t *best, const char *s, const query *x)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= 3 && n > *best && lk_text_has_word(x->c, x->cn, s, n))
        *best = n;
}

/* The bare name ("bandung") found as whole words in the input: its length,
 * or with the prefix in front of it when that prefix is of the row's class
 * ("... di kab bandung" counts 11 for Kabupaten Bandung), so it beats the
 * other row sharing the bare name. After a prefix of another class ("kota
 * garut" for Kabupaten Garut) it does not count: that is a question for the
 * typo matcher, not a silent choice. */
static size_t bare_contained(const lk_dataset *d, const lk_row *r, const query *x)
{
    size_t bn = strlen(r->bare), best = 0, i;
    int k;

    if (bn < 3)
        return 0;
    for (i = 0; i + bn <= x->cn; i++) {
        size_t score = bn;
        int other = 0;

        if ((i > 0 && x->c[i - 1] != ' ') || memcmp(x->c + i, r->bare, bn) != 0 ||
            (i + bn < x->cn && x->c[i + bn] != ' '))
            continue;
        for (k = 0; k < d->nprefixes; k++) { /* longest first */
            const char *w = d->prefixes[k].word;
            size_t wl = strlen(w);
            if (wl + 1 > i || memcmp(x->c + i - wl - 1, w, wl) != 0 ||
                (i - wl - 1 > 0 && x->c[i - wl - 2] != ' '))
                continue;
            if (d->prefixes[k].klass == r->klass)
                score = wl + 1 + bn;
            else
                other = 1;
            break;
        }
        if (!other && score > best)
            best = score;
    }
    return best;
}

/* Length of the longest of the row's names found as whole words in the
 * input, 0 if none. */
static size_t row_contained(const lk_dataset *d, const lk_row *r, const query *x)
{
    size_t best = 0, b;
    int k;

    has_at_least(&best, r->norm, x);
    for (k = 0; k < r->naliases; k++)
        has_at_least(&best, r->aliases[k], x);
    if (r->klass >= 0 && r->bare && (b = bare_contained(d, r, x)) > best)
        best = b;
    return best;
}

static int edit(const char *s, const char *p, size_t pn, int fuzzy)
{
    size_t n;
    int max = fuzzy, dist;

    if (!s)
        return INT_MAX;
    n = strlen(s);
    if ((n <= 4 || pn <= 4) && max > 1) /* two edits turn any short word into another */
        max = 1;
    dist = lk_text_edit(s, n, p, pn, max);
    return dist <= max ? dist : INT_MAX;
}

static int row_fuzzy(const lk_dataset *d, const lk_row *r, const query *x)
{
    int best = edit(r->norm, x->c, x->cn, d->fuzzy), k, e;

    if (x->cls < 0)
        e = edit(r->bare, x->c, x->cn, d->fuzzy);
    else /* the prefix of another class still finds the bare name, to confirm */
        e = edit(r->bare, x->rest, x->rn, d->fuzzy);
    if (e < best)
        best = e;
    for (k = 0; k < r->naliases; k++)
        if ((e = edit(r->aliases[k], x->c, x->cn, d->fuzzy)) < best)
            best = e;
    return best;
}

/* Kota before Kabupaten (the order of the classes), then file order. */
static void sort_cands(const lk_dataset *d, int *rows, int n)
{
    int i, j;
    for (i = 1; i < n; i++) {
        int r = rows[i];
        unsigned kr = (unsigned)d->rows[r].klass; /* -1 sorts last */
        for (j = i; j > 0; j--) {
            unsigned kp = (unsigned)d->rows[rows[j - 1]].klass;
            if (kp < kr || (kp == kr && rows[j - 1] < r))
                break;
            rows[j] = rows[j - 1];
        }
        rows[j] = r;
    }
}

static lk_cres result(const lk_dataset *d, const cset *c, lk_cmatch *m)
{
    if (c->n == 1) {
        m->res = LK_C_CHOSEN;
        m->row = c->rows[0];
        return m->res;
    }
    if (c->overflow)
        return m->res = LK_C_INVALID;
    memcpy(m->cand, c->rows, (size_t)c->n * sizeof *c->rows);
    m->n = c->n;
    sort_cands(d, m->cand, m->n);
    return m->res = LK_C_DISAMBIG;
}

/* The parents, among the offered rows [first, first + count), of the rows
 * of ch->children named exactly (or by alias) in q. One parent: LK_C_CHILD
 * with m->row the parent, m->cand[0] the first such child and m->n the
 * number of them (Kota and Kabupaten Bandung: 2). Several parents: they are
 * left in parents for the caller to ask which. */
static lk_cres child_of(const lk_flow *flow, const lk_choice *ch, const char *q, size_t qn,
                        int first, int count, cset *parents, lk_cmatch *m)
{
    const lk_dataset *cd = &flow->datasets[ch->children];
    char buf[LK_NORM_MAX];
    query y;
    int i, child = -1, nchildren = 0;

    y.cn = clean(cd, q, qn, buf, sizeof buf);
    y.c = buf;
    if (y.cn == 0)
        return LK_C_INVALID;
    y.rest = unprefix(cd, y.c, y.cn, &y.cls, &y.rn);
    for (i = 0; i < cd->nrows; i++) {
        const lk_row *r = &cd->rows[i];
        if (r->parent < first || r->parent >= first + count)
            continue;
        if (!row_exact(r, &y) && !row_alias(r, &y))
            continue;
        if (child < 0)
            child = i;
        nchildren++;
        cset_add(parents, r->parent);
    }
    if (parents->n != 1 || parents->overflow)
        return LK_C_INVALID;
    m->row = parents->rows[0];
    m->cand[0] = child;
    m->n = nchildren;
    return m->res = LK_C_CHILD;
}

/* An answer to "which one?" that names a class ("kota", "yg kabupaten"):
 * the one candidate of that class, or -1. */
static int by_class(const lk_dataset *d, const lk_session *s, const lk_canon *c)
{
    int k, i, found = -1, cls = -1;

    for (k = 0; k < d->nprefixes && cls < 0; k++)
        if (eq(d->prefixes[k].word, c->bare, c->baren))
            cls = d->prefixes[k].klass;
    for (k = 0; k < d->nclasses && cls < 0; k++)
        if (eq(d->classes[k], c->bare, c->baren))
            cls = k;
    if (cls < 0)
        return -1;
    for (i = 0; i < s->ncand; i++) {
        if (d->rows[s->cand[i]].klass != cls)
            continue;
        if (found >= 0)
            return -1;
        found = s->cand[i];
    }
    return found;
}

int lk_choice_named(const lk_dataset *d, const char *q, size_t qn)
{
    char cbuf[LK_NORM_MAX];
    query x;
    int i, found = -1;

    x.cn = clean(d, q, qn, cbuf, sizeof cbuf);
    x.c = cbuf;
    if (x.cn == 0)
        return -1;
    x.rest = unprefix(d, x.c, x.cn, &x.cls, &x.rn);
    for (i = 0; i < d->nrows; i++) {
        if (!row_exact(&d->rows[i], &x) && !row_alias(&d->rows[i], &x))
            continue;
        if (found >= 0)
            return -1;
        found = i;
    }
    return found;
}

lk_cres lk_match_choice(const lk_flow *flow, const lk_session *s, const lk_choice *ch,
                        const char *q, size_t qn, const lk_canon *cn, lk_cmatch *m)
{
    const lk_dataset *d = &flow->datasets[ch->dataset];
    char cbuf[LK_NORM_MAX];
    query x;
    cset c = {0};
    int first, count, filtered, i, k;
    size_t best = 0;
    int bestd = INT_MAX;

    memset(m, 0, sizeof *m);
    m->row = -1;
    if (s->pending == LK_PEND_CONFIRM && s->ncand == 1) {
        int yn = lk_match_yesno(flow, NULL, cn->map, cn->mapn);
        if (yn >= 0) {
            m->row = s->cand[0];
            return m->res = yn ? LK_C_CHOSEN : LK_C_DECLINED;
        }
    } else if (s->pending == LK_PEND_DISAMBIG) {
        /* a number after "which one?" is one of the list, never a row of the
         * whole page */
        k = lk_small_number(cn->bare, cn->baren);
        if (k >= 0) {
            if (k < 1 || k > s->ncand)
                return m->res = LK_C_INVALID;
            m->row = s->cand[k - 1];
            return m->res = LK_C_CHOSEN;
        }
        if ((k = by_class(d, s, cn)) >= 0) {
            m->row = k;
            return m->res = LK_C_CHOSEN;
        }
    }
    if (qn == 0)
        return m->res = LK_C_INVALID;
    if (ch->more_word && (eq(ch->more_word, q, qn) || eq(ch->more_word, cn->bare, cn->baren)))
        return m->res = LK_C_MORE;
    filtered = lk_choice_rows(flow, s, ch, &first, &count);
    k = lk_small_number(q, qn);
    if (k < 0) /* "yg nomor 12 kak" */
        k = lk_small_number(cn->bare, cn->baren);
    if (k >= 1 && k <= count) {
        m->row = first + k - 1;
        return m->res = LK_C_CHOSEN;
    }

    x.cn = clean(d, q, qn, cbuf, sizeof cbuf);
    x.c = cbuf;
    if (x.cn == 0)
        return m->res = LK_C_INVALID;
    x.rest = unprefix(d, x.c, x.cn, &x.cls, &x.rn);

    for (i = first; i < first + count; i++)
        if (row_exact(&d->rows[i], &x))
            cset_add(&c, i);
    if (c.n)
        return result(d, &c, m);

    for (i = first; i < first + count; i++)
        if (row_alias(&d->rows[i], &x))
            cset_add(&c, i);
    if (c.n)
        return result(d, &c, m);

    for (i = first; i < first + count; i++) {
        size_t sc = row_contained(d, &d->rows[i], &x);
        if (sc == 0 || sc < best)
            continue;
        if (sc > best) {
            best = sc;
            c.n = 0;
            c.overflow = 0;
        }
        cset_add(&c, i);
    }
    if (c.n)
        return result(d, &c, m);

    if (filtered) {
        for (i = 0; i < d->nrows; i++) {
            if (i >= first && i < first + count)
                continue;
            if (row_exact(&d->rows[i], &x) || row_alias(&d->rows[i], &x)) {
                m->row = i;
                return m->res = LK_C_ELSEWHERE;
            }
        }
    }

    /* a city named where its province is asked: offer the province */
    if (ch->children >= 0 && child_of(flow, ch, q, qn, first, count, &c, m) == LK_C_CHILD)
        return m->res;
    if (c.n)
        return result(d, &c, m);

    if (d->fuzzy <= 0 || x.cn < 3)
        return m->res = LK_C_INVALID;
    for (i = first; i < first + count; i++) {
        int dist = row_fuzzy(d, &d->rows[i], &x);
        if (dist == INT_MAX || dist > bestd)
            continue;
        if (dist < bestd) {
            bestd = dist;
            c.n = 0;
            c.overflow = 0;
        }
        cset_add(&c, i);
    }
    if (c.n == 1) {
        m->row = c.rows[0];
        return m->res = LK_C_CONFIRM;
    }
    if (c.n > 1) /* a typo as close to several names: ask which */
        return result(d, &c, m);
    return m->res = LK_C_INVALID;
}
