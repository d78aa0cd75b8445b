/* What a message means in an input state: the input validators of
 * flows/README.md ("Inputs"). Every function is pure; the step applies the
 * result. Menus and yes/no are in menu.c, numbers and dates in number.c.
 *
 * Yes/no and word lists look at the canonical message (lk_canon); digits,
 * numbers, dates and regular expressions look at the raw text, trimmed, since
 * normalisation would eat the dashes and dots they care about. */
#include "engine_int.h"

#include <string.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int lk_small_number(const char *q, size_t qn)
{
    size_t i;
    int v = 0;

    if (qn == 0 || qn > 9)
        return -1;
    for (i = 0; i < qn; i++) {
        if (!is_digit(q[i]))
            return -1;
        v = v * 10 + (q[i] - '0');
    }
    return v;
}

static int word_eq(const char *w, const char *q, size_t qn)
{
    return strncmp(w, q, qn) == 0 && w[qn] == '\0';
}

/* Digits, spaces and dashes ignored: "3201-2345 6789" -> "320123456789". The
 * digits may stand among words ("nik saya 3201 2345 6789") when they are one
 * run: digits with only spaces and dashes between them. */
static int check_digits(const lk_validator *v, const char *raw, size_t rn, char *tmp, size_t tmpcap,
                        lk_value *out)
{
    size_t i, n = 0;
    int k, runs = 0, in_run = 0;

    for (i = 0; i < rn; i++) {
        if (raw[i] == ' ' || raw[i] == '-')
            continue;
        if (!is_digit(raw[i])) {
            in_run = 0;
            continue;
        }
        if (!in_run && ++runs > 1)
            return -1; /* "1234 atau 5678": two numbers */
        in_run = 1;
        if (n + 1 >= tmpcap)
            return -1;
        tmp[n++] = raw[i];
    }
    tmp[n] = '\0';
    if (n == 0)
        return -1;
    if (v->nlens > 0) {
        for (k = 0; k < v->nlens && k < 4; k++)
            if ((size_t)v->lens[k] == n)
                break;
        if (k == v->nlens || k == 4)
            return -1;
    }
    out->type = LK_VT_STR;
    out->s = tmp;
    out->n = n;
    return 0;
}

lk_nres lk_match_input(const lk_flow *flow, const lk_state *st, const char *raw, size_t rn,
                       const lk_canon *c, int64_t now_ms, char *tmp, size_t tmpcap, lk_value *out,
                       lk_nread *nr)
{
    const lk_validator *v = &st->input;
    lk_nres res;
    int i, yn;

    out->type = LK_VT_NULL;
    out->i = 0;
    out->s = NULL;
    out->n = 0;
    memset(nr, 0, sizeof *nr);
    switch (v->kind) {
    case LK_V_TEXT:
        if (rn == 0 || lk_utf8_len(raw, rn) > (size_t)(v->max_len > 0 ? v->max_len : 200))
            return LK_N_NONE;
        out->type = LK_VT_STR;
        out->s = raw;
        out->n = rn;
        return LK_N_OK;
    case LK_V_DIGITS: return check_digits(v, raw, rn, tmp, tmpcap, out) == 0 ? LK_N_OK : LK_N_NONE;
    case LK_V_NUMBER:
        res = lk_read_number(flow, v, raw, rn, nr);
        if (res == LK_N_OK || res == LK_N_CONFIRM) {
            out->type = LK_VT_INT;
            out->i = nr->val;
        }
        return res;
    case LK_V_DATE:
        res = lk_read_date(flow, v, raw, rn, now_ms, tmp, tmpcap);
        if (res == LK_N_OK || res == LK_N_CONFIRM) {
            out->type = LK_VT_STR;
            out->s = tmp;
            out->n = 10;
        }
        return res;
    case LK_V_REGEX:
        /* raw is NUL-terminated: it is the `input` variable */
        if (rn == 0 || !v->has_re || regexec(&v->re, raw, 0, NULL, 0) != 0)
            return LK_N_NONE;
        out->type = LK_VT_STR;
        out->s = raw;
        out->n = rn;
        return LK_N_OK;
    case LK_V_YESNO:
        if ((yn = lk_match_yesno(flow, st, c->map, c->mapn)) < 0)
            return LK_N_NONE;
        out->type = LK_VT_INT;
        out->i = yn;
        return LK_N_OK;
    case LK_V_WORDS:
        for (i = 0; i < v->nwords; i++) {
            if (c->baren && word_eq(v->words[i], c->bare, c->baren)) {
                out->type = LK_VT_STR;
                out->s = v->words[i];
                out->n = c->baren;
                return LK_N_OK;
            }
        }
        return LK_N_NONE;
    case LK_V_MEDIA: /* text where media is asked (the media itself never comes here) */
        return LK_N_NONE;
    }
    return LK_N_NONE;
}
