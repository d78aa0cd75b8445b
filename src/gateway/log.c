/* Structured log lines on stderr, one event per line in logfmt:
 *
 *   time=2026-11-24T02:00:00.123Z level=info msg=request rid=5f3a-1 method=GET ...
 *
 * The gateway never passes bodies, signatures, tokens or query strings here;
 * callers log paths and ids only. A line is written with one fwrite under a
 * lock so lines of the loop and the sender threads do not interleave.
 *
 * Escaping: every value is escaped as it is formatted, so no peer can forge a
 * field, a line or a terminal sequence. A %s between quotes in the format
 * ("path=\"%s\"") gets quotes, backslashes, control bytes (C0, DEL, C1), bytes
 * that are not UTF-8 and U+2028/U+2029 escaped; any other %s gets its control
 * and non-UTF-8 bytes escaped (those are our own words, or fields that
 * gw_log_kv escaped already). libwebsockets' lines go through the same path.
 *
 * Repeats: one line (level, message and fields; for libwebsockets' lines the
 * message with its digits ignored, since they carry pointers and descriptors)
 * is written at most REPEAT_BURST times per REPEAT_WINDOW_MS; the ones over
 * that are counted and summed up in one line with repeated=N when the window
 * ends (at the next repeat, or at gw_log_flush, which the server calls every
 * second and at exit). */
#include "gw.h"

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#define VALUE_MAX 400 /* bytes of one value written; longer ones end in ... */
#define REPEAT_BURST 10
#define REPEAT_WINDOW_MS 1000
#define REPEAT_SLOTS 64

static int log_level = GW_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

typedef struct repeat {
    uint64_t key; /* 0: free */
    int64_t start_ms;
    int level;
    int written, suppressed;
    char msg[120]; /* for the summary */
} repeat;

static repeat repeats[REPEAT_SLOTS]; /* under log_lock */

void gw_log_init(int level)
{
    log_level = level;
}

/* ---- escaping ---------------------------------------------------------------------- */

/* The length of the UTF-8 sequence at s (at most n bytes) when it is valid and
 * not a C1 control, U+2028 or U+2029; 0 otherwise. */
static size_t utf8_ok(const unsigned char *s, size_t n)
{
    unsigned cp;
    size_t len, i;

    if (s[0] < 0xc2 || s[0] > 0xf4)
        return 0;
    len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    if (len > n)
        return 0;
    cp = s[0] & (0x7f >> len);
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0 || cp == 0x2028 || cp == 0x2029)
        return 0;
    return len;
}

/* Appends s (n bytes, or up to its NUL when n is (size_t)-1) escaped; quoted:
 * inside quotes, so quotes and backslashes are escaped too. */
static void escape(lk_buf *b, const char *s, size_t n, int quoted, size_t max)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t i, k, out = 0;

    if (n == (size_t)-1)
        n = strlen((const char *)p);
    for (i = 0; i < n && out < max; i++, out++) {
        unsigned char c = p[i];
        if (quoted && (c == '"' || c == '\\')) {
            lk_buf_putc(b, '\\');
            lk_buf_putc(b, (char)c);
        } else if (c == '\n') {
            lk_buf_puts(b, "\\n");
        } else if (c == '\r') {
            lk_buf_puts(b, "\\r");
        } else if (c == '\t') {
            lk_buf_puts(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            lk_buf_printf(b, "\\x%02x", c);
        } else if (c < 0x80) {
            lk_buf_putc(b, (char)c);
        } else if ((k = utf8_ok(p + i, n - i)) > 0) {
            lk_buf_put(b, p + i, k);
            i += k - 1;
        } else {
            lk_buf_printf(b, "\\x%02x", c);
        }
    }
    if (i < n)
        lk_buf_puts(b, "...");
}

void gw_log_kv(lk_buf *b, const char *key, const char *value)
{
    lk_buf_printf(b, " %s=\"", key);
    escape(b, value, (size_t)-1, 1, 200);
    lk_buf_putc(b, '"');
}

/* Formats fmt with the arguments, escaping every %s (see the top of the file).
 * The conversions gw_log's callers use: flags, width, precision, the length
 * modifiers hh h l ll z j t L, and d i u o x X c s p f F e E g G a A %. */
static void format_fields(lk_buf *b, const char *fmt, va_list ap)
{
    const char *f = fmt;

    while (*f) {
        char spec[32], conv, tmp[128];
        const char *start = f;
        int star_w = 0, star_p = 0, w = 0, prec = -1, lng = 0, n;
        size_t sl;

        if (*f != '%') {
            lk_buf_putc(b, *f++);
            continue;
        }
        f++;
        while (*f && strchr("-+ #0", *f))
            f++;
        if (*f == '*')
            star_w = 1, f++;
        while (*f >= '0' && *f <= '9')
            f++;
        if (*f == '.') {
            f++;
            if (*f == '*')
                star_p = 1, f++;
            else
                for (prec = 0; *f >= '0' && *f <= '9'; f++)
                    prec = prec * 10 + (*f - '0');
        }
        if (*f == 'h')
            f += f[1] == 'h' ? 2 : 1;
        else if (*f == 'l')
            lng = f[1] == 'l' ? 2 : 1, f += lng;
        else if (*f == 'z' || *f == 'j' || *f == 't' || *f == 'L')
            lng = *f == 'z' ? 3 : *f == 'j' ? 4 : *f == 't' ? 5 : 6, f++;
        conv = *f;
        if (!conv)
            break;
        f++;
        sl = (size_t)(f - start);
        if (sl >= sizeof spec)
            continue; /* not a format anyone writes */
        memcpy(spec, start, sl);
        spec[sl] = '\0';
        if (star_w)
            w = va_arg(ap, int);
        if (star_p)
            prec = va_arg(ap, int);
        n = 0;
        switch (conv) {
        case '%': lk_buf_putc(b, '%'); break;
        case 's': {
            const char *v = va_arg(ap, const char *);
            int quoted = b->len > 0 && b->p[b->len - 1] == '"' && *f == '"';
            size_t len = v ? strlen(v) : 0;
            if (prec >= 0 && (size_t)prec < len)
                len = (size_t)prec;
            escape(b, v ? v : "(null)", v ? len : 6, quoted, VALUE_MAX);
            break;
        }
        case 'c': n = snprintf(tmp, sizeof tmp, "%c", va_arg(ap, int)); break;
        case 'p': n = snprintf(tmp, sizeof tmp, "%p", va_arg(ap, void *)); break;
        case 'd':
        case 'i':
        case 'u':
        case 'o':
        case 'x':
        case 'X': {
            /* the value as the widest type of its signedness, printed with the spec */
            int sgn = conv == 'd' || conv == 'i';
            long long sv = 0;
            unsigned long long uv = 0;
            char s2[40];
            size_t k = sl - 1;
            while (k > 0 && strchr("hlzjtL", spec[k - 1]))
                k--;
            memcpy(s2, spec, k);
            memcpy(s2 + k, "ll", 2);
            s2[k + 2] = conv;
            s2[k + 3] = '\0';
            if (sgn) {
                switch (lng) {
                case 1: sv = va_arg(ap, long); break;
                case 2: sv = va_arg(ap, long long); break;
                case 3:
                case 5: sv = va_arg(ap, ptrdiff_t); break;
                case 4: sv = va_arg(ap, intmax_t); break;
                default: sv = va_arg(ap, int); break;
                }
            } else {
                switch (lng) {
                case 1: uv = va_arg(ap, unsigned long); break;
                case 2: uv = va_arg(ap, unsigned long long); break;
                case 3:
                case 5: uv = va_arg(ap, size_t); break;
                case 4: uv = va_arg(ap, uintmax_t); break;
                default: uv = va_arg(ap, unsigned int); break;
                }
            }
            if (star_w || star_p) /* not used by the gateway: print the bare value */
                n = sgn ? snprintf(tmp, sizeof tmp, "%lld", sv)
                        : snprintf(tmp, sizeof tmp, "%llu", uv);
            else
                n = sgn ? snprintf(tmp, sizeof tmp, s2, sv) : snprintf(tmp, sizeof tmp, s2, uv);
            break;
        }
        default: { /* floating point */
            long double ld = lng == 6 ? va_arg(ap, long double) : (long double)va_arg(ap, double);
            char s2[40];
            size_t k = sl - 1;
            if (lng == 6)
                k--;
            memcpy(s2, spec, k);
            s2[k] = conv;
            s2[k + 1] = '\0';
            if (star_w || star_p)
                n = snprintf(tmp, sizeof tmp, "%g", (double)ld);
            else
                n = snprintf(tmp, sizeof tmp, s2, (double)ld);
            break;
        }
        }
        (void)w;
        if (n > 0)
            lk_buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    }
}

/* ---- repeats ------------------------------------------------------------------------ */

static uint64_t line_key(int level, const char *s, int skip_digits)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(level + 1);
    for (; *s; s++) {
        if (skip_digits && *s >= '0' && *s <= '9')
            continue;
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h ? h : 1;
}

static void write_line(const lk_buf *b)
{
    if (!b->oom) {
        fwrite(b->p, 1, b->len, stderr);
        fflush(stderr);
    }
}

/* Writes the summary of a window that had suppressed lines. Under log_lock. */
static void summary(repeat *r)
{
    char ts[40];
    lk_buf b = {0};

    if (r->suppressed > 0) {
        gw_iso_time(gw_now_ms(), ts, sizeof ts);
        lk_buf_printf(&b, "time=%s level=%s", ts, level_names[r->level]);
        gw_log_kv(&b, "msg", r->msg);
        lk_buf_printf(&b, " repeated=%d window_ms=%lld\n", r->suppressed,
                      (long long)(gw_now_ms() - r->start_ms));
        write_line(&b);
        lk_buf_free(&b);
    }
    r->suppressed = 0;
}

/* 1 when the line of key may be written now. Under log_lock. */
static int repeat_allows(uint64_t key, int level, const char *msg, int64_t now)
{
    repeat *r = &repeats[key % REPEAT_SLOTS];

    if (r->key != key || now - r->start_ms >= REPEAT_WINDOW_MS) {
        if (r->key)
            summary(r);
        r->key = key;
        r->start_ms = now;
        r->level = level;
        r->written = 0;
        snprintf(r->msg, sizeof r->msg, "%s", msg);
    }
    if (r->written < REPEAT_BURST) {
        r->written++;
        return 1;
    }
    r->suppressed++;
    return 0;
}

void gw_log_flush(void)
{
    int64_t now = gw_now_ms();
    size_t i;

    pthread_mutex_lock(&log_lock);
    for (i = 0; i < REPEAT_SLOTS; i++)
        if (repeats[i].key && now - repeats[i].start_ms >= REPEAT_WINDOW_MS) {
            summary(&repeats[i]);
            repeats[i].key = 0;
        }
    pthread_mutex_unlock(&log_lock);
}

/* ---- lines ----------------------------------------------------------------------------- */

static void log_line(int level, const char *msg, int from_lws, const char *fmt, va_list ap)
{
    char ts[40];
    lk_buf b = {0}, fields = {0};
    int64_t now;
    int ok;

    if (fmt && *fmt) {
        lk_buf_putc(&fields, ' ');
        format_fields(&fields, fmt, ap);
    }
    now = gw_now_ms();
    gw_iso_time(now, ts, sizeof ts);
    lk_buf_printf(&b, "time=%s level=%s", ts, level_names[level]);
    gw_log_kv(&b, "msg", msg);
    lk_buf_puts(&b, lk_buf_str(&fields));
    lk_buf_putc(&b, '\n');
    pthread_mutex_lock(&log_lock);
    ok = repeat_allows(from_lws ? line_key(level, msg, 1)
                                : line_key(level, b.p ? b.p + strlen("time=") + strlen(ts) : "", 0),
                       level, msg, now);
    if (ok)
        write_line(&b);
    pthread_mutex_unlock(&log_lock);
    lk_buf_free(&b);
    lk_buf_free(&fields);
}

void gw_log(int level, const char *msg, const char *fmt, ...)
{
    va_list ap;

    if (level > log_level)
        return;
    va_start(ap, fmt);
    log_line(level, msg, 0, fmt, ap);
    va_end(ap);
}

static void log_lws(int level, const char *msg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_line(level, msg, 1, fmt, ap);
    va_end(ap);
}

void gw_log_lws(int level, const char *line)
{
    char msg[512];
    size_t n;
    int lv = level & LLL_ERR ? GW_LOG_ERROR : level & LLL_WARN ? GW_LOG_WARN : GW_LOG_DEBUG;

    if (lv > log_level)
        return;
    snprintf(msg, sizeof msg, "%s", line);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    log_lws(lv, msg, "src=lws");
}

void gw_log_diag(const lk_diag *diag)
{
    size_t i;

    for (i = 0; i < diag->n; i++) {
        const lk_diag_item *d = &diag->items[i];
        gw_log(d->warning ? GW_LOG_WARN : GW_LOG_ERROR, d->msg,
               "file=\"%s\" line=%d col=%d path=\"%s\"", d->file ? d->file : "", d->line, d->col,
               d->path ? d->path : "");
    }
}
