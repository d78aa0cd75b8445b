/* Fuzz target: the Graph API's answer to a send, as the sender classifies it
 * (gw_graph_answer_parse). The input's first line is the HTTP status (digits;
 * anything else is status 0, no answer) and the rest the answer's body. The
 * verdict must follow the status rules whatever the body says. */
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
    return 0;
}
