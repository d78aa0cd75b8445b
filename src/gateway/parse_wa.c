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
    ev->id = gw_json_str(m, "id");
    ev->type = gw_json_str(m, "type");
    ev->ts_ms = message_ts_ms(m);
    if (!ev->from || !*ev->from || !ev->id || !*ev->id || !ev->type || ev->ts_ms < 0 ||
        !pnid_ok(pnid)) {
        ev->kind = GW_WA_INVALID;
    } else if (it->max_age_ms > 0 && ev->ts_ms < it->now_ms - it->max_age_ms) {
        ev->kind = GW_WA_STALE;
    } else if (!(ev->text = message_text(m, ev->type))) {
        ev->kind = GW_WA_UNHANDLED;
    } else {
        ev->kind = GW_WA_MESSAGE;
        ev->len = gw_json_text_len(&ev->text);
    }
}

static void wa_status(const cJSON *st, const char *pnid, gw_wa_event *ev)
{
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(st, "errors");
    const cJSON *e0 = cJSON_GetArrayItem(errs, 0);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e0, "code");

    ev->kind = GW_WA_STATUS;
    ev->pnid = pnid;
    ev->id = gw_json_str(st, "id");
    ev->status = gw_json_str(st, "status");
    ev->has_error = e0 != NULL;
    ev->has_code = cJSON_IsNumber(code);
    ev->code = ev->has_code ? code->valueint : 0;
    ev->error_title = gw_json_str(e0, "title");
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

/* Moves on to the next list of items: the change's statuses, then the next
 * change's messages. */
static void next_list(gw_wa_iter *it)
{
    if (it->phase == 0) {
        it->phase = 1;
        it->item = first_of(change_value(it->change), "statuses");
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
    else
        wa_status(item, pnid, ev);
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
