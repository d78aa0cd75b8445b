/* Fuzz target: the Graph API's answer to a send, as the sender classifies it
 * (gw_graph_answer_parse). The input's first line is the HTTP status (digits;
 * anything else is status 0, no answer) and the rest the answer's body. The
 * verdict must follow the status rules whatever the body says, and the Graph
 * error code's classes (token, throughput, pair rate, 24-hour window) must
 * follow the code the answer carries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hn = nl ? (size_t)(nl - data) : size, i;
    const char *body = nl ? (const char *)nl + 1 : "";
    size_t len = nl ? size - hn - 1 : 0;
    enum gw_send_verdict v;
    gw_graph_answer a;
    long status = 0;
    int auth;

    for (i = 0; i < hn && i < 4 && data[i] >= '0' && data[i] <= '9'; i++)
        status = status * 10 + (data[i] - '0');
    if (i != hn)
        status = 0;
    v = gw_graph_answer_parse(status, body, len, &a);
    if (strlen(a.id) >= sizeof a.id || strlen(a.message) >= sizeof a.message)
        abort();
    if ((status >= 200 && status <= 299) != (v == GW_SEND_SENT))
        abort(); /* any 2xx is sent, nothing else is */
    if (v == GW_SEND_DROP && (status < 400 || status > 499 || status == 408 || status == 429))
        abort(); /* only a 4xx is dropped */
    if (status == 0 && v != GW_SEND_RETRY)
        abort(); /* no answer: always again */
    if (strcmp(gw_send_verdict_name(v), "?") == 0)
        abort(); /* every verdict has a name for logs and metrics */
    if (status == 0 || (status >= 200 && status <= 299))
        return 0;
    /* an answer that is not a success: the error code decides first */
    if ((v == GW_SEND_WINDOW) != (a.code == 131047) ||
        (v == GW_SEND_THROUGHPUT) != (a.code == 130429) ||
        (v == GW_SEND_PAIR) != (a.code == 131056))
        abort();
    auth = a.code == 190 || a.code == 10 || (a.code >= 200 && a.code <= 299) || status == 401 ||
           status == 403;
    if (a.code != 131047 && a.code != 130429 && a.code != 131056 && auth != (v == GW_SEND_AUTH))
        abort(); /* token and permission errors keep the reply, whatever the status */
    if (v == GW_SEND_DROP && (status == 401 || status == 403))
        abort();
    return 0;
}
