/* Fuzz target: user text through the engine on the bundled flow. The input
 * is split at newlines into messages of one conversation; the runtime's
 * check is applied first, as every channel does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "loket/engine.h"
#include "loket/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const lk_flow *flow = fuzz_bundled_flow();
    lk_session *s;
    lk_out *out;
    lk_buf enc = {0};
    size_t start = 0, i;
    int64_t now = INT64_C(1795485600000);

    s = lk_session_new(flow);
    out = lk_out_new();
    for (i = 0; i <= size; i++) {
        if (i < size && data[i] != '\n')
            continue;
        {
            lk_inbound in = {0};
            const char *why;
            in.user = "fuzz";
            in.text = (const char *)data + start;
            in.len = i - start;
            if (lk_inbound_check(&in, &why) == LK_OK) {
                lk_out_reset(out);
                if (lk_engine_step(flow, s, in.text, in.len, now, out) != LK_OK)
                    lk_session_reset(s, flow);
                lk_buf_reset(&enc);
                lk_session_encode(s, flow, &enc);
                if (lk_session_decode(s, flow, enc.p, enc.len) != LK_OK)
                    abort(); /* what we encode must decode */
            }
            now += 61 * 1000;
        }
        start = i + 1;
    }
    lk_buf_free(&enc);
    lk_out_free(out);
    lk_session_free(s);
    return 0;
}
