/* Taps and media: input a channel delivers as more than text.
 *
 * A tap on a list row or button comes back with the question its list answered
 * (lk_reply.question, which the channel put in the row's id), the choice id and the
 * title shown. The list may be an old one: the province list still on the screen
 * while the kabupaten list is asked, or the kabupaten of the province chosen before a
 * correction. So a tap is taken by its id only when it names the question being asked
 * and its title is that choice's title; else by its title alone when that exactly fits
 * one choice of the question being asked; else it is stale (the flow's clarify.stale
 * and the question again). Never by the number alone.
 *
 * Media goes to a state whose input is of type media (its id, type, MIME type and
 * caption in <var>, <var>_type, <var>_mime and <var>_caption). Pure, like the step. */
#include "engine_int.h"

#include <stdio.h>
#include <string.h>

#define TITLE_NORM 512

/* "…", which a channel puts at the end of a title it had to cut */
#define ELLIPSIS "\xe2\x80\xa6"

/* 1 when the title a channel sent back is the choice's title: the same once normalised,
 * or the first 8 or more characters of it followed by an ellipsis. */
static int title_fits(const char *title, const char *tapped)
{
    char a[TITLE_NORM], b[TITLE_NORM];
    size_t tn = strlen(tapped), an, bn, el = sizeof ELLIPSIS - 1;

    an = lk_text_norm(title, strlen(title), a, sizeof a);
    bn = lk_text_norm(tapped, tn, b, sizeof b);
    if (an && an == bn && !memcmp(a, b, an))
        return 1;
    if (tn <= el || memcmp(tapped + tn - el, ELLIPSIS, el))
        return 0;
    tn -= el;
    while (tn > 0 && tapped[tn - 1] == ' ')
        tn--;
    return lk_utf8_len(tapped, tn) >= 8 && strlen(title) > tn && !memcmp(title, tapped, tn);
}

typedef struct qchoices {
    const lk_flow *f;
    const lk_session *s;
    const lk_state *st;
    int which; /* a "which one?" list of candidates */
    int first, count;
} qchoices;

/* The choices of the question being asked in s; count 0 when it offers none. */
static void question_choices(const lk_flow *f, const lk_session *s, qchoices *q)
{
    q->f = f;
    q->s = s;
    q->st = &f->states[s->state];
    q->which = 0;
    q->first = q->count = 0;
    if (q->st->kind == LK_S_MENU) {
        q->count = q->st->noptions;
    } else if (q->st->kind == LK_S_CHOICE && s->pending == LK_PEND_DISAMBIG) {
        q->which = 1;
        q->count = s->ncand;
    } else if (q->st->kind == LK_S_CHOICE) {
        lk_choice_rows(f, s, &q->st->choice, &q->first, &q->count);
    }
}

/* Choice i of the question: its id into id, its titles (the second may be NULL). */
static void nth_choice(const qchoices *q, int i, char *id, size_t cap, const char **t1,
                       const char **t2)
{
    const lk_dataset *d;

    *t2 = NULL;
    if (q->st->kind == LK_S_MENU) {
        const lk_option *o = &q->st->options[i];
        if (o->key)
            snprintf(id, cap, "%s", o->key);
        else
            snprintf(id, cap, "%d", i + 1);
        *t1 = o->title;
        *t2 = o->short_title;
        return;
    }
    d = &q->f->datasets[q->st->choice.dataset];
    snprintf(id, cap, "%d", i + 1);
    *t1 = d->rows[q->which ? q->s->cand[i] : q->first + i].name;
}

static int fits(const char *t1, const char *t2, const char *tapped)
{
    return title_fits(t1, tapped) || (t2 && title_fits(t2, tapped));
}

/* 1 when id is the question's id as lk_put_question writes it. */
static int question_is(const char *state, int which, const char *id)
{
    size_t n = strlen(state);
    return !strncmp(id, state, n) && !strcmp(id + n, which ? "#which" : "");
}

lk_tapres lk_tap_resolve(const lk_flow *flow, const lk_session *s, const lk_input *in, char *id,
                         size_t cap)
{
    const char *t1, *t2;
    char cid[64];
    qchoices q;
    int i, found = -1, same;

    question_choices(flow, s, &q);
    if (q.count <= 0)
        return q.st->nsay > 0 || q.st->kind == LK_S_MENU || q.st->kind == LK_S_CHOICE ? LK_TAP_STALE
                                                                                      : LK_TAP_TEXT;
    same = in->tap_question && question_is(q.st->name, q.which, in->tap_question);
    for (i = 0; same && i < q.count; i++) {
        nth_choice(&q, i, cid, sizeof cid, &t1, &t2);
        if (strlen(cid) != in->len || memcmp(cid, in->text, in->len))
            continue;
        if (!in->tap_title || fits(t1, t2, in->tap_title)) {
            snprintf(id, cap, "%s", cid);
            return LK_TAP_TAKE;
        }
        break;
    }
    for (i = 0; in->tap_title && i < q.count; i++) {
        nth_choice(&q, i, cid, sizeof cid, &t1, &t2);
        if (!fits(t1, t2, in->tap_title))
            continue;
        if (found >= 0)
            return LK_TAP_STALE; /* two choices fit the title: ask */
        found = i;
        snprintf(id, cap, "%s", cid);
    }
    return found >= 0 ? LK_TAP_TAKE : LK_TAP_STALE;
}

int lk_media_accepts(const lk_state *st, const char *type)
{
    int k;

    if (st->kind != LK_S_INPUT || st->input.kind != LK_V_MEDIA || !type)
        return 0;
    if (st->input.naccept == 0)
        return 1;
    for (k = 0; k < st->input.naccept; k++)
        if (!strcmp(st->input.accept[k], type))
            return 1;
    return 0;
}

static int set_opt(lk_session *s, int slot, const char *v, size_t n)
{
    if (slot < 0)
        return 0;
    if (!v) {
        lk_var_clear(s, slot);
        return 0;
    }
    return lk_var_set_str(s, slot, v, n);
}

int lk_media_store(lk_session *s, const lk_state *st, const lk_input *in)
{
    const int *m = st->input.media_slots;
    const char *id = in->media_id ? in->media_id : "";

    if (set_opt(s, st->var, id, strlen(id)) < 0 ||
        set_opt(s, m[0], in->media_type, in->media_type ? strlen(in->media_type) : 0) < 0 ||
        set_opt(s, m[1], in->media_mime, in->media_mime ? strlen(in->media_mime) : 0) < 0 ||
        set_opt(s, m[2], in->len ? in->text : NULL, in->len) < 0)
        return -1;
    return 0;
}

int lk_tap_aside(const lk_flow *flow, const lk_session *s, const lk_input *in, int resume,
                 char *tapid, size_t cap, const char **text, size_t *len, int *tapped)
{
    const lk_state *st = &flow->states[s->state];
    lk_tapres res;

    *tapped = 0;
    if (resume)
        return 0;
    if (in->tap) {
        res = s->pending == LK_PEND_RESUME ? LK_TAP_STALE : lk_tap_resolve(flow, s, in, tapid, cap);
        if (res == LK_TAP_TAKE) {
            *text = tapid;
            *len = strlen(tapid);
            *tapped = 1;
        }
        return res == LK_TAP_STALE;
    }
    if (!in->media_type || lk_media_accepts(st, in->media_type))
        return 0;
    /* a caption is text; a media input that wants another type says so */
    return *len == 0 && !(st->kind == LK_S_INPUT && st->input.kind == LK_V_MEDIA);
}
