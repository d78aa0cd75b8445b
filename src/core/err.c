/* Status codes and diagnostics: how every part of loket reports a problem to a
 * person (a flow author, an operator) with the file, line and column. */
#include "loket/core.h"

#include <stdlib.h>
#include <string.h>

const char *lk_strerror(lk_err err)
{
    switch (err) {
    case LK_OK: return "ok";
    case LK_ENOMEM: return "out of memory";
    case LK_EINVAL: return "invalid input";
    case LK_EIO: return "input/output error";
    case LK_EFLOW: return "broken flow";
    case LK_ESTORE: return "store error";
    case LK_EPROTO: return "protocol error";
    case LK_ELIMIT: return "limit exceeded";
    }
    return "unknown error";
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void lk_diag_vadd(lk_diag *d, int warning, const char *file, int line, int col, const char *path,
                  const char *fmt, va_list ap)
{
    char msg[1024];
    lk_diag_item *it;

    if (!d)
        return;
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 8;
        lk_diag_item *p = realloc(d->items, ncap * sizeof *p);
        if (!p)
            return; /* a diagnostic lost to OOM; the caller still fails */
        d->items = p;
        d->cap = ncap;
    }
    it = &d->items[d->n++];
    it->file = dup_or_null(file);
    it->line = line;
    it->col = col;
    it->path = dup_or_null(path);
    it->msg = strdup(msg);
    it->warning = warning;
}

void lk_diag_add(lk_diag *d, const char *file, int line, int col, const char *path, const char *fmt,
                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    lk_diag_vadd(d, 0, file, line, col, path, fmt, ap);
    va_end(ap);
}

size_t lk_diag_errors(const lk_diag *d)
{
    size_t i, n = 0;
    for (i = 0; d && i < d->n; i++)
        n += !d->items[i].warning;
    return n;
}

void lk_diag_print(const lk_diag *d, FILE *fp)
{
    size_t i;
    for (i = 0; d && i < d->n; i++) {
        const lk_diag_item *it = &d->items[i];
        if (it->file)
            fprintf(fp, "%s:", it->file);
        if (it->line)
            fprintf(fp, "%d:%d:", it->line, it->col);
        if (it->file || it->line)
            fputc(' ', fp);
        if (it->warning)
            fputs("warning: ", fp);
        if (it->path && *it->path)
            fprintf(fp, "%s: ", it->path);
        fprintf(fp, "%s\n", it->msg ? it->msg : "(no memory for the message)");
    }
}

void lk_diag_clear(lk_diag *d)
{
    size_t i;
    if (!d)
        return;
    for (i = 0; i < d->n; i++) {
        free(d->items[i].file);
        free(d->items[i].path);
        free(d->items[i].msg);
    }
    free(d->items);
    d->items = NULL;
    d->n = d->cap = 0;
}
