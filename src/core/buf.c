/* Growable byte buffers. A buffer reused per message keeps its capacity, so
 * the per-message path stops allocating once it has seen its largest reply. */
#include "loket/core.h"

#include <stdlib.h>
#include <string.h>

int lk_buf_reserve(lk_buf *b, size_t extra)
{
    size_t need, ncap;
    char *p;

    if (b->oom)
        return -1;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap *= 2;
    p = realloc(b->p, ncap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = ncap;
    return 0;
}

void lk_buf_put(lk_buf *b, const void *data, size_t n)
{
    if (lk_buf_reserve(b, n) < 0)
        return;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void lk_buf_puts(lk_buf *b, const char *s)
{
    lk_buf_put(b, s, strlen(s));
}

void lk_buf_putc(lk_buf *b, char c)
{
    if (lk_buf_reserve(b, 1) < 0)
        return;
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

void lk_buf_printf(lk_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (b->p && (size_t)n < b->cap - b->len) {
        b->len += (size_t)n;
        return;
    }
    if (lk_buf_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void lk_buf_reset(lk_buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->p)
        b->p[0] = '\0';
}

void lk_buf_free(lk_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

const char *lk_buf_str(const lk_buf *b)
{
    return b->p ? b->p : "";
}
