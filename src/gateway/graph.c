/* The Graph API's answer to POST /{phone_number_id}/messages, classified for
 * the sender (sender.c): sent, retry later, or drop. Pure, like parse.c, so
 * that a fuzz target (tests/fuzz/fuzz_gw_graph.c) calls exactly this.
 *
 *   200  {"messaging_product":"whatsapp","contacts":[{"input":"…","wa_id":"…"}],
 *         "messages":[{"id":"wamid.…"}]}
 *   4xx  {"error":{"message":"…","type":"OAuthException","code":131056,
 *         "error_data":{"messaging_product":"whatsapp","details":"…"},
 *         "error_subcode":2494055,"fbtrace_id":"…"}}
 *
 * Any 2xx is a message the API took, with or without messages[0].id:
 * sending it again would deliver it twice. */
#include "parse.h"

#include <stdio.h>
#include <string.h>

/* Error codes that mean "wait and try again" whatever the HTTP status:
 * throughput (130429), pair rate (131056), spam rate (131048), WABA and app
 * rate limits (80007, 4), temporary service errors (1, 2). */
static int code_retryable(long code)
{
    static const long codes[] = {130429, 131056, 131048, 80007, 4, 1, 2};
    size_t i;

    for (i = 0; i < sizeof codes / sizeof *codes; i++)
        if (code == codes[i])
            return 1;
    return 0;
}

static long num(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (cJSON_IsNumber(v) && v->valuedouble >= -2e9 && v->valuedouble <= 2e9)
        return (long)v->valuedouble;
    if (cJSON_IsString(v)) { /* some proxies of the API quote the code */
        long c = 0;
        const char *p = v->valuestring;
        for (; *p >= '0' && *p <= '9' && c < 100000000; p++)
            c = c * 10 + (*p - '0');
        return *p ? 0 : c;
    }
    return 0;
}

enum gw_send_verdict gw_graph_answer_parse(long status, const char *body, size_t len,
                                           gw_graph_answer *a)
{
    cJSON *j = NULL;
    const cJSON *err;
    const char *s;

    memset(a, 0, sizeof *a);
    if (body && len > 0 && gw_json_depth_ok(body, len, GW_MAX_JSON_DEPTH) &&
        !memchr(body, '\0', len))
        j = cJSON_ParseWithLength(body, len);
    if ((s = gw_json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "messages"), 0),
                         "id")))
        snprintf(a->id, sizeof a->id, "%s", s);
    err = cJSON_GetObjectItemCaseSensitive(j, "error");
    if ((s = gw_json_str(err, "message")))
        snprintf(a->message, sizeof a->message, "%s", s);
    a->code = num(err, "code");
    a->subcode = num(err, "error_subcode");
    cJSON_Delete(j);

    if (status >= 200 && status <= 299)
        return GW_SEND_SENT;
    /* a 4xx (a bad recipient, a closed conversation window) fails the same way
     * every time; keeping it would hold back the user's later replies */
    if (status >= 400 && status <= 499 && status != 408 && status != 425 && status != 429 &&
        !code_retryable(a->code))
        return GW_SEND_DROP;
    return GW_SEND_RETRY;
}
