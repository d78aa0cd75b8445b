/* Fuzz target: a Twilio webhook body (application/x-www-form-urlencoded) as
 * POST /webhook/twilio gets it: the form parser, the signed string with its
 * HMAC check (token "fuzz-token", URL http://127.0.0.1:8080/webhook/twilio)
 * and the lookups the route does. When the input holds a newline, what comes
 * before it is the X-Twilio-Signature header and the rest is the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

static void check_form(const gw_form *f)
{
    int i;

    if (f->n < 0 || f->n > GW_FORM_MAX_PARAMS)
        abort();
    for (i = 0; i < f->n; i++)
        if (!f->ps[i].k || !f->ps[i].v || strlen(f->ps[i].v) > f->ps[i].vlen)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    const gw_form_param *body;
    char header[128] = ""; /* the size of gw_req.twilio_sig */
    gw_form f = {0};
    lk_buf base = {0};
    lk_err err;
    int i;

    if (nl) {
        size_t hn = (size_t)(nl - data);
        if (hn >= sizeof header)
            hn = sizeof header - 1;
        memcpy(header, data, hn);
        header[hn] = '\0';
        size -= (size_t)(nl + 1 - data);
        data = nl + 1;
    }
    err = gw_form_parse((const char *)data, size, &f);
    if (err != LK_OK) {
        if (f.buf || f.ps || f.n)
            abort();
        return 0;
    }
    check_form(&f);
    if (gw_twilio_base(&base, (size & 1) ? "https://bot.example.org" : NULL, "127.0.0.1:8080",
                       "/webhook/twilio", &f) < 0)
        abort();
    for (i = 1; i < f.n; i++) /* sorted by name, then value */
        if (strcmp(f.ps[i - 1].k, f.ps[i].k) > 0)
            abort();
    gw_twilio_signature_ok(header, "fuzz-token", NULL, "127.0.0.1:8080", "/webhook/twilio", &f);
    /* the route's lookups */
    gw_form_get(&f, "From");
    gw_form_get(&f, "MessageSid");
    body = gw_form_find(&f, "Body");
    if (!body || !body->vlen)
        body = gw_form_find(&f, "ButtonText");
    if (body && body->vlen && !memchr(body->v, '\0', body->vlen + 1))
        abort(); /* v is NUL-terminated at vlen */
    lk_buf_free(&base);
    gw_form_clear(&f);
    return 0;
}
