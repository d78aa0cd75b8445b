/* Fuzz target: a WhatsApp Cloud API notification as POST /webhook/whatsapp
 * gets it. When the input starts with "sha256=", its first line is the
 * X-Hub-Signature-256 header (checked with the secret "fuzz-secret") and the
 * rest the body; otherwise all of it is the body. Every event the parser
 * gives is checked against what the route relies on, and a tap's question
 * and choice go through the row id writer and back. The cJSON reader of
 * before (tests/unit/wa_ref.h) must accept and refuse alike, with the same
 * reasons and events. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "../unit/wa_ref.h"

static void touch(const char *s)
{
    if (s && strlen(s) == SIZE_MAX)
        abort();
}

static const char *const media[] = {"image",    "audio",   "voice",    "video",
                                    "document", "sticker", "location", "contacts"};

/* A business-scoped id used as a session key and a recipient: plain characters. */
static void check_user(const gw_wa_event *ev)
{
    const char *p;

    if (!ev->bsuid)
        return;
    if (strlen(ev->from) > 128)
        abort();
    for (p = ev->from; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              *p == '.' || *p == '_' || *p == '-'))
            abort();
}

static void check_tap(const gw_wa_event *ev)
{
    char id[GW_WA_ID_MAX + 1];
    size_t k;

    if (ev->media_type) {
        for (k = 0; k < sizeof media / sizeof *media && strcmp(media[k], ev->media_type); k++)
            ;
        if (k == sizeof media / sizeof *media || ev->tap)
            abort();
    }
    if (!ev->tap) {
        if (ev->has_question || ev->tap_title)
            abort();
        return;
    }
    touch(ev->tap_title);
    if (!ev->has_question)
        return;
    if (strlen(ev->question) > GW_WA_ID_MAX)
        abort();
    /* written back, the id names the same question and choice (unless too long) */
    if (!strchr(ev->text, (char)0xFF) && gw_wa_choice_id(id, ev->question, ev->text) == 0 &&
        !strncmp(id, "q:", 2)) {
        if (strlen(id) > GW_WA_ID_MAX || strcmp(id + strlen(id) - strlen(ev->text), ev->text))
            abort();
    }
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
        check_user(ev);
        check_tap(ev);
        break;
    case GW_WA_UNHANDLED:
        if (!ev->type || !ev->from || !ev->id || ev->text)
            abort();
        check_user(ev);
        break;
    case GW_WA_GROUP:
        if (!ev->group_id || !ev->from || !ev->id || !ev->type)
            abort();
        touch(ev->group_id);
        break;
    case GW_WA_ERROR:
        if (!ev->has_error || (ev->has_code && !ev->has_error))
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
    if (wa_same(body, len, 0, 0) == WA_DIFFERENT)
        abort();
    return 0;
}
