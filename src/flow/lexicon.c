/* Reading what people write with the flow's lexicon (flows/README.md,
 * "Lexicon"): colloquial words to canonical ones, fillers and correction cues
 * dropped, question words noticed, word forms reduced to a stem. The engine
 * reads every message through lk_canon_read once; the loader puts the flow's
 * own words through the same functions, so both sides meet in one form.
 *
 * Pure functions over the immutable lexicon; nothing allocates. */
#include <stddef.h>
#include <string.h>

#include "flow_model.h"

_Static_assert(offsetof(lk_wordnum, w) == 0, "search() reads an entry's word at its start");

/* Binary search for the wn bytes of w among n entries sorted by word, the word
 * of entry i being the string pointer at base + i * stride: its index, or -1.
 * The first bytes are compared before strncmp: most words differ there. */
static int search(const void *base, size_t stride, int n, const char *w, size_t wn)
{
    int lo = 0, hi = n - 1;

    if (wn == 0)
        return -1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const char *e = *(const char *const *)((const char *)base + (size_t)mid * stride);
        int c = e[0] != w[0] ? (unsigned char)e[0] - (unsigned char)w[0] : strncmp(e, w, wn);

        if (c == 0 && e[wn] != '\0')
            c = 1;
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

int lk_lex_find(const char *const *list, int n, const char *w, size_t wn)
{
    return search(list, sizeof *list, n, w, wn);
}

int lk_lex_num(const lk_wordnum *list, int n, const char *w, size_t wn, int64_t *v)
{
    /* w is the first member of lk_wordnum, so each entry starts with its word */
    int i = search(list, sizeof *list, n, w, wn);

    if (i >= 0 && v)
        *v = list[i].v;
    return i;
}

const char *lk_lex_map(const lk_lexicon *lex, const char *w, size_t wn)
{
    int lo = 0, hi = lex->nmap - 1;

    if (wn == 0)
        return NULL;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = lex->map[mid].w[0] != w[0] ? (unsigned char)lex->map[mid].w[0] - (unsigned char)w[0]
                                           : strncmp(lex->map[mid].w, w, wn);
        if (c == 0 && lex->map[mid].w[wn] != '\0')
            c = 1;
        if (c == 0)
            return lex->map[mid].to;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static void put_word(char *buf, size_t *n, const char *w, size_t wn)
{
    if (wn == 0 || *n + wn + 2 > LK_CANON_MAX)
        return;
    if (*n)
        buf[(*n)++] = ' ';
    memcpy(buf + *n, w, wn);
    *n += wn;
    buf[*n] = '\0';
}

/* One canonical word into the two forms. */
static void emit(const lk_lexicon *lex, lk_canon *c, const char *w, size_t wn)
{
    int drop = 0;

    put_word(c->map, &c->mapn, w, wn);
    if (!lex)
        goto bare;
    if (lk_lex_find(lex->q, lex->nq, w, wn) >= 0)
        c->question = c->qword = 1;
    if (lk_lex_find(lex->cue, lex->ncue, w, wn) >= 0) {
        c->cue = 1;
        drop = 1;
    } else if (lk_lex_find(lex->fill, lex->nfill, w, wn) >= 0) {
        drop = 1;
    }
bare:
    /* emoji and symbols (U+2000 and up) say nothing to menus and commands */
    if ((unsigned char)w[0] >= 0xe2)
        drop = 1;
    if (!drop)
        put_word(c->bare, &c->baren, w, wn);
}

/* A token as typed: the doubling "kira2" is the word, a mapped word is its
 * canonical words. */
static void token(const lk_lexicon *lex, lk_canon *c, const char *t, size_t tn)
{
    const char *to;

    if (tn >= 4 && t[tn - 1] == '2' && t[tn - 2] >= 'a' && t[tn - 2] <= 'z' && t[tn - 3] >= 'a' &&
        t[tn - 3] <= 'z' && t[tn - 4] >= 'a' && t[tn - 4] <= 'z')
        tn--;
    if (lex && (to = lk_lex_map(lex, t, tn))) {
        while (*to) {
            size_t k = 0;
            while (to[k] && to[k] != ' ')
                k++;
            emit(lex, c, to, k);
            to += k;
            while (*to == ' ')
                to++;
        }
        return;
    }
    emit(lex, c, t, tn);
}

void lk_canon_read(const lk_lexicon *lex, const char *raw, size_t rn, lk_canon *c)
{
    char norm[LK_CANON_MAX];
    size_t n = lk_text_norm(raw, rn, norm, sizeof norm), i = 0;

    c->mapn = c->baren = 0;
    c->map[0] = c->bare[0] = '\0';
    c->cue = 0;
    c->qword = 0;
    c->question = memchr(raw, '?', rn) != NULL;
    while (i < n) {
        size_t j = i;
        /* letters and digits, or a run of other bytes (an emoji), are tokens */
        int alnum = is_alnum((unsigned char)norm[i]);
        while (j < n && norm[j] != ' ' &&
               (alnum ? is_alnum((unsigned char)norm[j]) : !is_alnum((unsigned char)norm[j])))
            j++;
        token(lex, c, norm + i, j - i);
        i = j;
        while (i < n && norm[i] == ' ')
            i++;
    }
    if (c->baren == 0 && c->mapn > 0) {
        memcpy(c->bare, c->map, c->mapn + 1);
        c->baren = c->mapn;
    }
}

size_t lk_canon_word(const lk_lexicon *lex, const char *s, size_t n, int drop, char *out,
                     size_t cap)
{
    lk_canon c;
    const char *src;
    size_t len;

    lk_canon_read(lex, s, n, &c);
    src = drop ? c.bare : c.map;
    len = drop ? c.baren : c.mapn;
    if (cap == 0)
        return 0;
    if (len >= cap)
        len = cap - 1;
    memcpy(out, src, len);
    out[len] = '\0';
    return len;
}

/* A suffix leaves at least 5 letters ("sekolah" is no "seko" + "lah"), a
 * prefix at least 4. */
static size_t strip(const char *const *list, int n, const char *w, size_t wn, int suffix)
{
    int k;
    for (k = 0; k < n; k++) {
        size_t an = strlen(list[k]);
        if (an >= wn || wn - an < (suffix ? 5u : 4u))
            continue;
        if (suffix ? memcmp(w + wn - an, list[k], an) == 0 : memcmp(w, list[k], an) == 0)
            return an;
    }
    return 0;
}

size_t lk_lex_stem(const lk_lexicon *lex, const char *w, size_t wn, char *out, size_t cap)
{
    int64_t v;
    size_t cut;

    if (cap < 2)
        return 0;
    if (lex && lk_lex_num(lex->num, lex->nnum, w, wn, &v) >= 0 && v >= 0 && v < 1000000000) {
        char d[16];
        int k = 0;
        size_t o = 0;
        do {
            d[k++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        while (k > 0 && o + 1 < cap)
            out[o++] = d[--k];
        out[o] = '\0';
        return o;
    }
    if (lex) {
        cut = strip(lex->suf, lex->nsuf, w, wn, 1);
        wn -= cut;
        cut = strip(lex->pre, lex->npre, w, wn, 0);
        w += cut;
        wn -= cut;
    }
    if (wn >= cap)
        wn = cap - 1;
    memcpy(out, w, wn);
    out[wn] = '\0';
    return wn;
}
