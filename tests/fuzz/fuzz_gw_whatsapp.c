/* Fuzz target: a WhatsApp Cloud API notification as POST /webhook/whatsapp
 * gets it. When the input starts with "sha256=", its first line is the
 * X-Hub-Signature-256 header (checked with the secret "fuzz-secret") and the
 * rest the body; otherwise all of it is the body. Every event the parser
 * gives is checked against what the route relies on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

static void touch(const char *s)
{
    if (s && strlen(s) == SIZE_MAX)
        abort();
}

static void on_event(void *ctx, const gw_wa_event *ev)
{
    size_t i, n;

    (*(int *)ctx)++;
    touch(ev->pnid);
    touch(ev->from);
    touch(ev->id);
    touch(ev->type);
    touch(ev->status);
    touch(ev->error_title);
    switch (ev->kind) {
    case GW_WA_MESSAGE:
        /* the route puts pnid in a 48-byte channel name and the Graph API URL */
        if (!ev->from || !ev->id || !ev->type || !ev->text || !ev->pnid)
            abort();
        n = strlen(ev->pnid);
        if (n < 1 || n > 32)
            abort();
        for (i = 0; i < n; i++)
            if (ev->pnid[i] < '0' || ev->pnid[i] > '9')
                abort();
        if (ev->len != strlen(ev->text) && !(ev->len == 1 && ev->text[0] == '\0'))
            abort();
        if (!*ev->id || !*ev->from || ev->ts_ms < 0 || strchr(ev->text, (char)0xFF))
            abort(); /* empty ids, no timestamp, a NUL mark left in the text */
        break;
    case GW_WA_UNHANDLED:
        if (!ev->type || !ev->from || !ev->id)
            abort();
        break;
    case GW_WA_INVALID: break;
    case GW_WA_STATUS:
        if (ev->has_code && !ev->has_error)
            abort();
        break;
    default: abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    size_t len = size;
    char why[128];
    int events = 0;

    if (size >= 7 && !memcmp(data, "sha256=", 7)) {
        const uint8_t *nl = memchr(data, '\n', size);
        char header[128]; /* the size of gw_req.hub_sig */
        size_t hn = nl ? (size_t)(nl - data) : size;
        if (hn >= sizeof header)
            hn = sizeof header - 1;
        memcpy(header, data, hn);
        header[hn] = '\0';
        body = nl ? (const char *)nl + 1 : "";
        len = nl ? size - (size_t)(nl + 1 - data) : 0;
        gw_wa_signature_ok(header, "fuzz-secret", body, len);
    }
    why[0] = '\0';
    if (gw_wa_parse(body, len, on_event, &events, why, sizeof why) < 0) {
        if (events || !why[0])
            abort();
    }
    return 0;
}
