/* Structured log lines on stderr, one event per line in logfmt:
 *
 *   time=2026-11-24T02:00:00.123Z level=info msg=request rid=5f3a-1 method=GET ...
 *
 * The gateway never passes bodies, signatures, tokens or query strings here;
 * callers log paths and ids only. A line is written with one fwrite under a
 * lock so lines of the loop and the sender threads do not interleave. */
#include "gw.h"

#include <stdarg.h>
#include <string.h>

static int log_level = GW_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void gw_log_init(int level)
{
    log_level = level;
}

void gw_log_kv(lk_buf *b, const char *key, const char *value)
{
    const char *p;
    size_t n = 0;

    lk_buf_printf(b, " %s=\"", key);
    for (p = value ? value : ""; *p && n < 200; p++, n++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            lk_buf_putc(b, '\\'), lk_buf_putc(b, (char)c);
        else if (c == '\n')
            lk_buf_puts(b, "\\n");
        else if (c < 0x20 || c == 0x7f)
            lk_buf_printf(b, "\\x%02x", c);
        else
            lk_buf_putc(b, (char)c);
    }
    if (*p)
        lk_buf_puts(b, "...");
    lk_buf_putc(b, '"');
}

void gw_log(int level, const char *msg, const char *fmt, ...)
{
    char ts[40];
    lk_buf b = {0};
    va_list ap;

    if (level > log_level)
        return;
    gw_iso_time(gw_now_ms(), ts, sizeof ts);
    lk_buf_printf(&b, "time=%s level=%s", ts, level_names[level]);
    gw_log_kv(&b, "msg", msg);
    if (fmt && *fmt) {
        char line[2048];
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        lk_buf_putc(&b, ' ');
        lk_buf_puts(&b, line);
    }
    lk_buf_putc(&b, '\n');
    if (!b.oom) {
        pthread_mutex_lock(&log_lock);
        fwrite(b.p, 1, b.len, stderr);
        fflush(stderr);
        pthread_mutex_unlock(&log_lock);
    }
    lk_buf_free(&b);
}

void gw_log_lws(int level, const char *line)
{
    char msg[512];
    size_t n;

    snprintf(msg, sizeof msg, "%s", line);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    gw_log(level & LLL_ERR    ? GW_LOG_ERROR
           : level & LLL_WARN ? GW_LOG_WARN
                              : GW_LOG_DEBUG,
           msg, "src=lws");
}
