/* The Graph API's answer to POST /{phone_number_id}/messages, classified for
 * the sender (sender.c): sent, retry later, drop, or one of the cases the
 * sender treats on its own (the token, the number's throughput, the pair
 * rate, the 24-hour window). Pure, like parse.c, so
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

/* Error codes that mean "wait and try again" whatever the HTTP status: spam
 * rate (131048), WABA and app rate limits (80007, 4), temporary service
 * errors (1, 2, 131000 "something went wrong", 131016 "service unavailable",
 * 133004 "server temporarily unavailable"). */
static int code_retryable(long code)
{
    static const long codes[] = {131048, 80007, 4, 1, 2, 131000, 131016, 133004};
    size_t i;

    for (i = 0; i < sizeof codes / sizeof *codes; i++)
        if (code == codes[i])
            return 1;
    return 0;
}

/* The token expired or was revoked (190), a permission is missing (10,
 * 200-299): nothing goes until an operator gives the server a new token. */
static int code_auth(long code)
{
    return code == 190 || code == 10 || (code >= 200 && code <= 299);
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
    if (status == 0) /* no answer: the error code, if any, is not the API's */
        return GW_SEND_RETRY;
    switch (a->code) {
    case 131047: return GW_SEND_WINDOW;
    case 130429: return GW_SEND_THROUGHPUT;
    case 131056: return GW_SEND_PAIR;
    default: break;
    }
    if (code_auth(a->code) || status == 401 || status == 403)
        return GW_SEND_AUTH;
    /* a 4xx (a bad recipient, a template that does not exist) fails the same
     * way every time; keeping it would hold back the user's later replies */
    if (status >= 400 && status <= 499 && status != 408 && status != 425 && status != 429 &&
        !code_retryable(a->code))
        return GW_SEND_DROP;
    return GW_SEND_RETRY;
}

const char *gw_send_verdict_name(enum gw_send_verdict v)
{
    switch (v) {
    case GW_SEND_SENT: return "sent";
    case GW_SEND_RETRY: return "retry";
    case GW_SEND_DROP: return "drop";
    case GW_SEND_AUTH: return "auth";
    case GW_SEND_THROUGHPUT: return "throughput";
    case GW_SEND_PAIR: return "pair";
    case GW_SEND_WINDOW: return "window";
    }
    return "?";
}
