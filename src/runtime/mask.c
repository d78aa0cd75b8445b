/* Masking personal data where a step is logged (include/loket/mask.h). Pure
 * text work; the runtime calls it on each log row of a step, and it costs
 * nothing unless the engine noted something sensitive in that step. */
#include "loket/mask.h"

#include <string.h>

#define MASK_KEEP 4 /* characters kept at each end */
#define MASK_MIN 12 /* values shorter than this are masked whole */
#define MASK_FIND 4 /* shorter values are not looked for inside texts */

static int is_lead(unsigned char c)
{
    return (c & 0xc0) != 0x80;
}

void lk_mask_value(const char *v, size_t n, lk_buf *out)
{
    size_t i, chars = 0, k = 0;

    for (i = 0; i < n; i++)
        chars += is_lead((unsigned char)v[i]);
    for (i = 0; i < n; i++) {
        int keep;

        if (!is_lead((unsigned char)v[i]))
            continue;
        keep = chars >= MASK_MIN && (k < MASK_KEEP || k >= chars - MASK_KEEP);
        k++;
        if (!keep) {
            lk_buf_putc(out, '*');
            continue;
        }
        do
            lk_buf_putc(out, v[i]);
        while (i + 1 < n && !is_lead((unsigned char)v[i + 1]) && ++i);
    }
}

/* The sensitive value that starts at t (n bytes left), or NULL. */
static const char *value_at(const char *vals, size_t nv, const char *t, size_t n, size_t *len)
{
    size_t i, k;

    for (i = 0; i < nv; i += k + 1) {
        k = strlen(vals + i);
        if (k >= MASK_FIND && k <= n && !memcmp(t, vals + i, k)) {
            *len = k;
            return vals + i;
        }
    }
    return NULL;
}

int lk_log_mask(const lk_out *out, lk_log_entry *e, lk_buf *buf)
{
    size_t nv, i, k;
    const char *vals = lk_out_sensitive_values(out, &nv), *v;
    const char *t = e->text ? e->text : "";
    size_t n = e->text ? e->text_len : 0;
    int found = 0;

    if (e->dir == LK_DIR_IN && lk_out_sensitive_input(out)) {
        lk_buf_reset(buf);
        lk_mask_value(t, n, buf);
        goto done;
    }
    if (!nv)
        return 0;
    for (i = 0; i < n && !found; i++)
        found = value_at(vals, nv, t + i, n - i, &k) != NULL;
    if (!found)
        return 0;
    lk_buf_reset(buf);
    for (i = 0; i < n;) {
        if ((v = value_at(vals, nv, t + i, n - i, &k)) != NULL) {
            lk_mask_value(v, k, buf);
            i += k;
        } else {
            lk_buf_putc(buf, t[i++]);
        }
    }
done:
    if (buf->oom)
        return -1;
    e->text = buf->len ? buf->p : "";
    e->text_len = buf->len;
    return 0;
}
