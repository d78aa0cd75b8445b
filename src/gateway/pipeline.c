/* The message path from the channels to the store and back (pipeline.h).
 *
 * The life of one message, in the order things happen:
 *   1. loop thread, gw_job_add: the channel's parsed lk_inbound is copied
 *      into a gw_msg of its job; the sender's rate and lk_inbound_check are
 *      applied (a refused message keeps its result and goes on like the
 *      others, so that results come back in order);
 *   2. it is processed: lk_runtime_handle, in its own transaction, here on
 *      the loop thread;
 *   3. it is put on the done list and the loop is woken (lws_cancel_service);
 *   4. loop thread, gw_pipeline_poll after the service turn: the message is
 *      counted and logged; when it was the last one of an ended job, the
 *      job's done function answers (websocket frames, the HTTP answer) and
 *      the job is freed.
 * A job that ends with nothing pending goes to the ready list and is done
 * in the next poll, so done never runs inside gw_job_add or gw_job_end. */
#include "gw.h"

#include <stdlib.h>
#include <string.h>

typedef struct gw_msg {
    struct gw_msg *next; /* on the done list */
    gw_job *job;
    lk_inbound in; /* its strings point into data */
    lk_out *out;   /* NULL unless it reached the store */
    gw_result res;
    const char *why;   /* GW_R_INVALID */
    const char *state; /* after the step, for the log (borrowed from the flow) */
    int64_t step_us;
    char data[];
} gw_msg;

struct gw_job {
    gw_job_fn done;
    void *ctx;
    gw_msg **msgs;
    int n, cap;
    int pending;  /* added and not through yet */
    size_t bytes; /* the messages' memory, for gw_mem_after_body */
    int ended, cancelled;
    gw_job *next_ready;
};

static struct {
    gw_server *srv;
    gw_msg *done_head, *done_tail;
    gw_job *ready_head, *ready_tail;
} P;

/* A short stable hash of a user id for logs: phone numbers stay out of them. */
static unsigned long user_tag(const char *u)
{
    unsigned long h = 5381;
    for (; *u; u++)
        h = h * 33 + (unsigned char)*u;
    return h & 0xffffffffUL;
}

/* ---- jobs ---------------------------------------------------------------------------- */

gw_job *gw_job_new(gw_job_fn done, void *ctx)
{
    gw_job *j = calloc(1, sizeof *j);
    if (j) {
        j->done = done;
        j->ctx = ctx;
    }
    return j;
}

static size_t slen(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Copies s (n bytes and a NUL) to *p and advances it; NULL stays NULL. */
static const char *put(char **p, const char *s, size_t n)
{
    char *d = *p;
    if (!s)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    *p += n + 1;
    return d;
}

static gw_msg *msg_new(const lk_inbound *in)
{
    size_t text = in->text ? in->len + 1 : 0;
    size_t size = sizeof(gw_msg) + slen(in->channel) + slen(in->user) + slen(in->ext_id) + text +
                  slen(in->outbox_channel);
    gw_msg *m = malloc(size);
    char *p;

    if (!m)
        return NULL;
    memset(m, 0, sizeof *m);
    m->in = *in;
    p = m->data;
    m->in.channel = put(&p, in->channel, slen(in->channel) - !!in->channel);
    m->in.user = put(&p, in->user, slen(in->user) - !!in->user);
    m->in.ext_id = put(&p, in->ext_id, slen(in->ext_id) - !!in->ext_id);
    m->in.text = put(&p, in->text, in->len);
    m->in.outbox_channel =
        put(&p, in->outbox_channel, slen(in->outbox_channel) - !!in->outbox_channel);
    return m;
}

static void msg_free(gw_msg *m)
{
    lk_out_free(m->out);
    free(m);
}

static void wake_loop(void)
{
    if (P.srv && P.srv->ctx)
        lws_cancel_service(P.srv->ctx);
}

static void ready_push(gw_job *j)
{
    j->next_ready = NULL;
    if (P.ready_tail)
        P.ready_tail->next_ready = j;
    else
        P.ready_head = j;
    P.ready_tail = j;
    wake_loop();
}

static void done_push(gw_msg *m)
{
    m->next = NULL;
    if (P.done_tail)
        P.done_tail->next = m;
    else
        P.done_head = m;
    P.done_tail = m;
    wake_loop();
}

/* Runs the message in its own transaction (step 2). */
static void msg_process(gw_msg *m)
{
    int64_t t0 = gw_mono_us();
    int dup = 0;
    lk_err err = lk_runtime_handle(P.srv->rt, &m->in, m->out, &dup, &m->state);

    m->step_us = gw_mono_us() - t0;
    if (err == LK_OK)
        m->res = dup ? GW_R_DUP : GW_R_OK;
    else if (err == LK_EINVAL)
        m->res = GW_R_INVALID, lk_inbound_check(&m->in, &m->why);
    else {
        m->res = GW_R_INTERNAL;
        gw_log(GW_LOG_ERROR, "message failed, rolled back",
               "channel=%s user=%08lx err=\"%s\" store=\"%s\"", m->in.channel, user_tag(m->in.user),
               lk_strerror(err), lk_store_errmsg(P.srv->store));
    }
    if (m->res == GW_R_OK && m->in.render && lk_out_count(m->out) > 0)
        gw_wake_sender();
}

int gw_job_add(gw_job *j, const lk_inbound *in)
{
    gw_msg *m;

    if (j->n == j->cap) {
        int cap = j->cap ? 2 * j->cap : 4;
        gw_msg **v = realloc(j->msgs, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        j->msgs = v;
        j->cap = cap;
    }
    if (!(m = msg_new(in)))
        return -1;
    m->job = j;
    j->bytes += sizeof *m + (size_t)(m->in.text ? m->in.len : 0);
    j->msgs[j->n++] = m;
    j->pending++;
    if (!gw_limits_take(P.srv->limits, m->in.channel, m->in.user, gw_mono_us()))
        m->res = GW_R_RATE;
    else if (lk_inbound_check(&m->in, &m->why) != LK_OK)
        m->res = GW_R_INVALID;
    else if (!(m->out = lk_out_new()))
        m->res = GW_R_INTERNAL;
    else
        msg_process(m);
    done_push(m);
    return 0;
}

void gw_job_end(gw_job *j)
{
    j->ended = 1;
    if (j->pending == 0)
        ready_push(j);
}

void gw_job_cancel(gw_job *j)
{
    if (!j)
        return;
    j->cancelled = 1;
    if (!j->ended)
        gw_job_end(j);
}

int gw_job_count(const gw_job *j)
{
    return j->n;
}

gw_result gw_job_result(const gw_job *j, int i, const char **why)
{
    if (why)
        *why = j->msgs[i]->why;
    return j->msgs[i]->res;
}

const lk_out *gw_job_out(const gw_job *j, int i)
{
    static lk_out *empty;
    if (j->msgs[i]->res == GW_R_OK && j->msgs[i]->out)
        return j->msgs[i]->out;
    if (!empty)
        empty = lk_out_new(); /* one empty lk_out for the life of the process */
    return empty;
}

int gw_job_count_result(const gw_job *j, gw_result r)
{
    int i, n = 0;
    for (i = 0; i < j->n; i++)
        n += j->msgs[i]->res == r;
    return n;
}

static void job_free(gw_job *j)
{
    int i;
    for (i = 0; i < j->n; i++)
        msg_free(j->msgs[i]);
    free(j->msgs);
    free(j);
}

static void job_complete(gw_job *j)
{
    size_t bytes = j->bytes;

    if (!j->cancelled && j->done)
        j->done(j, j->ctx);
    job_free(j);
    gw_mem_after_body(bytes); /* a webhook body of thousands of messages */
}

/* ---- the loop's side ---------------------------------------------------------------------- */

/* Counts and logs one message that came through (step 4). */
static void msg_finish(gw_msg *m)
{
    const lk_inbound *in = &m->in;
    enum gw_channel ch = gw_channel_of(in->channel);

    switch (m->res) {
    case GW_R_OK:
        gw_metrics_step(m->step_us);
        gw_metrics_in(ch);
        gw_log(GW_LOG_DEBUG, "message", "channel=%s user=%08lx state=%s replies=%d ms=%.2f",
               in->channel, user_tag(in->user), m->state ? m->state : "", lk_out_count(m->out),
               (double)m->step_us / 1000.0);
        break;
    case GW_R_DUP:
        gw_metrics_dup(ch);
        gw_log(GW_LOG_INFO, "duplicate message acknowledged", "channel=%s user=%08lx", in->channel,
               user_tag(in->user));
        break;
    case GW_R_RATE:
        gw_metrics_error(GW_E_RATE);
        gw_log(GW_LOG_WARN, "message over the sender's rate: not processed",
               "channel=%s user=%08lx", in->channel, user_tag(in->user));
        break;
    case GW_R_INVALID:
        gw_metrics_error(GW_E_BAD_INPUT);
        gw_log(GW_LOG_INFO, "message refused", "channel=%s user=%08lx why=\"%s\"", in->channel,
               user_tag(in->user), m->why ? m->why : "");
        break;
    case GW_R_INTERNAL: gw_metrics_error(GW_E_INTERNAL); break;
    }
    if (in->render) { /* its replies went to the outbox: nobody reads them here */
        lk_out_free(m->out);
        m->out = NULL;
    }
    if (--m->job->pending == 0 && m->job->ended)
        job_complete(m->job);
}

void gw_pipeline_poll(void)
{
    gw_msg *m;
    gw_job *j;

    while ((m = P.done_head)) {
        P.done_head = m->next;
        if (!P.done_head)
            P.done_tail = NULL;
        msg_finish(m);
    }
    while ((j = P.ready_head)) {
        P.ready_head = j->next_ready;
        if (!P.ready_head)
            P.ready_tail = NULL;
        job_complete(j);
    }
}

lk_err gw_pipeline_start(gw_server *s)
{
    memset(&P, 0, sizeof P);
    P.srv = s;
    return LK_OK;
}

void gw_pipeline_set_flow(lk_flow *flow)
{
    gw_server *s = P.srv;
    lk_flow *old = s->flow;

    /* messages are processed inside the loop's callbacks and their replies
     * answered in the poll before this: nothing refers to the old flow */
    lk_runtime_set_flow(s->rt, flow);
    s->flow = flow;
    lk_flow_free(old);
}

void gw_pipeline_stop(void)
{
    gw_msg *m;
    gw_job *j;

    /* what is left belongs to requests that went: the jobs are cancelled */
    while ((m = P.done_head)) {
        P.done_head = m->next;
        m->job->cancelled = 1;
        m->job->ended = 1;
        msg_finish(m);
    }
    P.done_tail = NULL;
    while ((j = P.ready_head)) {
        P.ready_head = j->next_ready;
        j->cancelled = 1;
        job_complete(j);
    }
    P.ready_tail = NULL;
    P.srv = NULL;
}
