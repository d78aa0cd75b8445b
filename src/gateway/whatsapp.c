/* The WhatsApp Cloud API channel at /webhook/whatsapp.
 *
 * GET is Meta's verification handshake. POST carries notifications, checked
 * against X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the app
 * secret) before anything in them is looked at. Each inbound message goes
 * to the store pipeline (pipeline.h), whose replies are rendered here into
 * Graph API request bodies and put in the outbox in the same transaction; the
 * sender thread (sender.c) posts them to {api}/{phone_number_id}/messages.
 * The outbox row's channel is "whatsapp:<phone_number_id>", so the payload
 * is exactly the Graph API body. */
#include "gw.h"
#include "wsframe.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define WA_BUTTONS 3       /* reply buttons per message */
#define WA_ROWS 10         /* rows of an interactive list */
#define WA_BUTTON_TITLE 20 /* characters */
#define WA_ROW_TITLE 24
#define WA_ROW_DESC 72
#define WA_INTERACTIVE_BODY 1024
#define WA_TEXT_BODY 4096

/* ---- verification: GET /webhook/whatsapp ------------------------------------------- */

static int challenge_ok(const char *s)
{
    size_t n = strlen(s), i;
    if (n < 1 || n > 64)
        return 0;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]))
            return 0;
    return 1;
}

int gw_route_wa_verify(gw_req *r)
{
    char mbuf[64], tbuf[512], cbuf[512];
    const char *mode = gw_req_arg(r, "hub.mode", mbuf, sizeof mbuf);
    const char *tok = gw_req_arg(r, "hub.verify_token", tbuf, sizeof tbuf);
    const char *ch = gw_req_arg(r, "hub.challenge", cbuf, sizeof cbuf);
    const char *want = gw_srv->cfg.wa_verify_token;

    if (!want) {
        gw_log(GW_LOG_WARN, "whatsapp verification refused: LOKET_WA_VERIFY_TOKEN is not set",
               "rid=%s", r->rid);
        gw_respond_error(r, 403, GW_E_SIGNATURE, "forbidden");
        return 0;
    }
    if (!mode || strcmp(mode, "subscribe") || !tok ||
        !gw_ct_equal(tok, strlen(tok), want, strlen(want)) || !ch || !challenge_ok(ch)) {
        gw_log(GW_LOG_WARN, "whatsapp verification refused", "rid=%s", r->rid);
        gw_respond_error(r, 403, GW_E_SIGNATURE, "forbidden");
        return 0;
    }
    gw_log(GW_LOG_INFO, "whatsapp webhook verified", "rid=%s", r->rid);
    gw_respond(r, 200, "text/plain; charset=utf-8", ch, strlen(ch));
    return 0;
}

/* ---- rendering replies as Graph API bodies --------------------------------------------- */

/* The body is written straight into the payload, with no tree in between: the
 * bytes cJSON_PrintUnformatted gave for the object this built before (keys in
 * this order, strings escaped by gw_json_string), which test_gw_wa_render
 * compares byte for byte against that way of building it. */

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, after a cut text */
#define PUT_LIT(b, lit) lk_buf_put(b, lit, sizeof(lit) - 1)

/* s cut to max characters as a JSON string; 1 when it was cut. */
static int put_cut(lk_buf *b, const char *s, size_t max)
{
    size_t keep;
    int cut = gw_utf8_cut_len(s, max, &keep);

    lk_buf_putc(b, '"');
    gw_json_chars(b, s, keep);
    if (cut)
        lk_buf_put(b, ELLIPSIS, 3);
    lk_buf_putc(b, '"');
    return cut;
}

/* Whether two titles read the same once cut: a[0..ka) (then the ellipsis when ca)
 * against b[0..kb) (and cb). */
static int same_cut(const char *a, size_t ka, int ca, const char *b, size_t kb, int cb)
{
    if (ca > cb)
        return same_cut(b, kb, cb, a, ka, ca);
    /* a whole and b cut: a is b's kept bytes and an ellipsis */
    return ka + 3 * (size_t)ca == kb + 3 * (size_t)cb && memcmp(a, b, kb) == 0 &&
           (ca == cb || memcmp(a + kb, ELLIPSIS, 3) == 0);
}

/* 1 when the titles of r (at most WA_BUTTONS) stay distinct once cut to max
 * characters (WhatsApp refuses two buttons with the same title). */
static int titles_distinct(const lk_reply *r, size_t max)
{
    size_t keep[WA_BUTTONS];
    int cut[WA_BUTTONS], i, k;

    for (i = 0; i < r->nchoices; i++)
        cut[i] = gw_utf8_cut_len(r->choices[i].title, max, &keep[i]);
    for (i = 0; i < r->nchoices; i++)
        for (k = i + 1; k < r->nchoices; k++)
            if (same_cut(r->choices[i].title, keep[i], cut[i], r->choices[k].title, keep[k],
                         cut[k]))
                return 0;
    return 1;
}

/* "id":"...", of choice i: it names the question it answers (parse.h). Nothing
 * when there is none to give: an id too long for gw_wa_choice_id, or a NULL id
 * (fields the cJSON tree of before left out). */
static void put_choice_id(lk_buf *b, const lk_reply *r, int i)
{
    char id[GW_WA_ID_MAX + 1];
    const char *s = r->choices[i].id;

    if (r->question)
        s = gw_wa_choice_id(id, r->question, s) == 0 ? id : NULL;
    if (!s)
        return;
    PUT_LIT(b, "\"id\":");
    gw_json_string(b, s, strlen(s));
    lk_buf_putc(b, ',');
}

static void put_buttons(lk_buf *b, const lk_reply *r)
{
    int i;

    PUT_LIT(b, "\"action\":{\"buttons\":[");
    for (i = 0; i < r->nchoices; i++) {
        if (i)
            lk_buf_putc(b, ',');
        PUT_LIT(b, "{\"type\":\"reply\",\"reply\":{");
        put_choice_id(b, r, i);
        PUT_LIT(b, "\"title\":");
        put_cut(b, r->choices[i].title, WA_BUTTON_TITLE);
        PUT_LIT(b, "}}");
    }
    PUT_LIT(b, "]}");
}

static void put_list(lk_buf *b, const lk_reply *r)
{
    int i;

    PUT_LIT(b, "\"action\":{\"button\":");
    put_cut(b, r->list_button, WA_BUTTON_TITLE);
    PUT_LIT(b, ",\"sections\":[{\"rows\":[");
    for (i = 0; i < r->nchoices; i++) {
        const char *t = r->choices[i].title;

        if (i)
            lk_buf_putc(b, ',');
        lk_buf_putc(b, '{');
        put_choice_id(b, r, i);
        PUT_LIT(b, "\"title\":");
        if (put_cut(b, t, WA_ROW_TITLE)) { /* the whole title, under the cut one */
            PUT_LIT(b, ",\"description\":");
            put_cut(b, t, WA_ROW_DESC);
        }
        lk_buf_putc(b, '}');
    }
    PUT_LIT(b, "]}]}");
}

int gw_wa_render(void *ctx, const char *user, const lk_reply *reply, lk_buf *payload)
{
    size_t chars = lk_utf8_len(reply->text, reply->len), start = payload->len;
    int n = reply->nchoices, buttons;
    lk_buf *b = payload;

    (void)ctx;
    PUT_LIT(b, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\",");
    /* a business-scoped user id is addressed as recipient, a phone number as to */
    if (gw_wa_is_phone(user))
        PUT_LIT(b, "\"to\":");
    else
        PUT_LIT(b, "\"recipient\":");
    gw_json_string(b, user, strlen(user));
    buttons = n >= 1 && n <= WA_BUTTONS && titles_distinct(reply, WA_BUTTON_TITLE);
    /* a list needs the flow's label for its button; without one it goes as text */
    if (n >= 1 && n <= WA_ROWS && chars <= WA_INTERACTIVE_BODY && (buttons || reply->list_button)) {
        PUT_LIT(b, ",\"type\":\"interactive\",\"interactive\":{\"type\":");
        if (buttons)
            PUT_LIT(b, "\"button\",\"body\":{\"text\":");
        else
            PUT_LIT(b, "\"list\",\"body\":{\"text\":");
        gw_json_string(b, reply->text, strlen(reply->text));
        PUT_LIT(b, "},");
        if (buttons)
            put_buttons(b, reply);
        else
            put_list(b, reply);
        lk_buf_putc(b, '}');
    } else {
        PUT_LIT(b, ",\"type\":\"text\",\"text\":{\"preview_url\":false,\"body\":");
        if (chars > WA_TEXT_BODY)
            gw_log(GW_LOG_WARN, "whatsapp reply cut to 4096 characters", "chars=%zu", chars);
        put_cut(b, reply->text, WA_TEXT_BODY);
        lk_buf_putc(b, '}');
    }
    lk_buf_putc(b, '}');
    if (!b->oom)
        return 0;
    b->len = start; /* what it held before */
    if (b->p)
        b->p[b->len] = '\0';
    return -1;
}

/* ---- notifications: POST /webhook/whatsapp ------------------------------------------------- */

/* One notification being handled. A body of many messages is taken
 * batch_per_turn messages per turn of the loop, continued by a timer, so
 * that other connections are served between the turns; its messages go into
 * one job, and the answer goes once the last of them committed (wa_done).
 * The request owns the batch (route_ctx): when the connection goes first,
 * http.c calls batch_abandon. */
typedef struct wa_batch {
    gw_req *r;
    gw_wa_iter it;
    gw_job *job;
    lws_sorted_usec_list_t more;
    int failed; /* out of memory: Meta should retry */
} wa_batch;

/* What is logged and counted but not answered. */
enum wa_skip {
    WA_SKIP_REACTION,
    WA_SKIP_UNSUPPORTED,
    WA_SKIP_UNKNOWN,
    WA_SKIP_GROUP,
    WA_SKIP_ERROR,
    WA_SKIP_N
};
static const char *const skip_names[WA_SKIP_N] = {"reaction", "unsupported", "unknown_type",
                                                  "group", "notification_error"};
static atomic_ullong skipped[WA_SKIP_N];

void gw_wa_metrics_render(lk_buf *b)
{
    gw_metrics_counters(b, "loket_whatsapp_unanswered_total",
                        "WhatsApp items logged and not answered, by reason.", "reason", skip_names,
                        skipped, WA_SKIP_N);
}

/* Submits one message to the store, with the flow of its number. -1 when out of
 * memory. */
static int wa_message(wa_batch *b, const gw_wa_event *ev)
{
    const lk_flow *flow = gw_wa_number_flow(ev->pnid);
    char chan[48];
    lk_inbound in = {0};

    snprintf(chan, sizeof chan, "whatsapp:%s", ev->pnid);
    /* a number with its own flow has its own sessions */
    in.channel = flow ? chan : gw_chan_whatsapp.name;
    in.flow = flow;
    in.user = ev->from;
    in.ext_id = ev->id;
    in.text = ev->text;
    in.len = ev->len;
    in.now_ms = gw_now_ms();
    in.render = gw_chan_whatsapp.render;
    in.outbox_channel = chan;
    in.tap = ev->tap;
    in.tap_question = ev->has_question ? ev->question : NULL;
    in.tap_title = ev->tap_title;
    in.media_type = ev->media_type;
    in.media_id = ev->media_id;
    in.media_mime = ev->media_mime;
    gw_sender_read(gw_srv->sender, ev->pnid, ev->from, ev->id); /* read, typing: best effort */
    return gw_job_add(b->job, &in);                             /* copies in */
}

/* A message that gets no answer: logged with its type and id (never its content). */
static void wa_skip(wa_batch *w, const gw_wa_event *ev)
{
    enum wa_skip k = ev->kind == GW_WA_GROUP                        ? WA_SKIP_GROUP
                     : ev->kind == GW_WA_ERROR                      ? WA_SKIP_ERROR
                     : ev->type && !strcmp(ev->type, "reaction")    ? WA_SKIP_REACTION
                     : ev->type && !strcmp(ev->type, "unsupported") ? WA_SKIP_UNSUPPORTED
                                                                    : WA_SKIP_UNKNOWN;
    lk_buf b = {0};

    atomic_fetch_add(&skipped[k], 1);
    gw_log_kv(&b, "type", ev->type);
    gw_log_kv(&b, "wamid", ev->id);
    gw_log_kv(&b, "phone_number_id", ev->pnid);
    if (ev->has_code)
        lk_buf_printf(&b, " code=%d", ev->code);
    if (ev->has_error)
        gw_log_kv(&b, "title", ev->error_title);
    if (k == WA_SKIP_ERROR)
        gw_log(GW_LOG_WARN, "whatsapp notification error", "rid=%s%s", w->r->rid, lk_buf_str(&b));
    else if (k == WA_SKIP_GROUP)
        gw_log(GW_LOG_INFO, "whatsapp group message not answered: loket answers one to one",
               "rid=%s%s", w->r->rid, lk_buf_str(&b));
    else
        gw_log(GW_LOG_INFO, "whatsapp message not answered: type not handled", "rid=%s%s",
               w->r->rid, lk_buf_str(&b));
    lk_buf_free(&b);
}

static void wa_status(gw_req *r, const gw_wa_event *ev)
{
    lk_buf b = {0};

    gw_log_kv(&b, "wamid", ev->id);
    gw_log_kv(&b, "status", ev->status);
    if (ev->has_code)
        lk_buf_printf(&b, " code=%d", ev->code);
    if (ev->has_error)
        gw_log_kv(&b, "title", ev->error_title);
    gw_log(ev->status && !strcmp(ev->status, "failed") ? GW_LOG_WARN : GW_LOG_INFO,
           "whatsapp status", "rid=%s%s", r->rid, lk_buf_str(&b));
    lk_buf_free(&b);
    gw_sender_status(gw_srv->sender, ev->pnid, ev->id, ev->status, ev->has_code ? ev->code : 0);
}

static void wa_event(wa_batch *w, const gw_wa_event *ev)
{
    lk_buf b = {0};

    switch (ev->kind) {
    case GW_WA_MESSAGE:
        if (wa_message(w, ev) < 0)
            w->failed = 1;
        break;
    case GW_WA_INVALID:
        gw_log(GW_LOG_WARN,
               "whatsapp message skipped: no from (or from_user_id), id, type, timestamp or "
               "phone_number_id",
               "rid=%s", w->r->rid);
        gw_metrics_error(GW_E_BAD_REQUEST);
        break;
    case GW_WA_STALE: /* a captured body sent again after its ids left the dedup table */
        gw_log_kv(&b, "wamid", ev->id);
        gw_log(GW_LOG_WARN, "whatsapp message refused: older than the dedup window (a replay?)",
               "rid=%s age_s=%lld%s", w->r->rid, (long long)((gw_now_ms() - ev->ts_ms) / 1000),
               lk_buf_str(&b));
        gw_metrics_error(GW_E_STALE);
        break;
    case GW_WA_UNHANDLED:
    case GW_WA_GROUP:
    case GW_WA_ERROR: wa_skip(w, ev); break;
    case GW_WA_STATUS: wa_status(w->r, ev); break;
    }
    lk_buf_free(&b);
}

static void batch_free(wa_batch *b)
{
    gw_job_cancel(b->job); /* a no-op for the job that is done */
    lws_sul_cancel(&b->more);
    gw_wa_close(&b->it);
    b->r->route_ctx = NULL;
    b->r->route_free = NULL;
    free(b);
}

static void batch_abandon(gw_req *r)
{
    wa_batch *b = r->route_ctx;
    gw_log(GW_LOG_WARN, "whatsapp notification abandoned: the connection closed", "rid=%s", r->rid);
    batch_free(b);
}

static void batch_more(lws_sorted_usec_list_t *sul);

/* After the commit: duplicates, rate-limited and refused texts are
 * acknowledged; a message the store failed on makes Meta deliver the body
 * again later (what did commit is deduplicated then). */
static void wa_answer(gw_req *r, const gw_job *job)
{
    if (gw_job_count_result(job, GW_R_INTERNAL) > 0)
        GW_RESPOND_LIT(r, 500, "{\"error\":\"internal error: try again\"}");
    else
        GW_RESPOND_LIT(r, 200, "{\"ok\":true}");
}

static void wa_done(gw_job *job, void *ctx)
{
    wa_batch *b = ctx;
    gw_req *r = b->r;

    b->job = NULL; /* freed by the pipeline when this returns */
    if (b->failed)
        gw_respond_error(r, 500, GW_E_INTERNAL, "out of memory");
    else
        wa_answer(r, job);
    batch_free(b);
    gw_mem_after_body(r->body.len);
}

/* Handles up to batch_per_turn items; answers after the last one. */
static void batch_turn(wa_batch *b)
{
    gw_wa_event ev;
    int i, more = 0;

    for (i = 0; i < gw_srv->cfg.batch_per_turn; i++) {
        if (!(more = gw_wa_next(&b->it, &ev)))
            break;
        wa_event(b, &ev);
    }
    if (more && !b->failed) { /* the rest after the loop has looked at every other connection */
        lws_sul_schedule(gw_srv->ctx, 0, &b->more, batch_more, 1);
        return;
    }
    gw_job_end(b->job); /* wa_done answers once every message is through */
}

static void batch_more(lws_sorted_usec_list_t *sul)
{
    batch_turn(lws_container_of(sul, wa_batch, more));
}

int gw_route_wa_post(gw_req *r)
{
    const char *secret = gw_srv->cfg.wa_app_secret;
    wa_batch *b;
    char why[128];

    if (r->route_ctx) /* being handled already: the body's completion came twice */
        return 0;
    if (!secret) {
        gw_log(GW_LOG_ERROR, "whatsapp notification refused: LOKET_WA_APP_SECRET is not set",
               "rid=%s", r->rid);
        gw_respond_error(r, 503, GW_E_INTERNAL, "the WhatsApp channel is not configured");
        return 0;
    }
    if (!r->hub_sig[0] || !gw_wa_signature_ok(r->hub_sig, secret, r->body.p, r->body.len)) {
        gw_log(GW_LOG_WARN, "whatsapp notification refused: bad signature", "rid=%s present=%d",
               r->rid, r->hub_sig[0] != 0);
        gw_respond_error(r, 401, GW_E_SIGNATURE, "missing or wrong X-Hub-Signature-256");
        return 0;
    }
    if (!(b = calloc(1, sizeof *b)) || !(b->job = gw_job_new(wa_done, b))) {
        free(b);
        gw_respond_error(r, 500, GW_E_INTERNAL, "out of memory");
        return 0;
    }
    /* a replayed message older than the dedup window would not be seen as a
     * duplicate any more: refuse it (a minute of slack for clock skew) */
    if (gw_wa_open(r->body.p ? r->body.p : "", r->body.len, gw_now_ms(),
                   gw_srv->cfg.dedup_keep_ms > 120000 ? gw_srv->cfg.dedup_keep_ms - 60000
                                                      : gw_srv->cfg.dedup_keep_ms,
                   &b->it, why, sizeof why) < 0) {
        gw_job_cancel(b->job);
        free(b);
        gw_respond_error(r, 400, GW_E_BAD_REQUEST, why);
        gw_mem_after_body(r->body.len);
        return 0;
    }
    b->r = r;
    r->route_ctx = b;
    r->route_free = batch_abandon;
    batch_turn(b);
    return 0;
}

static const gw_route wa_routes[] = {
    {GW_GET, "/webhook/whatsapp", gw_route_wa_verify},
    {GW_POST, "/webhook/whatsapp", gw_route_wa_post},
    {GW_OTHER, NULL, NULL},
};

const gw_chan gw_chan_whatsapp = {
    .name = "whatsapp",
    .metric = GW_CH_WHATSAPP,
    .routes = wa_routes,
    .webhook = 1,
    .render = gw_wa_render,
    .answer = wa_answer,
    .outbox_prefix = "whatsapp:",
    .classify = gw_graph_answer_parse,
};
