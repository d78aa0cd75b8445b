/* `loket misses`: the inputs the flow did not understand, read from the
 * message log (the `missed` column, schema version 4). A tool's query, off
 * the message path: it reads every missed row since a time and groups them
 * here, after normalising, since SQL cannot normalise the way the engine
 * does. The same query on every backend (lk_store_ops.query). */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define MISS_TEXT 256 /* bytes of a normalised input kept */

/* lk_text_norm, then every run of five or more digits as "#": NIKs and
 * card numbers typed in the wrong place group together and never show. */
static void norm_masked(const char *in, size_t n, char *out, size_t cap)
{
    char tmp[MISS_TEXT];
    size_t len = lk_text_norm(in, n, tmp, sizeof tmp), i = 0, o = 0;

    while (i < len && o + 2 < cap) {
        size_t j = i;
        while (j < len && tmp[j] >= '0' && tmp[j] <= '9')
            j++;
        if (j - i >= 5) {
            out[o++] = '#';
            i = j;
        } else if (j > i) {
            while (i < j && o + 1 < cap)
                out[o++] = tmp[i++];
        } else {
            out[o++] = tmp[i++];
        }
    }
    out[o] = '\0';
}

static int cmp_miss(const void *a, const void *b)
{
    const lk_miss *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    if (x->last_ms != y->last_ms)
        return x->last_ms < y->last_ms ? 1 : -1;
    return strcmp(x->text, y->text);
}

void lk_store_misses_free(lk_miss *m, int n)
{
    int i;
    for (i = 0; m && i < n; i++) {
        free(m[i].state);
        free(m[i].text);
    }
    free(m);
}

typedef struct miss_acc {
    lk_miss *m;
    int n, cap;
} miss_acc;

/* One missed row: grouped by state and normalised text. */
static int miss_row(void *ctx, const lk_store_row *r)
{
    miss_acc *a = ctx;
    const char *ms = r->vals[0], *tx = r->vals[1];
    int64_t at = r->vals[2] ? strtoll(r->vals[2], NULL, 10) : 0;
    char key[MISS_TEXT];
    int i;

    if (!ms)
        return 0;
    norm_masked(tx ? tx : "", tx ? r->lens[1] : 0, key, sizeof key);
    for (i = 0; i < a->n; i++)
        if (!strcmp(a->m[i].text, key) && !strcmp(a->m[i].state, ms))
            break;
    if (i == a->n) {
        if (a->n == a->cap) {
            int ncap = a->cap ? a->cap * 2 : 64;
            lk_miss *g = realloc(a->m, (size_t)ncap * sizeof *g);
            if (!g)
                return -1;
            a->m = g;
            a->cap = ncap;
        }
        a->m[i].state = strdup(ms);
        a->m[i].text = strdup(key);
        a->m[i].count = 0;
        a->m[i].last_ms = at;
        if (!a->m[i].state || !a->m[i].text) {
            free(a->m[i].state);
            free(a->m[i].text);
            return -1;
        }
        a->n++;
    }
    a->m[i].count++;
    if (at > a->m[i].last_ms)
        a->m[i].last_ms = at;
    return 0;
}

lk_err lk_store_misses(lk_store *s, int64_t since_ms, const char *state, lk_miss **out, int *n)
{
    static const char sql[] = "SELECT missed, text, at_ms FROM log WHERE missed IS NOT NULL "
                              "AND at_ms >= $1 AND (CAST($2 AS text) IS NULL OR missed = $2)";
    lk_sql_arg a[2] = {{.i = since_ms, .is_int = 1}, {.text = state}};
    miss_acc acc = {NULL, 0, 0};
    lk_err err;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!s || !out || !n)
        return LK_EINVAL;
    if ((err = s->ops->query(s, sql, a, 2, miss_row, &acc, NULL)) != LK_OK) {
        if (err == LK_EIO) {
            lk_store_set_err(s, "misses: out of memory");
            err = LK_ENOMEM;
        }
        lk_store_misses_free(acc.m, acc.n);
        return err;
    }
    if (acc.n)
        qsort(acc.m, (size_t)acc.n, sizeof *acc.m, cmp_miss);
    *out = acc.m;
    *n = acc.n;
    return LK_OK;
}
