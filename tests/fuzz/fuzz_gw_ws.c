/* Fuzz target: one reassembled /chat websocket message, classified as a text
 * message with and without --test-clock and as a binary one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

static void check(const gw_ws_frame *f)
{
    size_t n;

    switch (f->kind) {
    case GW_WS_ERROR:
        if (!f->why || !f->why[0])
            abort();
        break;
    case GW_WS_HELLO:
        /* the connection copies the user into GW_USER_MAX + 1 bytes and
         * prefixes it with GW_WS_USER_PREFIX for its session key */
        if (f->user) {
            n = strlen(f->user);
            if (n < 1 || n + sizeof GW_WS_USER_PREFIX - 1 > GW_USER_MAX ||
                !lk_utf8_valid(f->user, n, NULL))
                abort();
        }
        break;
    case GW_WS_MESSAGE:
        if (!f->text || (f->len != strlen(f->text) && !(f->len == 1 && !f->text[0])))
            abort();
        if (f->id && strlen(f->id) == SIZE_MAX)
            abort();
        break;
    case GW_WS_CLOCK: break;
    default: abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    gw_ws_frame f;
    int clock;

    for (clock = 0; clock < 2; clock++) {
        gw_ws_parse(s, size, 0, clock, &f);
        check(&f);
        if (!clock && f.kind == GW_WS_CLOCK)
            abort();
        gw_ws_frame_clear(&f);
    }
    gw_ws_parse(s, size, 1, 1, &f);
    if (f.kind != GW_WS_ERROR || f.root)
        abort();
    gw_ws_frame_clear(&f);
    return 0;
}
