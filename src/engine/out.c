/* The output of a step: replies, their choices, the edges taken and the
 * states entered. Everything lives in buffers that lk_out_reset empties but
 * keeps, so a warm lk_out does not allocate.
 *
 * Reply texts are appended to one buffer, each followed by a NUL; replies and
 * choices are recorded as offsets while the step runs (the buffers may move)
 * and turned into pointers once, by lk_out_finish. */
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct reply_rec {
    size_t off, len;
    int c0, nc;       /* choices [c0, c0 + nc) */
    size_t q1;        /* the question its choices answer: in ids at q1 - 1; 0: none */
    const char *more; /* borrowed from the flow */
} reply_rec;

typedef struct choice_rec {
    size_t id_off; /* in ids */
    const char *title;
} choice_rec;

struct lk_out {
    lk_buf text; /* reply texts, each NUL-terminated */
    lk_buf ids;  /* choice ids, each NUL-terminated */
    lk_buf joined;
    reply_rec *reps;
    int nreps, capreps;
    choice_rec *chs;
    int nchs, capchs;
    lk_choice_out *cho; /* resolved by lk_out_finish */
    int capcho;
    const char *list_button; /* the flow's, borrowed: given to every reply with choices */
    int *edges;
    int nedges, capedges;
    int *states;
    int nstates, capstates;
    int open; /* a reply is being written: reps[nreps - 1] */
    int oom;
    int missed;       /* the state that did not understand the message, plus 1; 0: none */
    int sensitive_in; /* a sensitive input read the message (sensitive.c) */
    lk_buf secrets;   /* sensitive values the step saw, each NUL-terminated */
};

/* Grows *arr (of elem bytes each) to hold need elements. */
static int grow(void *arr, int *cap, int need, size_t elem)
{
    void *p;
    int ncap;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap *= 2;
    p = realloc(*(void **)arr, (size_t)ncap * elem);
    if (!p)
        return -1;
    *(void **)arr = p;
    *cap = ncap;
    return 0;
}

lk_out *lk_out_new(void)
{
    return calloc(1, sizeof(lk_out));
}

void lk_out_free(lk_out *o)
{
    if (!o)
        return;
    lk_buf_free(&o->text);
    lk_buf_free(&o->ids);
    lk_buf_free(&o->joined);
    lk_buf_free(&o->secrets);
    free(o->reps);
    free(o->chs);
    free(o->cho);
    free(o->edges);
    free(o->states);
    free(o);
}

void lk_out_reset(lk_out *o)
{
    lk_buf_reset(&o->text);
    lk_buf_reset(&o->ids);
    lk_buf_reset(&o->joined);
    o->nreps = o->nchs = o->nedges = o->nstates = 0;
    o->open = 0;
    o->oom = 0;
    o->missed = 0;
    o->sensitive_in = 0;
    lk_buf_reset(&o->secrets);
}

void lk_out_secret(lk_out *o, int input, const char *v, size_t n)
{
    size_t i;

    o->sensitive_in |= input;
    if (!v || !n)
        return;
    for (i = 0; i < o->secrets.len; i += strlen(o->secrets.p + i) + 1)
        if (strlen(o->secrets.p + i) == n && !memcmp(o->secrets.p + i, v, n))
            return;
    lk_buf_put(&o->secrets, v, n);
    lk_buf_putc(&o->secrets, '\0');
    o->oom |= o->secrets.oom;
}

int lk_out_sensitive_input(const lk_out *o)
{
    return o->sensitive_in;
}

const char *lk_out_sensitive_values(const lk_out *o, size_t *n)
{
    *n = o->secrets.len;
    return o->secrets.len ? o->secrets.p : "";
}

void lk_out_miss(lk_out *o, int state)
{
    o->missed = state + 1;
}

int lk_out_missed(const lk_out *o)
{
    return o->missed - 1;
}

int lk_out_count(const lk_out *o)
{
    return o->nreps;
}

void lk_out_get(const lk_out *o, int i, lk_reply *r)
{
    const reply_rec *rr;

    memset(r, 0, sizeof *r);
    if (i < 0 || i >= o->nreps) {
        r->text = "";
        return;
    }
    rr = &o->reps[i];
    r->text = o->text.p + rr->off;
    r->len = rr->len;
    if (rr->nc > 0 && o->cho) {
        r->choices = o->cho + rr->c0;
        r->nchoices = rr->nc;
        r->question = rr->q1 ? o->ids.p + rr->q1 - 1 : NULL;
        r->list_button = o->list_button;
    }
    r->more = rr->more;
}

const char *lk_out_joined(const lk_out *o)
{
    return lk_buf_str(&o->joined);
}

int lk_out_edges(const lk_out *o, const int **edges)
{
    *edges = o->edges;
    return o->nedges;
}

int lk_out_states(const lk_out *o, const int **states)
{
    *states = o->states;
    return o->nstates;
}

/* ---- building, for step.c ---- */

lk_buf *lk_out_buf(lk_out *o)
{
    return &o->text;
}

void lk_out_begin(lk_out *o)
{
    reply_rec *r;

    if (o->open)
        lk_out_end(o);
    if (grow(&o->reps, &o->capreps, o->nreps + 1, sizeof *o->reps) < 0) {
        o->oom = 1;
        return;
    }
    r = &o->reps[o->nreps++];
    r->off = o->text.len;
    r->len = 0;
    r->c0 = o->nchs;
    r->nc = 0;
    r->q1 = 0;
    r->more = NULL;
    o->open = 1;
}

int lk_out_end(lk_out *o)
{
    reply_rec *r;

    if (!o->open)
        return -1;
    o->open = 0;
    r = &o->reps[o->nreps - 1];
    r->len = o->text.len - r->off;
    if (r->len == 0 && r->nc == 0) { /* nothing to send */
        o->nreps--;
        return -1;
    }
    lk_buf_putc(&o->text, '\0');
    return o->nreps - 1;
}

int lk_out_reopen(lk_out *o, int i)
{
    if (o->open || i < 0 || i != o->nreps - 1)
        return -1;
    if (o->text.len > 0 && !o->text.oom)
        o->text.len--; /* the NUL lk_out_end put */
    o->open = 1;
    return 0;
}

void lk_out_choice(lk_out *o, const char *key, int id, const char *title)
{
    choice_rec *c;

    if (!o->open || grow(&o->chs, &o->capchs, o->nchs + 1, sizeof *o->chs) < 0) {
        o->oom |= o->open;
        return;
    }
    c = &o->chs[o->nchs++];
    c->id_off = o->ids.len;
    c->title = title;
    if (key)
        lk_buf_puts(&o->ids, key);
    else
        lk_buf_put_int(&o->ids, id);
    lk_buf_putc(&o->ids, '\0');
    o->reps[o->nreps - 1].nc++;
}

void lk_out_question(lk_out *o, const char *state, int which, const char *list_button)
{
    if (!o->open)
        return;
    o->list_button = list_button;
    o->reps[o->nreps - 1].q1 = o->ids.len + 1;
    lk_put_question(&o->ids, state, which);
    lk_buf_putc(&o->ids, '\0');
}

void lk_put_question(lk_buf *b, const char *state, int which)
{
    lk_buf_puts(b, state);
    if (which)
        lk_buf_puts(b, "#which");
}

void lk_out_more(lk_out *o, const char *word)
{
    if (o->open)
        o->reps[o->nreps - 1].more = word;
}

void lk_out_edge(lk_out *o, int edge)
{
    if (edge < 0)
        return;
    if (grow(&o->edges, &o->capedges, o->nedges + 1, sizeof *o->edges) < 0) {
        o->oom = 1;
        return;
    }
    o->edges[o->nedges++] = edge;
}

void lk_out_state(lk_out *o, int state)
{
    if (grow(&o->states, &o->capstates, o->nstates + 1, sizeof *o->states) < 0) {
        o->oom = 1;
        return;
    }
    o->states[o->nstates++] = state;
}

int lk_out_finish(lk_out *o)
{
    int i;

    if (o->open)
        lk_out_end(o);
    if (o->oom || o->text.oom || o->ids.oom)
        return -1;
    if (grow(&o->cho, &o->capcho, o->nchs, sizeof *o->cho) < 0)
        return -1;
    for (i = 0; i < o->nchs; i++) {
        o->cho[i].id = o->ids.p + o->chs[i].id_off;
        o->cho[i].title = o->chs[i].title;
    }
    lk_buf_reset(&o->joined);
    for (i = 0; i < o->nreps; i++) {
        if (i)
            lk_buf_putc(&o->joined, '\n');
        lk_buf_put(&o->joined, o->text.p + o->reps[i].off, o->reps[i].len);
    }
    return o->joined.oom ? -1 : 0;
}
