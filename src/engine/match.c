/* What a message means in a menu or an input state: option matching and the
 * input validators of flows/README.md ("Menus", "Inputs"). Every function is
 * pure; the step applies the result.
 *
 * Menus and word lists look at the normalised message (lk_text_norm); digits,
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

/* By its number, by one of the option's words (the title and the key among
 * them), else by the one option whose word of three or more letters occurs in
 * a longer message. Two options' words in one message is ambiguous: no
 * match. The words come before the numbers so that an option keyed "2" is
 * chosen by "2" wherever it stands. */
int lk_match_menu(const lk_state *st, const char *q, size_t qn)
{
    int i, j, found = -1, n;

    if (qn == 0)
        return -1;
    for (i = 0; i < st->noptions; i++)
        for (j = 0; j < st->options[i].nwords; j++)
            if (word_eq(st->options[i].words[j], q, qn))
                return i;
    n = lk_small_number(q, qn);
    if (n >= 0)
        return n >= 1 && n <= st->noptions ? n - 1 : -1;
    for (i = 0; i < st->noptions; i++) {
        for (j = 0; j < st->options[i].nwords; j++) {
            const char *w = st->options[i].words[j];
            size_t wn = strlen(w);
            if (wn >= 3 && lk_text_has_word(q, qn, w, wn)) {
                if (found >= 0)
                    return -1;
                found = i;
                break;
            }
        }
    }
    return found;
}

/* The whole message is the word, or the message starts with it as a word
 * ("ya benar"). */
static int starts_with_word(const char *q, size_t qn, const char *w)
{
    size_t wn = strlen(w);
    return wn > 0 && wn <= qn && memcmp(q, w, wn) == 0 && (wn == qn || q[wn] == ' ');
}

int lk_match_yesno(const lk_flow *flow, const char *q, size_t qn)
{
    int i;

    if (qn == 0)
        return -1;
    for (i = 0; i < flow->nyes; i++)
        if (word_eq(flow->yes[i], q, qn))
            return 1;
    for (i = 0; i < flow->nno; i++)
        if (word_eq(flow->no[i], q, qn))
            return 0;
    for (i = 0; i < flow->nyes; i++)
        if (starts_with_word(q, qn, flow->yes[i]))
            return 1;
    for (i = 0; i < flow->nno; i++)
        if (starts_with_word(q, qn, flow->no[i]))
            return 0;
    return -1;
}

/* Digits only, spaces and dashes ignored: "3201-2345 6789" -> "320123456789". */
static int check_digits(const lk_validator *v, const char *raw, size_t rn, char *tmp, size_t tmpcap,
                        lk_value *out)
{
    size_t i, n = 0;
    int k;

    for (i = 0; i < rn; i++) {
        if (raw[i] == ' ' || raw[i] == '-')
            continue;
        if (!is_digit(raw[i]) || n + 1 >= tmpcap)
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

static int is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A unit of v ("juta") at raw[*i], after optional spaces, as a whole word:
 * 0 with *mult set and *i past it, or -1. */
static int unit_at(const lk_validator *v, const char *raw, size_t rn, size_t *i, int64_t *mult)
{
    char w[32];
    size_t j = *i, n = 0;
    int k;

    while (j < rn && raw[j] == ' ')
        j++;
    while (j < rn && n + 1 < sizeof w && is_letter(raw[j]))
        w[n++] = (char)(raw[j++] | 0x20);
    if (n == 0 || (j < rn && is_letter(raw[j])))
        return -1;
    w[n] = '\0';
    for (k = 0; k < v->nunits; k++) {
        if (strcmp(v->units[k], w) == 0) {
            *mult = v->unit_mult[k];
            *i = j;
            return 0;
        }
    }
    return -1;
}

/* The message's one number: "sudah 5 bulan" -> 5. Dots between groups of
 * three digits are thousands separators ("Rp20.000.000"); any other second
 * run of digits makes the message ambiguous. A '-' right before the number,
 * at the start or after a space, makes it negative; a 2 right after a letter
 * is the informal doubling of a word ("kira2"). With the input's units,
 * "20 juta" and "1,5 jt" multiply (a decimal part only before a unit). */
static int check_number(const lk_validator *v, const char *raw, size_t rn, lk_value *out)
{
    size_t i = 0;
    int runs = 0, nd = 0, neg = 0;
    int64_t val = 0;

    while (i < rn) {
        int64_t frac = 0, scale = 1, mult;
        size_t j;

        if (!is_digit(raw[i])) {
            i++;
            continue;
        }
        /* "kira2", "orang2": a 2 right after a letter doubles the word */
        if (raw[i] == '2' && i > 0 && is_letter(raw[i - 1]) &&
            (i + 1 == rn || (!is_digit(raw[i + 1]) && !is_letter(raw[i + 1])))) {
            i++;
            continue;
        }
        if (++runs > 1)
            return -1;
        neg = i > 0 && raw[i - 1] == '-' && (i == 1 || raw[i - 2] == ' ');
        for (;;) {
            while (i < rn && is_digit(raw[i])) {
                if (++nd > 18)
                    return -1;
                val = val * 10 + (raw[i++] - '0');
            }
            /* ".000" goes on with the same number */
            if (i + 4 <= rn && raw[i] == '.' && is_digit(raw[i + 1]) && is_digit(raw[i + 2]) &&
                is_digit(raw[i + 3]) && (i + 4 == rn || !is_digit(raw[i + 4]))) {
                i++;
                continue;
            }
            break;
        }
        if (v->nunits == 0)
            continue;
        /* a decimal part of one or two digits counts only before a unit */
        j = i;
        if (j + 1 < rn && (raw[j] == ',' || raw[j] == '.') && is_digit(raw[j + 1])) {
            j++;
            while (j < rn && is_digit(raw[j]) && scale < 100) {
                frac = frac * 10 + (raw[j++] - '0');
                scale *= 10;
            }
            if (j < rn && is_digit(raw[j]))
                return -1;
        }
        if (unit_at(v, raw, rn, &j, &mult) == 0) {
            if (val > INT64_MAX / mult)
                return -1;
            val = val * mult + frac * (mult / scale);
            i = j;
        } else if (scale > 1) {
            return -1; /* "1,5" without a unit is no integer */
        }
    }
    if (!runs)
        return -1;
    if (neg)
        val = -val;
    if (val < v->min || val > v->max)
        return -1;
    out->type = LK_VT_INT;
    out->i = val;
    return 0;
}

/* yyyy-mm-dd, a real day. not_future compares with the date at now in UTC+9,
 * Indonesia's easternmost zone (WIT): a date that is already today anywhere
 * in the country is accepted. */
static int check_date(const lk_validator *v, const char *raw, size_t rn, int64_t now_ms,
                      lk_value *out)
{
    int y, m, d;
    lk_civil today;

    if (lk_date_parse(raw, rn, &y, &m, &d) < 0)
        return -1;
    if (v->not_future) {
        lk_civil_from_ms(now_ms, 9 * 60, &today);
        if (lk_days_from_civil(y, m, d) > lk_days_from_civil(today.year, today.month, today.day))
            return -1;
    }
    out->type = LK_VT_STR;
    out->s = raw;
    out->n = rn;
    return 0;
}

int lk_match_input(const lk_flow *flow, const lk_validator *v, const char *raw, size_t rn,
                   const char *q, size_t qn, int64_t now_ms, char *tmp, size_t tmpcap,
                   lk_value *out)
{
    int i, yn;

    out->type = LK_VT_NULL;
    out->i = 0;
    out->s = NULL;
    out->n = 0;
    switch (v->kind) {
    case LK_V_TEXT:
        if (rn == 0 || lk_utf8_len(raw, rn) > (size_t)(v->max_len > 0 ? v->max_len : 200))
            return -1;
        out->type = LK_VT_STR;
        out->s = raw;
        out->n = rn;
        return 0;
    case LK_V_DIGITS: return check_digits(v, raw, rn, tmp, tmpcap, out);
    case LK_V_NUMBER: return check_number(v, raw, rn, out);
    case LK_V_DATE: return check_date(v, raw, rn, now_ms, out);
    case LK_V_REGEX:
        /* raw is NUL-terminated: it is the `input` variable */
        if (rn == 0 || !v->has_re || regexec(&v->re, raw, 0, NULL, 0) != 0)
            return -1;
        out->type = LK_VT_STR;
        out->s = raw;
        out->n = rn;
        return 0;
    case LK_V_YESNO:
        if ((yn = lk_match_yesno(flow, q, qn)) < 0)
            return -1;
        out->type = LK_VT_INT;
        out->i = yn;
        return 0;
    case LK_V_WORDS:
        for (i = 0; i < v->nwords; i++) {
            if (qn && word_eq(v->words[i], q, qn)) {
                out->type = LK_VT_STR;
                out->s = v->words[i];
                out->n = qn;
                return 0;
            }
        }
        return -1;
    }
    return -1;
}
