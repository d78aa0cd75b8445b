/* What the fuzz targets share: the bundled flow, loaded once per process. */
#ifndef LOKET_FUZZ_H
#define LOKET_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#include "loket/flow.h"

static lk_flow *fuzz_bundled_flow(void)
{
    static lk_flow *flow;

    if (!flow) {
        lk_diag diag = {0};
        if (lk_flow_load(LOKET_SOURCE_DIR "/flows/chika.json", &flow, &diag) != LK_OK) {
            lk_diag_print(&diag, stderr); /* the target is older than the flow? rebuild */
            abort();
        }
        lk_diag_clear(&diag);
    }
    return flow;
}

#endif
