/* Typed access to the cJSON tree for the loader: integers read exactly
 * from the file's text (cJSON keeps only a double), "expected ..., found
 * ..." messages, required and unknown keys. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "load.h"

int ld_is_ident(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
              (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

int ld_int_of(const ld *l, const cJSON *node, int64_t *v)
{
    const ld_pos *p;
    const char *s;
    int neg = 0;
    uint64_t u = 0;

    if (!cJSON_IsNumber(node) || !(p = ld_pos_of(l, node)))
        return -1;
    s = l->files[p->file].text + p->val_off;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    if (!isdigit((unsigned char)*s))
        return -1;
    for (; isdigit((unsigned char)*s); s++) {
        if (u > (UINT64_MAX - 9) / 10)
            return -2;
        u = u * 10 + (uint64_t)(*s - '0');
    }
    if (*s == '.' || *s == 'e' || *s == 'E')
        return -1;
    if (u > (uint64_t)INT64_MAX + (uint64_t)neg)
        return -2;
    *v = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

int ld_is(const ld *l, const cJSON *n, int types)
{
    int64_t v;
    return ((types & LD_STR) && cJSON_IsString(n)) ||
           ((types & LD_INT) && ld_int_of(l, n, &v) == 0) ||
           ((types & LD_BOOL) && cJSON_IsBool(n)) || ((types & LD_OBJ) && cJSON_IsObject(n)) ||
           ((types & LD_ARR) && cJSON_IsArray(n));
}

const char *ld_type_name(const cJSON *n)
{
    if (cJSON_IsString(n))
        return "a string";
    if (cJSON_IsNumber(n)) {
        double d = n->valuedouble;
        /* range first: casting a double beyond int64 is undefined behaviour */
        if (!(d >= -9.2e18 && d <= 9.2e18))
            return "a number out of range";
        return d == (double)(int64_t)d ? "an integer" : "a fraction";
    }
    if (cJSON_IsBool(n))
        return cJSON_IsTrue(n) ? "true" : "false";
    if (cJSON_IsNull(n))
        return "null";
    if (cJSON_IsArray(n))
        return "an array";
    if (cJSON_IsObject(n))
        return "an object";
    return "something else";
}

void ld_want(ld *l, const cJSON *n, int types)
{
    static const char *names[] = {"a string", "an integer", "true or false", "an object",
                                  "an array"};
    char want[128] = "";
    int k, count = 0, total = 0;
    int64_t v;

    for (k = 0; k < 5; k++)
        total += (types >> k) & 1;
    for (k = 0; k < 5; k++) {
        if (!((types >> k) & 1))
            continue;
        count++;
        if (count > 1)
            strcat(want, count == total ? " or " : ", ");
        strcat(want, names[k]);
    }
    if ((types & LD_INT) && cJSON_IsNumber(n) && ld_int_of(l, n, &v) == -2)
        ld_err(l, n, "integer out of range (at most 19 digits)");
    else if ((types & LD_INT) && cJSON_IsNumber(n))
        ld_err(l, n, "expected %s, found a number with a fraction or exponent", want);
    else
        ld_err(l, n, "expected %s, found %s", want, ld_type_name(n));
}

const cJSON *ld_member(ld *l, const cJSON *obj, const char *key, int types, int required,
                       const char *what)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t mark;

    if (!n) {
        if (required)
            ld_err(l, obj, "missing required key '%s' in %s", key, what);
        return NULL;
    }
    if (ld_is(l, n, types))
        return n;
    mark = ld_push(l, key);
    ld_want(l, n, types);
    ld_pop(l, mark);
    return NULL;
}

int ld_check_keys(ld *l, const cJSON *obj, const char *what, const char *const *allowed)
{
    const cJSON *c;
    int bad = 0;

    for (c = obj ? obj->child : NULL; c; c = c->next) {
        const char *near = NULL;
        char list[512] = "";
        size_t mark, len = 0;
        int k, found = 0, best = 3;

        for (k = 0; allowed[k]; k++) {
            int d = lk_text_edit(c->string, strlen(c->string), allowed[k], strlen(allowed[k]), 2);
            if (d == 0)
                found = 1;
            else if (d < best && d < (int)strlen(c->string)) {
                best = d;
                near = allowed[k];
            }
            if (len < sizeof list - 1)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "",
                                        allowed[k]);
        }
        if (found)
            continue;
        bad++;
        mark = ld_push(l, c->string);
        if (near)
            ld_err_key(l, c, "unknown key '%s' in %s (did you mean '%s'? expected one of: %s)",
                       c->string, what, near, list);
        else
            ld_err_key(l, c, "unknown key '%s' in %s (expected one of: %s)", c->string, what, list);
        ld_pop(l, mark);
    }
    return bad;
}

void ld_int_member(ld *l, const cJSON *obj, const char *key, const char *what, int lo, int hi,
                   int *out, const char *why)
{
    const cJSON *v = ld_member(l, obj, key, LD_INT, 0, what);
    int64_t n;

    if (v) {
        size_t mark = ld_push(l, key);
        if (ld_int_of(l, v, &n) != 0 || n < lo || n > hi) {
            if (why)
                ld_err(l, v, "%s", why);
            else
                ld_err(l, v, "%s is between %d and %d", key, lo, hi);
        } else {
            *out = (int)n;
        }
        ld_pop(l, mark);
    }
}
