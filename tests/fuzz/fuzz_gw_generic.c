/* Fuzz target: the body of POST /v1/messages, {"from","text","id"}. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_generic_msg m;
    char why[128];

    if (gw_generic_parse((const char *)data, size, &m, why, sizeof why) < 0) {
        if (m.root || !why[0])
            abort();
        return 0;
    }
    if (!m.root || !m.from || !m.text)
        abort();
    if (m.len != strlen(m.text) && !(m.len == 1 && m.text[0] == '\0'))
        abort();
    if (m.id && !*m.id)
        abort(); /* an empty id cannot deduplicate: refused */
    if (strchr(m.text, (char)0xFF))
        abort(); /* a NUL mark left in the text (gw_json_mark) */
    gw_generic_clear(&m);
    return 0;
}
