/* The WhatsApp notification reader as it was before jscan.c: a cJSON tree of the
 * gw_json_mark copy, walked with cJSON's getters. test_gw_jscan.c compares the reader
 * of parse_wa.c with it, event by event and field by field; nothing else uses it. */
#ifndef LOKET_TEST_WA_REF_H
#define LOKET_TEST_WA_REF_H

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

typedef struct ref_iter {
    cJSON *root; /* owned: ref_close */
    const cJSON *entry, *change, *item;
    int phase; /* 0: the change's messages, 1: its statuses, 2: its errors */
    int64_t now_ms, max_age_ms;
} ref_iter;

/* pnid_ok, bsuid_ok, tap_id and the media types are parse_wa.c's own (parse.h): they read
 * no JSON. */

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
        gw_wa_tap_id(ev, gw_json_str(r, "id"));
        ev->tap_title = gw_json_str(r, "title");
        return 0;
    }
    if (!strcmp(type, "button")) { /* a quick reply of a template: its payload is text */
        x = cJSON_GetObjectItemCaseSensitive(m, "button");
        ev->text = gw_json_str(x, "payload") ? gw_json_str(x, "payload") : gw_json_str(x, "text");
        return ev->text ? 0 : -1;
    }
    for (k = 0; k < sizeof gw_wa_media_types / sizeof *gw_wa_media_types; k++) {
        if (strcmp(type, gw_wa_media_types[k]))
            continue;
        x = cJSON_GetObjectItemCaseSensitive(m, type);
        ev->media_type = gw_wa_media_types[k];
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

static void wa_message(const ref_iter *it, const cJSON *m, const char *pnid, gw_wa_event *ev)
{
    ev->pnid = pnid;
    ev->from = gw_json_str(m, "from");
    if (!ev->from && gw_wa_bsuid_ok(gw_json_str(m, "from_user_id"))) {
        ev->from = gw_json_str(m, "from_user_id");
        ev->bsuid = 1;
    }
    ev->id = gw_json_str(m, "id");
    ev->type = gw_json_str(m, "type");
    ev->ts_ms = message_ts_ms(m);
    if (!ev->from || !*ev->from || !ev->id || !*ev->id || !ev->type || ev->ts_ms < 0 ||
        !gw_wa_pnid_ok(pnid)) {
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
static void first_change(ref_iter *it)
{
    it->change = NULL;
    while (it->entry && !(it->change = first_of(it->entry, "changes")))
        it->entry = it->entry->next;
    it->phase = 0;
    it->item = it->change ? first_of(change_value(it->change), "messages") : NULL;
}

/* Moves on to the next list of items: the change's statuses, its errors, then
 * the next change's messages. */
static void next_list(ref_iter *it)
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

static int ref_open(const char *body, size_t len, int64_t now_ms, int64_t max_age_ms, ref_iter *it,
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

static int ref_next(ref_iter *it, gw_wa_event *ev)
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

static void ref_close(ref_iter *it)
{
    if (!it)
        return;
    cJSON_Delete(it->root);
    memset(it, 0, sizeof *it);
}

/* ---- comparing the two readers ------------------------------------------------------ */

/* 1 when a string of s (strings found as cJSON finds their ends) holds a \u escape
 * without four hex digits: cJSON reads it as U+0000, jscan.c refuses the body. */
static int ref_bad_u(const char *s, size_t n)
{
    size_t i, k;
    int in = 0;

    for (i = 0; i < n; i++) {
        if (!in) {
            in = s[i] == '"';
        } else if (s[i] == '"') {
            in = 0;
        } else if (s[i] == '\\') {
            if (i + 1 < n && s[i + 1] == 'u') {
                for (k = 2; k < 6; k++)
                    if (i + k >= n || !isxdigit((unsigned char)s[i + k]))
                        return 1;
            }
            i++;
        }
    }
    return 0;
}

static int same_str(const char *what, const char *a, const char *b)
{
    if (!a && !b)
        return 1;
    if (a && b && !strcmp(a, b))
        return 1;
    fprintf(stderr, "  %s: \"%s\" (reference) vs \"%s\"\n", what, a ? a : "(null)",
            b ? b : "(null)");
    return 0;
}

static int same_int(const char *what, long long a, long long b)
{
    if (a == b)
        return 1;
    fprintf(stderr, "  %s: %lld (reference) vs %lld\n", what, a, b);
    return 0;
}

/* Every field of two events. */
static int same_event(const gw_wa_event *a, const gw_wa_event *b)
{
    int ok = same_int("kind", a->kind, b->kind) & same_str("pnid", a->pnid, b->pnid) &
             same_str("from", a->from, b->from) & same_str("id", a->id, b->id) &
             same_str("type", a->type, b->type) & same_int("bsuid", a->bsuid, b->bsuid) &
             same_int("len", (long long)a->len, (long long)b->len) &
             same_int("ts_ms", a->ts_ms, b->ts_ms) & same_str("status", a->status, b->status) &
             same_int("has_error", a->has_error, b->has_error) &
             same_int("has_code", a->has_code, b->has_code) & same_int("code", a->code, b->code) &
             same_str("error_title", a->error_title, b->error_title) &
             same_int("tap", a->tap, b->tap) & same_str("tap_title", a->tap_title, b->tap_title) &
             same_int("has_question", a->has_question, b->has_question) &
             same_str("media_type", a->media_type, b->media_type) &
             same_str("media_id", a->media_id, b->media_id) &
             same_str("media_mime", a->media_mime, b->media_mime) &
             same_str("group_id", a->group_id, b->group_id);

    if (!a->text != !b->text ||
        (a->text && (a->len != b->len || memcmp(a->text, b->text, a->len)))) {
        fprintf(stderr, "  text: \"%s\" (reference) vs \"%s\"\n", a->text ? a->text : "(null)",
                b->text ? b->text : "(null)");
        ok = 0;
    }
    if (a->has_question && b->has_question)
        ok &= same_str("question", a->question, b->question);
    return ok;
}

enum { WA_SAME, WA_DIFFERENT, WA_BAD_U };

/* Reads s[0..n) with both readers (now_ms and max_age_ms as gw_wa_open takes them) and
 * compares whether they accept it, their reasons, and every event. A body whose \u
 * escape has no four hex digits must be refused by the new reader (WA_BAD_U); any other
 * difference is WA_DIFFERENT, described on stderr. */
static int wa_same(const char *s, size_t n, int64_t now_ms, int64_t max_age_ms)
{
    ref_iter ri;
    gw_wa_iter it;
    gw_wa_event a, b;
    char wa[128] = "", wb[128] = "";
    int ra, rb, more_a, more_b, i, verdict = WA_SAME;

    rb = gw_wa_open(s, n, now_ms, max_age_ms, &it, wb, sizeof wb);
    if (ref_bad_u(s, n)) {
        if (rb == 0) {
            fprintf(stderr, "  a bad \\u escape accepted\n");
            gw_wa_close(&it);
            return WA_DIFFERENT;
        }
        return WA_BAD_U;
    }
    ra = ref_open(s, n, now_ms, max_age_ms, &ri, wa, sizeof wa);
    if (ra != rb || (ra < 0 && strcmp(wa, wb))) {
        fprintf(stderr, "  open: %d \"%s\" (reference) vs %d \"%s\"\n", ra, ra < 0 ? wa : "", rb,
                rb < 0 ? wb : "");
        verdict = WA_DIFFERENT;
    }
    for (i = 0; ra == 0 && rb == 0; i++) {
        more_a = ref_next(&ri, &a);
        more_b = gw_wa_next(&it, &b);
        if (more_a != more_b) {
            fprintf(stderr, "  event %d: %s (reference) vs %s\n", i, more_a ? "one" : "the end",
                    more_b ? "one" : "the end");
            verdict = WA_DIFFERENT;
            break;
        }
        if (!more_a)
            break;
        if (!same_event(&a, &b)) {
            fprintf(stderr, "  event %d differs\n", i);
            verdict = WA_DIFFERENT;
        }
    }
    if (ra == 0)
        ref_close(&ri);
    if (rb == 0)
        gw_wa_close(&it);
    return verdict;
}

#endif
