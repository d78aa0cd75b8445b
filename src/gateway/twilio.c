/* The Twilio channel at /webhook/twilio (WhatsApp or SMS through Twilio).
 *
 * The body is application/x-www-form-urlencoded. X-Twilio-Signature is the
 * base64 HMAC-SHA1, keyed with the auth token, of the full URL Twilio called
 * (its query string included) followed by every POST parameter's name and
 * value, sorted by name. The URL is rebuilt from LOKET_PUBLIC_URL (when set,
 * e.g. https://bot.example.org behind a proxy) or http://{Host}, plus the
 * path and the query; it is checked in the spellings Twilio's helper
 * libraries accept (with and without the port, parse.c).
 *
 * Three kinds of request come here:
 * - a status callback (MessageStatus and no Body): counted by status,
 *   answered 200 with an empty Response;
 * - a message: its text is ButtonPayload (a quick-reply tap), else Body,
 *   else ButtonText. A message with media (NumMedia > 0: MediaUrl0,
 *   MediaContentType0) or a location (Latitude, Longitude) goes to the
 *   engine as media, as WhatsApp's do: Body is its caption, MediaUrl0 its id;
 *   a state whose input takes media keeps it, elsewhere a caption is read
 *   as text and media alone gets the flow's text for what it cannot read;
 * - anything else: 400.
 * Replies go back as TwiML in the answer, once their message committed. */
#include "gw.h"

#include <stdlib.h>
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

/* A parameter's value when present and not empty, else NULL. */
static const gw_form_param *nonempty(const gw_form *f, const char *k)
{
    const gw_form_param *p = gw_form_find(f, k);
    return p && p->vlen ? p : NULL;
}

/* The first medium's kind as lk_inbound names them: Twilio's MessageType
 * when it is one of them (WhatsApp), else what its MIME type says. */
static const char *media_kind(const gw_form *f, const char *mime)
{
    static const char *const kinds[] = {"image",    "audio",   "voice",   "video",
                                        "document", "sticker", "contacts"};
    const char *mt = gw_form_get(f, "MessageType");
    size_t i;

    for (i = 0; mt && i < sizeof kinds / sizeof *kinds; i++)
        if (!strcmp(mt, kinds[i]))
            return kinds[i];
    if (!mime)
        return "document";
    if (!strncmp(mime, "image/", 6))
        return "image";
    if (!strncmp(mime, "audio/", 6))
        return "audio";
    if (!strncmp(mime, "video/", 6))
        return "video";
    if (!strcmp(mime, "text/vcard") || !strcmp(mime, "text/x-vcard"))
        return "contacts";
    return "document";
}

/* The text of a message (NULL: none, a malformed request), and its media in in. */
static const gw_form_param *message_input(const gw_form *f, lk_inbound *in)
{
    const gw_form_param *p;
    const char *nm = gw_form_get(f, "NumMedia");

    /* a tap's Body repeats the button's text: the payload says which button */
    if ((p = nonempty(f, "ButtonPayload")) || (p = nonempty(f, "ButtonText")))
        return p;
    if (nm && strtol(nm, NULL, 10) > 0) {
        in->media_mime = gw_form_get(f, "MediaContentType0");
        in->media_id = gw_form_get(f, "MediaUrl0");
        in->media_type = media_kind(f, in->media_mime);
    } else if (nonempty(f, "Latitude") && nonempty(f, "Longitude")) {
        in->media_type = "location";
    }
    return gw_form_find(f, "Body"); /* with media, the caption: "" when there is none */
}

/* A delivery status callback: counted and logged, nothing to answer. */
static void status_callback(gw_req *r, const gw_form *f, const char *status)
{
    const char *code = gw_form_get(f, "ErrorCode"), *sid = gw_form_get(f, "MessageSid");

    gw_metrics_status(GW_CH_TWILIO, status);
    gw_log(code && *code ? GW_LOG_WARN : GW_LOG_INFO, "twilio status",
           "rid=%s sid=%.64s status=%.32s error=%.16s", r->rid, sid ? sid : "", status,
           code ? code : "");
    twiml(r, NULL);
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
    const char *token = gw_srv->cfg.twilio_token, *from, *sid, *status;
    const gw_form_param *body;
    gw_form form = {0};
    gw_twilio_url url;
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
    url.public_url = gw_srv->cfg.public_url;
    url.host = r->host;
    url.path = r->path;
    url.args = r->args;
    url.args_len = r->args_len > 0 ? (size_t)r->args_len : 0;
    if (!r->twilio_sig[0] || r->args_len < 0 ||
        !gw_twilio_signature_ok(r->twilio_sig, token, &url, &form)) {
        gw_log(GW_LOG_WARN, "twilio request refused: bad signature",
               "rid=%s present=%d query_bytes=%d", r->rid, r->twilio_sig[0] != 0, r->args_len);
        gw_respond_error(r, 401, GW_E_SIGNATURE,
                         r->args_len < 0 ? "the query string is too long to check the signature"
                                         : "missing or wrong X-Twilio-Signature");
        goto done;
    }
    status = gw_form_get(&form, "MessageStatus");
    if (!gw_form_find(&form, "Body") && status && *status) {
        status_callback(r, &form, status);
        goto done;
    }
    from = gw_form_get(&form, "From");
    sid = gw_form_get(&form, "MessageSid");
    body = message_input(&form, &in);
    if (!from || !*from || !body) {
        gw_respond_error(r, 400, GW_E_BAD_REQUEST,
                         "From and Body are required (or MessageStatus for a status callback)");
        goto done;
    }
    if (sid && !*sid) { /* an empty id cannot deduplicate: refused, not processed twice */
        gw_respond_error(r, 400, GW_E_BAD_REQUEST, "MessageSid must not be empty");
        goto done;
    }
    if (in.media_type)
        gw_log(GW_LOG_INFO, "twilio media", "rid=%s type=%s caption=%d", r->rid, in.media_type,
               body->vlen > 0);
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
