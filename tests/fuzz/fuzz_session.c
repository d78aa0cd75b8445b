/* Fuzz target: session decoding of arbitrary bytes (a damaged database must
 * not crash the server), then a step on whatever was decoded. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "loket/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const lk_flow *flow = fuzz_bundled_flow();
    lk_session *s;
    lk_out *out;

    s = lk_session_new(flow);
    out = lk_out_new();
    lk_session_decode(s, flow, data, size);
    lk_engine_step(flow, s, "1", 1, INT64_C(1795485600000), out);
    lk_out_free(out);
    lk_session_free(s);
    return 0;
}
