/* `loket misses`: the inputs the flow did not understand, read from the
 * message log (the `missed` column, schema version 4). A tool's query, off
 * the message path: it reads every missed row since a time and groups them
 * here, after normalising, since SQL cannot normalise the way the engine
 * does. */
#include <sqlite3.h>
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

lk_err lk_store_misses(lk_store *s, int64_t since_ms, const char *state, lk_miss **out, int *n)
{
    sqlite3 *db = s ? lk_store_sqlite_db(s) : NULL;
    sqlite3_stmt *st = NULL;
    lk_miss *m = NULL;
    int nm = 0, cap = 0, rc, i;
    lk_err err = LK_OK;

    *out = NULL;
    *n = 0;
    if (!db) {
        if (s)
            lk_store_set_err(s, "misses: only for SQLite databases");
        return LK_EINVAL;
    }
    rc = sqlite3_prepare_v2(db,
                            "SELECT missed, text, at_ms FROM log WHERE missed IS NOT NULL "
                            "AND at_ms >= ?1 AND (?2 IS NULL OR missed = ?2)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 1, since_ms);
    if (rc == SQLITE_OK)
        rc = state ? sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 2);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ms = (const char *)sqlite3_column_text(st, 0);
        const char *tx = (const char *)sqlite3_column_text(st, 1);
        int tn = sqlite3_column_bytes(st, 1);
        int64_t at = sqlite3_column_int64(st, 2);
        char key[MISS_TEXT];

        rc = SQLITE_OK;
        if (!ms)
            continue;
        norm_masked(tx ? tx : "", (size_t)tn, key, sizeof key);
        for (i = 0; i < nm; i++)
            if (!strcmp(m[i].text, key) && !strcmp(m[i].state, ms))
                break;
        if (i == nm) {
            if (nm == cap) {
                int ncap = cap ? cap * 2 : 64;
                lk_miss *g = realloc(m, (size_t)ncap * sizeof *g);
                if (!g) {
                    err = LK_ENOMEM;
                    goto done;
                }
                m = g;
                cap = ncap;
            }
            m[nm].state = strdup(ms);
            m[nm].text = strdup(key);
            m[nm].count = 0;
            m[nm].last_ms = at;
            if (!m[nm].state || !m[nm].text) {
                free(m[nm].state);
                free(m[nm].text);
                err = LK_ENOMEM;
                goto done;
            }
            nm++;
        }
        m[i].count++;
        if (at > m[i].last_ms)
            m[i].last_ms = at;
    }
    if (rc != SQLITE_DONE) {
        lk_store_set_err(s, "misses: %s", sqlite3_errmsg(db));
        err = LK_ESTORE;
        goto done;
    }
    if (nm)
        qsort(m, (size_t)nm, sizeof *m, cmp_miss);
done:
    sqlite3_finalize(st);
    if (err != LK_OK) {
        lk_store_misses_free(m, nm);
        return err;
    }
    *out = m;
    *n = nm;
    return LK_OK;
}
