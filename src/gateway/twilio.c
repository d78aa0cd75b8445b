/* The Twilio channel at /webhook/twilio (WhatsApp or SMS through Twilio).
 *
 * The body is application/x-www-form-urlencoded (From, Body, MessageSid,
 * ButtonText, ...). X-Twilio-Signature is the base64 HMAC-SHA1, keyed with
 * the auth token, of the full URL Twilio called followed by every POST
 * parameter's name and value, sorted by name. The URL is rebuilt from
 * LOKET_PUBLIC_URL (when set, e.g. https://bot.example.org behind a proxy) or
 * http://{Host}, plus the path (gw_form_parse and gw_twilio_base, in
 * parse.c). Replies go back as TwiML in the answer, once their message
 * committed. */
#include "gw.h"

#include <string.h>

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

/* After the commit: the replies as TwiML; duplicates, rate-limited and
 * refused texts are acknowledged with nothing said. */
static void twilio_answer(gw_req *r, const gw_job *job)
{
    switch (gw_job_result(job, 0, NULL)) {
    case GW_R_OK:
        gw_metrics_out(GW_CH_TWILIO, lk_out_count(gw_job_out(job, 0)));
        twiml(r, gw_job_out(job, 0));
        break;
    case GW_R_INTERNAL:
        GW_RESPOND_LIT(r, 500, "{\"error\":\"internal error: the message was not processed\"}");
        break;
    default: twiml(r, NULL); break;
    }
}

int gw_route_twilio(gw_req *r)
{
    const char *token = gw_srv->cfg.twilio_token, *from, *sid;
    const gw_form_param *body;
    gw_form form = {0};
    lk_inbound in = {0};
    lk_err err;

    if (r->route_ctx) /* being handled already: the body's completion came twice */
        return 0;
    if (!token) {
        gw_log(GW_LOG_ERROR, "twilio request refused: LOKET_TWILIO_AUTH_TOKEN is not set", "rid=%s",
               r->rid);
        gw_respond_error(r, 503, GW_E_INTERNAL, "the Twilio channel is not configured");
        return 0;
    }
    if ((err = gw_form_parse(r->body.p, r->body.len, &form)) != LK_OK) {
        if (err == LK_ENOMEM)
            gw_respond_error(r, 500, GW_E_INTERNAL, "out of memory");
        else
            gw_respond_error(r, 400, GW_E_BAD_REQUEST, "malformed form body");
        goto done;
    }
    if (!r->twilio_sig[0] || !gw_twilio_signature_ok(r->twilio_sig, token, gw_srv->cfg.public_url,
                                                     r->host, r->path, &form)) {
        gw_log(GW_LOG_WARN, "twilio request refused: bad signature", "rid=%s present=%d", r->rid,
               r->twilio_sig[0] != 0);
        gw_respond_error(r, 401, GW_E_SIGNATURE, "missing or wrong X-Twilio-Signature");
        goto done;
    }
    from = gw_form_get(&form, "From");
    sid = gw_form_get(&form, "MessageSid");
    body = gw_form_find(&form, "Body");
    if (!body || !body->vlen)
        body = gw_form_find(&form, "ButtonText");
    if (!from || !*from || !body) {
        gw_respond_error(r, 400, GW_E_BAD_REQUEST, "From and Body are required");
        goto done;
    }
    if (sid && !*sid) { /* an empty id cannot deduplicate: refused, not processed twice */
        gw_respond_error(r, 400, GW_E_BAD_REQUEST, "MessageSid must not be empty");
        goto done;
    }
    in.channel = gw_chan_twilio.name;
    in.user = from;
    in.ext_id = sid;
    in.text = body->v;
    in.len = body->vlen;
    in.now_ms = gw_now_ms();
    gw_chan_submit(r, &gw_chan_twilio, &in, 1); /* answered by twilio_answer */
done:
    gw_form_clear(&form);
    return 0;
}

static const gw_route twilio_routes[] = {
    {GW_POST, "/webhook/twilio", gw_route_twilio},
    {GW_OTHER, NULL, NULL},
};

const gw_chan gw_chan_twilio = {
    .name = "twilio",
    .metric = GW_CH_TWILIO,
    .routes = twilio_routes,
    .webhook = 1,
    .answer = twilio_answer,
};
