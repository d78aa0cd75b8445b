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

static int signature_ok(gw_req *r, const char *secret)
{
    char want[65], got[65];
    const char *h = r->hub_sig;
    size_t i, n;

    if (strncmp(h, "sha256=", 7))
        return 0;
    h += 7;
    n = strlen(h);
    if (n != 64)
        return 0;
    for (i = 0; i < n; i++)
        got[i] = (char)tolower((unsigned char)h[i]);
    got[n] = '\0';
    if (gw_hmac_sha256_hex(secret, r->body.p ? r->body.p : "", r->body.len, want) < 0)
        return 0;
    return gw_ct_equal(got, 64, want, 64);
}

/* A phone number id goes into the Graph API URL: digits only. */
static int pnid_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0, i;
    if (n < 1 || n > 32)
        return 0;
    for (i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* The input text of a message: the text, or the id of the button or list row
 * chosen (which is the choice id the engine expects). NULL: not supported. */
static const char *message_text(const cJSON *m, const char *type)
{
    const cJSON *x;

    if (!strcmp(type, "text"))
        return gw_json_str(cJSON_GetObjectItemCaseSensitive(m, "text"), "body");
    if (!strcmp(type, "interactive")) {
        x = cJSON_GetObjectItemCaseSensitive(m, "interactive");
        if ((x = cJSON_GetObjectItemCaseSensitive(x, "button_reply")) ||
            (x = cJSON_GetObjectItemCaseSensitive(
                 cJSON_GetObjectItemCaseSensitive(m, "interactive"), "list_reply")))
            return gw_json_str(x, "id");
        return NULL;
    }
    if (!strcmp(type, "button")) { /* a quick reply of a template */
        x = cJSON_GetObjectItemCaseSensitive(m, "button");
        return gw_json_str(x, "payload") ? gw_json_str(x, "payload") : gw_json_str(x, "text");
    }
    return NULL;
}

/* Processes one messages[] item. -1 when the store failed (Meta retries). */
static int wa_message(gw_req *r, const cJSON *m, const char *pnid, int nul)
{
    const char *from = gw_json_str(m, "from"), *id = gw_json_str(m, "id");
    const char *type = gw_json_str(m, "type"), *text, *why = NULL;
    char chan[48];
    lk_inbound in = {0};

    if (!from || !id || !type || !pnid_ok(pnid)) {
        gw_log(GW_LOG_WARN, "whatsapp message skipped: no from, id, type or phone_number_id",
               "rid=%s", r->rid);
        gw_metrics_error(GW_E_BAD_REQUEST);
        return 0;
    }
    if (!(text = message_text(m, type))) {
        lk_buf b = {0};
        gw_log_kv(&b, "type", type);
        gw_log_kv(&b, "wamid", id);
        gw_log(GW_LOG_INFO, "whatsapp message skipped: type not handled", "rid=%s%s", r->rid,
               lk_buf_str(&b));
        lk_buf_free(&b);
        return 0;
    }
    snprintf(chan, sizeof chan, "whatsapp:%s", pnid);
    in.channel = "whatsapp";
    in.user = from;
    in.ext_id = id;
    in.text = nul ? "\0" : text;
    in.len = nul ? 1 : strlen(text);
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

static void wa_status(gw_req *r, const cJSON *st)
{
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(st, "errors");
    const cJSON *e0 = cJSON_GetArrayItem(errs, 0);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e0, "code");
    const char *status = gw_json_str(st, "status"), *id = gw_json_str(st, "id");
    lk_buf b = {0};

    gw_log_kv(&b, "wamid", id);
    gw_log_kv(&b, "status", status);
    if (cJSON_IsNumber(code))
        lk_buf_printf(&b, " code=%d", code->valueint);
    if (e0)
        gw_log_kv(&b, "title", gw_json_str(e0, "title"));
    gw_log(status && !strcmp(status, "failed") ? GW_LOG_WARN : GW_LOG_INFO, "whatsapp status",
           "rid=%s%s", r->rid, lk_buf_str(&b));
    lk_buf_free(&b);
}

int gw_route_wa_post(gw_req *r)
{
    const char *secret = gw_srv->cfg.wa_app_secret;
    const cJSON *entry, *change, *item;
    char why[128];
    cJSON *root;
    int failed = 0, nul;

    if (!secret) {
        gw_log(GW_LOG_ERROR, "whatsapp notification refused: LOKET_WA_APP_SECRET is not set",
               "rid=%s", r->rid);
        gw_respond_error(r, 503, GW_E_INTERNAL, "the WhatsApp channel is not configured");
        return 0;
    }
    if (!r->hub_sig[0] || !signature_ok(r, secret)) {
        gw_log(GW_LOG_WARN, "whatsapp notification refused: bad signature", "rid=%s present=%d",
               r->rid, r->hub_sig[0] != 0);
        gw_respond_error(r, 401, GW_E_SIGNATURE, "missing or wrong X-Hub-Signature-256");
        return 0;
    }
    if (!(root = gw_json_parse(r->body.p ? r->body.p : "", r->body.len, why, sizeof why))) {
        gw_respond_error(r, 400, GW_E_BAD_REQUEST, why);
        return 0;
    }
    nul = gw_json_has_nul(r->body.p, r->body.len);
    cJSON_ArrayForEach(entry, cJSON_GetObjectItemCaseSensitive(root, "entry"))
    {
        cJSON_ArrayForEach(change, cJSON_GetObjectItemCaseSensitive(entry, "changes"))
        {
            const cJSON *value = cJSON_GetObjectItemCaseSensitive(change, "value");
            const char *pnid =
                gw_json_str(cJSON_GetObjectItemCaseSensitive(value, "metadata"), "phone_number_id");
            cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(value, "messages"))
            {
                if (wa_message(r, item, pnid, nul) < 0)
                    failed = 1;
            }
            cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(value, "statuses"))
            {
                wa_status(r, item);
            }
        }
    }
    cJSON_Delete(root);
    if (failed) /* Meta delivers again later; what did commit is deduplicated */
        GW_RESPOND_LIT(r, 500, "{\"error\":\"internal error: try again\"}");
    else
        GW_RESPOND_LIT(r, 200, "{\"ok\":true}");
    return 0;
}
