/* Fuzz target: a Twilio webhook as POST /webhook/twilio gets it: the form
 * parser, the signed URL with its query string and port in every spelling,
 * the HMAC check (token "fuzz-token") and the lookups the route does for
 * messages, buttons, media, locations and status callbacks, and the TwiML
 * escaping of what a user typed.
 *
 * Input: up to two lines before the body. The first is the
 * X-Twilio-Signature header; the second, the query string's arguments as
 * the HTTP parser hands them over (decoded, '&' between them, made
 * NUL-separated here). Without a newline the whole input is the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"
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

/* Splits off the line ending at the next newline into out (NUL-terminated,
 * cut at cap - 1 bytes). 0 when there is no newline. */
static size_t take_line(const uint8_t **data, size_t *size, char *out, size_t cap)
{
    const uint8_t *nl = memchr(*data, '\n', *size);
    size_t n;

    if (!nl)
        return 0;
    n = (size_t)(nl - *data);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, *data, n);
    out[n] = '\0';
    *size -= (size_t)(nl + 1 - *data);
    *data = nl + 1;
    return n + 1;
}

/* A URL spelling must stay one line of printable ASCII (it is signed as is). */
static void check_url(const lk_buf *b)
{
    size_t i;

    for (i = 0; i < b->len; i++)
        if ((unsigned char)b->p[i] <= 0x20 || (unsigned char)b->p[i] >= 0x7f)
            abort();
}

static void check_xml(const char *s)
{
    lk_buf b = {0};
    size_t i;

    gw_xml_escape(&b, s);
    for (i = 0; i < b.len; i++) {
        unsigned char c = (unsigned char)b.p[i];
        if ((c < 0x20 && c != '\t' && c != '\n') || c == '<' || c == '>')
            abort(); /* XML 1.0 forbids it, or it would open markup */
    }
    if (!lk_utf8_valid(lk_buf_str(&b), b.len, NULL) && b.len)
        abort();
    lk_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const gw_form_param *body;
    char header[128] = "", args[1024] = ""; /* the sizes of gw_req.twilio_sig and .args */
    gw_twilio_url u = {NULL, "127.0.0.1:8080", "/webhook/twilio", NULL, 0};
    gw_form f = {0};
    lk_buf base = {0};
    lk_err err;
    size_t an, i;
    int v;

    if (take_line(&data, &size, header, sizeof header) &&
        (an = take_line(&data, &size, args, sizeof args)) > 1) {
        for (i = 0; i < an; i++)
            if (args[i] == '&')
                args[i] = '\0';
        u.args = args;
        u.args_len = an;
    }
    err = gw_form_parse((const char *)data, size, &f);
    if (err != LK_OK) {
        if (f.buf || f.ps || f.n)
            abort();
        return 0;
    }
    check_form(&f);
    if (size & 1)
        u.public_url = (size & 2) ? "https://bot.example.org:443/loket" : "https://bot.example.org";
    for (v = 0; v < GW_TW_VARIANTS; v++) {
        lk_buf_reset(&base);
        if (gw_twilio_url_put(&base, &u, v) < 0)
            abort();
        check_url(&base);
    }
    lk_buf_reset(&base);
    if (gw_twilio_base(&base, &u, &f) < 0)
        abort();
    for (i = 1; i < (size_t)f.n; i++) /* sorted by name, then value */
        if (strcmp(f.ps[i - 1].k, f.ps[i].k) > 0)
            abort();
    gw_twilio_signature_ok(header, "fuzz-token", &u, &f);
    /* the route's lookups */
    gw_form_get(&f, "From");
    gw_form_get(&f, "MessageSid");
    gw_form_get(&f, "MessageStatus");
    gw_form_get(&f, "NumMedia");
    gw_form_get(&f, "MediaUrl0");
    gw_form_get(&f, "MediaContentType0");
    gw_form_get(&f, "Latitude");
    gw_form_get(&f, "Longitude");
    body = gw_form_find(&f, "ButtonPayload");
    if (!body || !body->vlen)
        body = gw_form_find(&f, "Body");
    if (body && body->vlen && !memchr(body->v, '\0', body->vlen + 1))
        abort(); /* v is NUL-terminated at vlen */
    if (body)
        check_xml(body->v);
    lk_buf_free(&base);
    gw_form_clear(&f);
    return 0;
}
