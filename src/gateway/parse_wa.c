/* WhatsApp Cloud API notifications (parse.h, "whatsapp"): the walk over
 * entry[].changes[].value and the reading of one message or status. Pure, as
 * the rest of the gateway's parsers. The body is read in place (jscan.h): no
 * tree, and the strings an event gives are decoded into the iterator's arena,
 * one allocation for the whole body. */
#include "parse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- whatsapp ------------------------------------------------------------------------- */

/* A phone number id goes into the Graph API URL: digits only. */
int gw_wa_pnid_ok(const char *s)
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
int gw_wa_bsuid_ok(const char *s)
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
void gw_wa_tap_id(gw_wa_event *ev, const char *id)
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

const char *const gw_wa_media_types[GW_WA_MEDIA_TYPES] = {"image", "audio", "video", "document",
                                                          "sticker"};

/* The members of a message the reading looks at, found in one pass: the last five are
 * gw_wa_media_types, in that order. */
enum {
    M_FROM,
    M_FROM_USER,
    M_ID,
    M_TYPE,
    M_TS,
    M_GROUP,
    M_CONTEXT,
    M_ERRORS,
    M_TEXT,
    M_INTERACTIVE,
    M_BUTTON,
    M_MEDIA,
    M_N = M_MEDIA + 5
};
static const char *const msg_keys[M_N] = {
    "from", "from_user_id", "id",     "type",  "timestamp", "group_id", "context",  "errors",
    "text", "interactive",  "button", "image", "audio",     "video",    "document", "sticker"};

/* The string v decoded into the iterator's arena (each string of the body is decoded
 * at most once, so the arena never runs out), or NULL when v is not a string. */
static const char *str(gw_wa_iter *it, gw_jv v)
{
    return gw_js_str(v, &it->arena);
}

/* What a message gives the engine. 0: ev has its text (a tap, a caption, media);
 * -1: a type not answered (a reaction, unsupported, unknown). */
static int message_input(gw_wa_iter *it, const gw_jv *m, const char *type, gw_wa_event *ev)
{
    static const char *const reply_keys[] = {"button_reply", "list_reply"},
                             *const tap_keys[] = {"id", "title"},
                             *const button_keys[] = {"payload", "text"},
                             *const media_keys[] = {"voice", "id", "mime_type", "caption"};
    gw_jv r[4];
    const char *id;
    size_t k;

    if (!strcmp(type, "text")) {
        ev->text = str(it, gw_js_get(&it->doc, m[M_TEXT], "body"));
        return ev->text ? 0 : -1;
    }
    if (!strcmp(type, "interactive")) {
        gw_js_get_keys(&it->doc, m[M_INTERACTIVE], reply_keys, 2, r);
        gw_js_get_keys(&it->doc, r[0] ? r[0] : r[1], tap_keys, 2, r);
        if (!(id = str(it, r[0])))
            return -1; /* a flow's reply (nfm_reply) and the like */
        gw_wa_tap_id(ev, id);
        ev->tap_title = str(it, r[1]);
        return 0;
    }
    if (!strcmp(type, "button")) { /* a quick reply of a template: its payload is text */
        gw_js_get_keys(&it->doc, m[M_BUTTON], button_keys, 2, r);
        if (!(ev->text = str(it, r[0])))
            ev->text = str(it, r[1]);
        return ev->text ? 0 : -1;
    }
    for (k = 0; k < sizeof gw_wa_media_types / sizeof *gw_wa_media_types; k++) {
        if (strcmp(type, gw_wa_media_types[k]))
            continue;
        gw_js_get_keys(&it->doc, m[M_MEDIA + k], media_keys, 4, r);
        ev->media_type = gw_wa_media_types[k];
        if (k == 1 && gw_js_type(r[0]) == GW_JS_TRUE)
            ev->media_type = "voice";
        ev->media_id = str(it, r[1]);
        ev->media_mime = str(it, r[2]);
        ev->text = str(it, r[3]); /* images, videos and documents have a caption */
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

/* A code and a title: of errors[0], or of an item of value.errors. */
static void error_fields(gw_wa_iter *it, gw_jv e, gw_wa_event *ev)
{
    static const char *const keys[] = {"code", "title"};
    gw_jv v[2];

    gw_js_get_keys(&it->doc, e, keys, 2, v);
    ev->has_code = gw_js_type(v[0]) == GW_JS_NUMBER;
    ev->code = ev->has_code ? gw_js_int(v[0]) : 0;
    ev->error_title = str(it, v[1]);
}

/* errors[0] of an item (errs: its member "errors"): its code and title. */
static void first_error(gw_wa_iter *it, gw_jv errs, gw_wa_event *ev)
{
    gw_jv e0 = gw_js_first(errs);

    ev->has_error = e0 != NULL;
    error_fields(it, e0, ev);
}

/* The group a message was written in, if any. */
static const char *group_of(gw_wa_iter *it, const gw_jv *m)
{
    const char *g = str(it, m[M_GROUP]);
    return g ? g : str(it, gw_js_get(&it->doc, m[M_CONTEXT], "group_id"));
}

/* A message's timestamp: Unix seconds as a string of digits (or a number).
 * -1 when absent or not a time. */
static int64_t message_ts_ms(gw_wa_iter *it, gw_jv t)
{
    int64_t v = 0;
    const char *p;
    double d;

    if (gw_js_type(t) == GW_JS_NUMBER) {
        d = gw_js_double(t);
        return d >= 0 && d < 1e11 ? (int64_t)d * 1000 : -1;
    }
    if (!(p = str(it, t)) || !*p)
        return -1;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > 100000000000LL)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v * 1000;
}

static void wa_message(gw_wa_iter *it, gw_jv item, gw_wa_event *ev)
{
    gw_jv m[M_N];
    const char *user;

    gw_js_get_keys(&it->doc, item, msg_keys, M_N, m);
    ev->pnid = it->pnid;
    ev->from = str(it, m[M_FROM]);
    if (!ev->from && gw_wa_bsuid_ok(user = str(it, m[M_FROM_USER]))) {
        ev->from = user;
        ev->bsuid = 1;
    }
    ev->id = str(it, m[M_ID]);
    ev->type = str(it, m[M_TYPE]);
    ev->ts_ms = message_ts_ms(it, m[M_TS]);
    if (!ev->from || !*ev->from || !ev->id || !*ev->id || !ev->type || ev->ts_ms < 0 ||
        !gw_wa_pnid_ok(it->pnid)) {
        ev->kind = GW_WA_INVALID;
    } else if (it->max_age_ms > 0 && ev->ts_ms < it->now_ms - it->max_age_ms) {
        ev->kind = GW_WA_STALE;
    } else if ((ev->group_id = group_of(it, m))) {
        ev->kind = GW_WA_GROUP;
    } else if (message_input(it, m, ev->type, ev) < 0) {
        ev->kind = GW_WA_UNHANDLED;
        first_error(it, m[M_ERRORS], ev); /* an unsupported message says why */
        ev->text = NULL;
    } else {
        ev->kind = GW_WA_MESSAGE;
        ev->len = gw_json_text_len(&ev->text);
    }
}

static void wa_status(gw_wa_iter *it, gw_jv st, gw_wa_event *ev)
{
    static const char *const keys[] = {"id", "status", "errors"};
    gw_jv v[3];

    gw_js_get_keys(&it->doc, st, keys, 3, v);
    ev->kind = GW_WA_STATUS;
    ev->pnid = it->pnid;
    ev->id = str(it, v[0]);
    ev->status = str(it, v[1]);
    first_error(it, v[2], ev);
}

/* One of value.errors[]: an error of the notification, not of a message. */
static void wa_error(gw_wa_iter *it, gw_jv e, gw_wa_event *ev)
{
    ev->kind = GW_WA_ERROR;
    ev->pnid = it->pnid;
    ev->has_error = 1;
    error_fields(it, e, ev);
}

/* The change at it->change: where its lists are, and its phone_number_id. */
static void change_begin(gw_wa_iter *it)
{
    static const char *const keys[] = {"messages", "statuses", "errors", "metadata"};
    gw_jv v[4];

    gw_js_get_keys(&it->doc, gw_js_get(&it->doc, it->change, "value"), keys, 4, v);
    memcpy(it->lists, v, sizeof it->lists);
    it->pnid = str(it, gw_js_get(&it->doc, v[3], "phone_number_id"));
    it->phase = 0;
    it->item = gw_js_first(it->lists[0]);
}

/* Moves on to the first change of the entry at it->entry or after it. */
static void first_change(gw_wa_iter *it)
{
    it->change = NULL;
    while (it->entry && !(it->change = gw_js_first(gw_js_get(&it->doc, it->entry, "changes"))))
        it->entry = gw_js_next(&it->doc, it->entry);
    it->phase = 0;
    it->item = NULL;
    if (it->change)
        change_begin(it);
}

/* Moves on to the next list of items: the change's statuses, its errors, then
 * the next change's messages. */
static void next_list(gw_wa_iter *it)
{
    gw_jv next;

    if (it->phase < 2) {
        it->phase++;
        it->item = gw_js_first(it->lists[it->phase]);
        return;
    }
    if ((next = gw_js_next(&it->doc, it->change))) {
        it->change = next;
        change_begin(it);
        return;
    }
    it->entry = gw_js_next(&it->doc, it->entry);
    first_change(it);
}

int gw_wa_open(const char *body, size_t len, int64_t now_ms, int64_t max_age_ms, gw_wa_iter *it,
               char *why, size_t whylen)
{
    memset(it, 0, sizeof *it);
    if (gw_js_open(&it->doc, body, len, why, whylen) < 0)
        return -1;
    /* every string of the body fits, decoded, in as many bytes as the body */
    if (!(it->arena.p = malloc(len + 1))) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    it->arena.cap = len + 1;
    it->now_ms = now_ms;
    it->max_age_ms = max_age_ms;
    it->entry = gw_js_first(gw_js_get(&it->doc, it->doc.root, "entry"));
    first_change(it);
    return 0;
}

int gw_wa_next(gw_wa_iter *it, gw_wa_event *ev)
{
    gw_jv item;

    while (!it->item) {
        if (!it->change)
            return 0;
        next_list(it);
    }
    item = it->item;
    it->item = gw_js_next(&it->doc, item);
    memset(ev, 0, sizeof *ev);
    if (it->phase == 0)
        wa_message(it, item, ev);
    else if (it->phase == 1)
        wa_status(it, item, ev);
    else
        wa_error(it, item, ev);
    return 1;
}

void gw_wa_close(gw_wa_iter *it)
{
    if (!it)
        return;
    free(it->arena.p);
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
