/* Keeping the server's memory flat after big request bodies.
 *
 * A 1 MiB JSON body parses into hundreds of thousands of small cJSON nodes.
 * Freed, they go back to glibc's heap, which keeps them: the top of the heap
 * is trimmed only when the free space is at its very end, and the chunks of
 * one big tree are interleaved with longer-lived allocations (sessions being
 * stepped, log lines, response buffers), so the process stayed 40 MB larger
 * for good. malloc_trim(0) gives every free page back (also the ones in the
 * middle of the heap, with madvise), which costs a walk over the free lists:
 * cheap against a body that size, so it runs only after big bodies. */
#include "gw.h"

#include <malloc.h>

#define TRIM_AFTER (64 * 1024) /* bytes of body */

void gw_mem_after_body(size_t len)
{
    if (len >= TRIM_AFTER)
        malloc_trim(0);
}
