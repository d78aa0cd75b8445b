/* UTF-8 validation, the normalisation used by every matcher, edit distance
 * for typo tolerance, and Indonesian number formatting. */
#include "loket/core.h"

#include <stdlib.h>
#include <string.h>

int lk_utf8_valid(const char *str, size_t n, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i];
        size_t k, len;
        unsigned cp;

        if (c == 0)
            goto fail;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            goto fail;
        }
        if (i + len > n)
            goto fail;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                goto fail;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            goto fail;
        i += len;
    }
    return 1;
fail:
    if (bad)
        *bad = i;
    return 0;
}

size_t lk_utf8_len(const char *s, size_t n)
{
    size_t i, count = 0;
    for (i = 0; i < n; i++)
        count += ((unsigned char)s[i] & 0xc0) != 0x80;
    return count;
}

static int is_sep(unsigned char c)
{
    switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\r':
    case '\v':
    case '\f':
    case '.':
    case ',':
    case '-':
    case '/':
    case '_':
    case '!':
    case '?':
    case ';':
    case ':':
    case '\'':
    case '"':
    case '(':
    case ')':
    case '*': return 1;
    }
    return 0;
}

size_t lk_text_norm(const char *in, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;
    int space = 0;

    if (cap == 0)
        return 0;
    for (i = 0; i < n && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (is_sep(c)) {
            space = o > 0;
            continue;
        }
        if (space) {
            if (o + 2 >= cap)
                break;
            out[o++] = ' ';
            space = 0;
        }
        out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[o] = '\0';
    return o;
}

int lk_text_edit(const char *a, size_t an, const char *b, size_t bn, int max)
{
    int stack[2][128];
    int *prev, *cur, *heap = NULL;
    size_t i, j;
    int result;

    if ((an > bn ? an - bn : bn - an) > (size_t)max)
        return max + 1;
    if (bn + 1 > 128) {
        heap = malloc(2 * (bn + 1) * sizeof *heap);
        if (!heap)
            return max + 1;
        prev = heap;
        cur = heap + bn + 1;
    } else {
        prev = stack[0];
        cur = stack[1];
    }
    for (j = 0; j <= bn; j++)
        prev[j] = (int)j;
    for (i = 1; i <= an; i++) {
        int best = cur[0] = (int)i;
        for (j = 1; j <= bn; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = prev[j - 1] + cost;
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            cur[j] = v;
            if (v < best)
                best = v;
        }
        if (best > max) {
            free(heap);
            return max + 1;
        }
        int *t = prev;
        prev = cur;
        cur = t;
    }
    result = prev[bn] > max ? max + 1 : prev[bn];
    free(heap);
    return result;
}

int lk_text_has_word(const char *text, size_t tn, const char *word, size_t wn)
{
    size_t i;
    if (wn == 0 || wn > tn)
        return 0;
    for (i = 0; i + wn <= tn; i++) {
        if ((i == 0 || text[i - 1] == ' ') && memcmp(text + i, word, wn) == 0 &&
            (i + wn == tn || text[i + wn] == ' '))
            return 1;
    }
    return 0;
}

static void fmt_u64(lk_buf *b, uint64_t u)
{
    char digits[32];
    int n = 0, i;

    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    for (i = n - 1; i >= 0; i--) {
        lk_buf_putc(b, digits[i]);
        if (i > 0 && i % 3 == 0)
            lk_buf_putc(b, '.');
    }
}

/* |v| without overflow for INT64_MIN. */
static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
}

char *lk_fmt_int(char buf[24], int64_t v, size_t *n)
{
    char *p = buf + 23;
    uint64_t u = magnitude(v);

    *p = '\0';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    *n = (size_t)(buf + 23 - p);
    return p;
}

void lk_buf_put_int(lk_buf *b, int64_t v)
{
    char buf[24];
    size_t n;
    const char *p = lk_fmt_int(buf, v, &n);

    lk_buf_put(b, p, n);
}

void lk_fmt_thousands(lk_buf *b, int64_t v)
{
    if (v < 0)
        lk_buf_putc(b, '-');
    fmt_u64(b, magnitude(v));
}

void lk_fmt_money(lk_buf *b, int64_t amount)
{
    lk_buf_puts(b, amount < 0 ? "-Rp" : "Rp");
    fmt_u64(b, magnitude(amount));
}
