/* Fuzz target: the checks done on raw JSON text before and around cJSON: the
 * nesting depth scan, gw_json_parse and the \u0000 scan. Whatever
 * gw_json_parse accepts must nest no deeper than GW_MAX_JSON_DEPTH, since
 * the scan is what keeps deep input away from cJSON's recursion. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

static int depth(const cJSON *j)
{
    const cJSON *c;
    int d = 0, k;

    if (!cJSON_IsArray(j) && !cJSON_IsObject(j))
        return 0;
    for (c = j->child; c; c = c->next)
        if ((k = depth(c)) > d)
            d = k;
    return d + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    char why[128];
    cJSON *j;
    int ok = gw_json_depth_ok(s, size, GW_MAX_JSON_DEPTH);

    if (gw_json_depth_ok(s, size, GW_MAX_JSON_DEPTH + 1) < ok) /* deeper caps accept more */
        abort();
    gw_json_has_nul(s, size);
    why[0] = '\0';
    j = gw_json_parse(s, size, why, sizeof why);
    if (!j) {
        if (!why[0])
            abort();
        return 0;
    }
    if (!ok || !cJSON_IsObject(j) || depth(j) > GW_MAX_JSON_DEPTH)
        abort();
    cJSON_Delete(j);
    return 0;
}
