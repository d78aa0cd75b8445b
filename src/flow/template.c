/* Templates: every text a flow says is literal runs and {{ expression }} or
 * {{ expression | filter }} placeholders, compiled once at load. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

static const struct {
    const char *name;
    lk_filter f;
} filters[] = {
    {"money", LK_F_MONEY},
    {"number", LK_F_NUMBER},
    {"upper", LK_F_UPPER},
    {"lower", LK_F_LOWER},
};

static size_t skip_sp(const char *s, size_t i)
{
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')
        i++;
    return i;
}

lk_template *ld_template(ld *l, const cJSON *node)
{
    const char *s, *p;
    size_t i = 0, n, k;
    lk_tseg *segs;
    lk_template *t;
    int nsegs = 0, bad = 0;

    if (!cJSON_IsString(node)) {
        ld_want(l, node, LD_STR);
        return NULL;
    }
    s = node->valuestring;
    n = strlen(s);
    /* At most one literal before each placeholder, plus one at the end. */
    for (k = 1, p = s; (p = strstr(p, "{{")); p += 2)
        k += 2;
    t = ld_alloc(l, sizeof *t);
    segs = ld_alloc(l, k * sizeof *segs);
    if (!t || !segs || !(t->src = ld_strdup(l, s)))
        return NULL;
    while (i < n) {
        size_t open, j, end;
        lk_expr *e;
        lk_filter filter = LK_F_NONE;

        p = strstr(s + i, "{{");
        if (!p) {
            segs[nsegs].lit = t->src + i;
            segs[nsegs++].n = n - i;
            break;
        }
        open = (size_t)(p - s);
        if (open > i) {
            segs[nsegs].lit = t->src + i;
            segs[nsegs++].n = open - i;
        }
        j = skip_sp(s, open + 2);
        if (s[j] == '}' && s[j + 1] == '}') {
            ld_err_in(l, node, open, "empty placeholder {{}}: write {{ expression }}");
            bad = 1;
            i = j + 2;
            continue;
        }
        e = ld_expr(l, node, s, open + 2, 1, &end);
        if (!e) {
            /* Go on after this placeholder to report the others too. */
            bad = 1;
            p = strstr(s + open + 2, "}}");
            if (!p)
                break;
            i = (size_t)(p - s) + 2;
            continue;
        }
        j = skip_sp(s, end);
        if (s[j] == '|') {
            size_t f0 = j = skip_sp(s, j + 1), fn;
            while (isalnum((unsigned char)s[j]) || s[j] == '_')
                j++;
            fn = j - f0;
            for (k = 0; k < sizeof filters / sizeof filters[0]; k++)
                if (strlen(filters[k].name) == fn && memcmp(filters[k].name, s + f0, fn) == 0)
                    filter = filters[k].f;
            if (filter == LK_F_NONE) {
                if (fn)
                    ld_err_in(l, node, f0,
                              "unknown filter '%.*s' (filters: money, number, upper, "
                              "lower)",
                              (int)fn, s + f0);
                else
                    ld_err_in(l, node, f0,
                              "expected a filter after '|' (money, number, upper, "
                              "lower)");
                bad = 1;
            }
            j = skip_sp(s, j);
        }
        if (s[j] != '}' || s[j + 1] != '}') {
            if (!strstr(s + open + 2, "}}"))
                ld_err_in(l, node, open, "'{{' is not closed: expected '}}'");
            else if (!bad)
                ld_err_in(l, node, j, "expected '}}' to close the placeholder");
            bad = 1;
            p = strstr(s + j, "}}");
            if (!p)
                break;
            i = (size_t)(p - s) + 2;
            continue;
        }
        segs[nsegs].expr = e;
        segs[nsegs++].filter = filter;
        i = j + 2;
    }
    if (bad)
        return NULL;
    t->segs = segs;
    t->nsegs = nsegs;
    return t;
}
