/* Reading flow files strictly and knowing where everything is.
 *
 * cJSON (1.7.15) keeps no positions and is lenient: it takes duplicate keys,
 * cuts strings at \u0000, passes raw control characters and invalid UTF-8,
 * and reads 01 and 1. as numbers. So every file goes through three passes:
 * a UTF-8 check of the raw bytes, cJSON, and a strict scanner that walks the
 * text and the cJSON tree in lockstep (objects keep member order), reports
 * what cJSON let through and records where each node's key and value start.
 * When cJSON fails, the same scanner runs without a tree to say precisely
 * where and why; cJSON's own error offset is the fallback. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "load.h"

/* ---- positions ------------------------------------------------------------ */

static size_t hash_ptr(const void *p, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

static int pos_put(ld *l, const cJSON *node, int file, size_t key_off, size_t val_off)
{
    size_t i;

    if ((l->npos + 1) * 2 > l->cappos) {
        size_t ncap = l->cappos ? l->cappos * 2 : 1024, k;
        ld_pos *np = calloc(ncap, sizeof *np);
        if (!np) {
            l->oom = 1;
            return -1;
        }
        for (k = 0; k < l->cappos; k++) {
            if (!l->pos[k].node)
                continue;
            i = hash_ptr(l->pos[k].node, ncap);
            while (np[i].node)
                i = (i + 1) & (ncap - 1);
            np[i] = l->pos[k];
        }
        free(l->pos);
        l->pos = np;
        l->cappos = ncap;
    }
    i = hash_ptr(node, l->cappos);
    while (l->pos[i].node && l->pos[i].node != node)
        i = (i + 1) & (l->cappos - 1);
    if (!l->pos[i].node)
        l->npos++;
    l->pos[i].node = node;
    l->pos[i].file = file;
    l->pos[i].key_off = (uint32_t)key_off;
    l->pos[i].val_off = (uint32_t)val_off;
    return 0;
}

const ld_pos *ld_pos_of(const ld *l, const cJSON *node)
{
    size_t i;
    if (!node || !l->cappos)
        return NULL;
    i = hash_ptr(node, l->cappos);
    while (l->pos[i].node) {
        if (l->pos[i].node == node)
            return &l->pos[i];
        i = (i + 1) & (l->cappos - 1);
    }
    return NULL;
}

void ld_line_col(const ld *l, int file, size_t off, int *line, int *col)
{
    const ld_file *f = &l->files[file];
    size_t lo = 0, hi = f->nlines; /* the last line start <= off */

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->lines[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    *line = (int)lo + 1;
    *col = (int)(off - f->lines[lo]) + 1;
}

/* ---- diagnostics and paths -------------------------------------------------- */

static void report_at(ld *l, int file, size_t off, const char *path, const char *fmt, va_list ap)
{
    int line = 0, col = 0;
    if (file >= 0)
        ld_line_col(l, file, off, &line, &col);
    lk_diag_vadd(l->diag, 0, file >= 0 ? l->files[file].path : NULL, line, col, path, fmt, ap);
    l->nerr++;
}

static void report_node(ld *l, const cJSON *node, int key, const char *path, const char *fmt,
                        va_list ap)
{
    const ld_pos *p = ld_pos_of(l, node);
    report_at(l, p ? p->file : -1, p ? (key ? p->key_off : p->val_off) : 0, path, fmt, ap);
}

void ld_err(ld *l, const cJSON *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_node(l, node, 0, l->path, fmt, ap);
    va_end(ap);
}

void ld_err_key(ld *l, const cJSON *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_node(l, node, 1, l->path, fmt, ap);
    va_end(ap);
}

void ld_err_path(ld *l, const cJSON *node, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_node(l, node, 0, path, fmt, ap);
    va_end(ap);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static unsigned hex4(const char *s)
{
    unsigned v = 0;
    int k;
    for (k = 0; k < 4; k++)
        v = v * 16 + (unsigned)hexval((unsigned char)s[k]);
    return v;
}

void ld_err_in(ld *l, const cJSON *node, size_t k, const char *fmt, ...)
{
    const ld_pos *p = ld_pos_of(l, node);
    size_t r = 0, d = 0;
    va_list ap;

    if (p && cJSON_IsString(node)) {
        /* Walk the raw string, decoding escapes, to the k-th decoded byte. */
        const char *raw = l->files[p->file].text + p->val_off + 1;
        while (d < k && raw[r] && raw[r] != '"') {
            if (raw[r] != '\\') {
                r++;
                d++;
            } else if (raw[r + 1] != 'u') {
                r += 2;
                d++;
            } else {
                unsigned v = hex4(raw + r + 2);
                if (v >= 0xd800 && v <= 0xdbff) {
                    r += 12;
                    d += 4;
                } else {
                    r += 6;
                    d += v < 0x80 ? 1 : v < 0x800 ? 2 : 3;
                }
            }
        }
        va_start(ap, fmt);
        report_at(l, p->file, p->val_off + 1 + r, l->path, fmt, ap);
        va_end(ap);
        return;
    }
    va_start(ap, fmt);
    report_node(l, node, 0, l->path, fmt, ap);
    va_end(ap);
}

size_t ld_push(ld *l, const char *key)
{
    size_t mark = l->plen;
    int n = snprintf(l->path + l->plen, sizeof l->path - l->plen, "%s%s", l->plen ? "." : "", key);
    if (n > 0)
        l->plen += (size_t)n < sizeof l->path - l->plen ? (size_t)n : sizeof l->path - 1 - l->plen;
    return mark;
}

size_t ld_push_i(ld *l, int i)
{
    size_t mark = l->plen;
    int n = snprintf(l->path + l->plen, sizeof l->path - l->plen, "[%d]", i);
    if (n > 0)
        l->plen += (size_t)n < sizeof l->path - l->plen ? (size_t)n : sizeof l->path - 1 - l->plen;
    return mark;
}

void ld_pop(ld *l, size_t mark)
{
    l->plen = mark;
    l->path[mark] = '\0';
}

/* ---- the strict scanner -------------------------------------------------------- */

typedef struct scan {
    ld *l;
    int file;
    const unsigned char *s;
    size_t n, i;
    int fatal; /* a syntax error was reported: stop */
    int tree;  /* walking a cJSON tree (cJSON accepted the text) */
} scan;

static void sc_err(scan *sc, size_t off, int fatal, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void sc_err(scan *sc, size_t off, int fatal, const char *fmt, ...)
{
    va_list ap;
    if (sc->fatal)
        return;
    va_start(ap, fmt);
    report_at(sc->l, sc->file, off, sc->l->path, fmt, ap);
    va_end(ap);
    sc->fatal = fatal;
}

/* What is at off, for messages: a word, or one character. */
static const char *sc_what(scan *sc, size_t off, char *buf, size_t cap)
{
    size_t k = 0;
    if (off >= sc->n)
        return "the end of the file";
    while (off + k < sc->n && k < 20 && (isalnum(sc->s[off + k]) || sc->s[off + k] == '_'))
        k++;
    if (!k)
        k = 1;
    snprintf(buf, cap, "'%.*s'", (int)k, (const char *)sc->s + off);
    return buf;
}

static void sc_ws(scan *sc)
{
    while (sc->i < sc->n) {
        unsigned c = sc->s[sc->i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            sc->i++;
        else if (c < 0x20 || c == 0x7f) {
            sc_err(sc, sc->i, 0, "control character 0x%02x outside a string", c);
            sc->i++;
        } else
            break;
    }
}

static int sc_string(scan *sc)
{
    size_t start = sc->i;

    sc->i++;
    for (;;) {
        unsigned c;
        if (sc->i >= sc->n) {
            sc_err(sc, start, 1, "string is not closed (missing '\"')");
            return -1;
        }
        c = sc->s[sc->i];
        if (c == '"') {
            sc->i++;
            return 0;
        }
        if (c == '\n' && !sc->tree) {
            sc_err(sc, start, 1, "string is not closed before the end of the line");
            return -1;
        }
        if (c < 0x20) {
            sc_err(sc, sc->i, 0,
                   "raw control character 0x%02x in a string: write it as an escape (\\n, \\t)", c);
            sc->i++;
            continue;
        }
        if (c != '\\') {
            sc->i++;
            continue;
        }
        c = sc->i + 1 < sc->n ? sc->s[sc->i + 1] : 0;
        if (strchr("\"\\/bfnrt", (int)c) && c) {
            sc->i += 2;
            continue;
        }
        if (c != 'u') {
            sc_err(sc, sc->i, 1, "unknown escape '\\%c' in a string", c ? (int)c : ' ');
            return -1;
        }
        {
            const char *h = (const char *)sc->s + sc->i + 2;
            unsigned v;
            int k;
            for (k = 0; k < 4; k++)
                if (sc->i + 2 + (size_t)k >= sc->n || hexval((unsigned char)h[k]) < 0) {
                    sc_err(sc, sc->i, 1, "\\u must be followed by 4 hex digits");
                    return -1;
                }
            v = hex4(h);
            if (v == 0)
                sc_err(sc, sc->i, 0,
                       "\\u0000 is not allowed in a string (it would cut the text "
                       "here)");
            if (v >= 0xdc00 && v <= 0xdfff) {
                sc_err(sc, sc->i, 1, "\\u%04x is half of a surrogate pair without its first half",
                       v);
                return -1;
            }
            if (v >= 0xd800 && v <= 0xdbff) {
                if (sc->i + 12 > sc->n || h[4] != '\\' || h[5] != 'u' ||
                    hexval((unsigned char)h[6]) < 0 || hexval((unsigned char)h[7]) < 0 ||
                    hexval((unsigned char)h[8]) < 0 || hexval((unsigned char)h[9]) < 0 ||
                    hex4(h + 6) < 0xdc00 || hex4(h + 6) > 0xdfff) {
                    sc_err(sc, sc->i, 1,
                           "\\u%04x must be followed by the second half of its "
                           "surrogate pair",
                           v);
                    return -1;
                }
                sc->i += 6;
            }
            sc->i += 6;
        }
    }
}

static int strict_number(const unsigned char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && isdigit(s[i]))
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        if (++i >= n || !isdigit(s[i]))
            return 0;
        while (i < n && isdigit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !isdigit(s[i]))
            return 0;
        while (i < n && isdigit(s[i]))
            i++;
    }
    return i == n;
}

static void sc_value(scan *sc, const cJSON *node, size_t key_off, int has_key, int depth);

static void sc_key_path(scan *sc, size_t key_start, size_t key_end)
{
    char key[128];
    size_t n = key_end - key_start - 2; /* without the quotes */
    if (n > sizeof key - 1)
        n = sizeof key - 1;
    memcpy(key, sc->s + key_start + 1, n);
    key[n] = '\0';
    ld_push(sc->l, key);
}

static void sc_container(scan *sc, const cJSON *node, int depth)
{
    size_t open = sc->i, mark;
    int obj = sc->s[sc->i] == '{', index = 0, line, col;
    char close = obj ? '}' : ']', buf[32];
    const cJSON *child = node ? node->child : NULL;

    if (depth >= LD_MAX_DEPTH) {
        sc_err(sc, open, 1, "nesting deeper than %d levels", LD_MAX_DEPTH);
        return;
    }
    sc->i++;
    sc_ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == (unsigned char)close) {
        sc->i++;
        return;
    }
    for (;;) {
        size_t key_off = sc->i;
        sc_ws(sc);
        key_off = sc->i;
        if (obj) {
            const cJSON *p;
            if (sc->i >= sc->n || sc->s[sc->i] != '"') {
                sc_err(sc, sc->i, 1, "expected a key in double quotes, found %s",
                       sc_what(sc, sc->i, buf, sizeof buf));
                return;
            }
            if (sc_string(sc) < 0)
                return;
            mark = sc->l->plen;
            sc_key_path(sc, key_off, sc->i);
            for (p = node ? node->child : NULL; child && p != child; p = p->next) {
                const ld_pos *fp;
                if (strcmp(p->string, child->string) != 0 || !(fp = ld_pos_of(sc->l, p)))
                    continue;
                ld_line_col(sc->l, sc->file, fp->key_off, &line, &col);
                sc_err(sc, key_off, 0, "duplicate key '%s' (first at line %d, column %d)",
                       child->string, line, col);
                break;
            }
            sc_ws(sc);
            if (sc->i >= sc->n || sc->s[sc->i] != ':') {
                sc_err(sc, sc->i, 1, "expected ':' after the key, found %s",
                       sc_what(sc, sc->i, buf, sizeof buf));
                return;
            }
            sc->i++;
            sc_value(sc, child, key_off, 1, depth + 1);
        } else {
            mark = ld_push_i(sc->l, index);
            sc_value(sc, child, key_off, 0, depth + 1);
        }
        if (sc->fatal)
            return;
        if (child)
            child = child->next;
        sc_ws(sc);
        if (sc->i < sc->n && sc->s[sc->i] == ',') {
            size_t comma = sc->i++;
            sc_ws(sc);
            if (sc->i < sc->n && sc->s[sc->i] == (unsigned char)close) {
                sc_err(sc, comma, 1, "trailing comma before '%c'", close);
                return;
            }
            ld_pop(sc->l, mark);
            index++;
            continue;
        }
        if (sc->i < sc->n && sc->s[sc->i] == (unsigned char)close) {
            ld_pop(sc->l, mark);
            sc->i++;
            return;
        }
        if (sc->i >= sc->n) {
            ld_line_col(sc->l, sc->file, open, &line, &col);
            sc_err(sc, sc->i, 1,
                   "unexpected end of the file: the %s opened at line %d, column "
                   "%d is not closed",
                   obj ? "object" : "array", line, col);
        } else {
            sc_err(sc, sc->i, 1, "expected ',' or '%c' after the value, found %s", close,
                   sc_what(sc, sc->i, buf, sizeof buf));
        }
        return;
    }
}

static void sc_value(scan *sc, const cJSON *node, size_t key_off, int has_key, int depth)
{
    char buf[32];
    unsigned c;

    sc_ws(sc);
    if (sc->i >= sc->n) {
        sc_err(sc, sc->i, 1, "unexpected end of the file: expected a value");
        return;
    }
    if (node && pos_put(sc->l, node, sc->file, has_key ? key_off : sc->i, sc->i) < 0) {
        sc->fatal = 1;
        return;
    }
    c = sc->s[sc->i];
    if (c == '{' || c == '[') {
        sc_container(sc, node, depth);
    } else if (c == '"') {
        sc_string(sc);
    } else if (c == '-' || isdigit(c)) {
        size_t start = sc->i;
        while (sc->i < sc->n && sc->s[sc->i] && strchr("0123456789+-.eE", sc->s[sc->i]))
            sc->i++;
        if (!strict_number(sc->s + start, sc->i - start))
            sc_err(sc, start, !sc->tree, "'%.*s' is not a JSON number", (int)(sc->i - start),
                   (const char *)sc->s + start);
    } else if (sc->n - sc->i >= 4 && memcmp(sc->s + sc->i, "true", 4) == 0) {
        sc->i += 4;
    } else if (sc->n - sc->i >= 5 && memcmp(sc->s + sc->i, "false", 5) == 0) {
        sc->i += 5;
    } else if (sc->n - sc->i >= 4 && memcmp(sc->s + sc->i, "null", 4) == 0) {
        sc->i += 4;
    } else {
        sc_err(sc, sc->i, 1, "expected a value, found %s", sc_what(sc, sc->i, buf, sizeof buf));
    }
}

/* 0 when the scan found nothing to report. */
static int scan_file(ld *l, int file, const cJSON *root)
{
    ld_file *f = &l->files[file];
    scan sc = {l, file, (const unsigned char *)f->text, f->len, 0, 0, root != NULL};
    int nerr = l->nerr;
    char buf[32];

    if (sc.n >= 3 && memcmp(sc.s, "\xef\xbb\xbf", 3) == 0)
        sc.i = 3; /* a byte order mark, as cJSON skips it */
    ld_pop(l, 0);
    sc_value(&sc, root, 0, 0, 0);
    if (!sc.fatal) {
        sc_ws(&sc);
        if (sc.i < sc.n)
            sc_err(&sc, sc.i, 1, "unexpected %s after the end of the JSON document",
                   sc_what(&sc, sc.i, buf, sizeof buf));
    }
    ld_pop(l, 0);
    return l->nerr != nerr || l->oom;
}

/* ---- files --------------------------------------------------------------------- */

int ld_file_text(ld *l, const char *path, const char *dir, char *text, size_t len)
{
    ld_file *f;
    size_t k, off = 0, bad;
    int idx, reports = 0, line, col;
    const char *end = NULL;

    if (l->nfiles == l->capfiles) {
        int ncap = l->capfiles ? l->capfiles * 2 : 8;
        ld_file *nf = realloc(l->files, (size_t)ncap * sizeof *nf);
        if (!nf) {
            free(text);
            l->oom = 1;
            return -2;
        }
        l->files = nf;
        l->capfiles = ncap;
    }
    idx = l->nfiles++;
    f = &l->files[idx];
    memset(f, 0, sizeof *f);
    f->text = text;
    f->len = len;
    f->path = strdup(path);
    f->dir = strdup(dir);
    for (k = 0; k < len; k++)
        f->nlines += text[k] == '\n';
    f->lines = malloc((f->nlines + 1) * sizeof *f->lines);
    if (!f->path || !f->dir || !f->lines) {
        l->oom = 1;
        return -2;
    }
    f->nlines = 1;
    f->lines[0] = 0;
    for (k = 0; k < len; k++)
        if (text[k] == '\n')
            f->lines[f->nlines++] = k + 1;

    if (len > LD_MAX_FILE) {
        lk_diag_add(l->diag, path, 0, 0, NULL, "the file has %zu bytes; the limit is %u MiB", len,
                    LD_MAX_FILE >> 20);
        l->nerr++;
        return -1;
    }
    while (off < len && !lk_utf8_valid(text + off, len - off, &bad)) {
        ld_line_col(l, idx, off + bad, &line, &col);
        if (text[off + bad] == '\0')
            lk_diag_add(l->diag, path, line, col, NULL, "NUL byte in the file");
        else
            lk_diag_add(l->diag, path, line, col, NULL,
                        "invalid UTF-8: byte 0x%02x (save the file as UTF-8)",
                        (unsigned char)text[off + bad]);
        l->nerr++;
        off += bad + 1;
        if (++reports == 5)
            break;
    }
    if (reports)
        return -1;

    f->root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
    if (!f->root) {
        /* Our scanner says where and why; cJSON's offset is the fallback. */
        if (!scan_file(l, idx, NULL)) {
            size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
            ld_line_col(l, idx, at, &line, &col);
            lk_diag_add(l->diag, path, line, col, NULL, "JSON syntax error");
            l->nerr++;
        }
        return -1;
    }
    return scan_file(l, idx, f->root) ? -1 : idx;
}

int ld_file_load(ld *l, const char *path, const cJSON *from)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    char *text = NULL, *dir;
    const char *slash;
    size_t got;
    int r;
    const char *why = NULL;

    if (!fp)
        why = strerror(errno);
    else if (fstat(fileno(fp), &st) != 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    if (why) {
        if (from)
            ld_err(l, from, "cannot read '%s': %s", path, why);
        else {
            lk_diag_add(l->diag, path, 0, 0, NULL, "cannot read the file: %s", why);
            l->nerr++;
            l->eio = 1;
        }
        if (fp)
            fclose(fp);
        return -1;
    }
    if ((uint64_t)st.st_size > LD_MAX_FILE) {
        if (from)
            ld_err(l, from, "'%s' has %lld bytes; the limit is %u MiB", path, (long long)st.st_size,
                   LD_MAX_FILE >> 20);
        else {
            lk_diag_add(l->diag, path, 0, 0, NULL, "the file has %lld bytes; the limit is %u MiB",
                        (long long)st.st_size, LD_MAX_FILE >> 20);
            l->nerr++;
        }
        fclose(fp);
        return -1;
    }
    text = malloc((size_t)st.st_size + 1);
    if (!text) {
        fclose(fp);
        l->oom = 1;
        return -2;
    }
    got = fread(text, 1, (size_t)st.st_size, fp);
    fclose(fp);
    text[got] = '\0';
    slash = strrchr(path, '/');
    dir = strndup(path, slash ? (size_t)(slash - path) + 1 : 0);
    if (!dir) {
        free(text);
        l->oom = 1;
        return -2;
    }
    r = ld_file_text(l, path, dir, text, got);
    free(dir);
    return r;
}
