/* Fuzz target: session decoding of arbitrary bytes (a damaged database must
 * not crash the server), then a step on whatever was decoded. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "loket/engine.h"

static lk_flow *flow;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lk_session *s;
    lk_out *out;

    if (!flow) {
        lk_diag diag = {0};
        if (lk_flow_load(LOKET_SOURCE_DIR "/flows/chika.json", &flow, &diag) != LK_OK) {
            lk_diag_print(&diag, stderr); /* the target is older than the flow? rebuild */
            abort();
        }
        lk_diag_clear(&diag);
    }
    s = lk_session_new(flow);
    out = lk_out_new();
    lk_session_decode(s, flow, data, size);
    lk_engine_step(flow, s, "1", 1, INT64_C(1795485600000), out);
    lk_out_free(out);
    lk_session_free(s);
    return 0;
}
