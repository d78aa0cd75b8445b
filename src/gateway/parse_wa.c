/* WhatsApp Cloud API notifications (parse.h, "whatsapp"): the walk over
 * entry[].changes[].value and the reading of one message or status. Pure, as
 * the rest of the gateway's parsers. */
#include "parse.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* ---- whatsapp ------------------------------------------------------------------------- */

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

/* A business-scoped user id ("US.13491208655302741918") becomes a session key and a
 * Graph API recipient: a short run of plain characters. */
static int bsuid_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0, i;
    if (n < 1 || n > 128)
        return 0;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

static int hexdig(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int gw_wa_is_phone(const char *user)
{
    if (!*user)
        return 0;
    for (; *user; user++)
        if (*user < '0' || *user > '9')
            return 0;
    return 1;
}

int gw_wa_choice_id(char *out, const char *question, const char *id)
{
    size_t o = 0, idn = strlen(id);
    const char *p;

    if (idn > GW_WA_ID_MAX)
        return -1;
    memcpy(out, "q:", 2);
    o = 2;
    for (p = question; *p && o + (*p == ':' || *p == '%' ? 3 : 1) + 1 + idn <= GW_WA_ID_MAX; p++) {
        if (*p == ':' || *p == '%') {
            memcpy(out + o, *p == ':' ? "%3A" : "%25", 3);
            o += 3;
        } else {
            out[o++] = *p;
        }
    }
    if (*p) { /* too long to name its question: the bare id */
        memcpy(out, id, idn + 1);
        return 0;
    }
    out[o++] = ':';
    memcpy(out + o, id, idn + 1);
    return 0;
}

/* A tapped row or button id: "q:<question>:<choice>" names its question; any other id
 * (one from before, or not loket's) is the choice id alone, naming none. */
static void tap_id(gw_wa_event *ev, const char *id)
{
    const char *p;
    size_t o = 0;
    int hi, lo;

    ev->tap = 1;
    ev->text = id;
    if (strncmp(id, "q:", 2))
        return;
    for (p = id + 2; *p && *p != ':'; p++) {
        if (o >= GW_WA_ID_MAX)
            return;
        if (*p == '%' && (hi = hexdig(p[1])) >= 0 && (lo = hexdig(p[2])) >= 0) {
            ev->question[o++] = (char)(hi * 16 + lo);
            p += 2;
        } else {
            ev->question[o++] = *p;
        }
    }
    if (*p != ':')
        return;
    ev->question[o] = '\0';
    ev->has_question = 1;
    ev->text = p + 1;
}

static const char *const media_types[] = {"image", "audio", "video", "document", "sticker"};

/* What a message gives the engine. 0: ev has its text (a tap, a caption, media);
 * -1: a type not answered (a reaction, unsupported, unknown). */
static int message_input(const cJSON *m, const char *type, gw_wa_event *ev)
{
    const cJSON *x, *r;
    size_t k;

    if (!strcmp(type, "text")) {
        ev->text = gw_json_str(cJSON_GetObjectItemCaseSensitive(m, "text"), "body");
        return ev->text ? 0 : -1;
    }
    if (!strcmp(type, "interactive")) {
        x = cJSON_GetObjectItemCaseSensitive(m, "interactive");
        if (!(r = cJSON_GetObjectItemCaseSensitive(x, "button_reply")))
            r = cJSON_GetObjectItemCaseSensitive(x, "list_reply");
        if (!gw_json_str(r, "id"))
            return -1; /* a flow's reply (nfm_reply) and the like */
        tap_id(ev, gw_json_str(r, "id"));
        ev->tap_title = gw_json_str(r, "title");
        return 0;
    }
    if (!strcmp(type, "button")) { /* a quick reply of a template: its payload is text */
        x = cJSON_GetObjectItemCaseSensitive(m, "button");
        ev->text = gw_json_str(x, "payload") ? gw_json_str(x, "payload") : gw_json_str(x, "text");
        return ev->text ? 0 : -1;
    }
    for (k = 0; k < sizeof media_types / sizeof *media_types; k++) {
        if (strcmp(type, media_types[k]))
            continue;
        x = cJSON_GetObjectItemCaseSensitive(m, type);
        ev->media_type = media_types[k];
        if (k == 1 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "voice")))
            ev->media_type = "voice";
        ev->media_id = gw_json_str(x, "id");
        ev->media_mime = gw_json_str(x, "mime_type");
        ev->text = gw_json_str(x, "caption"); /* images, videos and documents have one */
        if (!ev->text)
            ev->text = "";
        return 0;
    }
    if (!strcmp(type, "location") || !strcmp(type, "contacts")) {
        ev->media_type = !strcmp(type, "location") ? "location" : "contacts";
        ev->text = "";
        return 0;
    }
    return -1;
}

/* errors[0] of obj: its code and title. */
static void first_error(const cJSON *obj, gw_wa_event *ev)
{
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(obj, "errors");
    const cJSON *e0 = cJSON_IsArray(errs) ? errs->child : NULL;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e0, "code");

    ev->has_error = e0 != NULL;
    ev->has_code = cJSON_IsNumber(code);
    ev->code = ev->has_code ? code->valueint : 0;
    ev->error_title = gw_json_str(e0, "title");
}

/* The group a message was written in, if any. */
static const char *group_of(const cJSON *m)
{
    const char *g = gw_json_str(m, "group_id");
    return g ? g : gw_json_str(cJSON_GetObjectItemCaseSensitive(m, "context"), "group_id");
}

/* A message's timestamp: Unix seconds as a string of digits (or a number).
 * -1 when absent or not a time. */
static int64_t message_ts_ms(const cJSON *m)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "timestamp");
    int64_t v = 0;
    const char *p;

    if (cJSON_IsNumber(t))
        return t->valuedouble >= 0 && t->valuedouble < 1e11 ? (int64_t)t->valuedouble * 1000 : -1;
    if (!cJSON_IsString(t) || !*(p = t->valuestring))
        return -1;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > 100000000000LL)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v * 1000;
}

static void wa_message(const gw_wa_iter *it, const cJSON *m, const char *pnid, gw_wa_event *ev)
{
    ev->pnid = pnid;
    ev->from = gw_json_str(m, "from");
    if (!ev->from && bsuid_ok(gw_json_str(m, "from_user_id"))) {
        ev->from = gw_json_str(m, "from_user_id");
        ev->bsuid = 1;
    }
    ev->id = gw_json_str(m, "id");
    ev->type = gw_json_str(m, "type");
    ev->ts_ms = message_ts_ms(m);
    if (!ev->from || !*ev->from || !ev->id || !*ev->id || !ev->type || ev->ts_ms < 0 ||
        !pnid_ok(pnid)) {
        ev->kind = GW_WA_INVALID;
    } else if (it->max_age_ms > 0 && ev->ts_ms < it->now_ms - it->max_age_ms) {
        ev->kind = GW_WA_STALE;
    } else if ((ev->group_id = group_of(m))) {
        ev->kind = GW_WA_GROUP;
    } else if (message_input(m, ev->type, ev) < 0) {
        ev->kind = GW_WA_UNHANDLED;
        first_error(m, ev); /* an unsupported message says why */
        ev->text = NULL;
    } else {
        ev->kind = GW_WA_MESSAGE;
        ev->len = gw_json_text_len(&ev->text);
    }
}

static void wa_status(const cJSON *st, const char *pnid, gw_wa_event *ev)
{
    ev->kind = GW_WA_STATUS;
    ev->pnid = pnid;
    ev->id = gw_json_str(st, "id");
    ev->status = gw_json_str(st, "status");
    first_error(st, ev);
}

/* One of value.errors[]: an error of the notification, not of a message. */
static void wa_error(const cJSON *e, const char *pnid, gw_wa_event *ev)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");

    ev->kind = GW_WA_ERROR;
    ev->pnid = pnid;
    ev->has_error = 1;
    ev->has_code = cJSON_IsNumber(code);
    ev->code = ev->has_code ? code->valueint : 0;
    ev->error_title = gw_json_str(e, "title");
}

/* The first element of the array obj[name], or NULL. */
static const cJSON *first_of(const cJSON *obj, const char *name)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsArray(a) ? a->child : NULL;
}

static const cJSON *change_value(const cJSON *change)
{
    return cJSON_GetObjectItemCaseSensitive(change, "value");
}

/* Moves on to the first change of the entry at it->entry or after it. */
static void first_change(gw_wa_iter *it)
{
    it->change = NULL;
    while (it->entry && !(it->change = first_of(it->entry, "changes")))
        it->entry = it->entry->next;
    it->phase = 0;
    it->item = it->change ? first_of(change_value(it->change), "messages") : NULL;
}

/* Moves on to the next list of items: the change's statuses, its errors, then
 * the next change's messages. */
static void next_list(gw_wa_iter *it)
{
    if (it->phase < 2) {
        it->phase++;
        it->item = first_of(change_value(it->change), it->phase == 1 ? "statuses" : "errors");
        return;
    }
    if (it->change->next) {
        it->change = it->change->next;
        it->phase = 0;
        it->item = first_of(change_value(it->change), "messages");
        return;
    }
    it->entry = it->entry->next;
    first_change(it);
}

int gw_wa_open(const char *body, size_t len, int64_t now_ms, int64_t max_age_ms, gw_wa_iter *it,
               char *why, size_t whylen)
{
    memset(it, 0, sizeof *it);
    if (!(it->root = gw_json_parse_marked(body, len, why, whylen)))
        return -1;
    it->now_ms = now_ms;
    it->max_age_ms = max_age_ms;
    it->entry = first_of(it->root, "entry");
    first_change(it);
    return 0;
}

int gw_wa_next(gw_wa_iter *it, gw_wa_event *ev)
{
    const cJSON *item;
    const char *pnid;

    while (!it->item) {
        if (!it->change)
            return 0;
        next_list(it);
    }
    item = it->item;
    it->item = item->next;
    pnid = gw_json_str(cJSON_GetObjectItemCaseSensitive(change_value(it->change), "metadata"),
                       "phone_number_id");
    memset(ev, 0, sizeof *ev);
    if (it->phase == 0)
        wa_message(it, item, pnid, ev);
    else if (it->phase == 1)
        wa_status(item, pnid, ev);
    else
        wa_error(item, pnid, ev);
    return 1;
}

void gw_wa_close(gw_wa_iter *it)
{
    if (!it)
        return;
    cJSON_Delete(it->root);
    memset(it, 0, sizeof *it);
}

int gw_wa_parse(const char *body, size_t len, gw_wa_fn fn, void *ctx, char *why, size_t whylen)
{
    gw_wa_iter it;
    gw_wa_event ev;

    if (gw_wa_open(body, len, 0, 0, &it, why, whylen) < 0)
        return -1;
    while (gw_wa_next(&it, &ev))
        fn(ctx, &ev);
    gw_wa_close(&it);
    return 0;
}
