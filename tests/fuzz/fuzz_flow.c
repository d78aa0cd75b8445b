/* Fuzz target: the flow loader on arbitrary bytes. It must never crash or
 * leak; it either loads a flow or reports diagnostics. */
#include <stdint.h>

#include "loket/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lk_flow *flow = NULL;
    lk_diag diag = {0};

    if (lk_flow_load_string("fuzz.json", (const char *)data, size, &flow, &diag) == LK_OK) {
        lk_flow_check(flow, &diag);
        lk_flow_free(flow);
    }
    lk_diag_clear(&diag);
    return 0;
}
