/* Numbers and dates the way people write them (flows/README.md, "Inputs"
 * and "Lexicon"): digits with thousands dots, number words ("dua belas",
 * "seratus"), the one-prefix ("setahun"), collective words ("berdua"),
 * units with conversions ("4 thn" is 48 months), units that belong to
 * another question ("kelas 2" where months are asked), hedges ("2 tahun
 * lebih"), and dates as 17-08-1985, 17/8/1985, 17 agustus 1985 or
 * 1985-08-17.
 *
 * Raw text is read here, not the normalised one, since normalising would eat
 * the dots and commas numbers carry. Words go through the lexicon one by
 * one. Pure; nothing allocates. */
#include "engine_int.h"

#include <string.h>

#define NTOK 48
#define WMAX 32

enum { T_NUM, T_WORD };

typedef struct tok {
    int kind;
    int64_t val, frac, scale; /* T_NUM: val + frac / scale */
    int neg;
    char w[WMAX]; /* T_WORD: canonical */
    size_t wn;
} tok;

typedef struct toks {
    int n;
    tok t[NTOK];
} toks;

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void add_word(toks *ts, const char *w, size_t wn)
{
    tok *t;
    if (ts->n >= NTOK || wn == 0 || wn >= WMAX)
        return;
    t = &ts->t[ts->n++];
    memset(t, 0, sizeof *t);
    t->kind = T_WORD;
    memcpy(t->w, w, wn);
    t->w[wn] = '\0';
    t->wn = wn;
}

static void add_num(toks *ts, int64_t v)
{
    tok *t;
    if (ts->n >= NTOK)
        return;
    t = &ts->t[ts->n++];
    memset(t, 0, sizeof *t);
    t->kind = T_NUM;
    t->val = v;
    t->scale = 1;
}

static int is_unit_word(const lk_flow *f, const char *w, size_t wn)
{
    int i, k;
    if (lk_lex_find(f->lex.unit, f->lex.nunit, w, wn) >= 0)
        return 1;
    if (f->lex.coll_unit && strlen(f->lex.coll_unit) == wn && !memcmp(f->lex.coll_unit, w, wn))
        return 1;
    for (i = 0; i < f->nstates; i++) {
        const lk_validator *v = &f->states[i].input;
        if (f->states[i].kind != LK_S_INPUT || v->kind != LK_V_NUMBER)
            continue;
        for (k = 0; k < v->nunits; k++)
            if (strlen(v->units[k]) == wn && !memcmp(v->units[k], w, wn))
                return 1;
    }
    return 0;
}

static int input_unit(const lk_validator *v, const char *w, size_t wn, int64_t *mult)
{
    int k;
    for (k = 0; k < v->nunits; k++)
        if (strlen(v->units[k]) == wn && !memcmp(v->units[k], w, wn)) {
            *mult = v->unit_mult[k];
            return 1;
        }
    return 0;
}

/* One word as typed: through the lexicon, "setahun" as 1 and "tahun". */
static void word(const lk_flow *f, toks *ts, const char *w, size_t wn)
{
    const lk_lexicon *x = &f->lex;
    const char *to = lk_lex_map(x, w, wn);
    size_t on = x->one ? strlen(x->one) : 0;

    if (to) {
        while (*to) {
            size_t k = 0;
            while (to[k] && to[k] != ' ')
                k++;
            word(f, ts, to, k); /* canonical words are not mapped again */
            to += k;
            while (*to == ' ')
                to++;
        }
        return;
    }
    if (on && wn > on + 2 && !memcmp(w, x->one, on) &&
        lk_lex_num(x->num, x->nnum, w, wn, NULL) < 0 &&
        lk_lex_num(x->coll, x->ncoll, w, wn, NULL) < 0 &&
        (lk_lex_num(x->mul, x->nmul, w + on, wn - on, NULL) >= 0 ||
         lk_lex_num(x->add, x->nadd, w + on, wn - on, NULL) >= 0 ||
         is_unit_word(f, w + on, wn - on))) {
        add_num(ts, 1);
        add_word(ts, w + on, wn - on);
        return;
    }
    add_word(ts, w, wn);
}

/* Digits: "20.000.000" is one number, "1,5" a decimal (only before a unit). */
static int tokenize(const lk_flow *f, const char *raw, size_t rn, toks *ts)
{
    size_t i = 0;

    ts->n = 0;
    while (i < rn && ts->n < NTOK) {
        if (is_digit(raw[i])) {
            int64_t val = 0, frac = 0, scale = 1;
            int nd = 0, neg = i > 0 && raw[i - 1] == '-' && (i == 1 || raw[i - 2] == ' ');
            tok *t;
            for (;;) {
                while (i < rn && is_digit(raw[i])) {
                    if (++nd > 18)
                        return -1;
                    val = val * 10 + (raw[i++] - '0');
                }
                if (i + 4 <= rn && raw[i] == '.' && is_digit(raw[i + 1]) && is_digit(raw[i + 2]) &&
                    is_digit(raw[i + 3]) && (i + 4 == rn || !is_digit(raw[i + 4]))) {
                    i++;
                    continue;
                }
                break;
            }
            if (i + 1 < rn && (raw[i] == ',' || raw[i] == '.') && is_digit(raw[i + 1])) {
                i++;
                while (i < rn && is_digit(raw[i]) && scale < 100) {
                    frac = frac * 10 + (raw[i++] - '0');
                    scale *= 10;
                }
                if (i < rn && is_digit(raw[i]))
                    return -1;
            }
            add_num(ts, val);
            t = &ts->t[ts->n - 1];
            t->frac = frac;
            t->scale = scale;
            t->neg = neg;
            if (i < rn && is_letter(raw[i])) /* "5bulan" */
                continue;
        } else if (is_letter(raw[i])) {
            char w[WMAX];
            size_t n = 0;
            while (i < rn && is_letter(raw[i])) {
                if (n + 1 < sizeof w)
                    w[n++] = (char)(raw[i] | 0x20);
                i++;
            }
            /* "kira2", "orang2": a 2 after a word doubles it */
            if (i < rn && raw[i] == '2' &&
                (i + 1 == rn || (!is_digit(raw[i + 1]) && !is_letter(raw[i + 1]))))
                i++;
            word(f, ts, w, n);
        } else {
            i++;
        }
    }
    return 0;
}

typedef struct num {
    int64_t val, frac, scale;
    int neg;
    int first, last; /* tokens */
    int unit;        /* token of its unit word, or -1 */
    int collective;  /* counts people: its unit is the collective unit */
} num;

/* Number words from token *i on: "dua ratus lima puluh" is 250. piece is
 * the part a multiplier below 1000 applies to, cur the rest below 1000,
 * total the thousands and more. */
static int words_number(const lk_lexicon *x, const toks *ts, int *i, int64_t *out)
{
    const int64_t cap = INT64_C(1000000000000);
    int64_t total = 0, cur = 0, piece = 0, v;
    int seen = 0;

    while (*i < ts->n && ts->t[*i].kind == T_WORD) {
        const tok *t = &ts->t[*i];
        if (lk_lex_num(x->num, x->nnum, t->w, t->wn, &v) >= 0) {
            if (piece && (piece < 10 || v >= piece))
                break; /* "dua tiga": two numbers; "seratus dua" is one */
            cur += piece;
            piece = v;
        } else if (seen && lk_lex_num(x->add, x->nadd, t->w, t->wn, &v) >= 0) {
            piece += v; /* "dua belas" */
        } else if (seen && lk_lex_num(x->mul, x->nmul, t->w, t->wn, &v) >= 0) {
            if (v >= 1000) {
                total += (cur + piece ? cur + piece : 1) * v;
                cur = piece = 0;
            } else {
                cur += (piece ? piece : 1) * v;
                piece = 0;
            }
        } else {
            break;
        }
        if (total > cap || cur > cap || piece > cap)
            return -1;
        seen = 1;
        (*i)++;
    }
    *out = total + cur + piece;
    return seen ? 0 : -1;
}

lk_nres lk_read_number(const lk_flow *f, const lk_validator *v, const char *raw, size_t rn,
                       lk_nread *out)
{
    const lk_lexicon *x = &f->lex;
    toks ts;
    num ns[8];
    int nn = 0, i = 0, k, hedge = 0, kept = 0, with_unit = 0;
    int64_t sum = 0, first = 0, mult;
    int differ = 0;

    memset(out, 0, sizeof *out);
    if (tokenize(f, raw, rn, &ts) < 0)
        return out->res = LK_N_NONE;
    while (i < ts.n) {
        tok *t = &ts.t[i];
        num n = {0, 0, 1, 0, i, i, -1, 0};
        int64_t val;
        if (t->kind == T_NUM) {
            n.val = t->val;
            n.frac = t->frac;
            n.scale = t->scale;
            n.neg = t->neg;
            i++;
            /* "2 ribu": a multiplier that is not this input's unit */
            while (i < ts.n && ts.t[i].kind == T_WORD &&
                   !input_unit(v, ts.t[i].w, ts.t[i].wn, &mult) &&
                   lk_lex_num(x->mul, x->nmul, ts.t[i].w, ts.t[i].wn, &val) >= 0 && n.scale == 1 &&
                   n.val <= INT64_C(1000000000000) / val) {
                n.val *= val;
                n.last = i++;
            }
        } else if (words_number(x, &ts, &i, &val) == 0) {
            n.val = val;
            n.last = i - 1;
        } else if (lk_lex_num(x->coll, x->ncoll, t->w, t->wn, &val) >= 0) {
            n.val = val;
            n.collective = 1;
            i++;
        } else {
            if (lk_lex_find(x->hedge, x->nhedge, t->w, t->wn) >= 0)
                hedge = 1;
            i++;
            continue;
        }
        if (nn < (int)(sizeof ns / sizeof ns[0]))
            ns[nn++] = n;
        else
            return out->res = LK_N_TWO;
    }
    /* units: the word after a number, else the word before it */
    for (k = 0; k < nn; k++) {
        num *n = &ns[k];
        int a = n->last + 1, b = n->first - 1;
        if (n->collective)
            continue;
        if (a < ts.n && ts.t[a].kind == T_WORD && is_unit_word(f, ts.t[a].w, ts.t[a].wn))
            n->unit = a;
        else if (b >= 0 && ts.t[b].kind == T_WORD && is_unit_word(f, ts.t[b].w, ts.t[b].wn) &&
                 !(k > 0 && ns[k - 1].unit == b))
            n->unit = b;
    }
    for (k = 0; k < nn; k++) {
        num *n = &ns[k];
        const char *uw = n->collective ? x->coll_unit : n->unit >= 0 ? ts.t[n->unit].w : NULL;
        size_t un = uw ? strlen(uw) : 0;
        int64_t val;
        if (uw && !input_unit(v, uw, un, &mult)) {
            if (!out->unit[0] && un < sizeof out->unit)
                memcpy(out->unit, uw, un + 1);
            continue; /* another question's number */
        }
        if (uw) {
            int64_t part;
            with_unit++;
            if ((n->frac * mult) % n->scale)
                return out->res = LK_N_NONE; /* "1,3 tahun" is no whole number of months */
            part = n->frac * mult / n->scale;
            if (n->val > (INT64_MAX - part) / mult)
                return out->res = LK_N_NONE;
            val = n->val * mult + part;
        } else {
            if (n->scale > 1)
                return out->res = LK_N_NONE; /* "1,5" without a unit is no integer */
            val = n->val;
        }
        if (n->neg)
            val = -val;
        if (kept && val != first)
            differ = 1;
        if (!kept)
            first = val;
        sum += val;
        kept++;
    }
    if (kept == 0)
        return out->res = out->unit[0] ? LK_N_FOREIGN : LK_N_NONE;
    if (kept > 1 && differ && with_unit != kept)
        return out->res = LK_N_TWO;
    out->val = kept > 1 && differ ? sum : first;
    if (out->val < v->min || out->val > v->max)
        return out->res = LK_N_NONE;
    out->res = hedge || (kept > 1 && differ) ? LK_N_CONFIRM : LK_N_OK;
    return out->res;
}

/* ---- dates ---- */

static int valid_date(int y, int m, int d)
{
    char s[11];
    int y2, m2, d2;
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return 0;
    s[0] = (char)('0' + y / 1000);
    s[1] = (char)('0' + y / 100 % 10);
    s[2] = (char)('0' + y / 10 % 10);
    s[3] = (char)('0' + y % 10);
    s[4] = '-';
    s[5] = (char)('0' + m / 10);
    s[6] = (char)('0' + m % 10);
    s[7] = '-';
    s[8] = (char)('0' + d / 10);
    s[9] = (char)('0' + d % 10);
    s[10] = '\0';
    return lk_date_parse(s, 10, &y2, &m2, &d2) == 0;
}

static int future(int y, int m, int d, const lk_civil *today)
{
    return lk_days_from_civil(y, m, d) > lk_days_from_civil(today->year, today->month, today->day);
}

lk_nres lk_read_date(const lk_flow *f, const lk_validator *v, const char *raw, size_t rn,
                     int64_t now_ms, char *buf, size_t cap)
{
    int64_t part[3];
    int digits[3], month_word[3], np = 0, i = 0, y, m, d, swap = 0, century = 0;
    lk_civil today;
    lk_nres res = LK_N_OK;

    if (cap < 11)
        return LK_N_NONE;
    /* yyyy-mm-dd as it always was */
    if (lk_date_parse(raw, rn, &y, &m, &d) == 0) {
        np = -1;
    } else {
        size_t p = 0;
        while (p < rn) {
            if (is_digit(raw[p])) {
                int64_t val = 0;
                int nd = 0;
                while (p < rn && is_digit(raw[p])) {
                    if (++nd > 4)
                        return LK_N_NONE;
                    val = val * 10 + (raw[p++] - '0');
                }
                if (np == 3)
                    return LK_N_NONE;
                part[np] = val;
                digits[np] = nd;
                month_word[np++] = 0;
            } else if (is_letter(raw[p])) {
                char w[WMAX];
                size_t n = 0;
                int64_t mv;
                const char *to;
                while (p < rn && is_letter(raw[p])) {
                    if (n + 1 < sizeof w)
                        w[n++] = (char)(raw[p] | 0x20);
                    p++;
                }
                if ((to = lk_lex_map(&f->lex, w, n)) && !strchr(to, ' ')) {
                    n = strlen(to) < sizeof w ? strlen(to) : sizeof w - 1;
                    memcpy(w, to, n);
                }
                if (lk_lex_num(f->lex.month, f->lex.nmonth, w, n, &mv) >= 0) {
                    if (np == 3)
                        return LK_N_NONE;
                    part[np] = mv;
                    digits[np] = 0;
                    month_word[np++] = 1;
                }
            } else {
                p++;
            }
        }
        (void)i;
        if (np != 3)
            return LK_N_NONE;
        if (digits[0] == 4 && !month_word[0]) { /* 1985 8 17 */
            y = (int)part[0];
            m = (int)part[1];
            d = (int)part[2];
        } else {
            d = (int)part[0];
            m = (int)part[1];
            y = (int)part[2];
            if (month_word[0] || month_word[2] || (digits[2] != 4 && digits[2] != 2))
                return LK_N_NONE;
            if (!month_word[1] && m > 12 && d <= 12) { /* 08/17/1985: month first */
                int t = d;
                d = m;
                m = t;
                swap = 1;
            }
            if (digits[2] == 2)
                century = 1;
        }
    }
    lk_civil_from_ms(now_ms, 9 * 60, &today);
    if (century) {
        int y20 = 2000 + y, y19 = 1900 + y;
        int ok20 = valid_date(y20, m, d) && !(v->not_future && future(y20, m, d, &today));
        int ok19 = valid_date(y19, m, d);
        if (ok20 && ok19) {
            y = y20;
            res = LK_N_CONFIRM; /* 05 is 2005 or 1905 */
        } else if (ok20) {
            y = y20;
        } else if (ok19) {
            y = y19;
        } else {
            return LK_N_NONE;
        }
    }
    if (!valid_date(y, m, d))
        return LK_N_NONE;
    if (v->not_future && future(y, m, d, &today))
        return LK_N_NONE;
    if (swap)
        res = LK_N_CONFIRM;
    buf[0] = (char)('0' + y / 1000);
    buf[1] = (char)('0' + y / 100 % 10);
    buf[2] = (char)('0' + y / 10 % 10);
    buf[3] = (char)('0' + y % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + d / 10);
    buf[9] = (char)('0' + d % 10);
    buf[10] = '\0';
    return res;
}
