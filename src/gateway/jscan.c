/* A JSON reader without a tree (jscan.h): one checking pass that follows cJSON's
 * grammar step by step (so that a text is refused where and why cJSON refused it),
 * then walking functions that trust the checked text and only skip over it. */
#include "jscan.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

/* ---- the check ----------------------------------------------------------------------- */

typedef struct scan {
    const unsigned char *s;
    size_t n, pos; /* pos: where cJSON's offset would be */
    int depth, deep;
    gw_js_doc *d; /* its index */
} scan;

/* Bytes a string's fast loop stops at. */
static const unsigned char str_stop[256] = {[0] = 1, ['"'] = 1, ['\\'] = 1};

static int is_num_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.';
}

static int hexv(unsigned char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The four hex digits at p as a number, or -1. */
static long hex4(const unsigned char *p)
{
    int a = hexv(p[0]), b, c, d;

    if (a < 0 || (b = hexv(p[1])) < 0 || (c = hexv(p[2])) < 0 || (d = hexv(p[3])) < 0)
        return -1;
    return (long)a << 12 | b << 8 | c << 4 | d;
}

/* cJSON's white space: every byte up to 0x20 (a NUL stops it here: refused later), and
 * a step back when it ran to the end. */
static void ws(scan *c)
{
    if (c->pos >= c->n)
        return;
    while (c->pos < c->n && c->s[c->pos] <= 32 && c->s[c->pos])
        c->pos++;
    if (c->pos == c->n)
        c->pos--;
}

static int value(scan *c);

/* The bytes strtod takes of p[0..n) (a sign, digits with one '.', an exponent only
 * when it has digits); 0 when it takes none. */
static size_t strtod_len(const unsigned char *p, size_t n)
{
    size_t i = 0, digits = 0, m, k;

    if (i < n && (p[i] == '-' || p[i] == '+'))
        i++;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        digits++;
    if (i < n && p[i] == '.')
        for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++)
            digits++;
    if (!digits)
        return 0;
    m = i;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        k = i + 1;
        if (k < n && (p[k] == '+' || p[k] == '-'))
            k++;
        if (k < n && p[k] >= '0' && p[k] <= '9') {
            while (k < n && p[k] >= '0' && p[k] <= '9')
                k++;
            m = k;
        }
    }
    return m;
}

static int number(scan *c)
{
    size_t i = c->pos, k;

    while (i < c->n && is_num_char(c->s[i]))
        i++;
    if (!(k = strtod_len(c->s + c->pos, i - c->pos)))
        return -1;
    c->pos += k;
    return 0;
}

/* A string at c->pos. cJSON first finds its end (a backslash takes the byte after it),
 * refusing an unterminated one just after its quote, then decodes it, refusing a bad
 * escape at its backslash. */
static int string(scan *c)
{
    const unsigned char *s = c->s;
    size_t open = c->pos, i = open + 1, bad = 0;

    if (open >= c->n || s[open] != '"') {
        c->pos = open + 1;
        return -1;
    }
    for (;;) {
        while (i < c->n && !str_stop[s[i]])
            i++;
        if (i >= c->n || !s[i]) { /* unterminated, or a NUL (refused for that) */
            c->pos = open + 1;
            return -1;
        }
        if (s[i] == '"')
            break;
        if (i + 1 >= c->n) { /* a backslash as the last byte */
            c->pos = open + 1;
            return -1;
        }
        if (bad || !strchr("\"\\/bfnrtu", s[i + 1]) || !s[i + 1]) {
            bad = bad ? bad : i;
            i += 2;
        } else if (s[i + 1] == 'u') {
            if (i + 6 <= c->n && hex4(s + i + 2) >= 0) {
                i += 6;
            } else {
                bad = i;
                i += 2;
            }
        } else {
            i += 2;
        }
    }
    if (bad) {
        c->pos = bad;
        return -1;
    }
    c->pos = i + 1;
    return 0;
}

static int enter(scan *c)
{
    if (++c->depth > GW_MAX_JSON_DEPTH) {
        c->deep = 1;
        return -1;
    }
    return 0;
}

/* An array or an object at c->pos (its bracket), with cJSON's steps: white space after
 * the bracket, a step back before the first element, then element, white space, ',' */
static int container(scan *c)
{
    int obj = c->s[c->pos] == '{', k = -1;
    unsigned char close = obj ? '}' : ']';

    if (enter(c) < 0)
        return -1;
    if (c->d->nc < GW_JS_INDEX && c->n < UINT32_MAX) { /* offsets fit the index */
        k = c->d->nc++;
        c->d->start[k] = (uint32_t)c->pos;
    }
    c->pos++;
    ws(c);
    if (c->pos < c->n && c->s[c->pos] == close)
        goto done;
    if (c->pos >= c->n) {
        c->pos--;
        return -1;
    }
    c->pos--;
    do {
        c->pos++;
        ws(c);
        if (obj) {
            if (string(c) < 0)
                return -1;
            ws(c);
            if (c->pos >= c->n || c->s[c->pos] != ':')
                return -1;
            c->pos++;
            ws(c);
        }
        if (value(c) < 0)
            return -1;
        ws(c);
    } while (c->pos < c->n && c->s[c->pos] == ',');
    if (c->pos >= c->n || c->s[c->pos] != close)
        return -1;
done:
    c->depth--;
    c->pos++;
    if (k >= 0)
        c->d->end[k] = (uint32_t)c->pos;
    return 0;
}

static int value(scan *c)
{
    size_t left = c->n - c->pos;
    const unsigned char *p = c->s + c->pos;

    if (c->pos >= c->n)
        return -1;
    if ((left >= 4 && !memcmp(p, "null", 4)) || (left >= 4 && !memcmp(p, "true", 4))) {
        c->pos += 4;
        return 0;
    }
    if (left >= 5 && !memcmp(p, "false", 5)) {
        c->pos += 5;
        return 0;
    }
    if (*p == '"')
        return string(c);
    if (*p == '-' || (*p >= '0' && *p <= '9'))
        return number(c);
    if (*p == '[' || *p == '{')
        return container(c);
    return -1;
}

static int rfc_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* A refusal, with gw_json_parse's order of reasons: depth, a NUL byte, an array,
 * then what the parse found. */
static int refuse(const char *s, size_t n, int deep, enum gw_json_fault f, size_t off, char *why,
                  size_t whylen)
{
    size_t i;

    if (deep || !gw_json_depth_ok(s, n, GW_MAX_JSON_DEPTH)) {
        f = GW_JSON_DEEP;
    } else if (memchr(s, '\0', n)) {
        f = GW_JSON_NUL;
    } else {
        for (i = 0; i < n && rfc_ws((unsigned char)s[i]); i++)
            ;
        if (i < n && s[i] == '[')
            f = GW_JSON_NOT_OBJECT;
    }
    gw_json_why(why, whylen, f, off);
    return -1;
}

int gw_js_open(gw_js_doc *d, const char *s, size_t n, char *why, size_t whylen)
{
    scan c = {(const unsigned char *)s, n, 0, 0, 0, d};
    size_t start, end;

    d->s = s;
    d->n = n;
    d->root = NULL;
    d->nc = 0;
    if (!n)
        return refuse(s, n, 0, GW_JSON_SYNTAX, 0, why, whylen);
    if (n >= 5 && !memcmp(s, "\xEF\xBB\xBF", 3))
        c.pos = 3;
    ws(&c);
    start = c.pos;
    if (value(&c) < 0)
        return refuse(s, n, c.deep, GW_JSON_SYNTAX, c.pos < n ? c.pos : n - 1, why, whylen);
    for (end = c.pos; end < n && rfc_ws((unsigned char)s[end]); end++)
        ;
    if (end < n)
        return refuse(s, n, 0, GW_JSON_AFTER, end, why, whylen);
    if (s[start] != '{')
        return refuse(s, n, 0, GW_JSON_NOT_OBJECT, 0, why, whylen);
    d->root = s + start;
    return 0;
}

/* ---- the walk over a checked text -------------------------------------------------- */

static const char *skip_ws(const char *p)
{
    while ((unsigned char)*p <= 32)
        p++;
    return p;
}

static const char *skip_string(const char *p)
{
    const unsigned char *q = (const unsigned char *)p + 1;

    for (;;) {
        while (!str_stop[*q])
            q++;
        if (*q == '"')
            return (const char *)q + 1;
        q += 2; /* a backslash and the byte it escapes (a \u's digits follow as they are) */
    }
}

/* Where the container at p ends, from the index; NULL when it is not there. */
static const char *indexed_end(const gw_js_doc *d, const char *p)
{
    uint32_t off = (uint32_t)(p - d->s);
    int lo = 0, hi = d->nc - 1, mid;

    if (!d->nc || off > d->start[hi])
        return NULL;
    while (lo <= hi) {
        mid = (lo + hi) / 2;
        if (d->start[mid] == off)
            return d->s + d->end[mid];
        if (d->start[mid] < off)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

static const char *skip_value(const gw_js_doc *d, const char *p)
{
    const char *e;
    int depth = 0;

    switch (*p) {
    case '"': return skip_string(p);
    case 't':
    case 'n': return p + 4;
    case 'f': return p + 5;
    case '{':
    case '[':
        if ((e = indexed_end(d, p)))
            return e;
        break;
    default:
        while (is_num_char((unsigned char)*p))
            p++;
        return p;
    }
    for (;;) {
        switch (*p) {
        case '"': p = skip_string(p); continue;
        case '{':
        case '[': depth++; break;
        case '}':
        case ']':
            if (--depth == 0)
                return p + 1;
            break;
        default: break;
        }
        p++;
    }
}

enum gw_js_type gw_js_type(gw_jv v)
{
    if (!v)
        return GW_JS_NONE;
    switch (*v) {
    case '{': return GW_JS_OBJECT;
    case '[': return GW_JS_ARRAY;
    case '"': return GW_JS_STRING;
    case 't': return GW_JS_TRUE;
    case 'f': return GW_JS_FALSE;
    case 'n': return GW_JS_NULL;
    default: return GW_JS_NUMBER;
    }
}

/* Decodes the character or escape at p (inside a string) into out, as cJSON decodes
 * the gw_json_mark copy; returns the bytes written, *next the byte after it. */
static size_t decode1(const unsigned char *p, const unsigned char **next, unsigned char *out)
{
    long v, lo;
    static const char esc_from[] = "bfnrt\"\\/", esc_to[] = "\b\f\n\r\t\"\\/";

    if (*p != '\\') {
        *out = *p == 0xFF ? 0xFE : *p;
        *next = p + 1;
        return 1;
    }
    if (p[1] != 'u') {
        *out = (unsigned char)esc_to[strchr(esc_from, p[1]) - esc_from];
        *next = p + 2;
        return 1;
    }
    v = hex4(p + 2);
    *next = p + 6;
    if (v == 0 || (v >= 0xDC00 && v <= 0xDFFF)) {
        memset(out, v ? 0xFE : 0xFF, 6);
        return 6;
    }
    if (v >= 0xD800 && v <= 0xDBFF) {
        if (p[6] != '\\' || p[7] != 'u' || (lo = hex4(p + 8)) < 0xDC00 || lo > 0xDFFF) {
            memset(out, 0xFE, 6);
            return 6;
        }
        v = 0x10000 + (((v & 0x3FF) << 10) | (lo & 0x3FF));
        *next = p + 12;
        out[0] = (unsigned char)(0xF0 | v >> 18);
        out[1] = (unsigned char)(0x80 | (v >> 12 & 0x3F));
        out[2] = (unsigned char)(0x80 | (v >> 6 & 0x3F));
        out[3] = (unsigned char)(0x80 | (v & 0x3F));
        return 4;
    }
    if (v < 0x80) {
        out[0] = (unsigned char)v;
        return 1;
    }
    if (v < 0x800) {
        out[0] = (unsigned char)(0xC0 | v >> 6);
        out[1] = (unsigned char)(0x80 | (v & 0x3F));
        return 2;
    }
    out[0] = (unsigned char)(0xE0 | v >> 12);
    out[1] = (unsigned char)(0x80 | (v >> 6 & 0x3F));
    out[2] = (unsigned char)(0x80 | (v & 0x3F));
    return 3;
}

/* 1 when the key at p (its quote) decodes to name. */
static int key_is(const char *p, const char *name)
{
    const unsigned char *q = (const unsigned char *)p + 1, *k = (const unsigned char *)name;
    unsigned char buf[6];
    size_t m;

    for (;;) {
        if (*q == '"')
            return !*k;
        if (*q != '\\' && *q != 0xFF) {
            if (*q++ != *k++)
                return 0;
            continue;
        }
        m = decode1(q, &q, buf);
        if (strncmp((const char *)k, (const char *)buf, m)) /* also when name is shorter */
            return 0;
        k += m;
    }
}

void gw_js_get_keys(const gw_js_doc *d, gw_jv obj, const char *const *keys, int n, gw_jv *vals)
{
    const char *p, *v;
    int i, found = 0;

    for (i = 0; i < n; i++)
        vals[i] = NULL;
    if (!obj || *obj != '{')
        return;
    for (p = skip_ws(obj + 1); *p == '"';) {
        v = skip_ws(skip_ws(skip_string(p)) + 1);
        for (i = 0; i < n; i++) {
            if (!vals[i] && key_is(p, keys[i])) {
                vals[i] = v;
                if (++found == n)
                    return;
                break;
            }
        }
        p = skip_ws(skip_value(d, v));
        if (*p != ',')
            return;
        p = skip_ws(p + 1);
    }
}

gw_jv gw_js_get(const gw_js_doc *d, gw_jv obj, const char *key)
{
    gw_jv v;
    gw_js_get_keys(d, obj, &key, 1, &v);
    return v;
}

gw_jv gw_js_first(gw_jv arr)
{
    const char *p;

    if (!arr || *arr != '[')
        return NULL;
    p = skip_ws(arr + 1);
    return *p == ']' ? NULL : p;
}

gw_jv gw_js_next(const gw_js_doc *d, gw_jv el)
{
    const char *p;

    if (!el)
        return NULL;
    p = skip_ws(skip_value(d, el));
    return *p == ',' ? skip_ws(p + 1) : NULL;
}

/* cJSON's number: strtod of its characters. In a checked text strtod stops where the
 * number does (the byte after it is white space, ',', ']' or '}'), so it reads the
 * text itself. (cJSON puts the locale's decimal point in; loket keeps the C locale.) */
double gw_js_double(gw_jv num)
{
    return gw_js_type(num) == GW_JS_NUMBER ? strtod(num, NULL) : 0;
}

int gw_js_int(gw_jv num)
{
    double d = gw_js_double(num);
    return d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
}

const char *gw_js_str(gw_jv v, gw_js_arena *a)
{
    const unsigned char *p, *end;
    unsigned char *o, *start;

    if (gw_js_type(v) != GW_JS_STRING)
        return NULL;
    end = (const unsigned char *)skip_string(v) - 1; /* the closing quote */
    if (a->cap - a->used < (size_t)(end - (const unsigned char *)v) + 1)
        return NULL;
    start = o = (unsigned char *)a->p + a->used;
    for (p = (const unsigned char *)v + 1; p < end;) {
        const unsigned char *run = p;
        while (p < end && *p != '\\' && *p != 0xFF)
            p++;
        memcpy(o, run, (size_t)(p - run));
        o += p - run;
        if (p < end)
            o += decode1(p, &p, o);
    }
    *o++ = '\0';
    a->used += (size_t)(o - start);
    return (const char *)start;
}
