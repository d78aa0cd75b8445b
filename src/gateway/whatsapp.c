/* The WhatsApp Cloud API channel at /webhook/whatsapp.
 *
 * GET is Meta's verification handshake. POST carries notifications, checked
 * against X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the app
 * secret) before anything in them is looked at. Each inbound message is one
 * lk_runtime_handle transaction whose replies are rendered here into Graph
 * API request bodies and put in the outbox in the same transaction; the
 * sender thread (outbox.c) posts them to {api}/{phone_number_id}/messages.
 * The outbox row's channel is "whatsapp:<phone_number_id>", so the payload
 * is exactly the Graph API body. */
#include "gw.h"

#include <ctype.h>
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

static cJSON *cut_string(const char *s, size_t max)
{
    lk_buf b = {0};
    cJSON *j;
    gw_utf8_cut(&b, s, max);
    j = b.oom ? NULL : cJSON_CreateString(lk_buf_str(&b));
    lk_buf_free(&b);
    return j;
}

/* 1 when the titles of r stay distinct once cut to max characters (WhatsApp
 * refuses two buttons with the same title). */
static int titles_distinct(const lk_reply *r, size_t max)
{
    lk_buf a = {0}, b = {0};
    int i, k, ok = 1;

    for (i = 0; ok && i < r->nchoices; i++)
        for (k = i + 1; ok && k < r->nchoices; k++) {
            lk_buf_reset(&a);
            lk_buf_reset(&b);
            gw_utf8_cut(&a, r->choices[i].title, max);
            gw_utf8_cut(&b, r->choices[k].title, max);
            ok = strcmp(lk_buf_str(&a), lk_buf_str(&b)) != 0;
        }
    lk_buf_free(&a);
    lk_buf_free(&b);
    return ok;
}

static void add_buttons(cJSON *inter, const lk_reply *r)
{
    cJSON *action = cJSON_AddObjectToObject(inter, "action");
    cJSON *btns = action ? cJSON_AddArrayToObject(action, "buttons") : NULL;
    int i;

    for (i = 0; btns && i < r->nchoices; i++) {
        cJSON *b = cJSON_CreateObject(), *reply;
        if (!b)
            return;
        cJSON_AddStringToObject(b, "type", "reply");
        if ((reply = cJSON_AddObjectToObject(b, "reply"))) {
            cJSON_AddStringToObject(reply, "id", r->choices[i].id);
            cJSON_AddItemToObject(reply, "title", cut_string(r->choices[i].title, WA_BUTTON_TITLE));
        }
        cJSON_AddItemToArray(btns, b);
    }
}

static void add_list(cJSON *inter, const lk_reply *r)
{
    cJSON *action = cJSON_AddObjectToObject(inter, "action"), *sections, *sec, *rows;
    int i;

    if (!action)
        return;
    cJSON_AddStringToObject(action, "button", "Pilih");
    if (!(sections = cJSON_AddArrayToObject(action, "sections")) || !(sec = cJSON_CreateObject()))
        return;
    cJSON_AddItemToArray(sections, sec);
    if (!(rows = cJSON_AddArrayToObject(sec, "rows")))
        return;
    for (i = 0; i < r->nchoices; i++) {
        cJSON *row = cJSON_CreateObject();
        const char *t = r->choices[i].title;
        if (!row)
            return;
        cJSON_AddStringToObject(row, "id", r->choices[i].id);
        cJSON_AddItemToObject(row, "title", cut_string(t, WA_ROW_TITLE));
        if (lk_utf8_len(t, strlen(t)) > WA_ROW_TITLE) /* the whole title, under the cut one */
            cJSON_AddItemToObject(row, "description", cut_string(t, WA_ROW_DESC));
        cJSON_AddItemToArray(rows, row);
    }
}

int gw_wa_render(void *ctx, const char *user, const lk_reply *reply, lk_buf *payload)
{
    size_t chars = lk_utf8_len(reply->text, reply->len);
    cJSON *o = cJSON_CreateObject(), *inter, *body;
    int rc = -1, n = reply->nchoices;

    (void)ctx;
    if (!o)
        return -1;
    cJSON_AddStringToObject(o, "messaging_product", "whatsapp");
    cJSON_AddStringToObject(o, "recipient_type", "individual");
    cJSON_AddStringToObject(o, "to", user);
    if (n >= 1 && n <= WA_ROWS && chars <= WA_INTERACTIVE_BODY) {
        int buttons = n <= WA_BUTTONS && titles_distinct(reply, WA_BUTTON_TITLE);
        cJSON_AddStringToObject(o, "type", "interactive");
        if (!(inter = cJSON_AddObjectToObject(o, "interactive")))
            goto done;
        cJSON_AddStringToObject(inter, "type", buttons ? "button" : "list");
        if ((body = cJSON_AddObjectToObject(inter, "body")))
            cJSON_AddStringToObject(body, "text", reply->text);
        if (buttons)
            add_buttons(inter, reply);
        else
            add_list(inter, reply);
    } else {
        cJSON_AddStringToObject(o, "type", "text");
        if (!(body = cJSON_AddObjectToObject(o, "text")))
            goto done;
        cJSON_AddFalseToObject(body, "preview_url");
        if (chars > WA_TEXT_BODY)
            gw_log(GW_LOG_WARN, "whatsapp reply cut to 4096 characters", "chars=%zu", chars);
        cJSON_AddItemToObject(body, "body", cut_string(reply->text, WA_TEXT_BODY));
    }
    rc = gw_json_put(payload, o);
done:
    cJSON_Delete(o);
    return rc;
}

/* ---- notifications: POST /webhook/whatsapp ------------------------------------------------- */

/* The route's side of gw_wa_parse: what one notification item does. */
typedef struct wa_ctx {
    gw_req *r;
    int failed; /* the store failed on a message: Meta should retry */
} wa_ctx;

/* Runs one message through the engine. -1 when the store failed. */
static int wa_message(const gw_wa_event *ev)
{
    const char *why = NULL;
    char chan[48];
    lk_inbound in = {0};

    snprintf(chan, sizeof chan, "whatsapp:%s", ev->pnid);
    in.channel = "whatsapp";
    in.user = ev->from;
    in.ext_id = ev->id;
    in.text = ev->text;
    in.len = ev->len;
    in.now_ms = gw_now_ms();
    in.render = gw_wa_render;
    in.outbox_channel = chan;
    switch (gw_process(&in, &why)) {
    case GW_R_OK:
        if (lk_out_count(gw_srv->out) > 0)
            gw_wake_sender();
        return 0;
    case GW_R_INTERNAL: return -1;
    default: /* duplicates, rate-limited and refused texts are acknowledged */ return 0;
    }
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
}

static void wa_event(void *ctx, const gw_wa_event *ev)
{
    wa_ctx *w = ctx;
    lk_buf b = {0};

    switch (ev->kind) {
    case GW_WA_MESSAGE:
        if (wa_message(ev) < 0)
            w->failed = 1;
        break;
    case GW_WA_INVALID:
        gw_log(GW_LOG_WARN, "whatsapp message skipped: no from, id, type or phone_number_id",
               "rid=%s", w->r->rid);
        gw_metrics_error(GW_E_BAD_REQUEST);
        break;
    case GW_WA_UNHANDLED:
        gw_log_kv(&b, "type", ev->type);
        gw_log_kv(&b, "wamid", ev->id);
        gw_log(GW_LOG_INFO, "whatsapp message skipped: type not handled", "rid=%s%s", w->r->rid,
               lk_buf_str(&b));
        lk_buf_free(&b);
        break;
    case GW_WA_STATUS: wa_status(w->r, ev); break;
    }
}

int gw_route_wa_post(gw_req *r)
{
    const char *secret = gw_srv->cfg.wa_app_secret;
    wa_ctx w = {r, 0};
    char why[128];

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
    if (gw_wa_parse(r->body.p ? r->body.p : "", r->body.len, wa_event, &w, why, sizeof why) < 0) {
        gw_respond_error(r, 400, GW_E_BAD_REQUEST, why);
        return 0;
    }
    if (w.failed) /* Meta delivers again later; what did commit is deduplicated */
        GW_RESPOND_LIT(r, 500, "{\"error\":\"internal error: try again\"}");
    else
        GW_RESPOND_LIT(r, 200, "{\"ok\":true}");
    return 0;
}
