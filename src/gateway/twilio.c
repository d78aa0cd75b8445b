/* The Twilio channel at /webhook/twilio (WhatsApp or SMS through Twilio).
 *
 * The body is application/x-www-form-urlencoded (From, Body, MessageSid,
 * ButtonText, ...), parsed here. X-Twilio-Signature is the base64 HMAC-SHA1,
 * keyed with the auth token, of the full URL Twilio called followed by every
 * POST parameter's name and value, sorted by name. The URL is rebuilt from
 * LOKET_PUBLIC_URL (when set, e.g. https://bot.example.org behind a proxy) or
 * http://{Host}, plus the path. Replies go back synchronously as TwiML. */
#include "gw.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 256

typedef struct param {
    char *k, *v;
    size_t vlen; /* a decoded %00 stays visible to lk_inbound_check */
} param;

static int param_cmp(const void *a, const void *b)
{
    const param *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

/* Splits the form body (modified in place) into at most MAX_PARAMS pairs. */
static int parse_form(char *s, size_t n, param *ps, int *np)
{
    char *p = s, *end = s + n;

    *np = 0;
    while (p < end) {
        char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
        size_t len = amp ? (size_t)(amp - p) : (size_t)(end - p);
        if (len) {
            if (*np >= MAX_PARAMS)
                return -1;
            p[len] = '\0';
            eq = strchr(p, '=');
            if (eq)
                *eq = '\0';
            ps[*np].k = p;
            ps[*np].v = eq ? eq + 1 : p + len;
            gw_url_decode(ps[*np].k, strlen(ps[*np].k));
            ps[*np].vlen = gw_url_decode(ps[*np].v, strlen(ps[*np].v));
            (*np)++;
        }
        p += len + 1;
    }
    return 0;
}

static const param *param_find(const param *ps, int n, const char *k)
{
    int i;
    for (i = 0; i < n; i++)
        if (!strcmp(ps[i].k, k))
            return &ps[i];
    return NULL;
}

static const char *param_get(const param *ps, int n, const char *k)
{
    const param *p = param_find(ps, n, k);
    return p ? p->v : NULL;
}

static int signature_ok(gw_req *r, const char *token, param *ps, int n)
{
    char sig[64];
    lk_buf data = {0};
    int i, ok;

    if (gw_srv->cfg.public_url)
        lk_buf_puts(&data, gw_srv->cfg.public_url);
    else
        lk_buf_printf(&data, "http://%s", r->host);
    lk_buf_puts(&data, r->path);
    qsort(ps, (size_t)n, sizeof *ps, param_cmp);
    for (i = 0; i < n; i++) {
        lk_buf_puts(&data, ps[i].k);
        lk_buf_puts(&data, ps[i].v);
    }
    ok = !data.oom && gw_hmac_sha1_b64(token, data.p, data.len, sig, sizeof sig) == 0 &&
         gw_ct_equal(sig, strlen(sig), r->twilio_sig, strlen(r->twilio_sig));
    lk_buf_free(&data);
    return ok;
}

static void twiml(gw_req *r, const lk_out *out)
{
    lk_buf b = {0};
    int i, n = out ? lk_out_count(out) : 0;

    lk_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>");
    for (i = 0; i < n; i++) {
        lk_reply rep;
        lk_out_get(out, i, &rep);
        lk_buf_puts(&b, "<Message>");
        gw_xml_escape(&b, rep.text);
        lk_buf_puts(&b, "</Message>");
    }
    lk_buf_puts(&b, "</Response>\n");
    if (b.oom)
        gw_respond_error(r, 500, GW_E_INTERNAL, "out of memory");
    else
        gw_respond(r, 200, "text/xml; charset=utf-8", b.p, b.len);
    lk_buf_free(&b);
}

int gw_route_twilio(gw_req *r)
{
    const char *token = gw_srv->cfg.twilio_token, *from, *sid, *why = NULL;
    const param *body;
    param *ps = NULL;
    lk_inbound in = {0};
    char *form = NULL;
    int n = 0;

    if (!token) {
        gw_log(GW_LOG_ERROR, "twilio request refused: LOKET_TWILIO_AUTH_TOKEN is not set", "rid=%s",
               r->rid);
        gw_respond_error(r, 503, GW_E_INTERNAL, "the Twilio channel is not configured");
        return 0;
    }
    if (!(form = malloc(r->body.len + 1)) || !(ps = calloc(MAX_PARAMS, sizeof *ps))) {
        gw_respond_error(r, 500, GW_E_INTERNAL, "out of memory");
        goto done;
    }
    memcpy(form, r->body.p ? r->body.p : "", r->body.len);
    form[r->body.len] = '\0';
    if (memchr(form, '\0', r->body.len) || parse_form(form, r->body.len, ps, &n) < 0) {
        gw_respond_error(r, 400, GW_E_BAD_REQUEST, "malformed form body");
        goto done;
    }
    if (!r->twilio_sig[0] || !signature_ok(r, token, ps, n)) {
        gw_log(GW_LOG_WARN, "twilio request refused: bad signature", "rid=%s present=%d", r->rid,
               r->twilio_sig[0] != 0);
        gw_respond_error(r, 401, GW_E_SIGNATURE, "missing or wrong X-Twilio-Signature");
        goto done;
    }
    from = param_get(ps, n, "From");
    sid = param_get(ps, n, "MessageSid");
    body = param_find(ps, n, "Body");
    if (!body || !body->vlen)
        body = param_find(ps, n, "ButtonText");
    if (!from || !*from || !body) {
        gw_respond_error(r, 400, GW_E_BAD_REQUEST, "From and Body are required");
        goto done;
    }
    in.channel = "twilio";
    in.user = from;
    in.ext_id = sid;
    in.text = body->v;
    in.len = body->vlen;
    in.now_ms = gw_now_ms();
    switch (gw_process(&in, &why)) {
    case GW_R_OK:
        gw_metrics_out(GW_CH_TWILIO, lk_out_count(gw_srv->out));
        twiml(r, gw_srv->out);
        break;
    case GW_R_INTERNAL:
        GW_RESPOND_LIT(r, 500, "{\"error\":\"internal error: the message was not processed\"}");
        break;
    default: /* duplicates, rate-limited and refused texts: acknowledged, nothing said */
        twiml(r, NULL);
        break;
    }
done:
    free(form);
    free(ps);
    return 0;
}
