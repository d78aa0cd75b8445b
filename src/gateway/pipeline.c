/* The message path from the channels to the store and back (pipeline.h):
 * one queue type (gw_msg lists), the store workers, the done list. This file
 * is the loop thread's side; pipeline_worker.c a worker's (steps 2 and 3),
 * pipeline_int.h what they share.
 *
 * The life of one message, in the order things happen:
 *   1. loop thread, gw_job_add: the channel's parsed lk_inbound is copied
 *      into a gw_msg of its job; the sender's rate and lk_inbound_check are
 *      applied (a refused message keeps its result and goes the same way as
 *      the others, so that results come back in order). The message goes to
 *      the queue of the worker that a hash of (channel, user) names, so one
 *      user's messages are always handled by one worker, in order.
 *   2. worker thread, worker_main (pipeline_worker.c): it takes every
 *      message waiting, up to batch_max (after waiting up to batch_wait_us
 *      for more when there are fewer), opens one transaction on its own
 *      lk_store, runs each message in a savepoint of its own
 *      (lk_runtime_step: dedup, load, step, save, log, outbox; a failing one
 *      undoes only its own work, and a duplicate of an earlier message of the
 *      same batch is a duplicate), and commits once. A failed commit fails
 *      every message of the batch (a lock conflict on PostgreSQL runs the
 *      batch again first).
 *   3. worker thread: the batch goes on the done list, the sender is woken
 *      when outbox rows were committed, and the loop is woken with
 *      lws_cancel_service, the one lws call other threads may make.
 *      Sync behind (SQLite at synchronous FULL): the worker commits at
 *      NORMAL and hands the batch to the syncer thread instead
 *      (pipeline_sync.c) and steps its next batch; the syncer takes every
 *      batch waiting, fdatasyncs the WAL once (lk_store_wal_sync), then
 *      wakes the sender and puts the batches on the done list in order. A
 *      failed sync fails their messages (internal error, never success).
 *      While the syncer is busy, the worker keeps its next batch open and
 *      steps what comes in meanwhile (up to batch_max), committing once the
 *      syncer is free: its answers could not leave sooner anyway.
 *   4. loop thread, gw_pipeline_poll after each service turn: each message is
 *      counted and logged; when it was the last one of an ended job, the
 *      job's done function answers (websocket frames, the HTTP answer) and
 *      the job is freed. Nothing is answered before step 4, so a reply, a
 *      websocket done and a webhook's 200 leave only after their commit.
 * A job that ends with nothing pending goes to the ready list and is done
 * in the next poll, so done never runs inside gw_job_add or gw_job_end.
 *
 * Flows: replies point into the flow they were stepped with (choice
 * titles), and a message may name a flow of its own (lk_inbound.flow, a
 * number's). On SIGHUP the server's flow is swapped under the workers' lock
 * and they take the new one at their next batch; the old one, like any flow
 * handed to gw_pipeline_retire, is freed once every message submitted before
 * the swap is through (and so is every batch that could have used it: a
 * batch holds only messages queued before it began): each message carries a
 * sequence number, and a retired flow counts down the messages alive at its
 * retirement.
 *
 * Stop: the workers finish everything queued (each batch committed) and
 * exit; what they hand back is answered if its requester is still there.
 *
 * LOKET_TEST_HOLD_COMMIT=PATH (tests only, never in production): while PATH
 * exists a worker holds each batch before its commit, after writing the
 * batch's size to PATH.held, so that a test can look at the server between
 * the step and the commit. LOKET_TEST_HOLD_SYNC=PATH does the same in the
 * syncer before its fdatasync (after the commit), with the number of
 * messages it holds. */
#include "pipeline_int.h"

#include <stdlib.h>
#include <string.h>

#define PG_WORKERS 4 /* store_workers unset, on PostgreSQL */

gw_pl_state gw_pl;

static void wake_loop(void)
{
    struct lws_context *ctx = atomic_load(&gw_pl.ctx);
    if (ctx)
        lws_cancel_service(ctx);
}

/* ---- flows ------------------------------------------------------------------------------ */

void gw_pipeline_retire(lk_flow *flow)
{
    retired *r;

    if (!flow)
        return;
    if (gw_pl.live == 0) {
        lk_flow_free(flow);
        return;
    }
    if (!(r = malloc(sizeof *r))) {
        gw_log(GW_LOG_ERROR, "a replaced flow is kept: out of memory", NULL);
        return; /* leaked rather than freed under a worker */
    }
    r->flow = flow;
    r->seq = gw_pl.seq;
    r->live = gw_pl.live;
    r->next = gw_pl.retired;
    gw_pl.retired = r;
}

/* A message of sequence number seq was freed: retired flows it held back go. */
static void retired_note(uint64_t seq)
{
    retired **rp = &gw_pl.retired, *r;

    while ((r = *rp)) {
        if (seq <= r->seq && --r->live == 0) {
            *rp = r->next;
            lk_flow_free(r->flow);
            free(r);
            continue;
        }
        rp = &r->next;
    }
}

void gw_pipeline_set_flow(lk_flow *flow)
{
    lk_flow *old;

    pthread_mutex_lock(&gw_pl.mu);
    old = gw_pl.flow;
    gw_pl.flow = flow;
    pthread_mutex_unlock(&gw_pl.mu);
    gw_pl.srv->flow = flow;
    gw_pipeline_retire(old);
}

/* ---- messages and jobs (loop thread) ------------------------------------------------------- */

gw_job *gw_job_new(gw_job_fn done, void *ctx)
{
    gw_job *j = calloc(1, sizeof *j);
    if (j) {
        j->done = done;
        j->ctx = ctx;
    }
    return j;
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

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* The strings of an lk_inbound that the message copies (text apart, which
 * has its length): a string field added to lk_inbound goes here too. */
#define MSG_STRINGS(X)                                                                             \
    X(channel)                                                                                     \
    X(user)                                                                                        \
    X(ext_id) X(outbox_channel) X(tap_question) X(tap_title) X(media_type) X(media_id) X(media_mime)

static gw_msg *msg_new(const lk_inbound *in)
{
    size_t size = sizeof(gw_msg) + (in->text ? in->len + 1 : 0);
    gw_msg *m;
    char *p;

#define SIZE(f) size += in->f ? strlen(in->f) + 1 : 0;
    MSG_STRINGS(SIZE)
#undef SIZE
    if (!(m = malloc(size)))
        return NULL;
    memset(m, 0, sizeof *m);
    m->in = *in; /* render, render_ctx and flow outlive the message */
    p = m->data;
    m->in.text = put(&p, in->text, in->len);
#define COPY(f) m->in.f = put(&p, in->f, slen(in->f));
    MSG_STRINGS(COPY)
#undef COPY
    return m;
}

static lk_out *out_get(void)
{
    return gw_pl.npool ? gw_pl.pool[--gw_pl.npool] : lk_out_new();
}

static void out_put(lk_out *o)
{
    if (!o)
        return;
    if (gw_pl.npool < OUT_POOL) {
        lk_out_reset(o);
        gw_pl.pool[gw_pl.npool++] = o;
    } else {
        lk_out_free(o);
    }
}

static void msg_free(gw_msg *m)
{
    out_put(m->out);
    gw_pl.live--;
    if (gw_pl.retired)
        retired_note(m->seq);
    free(m);
}

static void ready_push(gw_job *j)
{
    j->next_ready = NULL;
    if (gw_pl.ready_tail)
        gw_pl.ready_tail->next_ready = j;
    else
        gw_pl.ready_head = j;
    gw_pl.ready_tail = j;
    wake_loop();
}

/* Appends the list first..last to the done list and wakes the loop. */
void gw_pl_done_push(gw_msg *first, gw_msg *last)
{
    pthread_mutex_lock(&gw_pl.mu);
    gw_msgq_put(&gw_pl.done, first, last);
    pthread_mutex_unlock(&gw_pl.mu);
    wake_loop();
}

/* The worker of (channel, user): FNV-1a over both. */
static worker *route(const lk_inbound *in)
{
    uint32_t h = 2166136261u;
    const char *p;

    for (p = in->channel; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (p = in->user; p && *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &gw_pl.w[h % (uint32_t)gw_pl.nw];
}

static void enqueue(gw_msg *m)
{
    worker *w = route(&m->in);
    int idle;

    m->next = NULL;
    m->queued_us = gw_mono_us();
    gw_metrics_queue_depth(1);
    pthread_mutex_lock(&w->mu);
    gw_msgq_put(&w->q, m, m);
    w->depth++;
    idle = w->idle;
    pthread_mutex_unlock(&w->mu);
    if (idle)
        pthread_cond_signal(&w->cv);
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
    m->seq = ++gw_pl.seq;
    gw_pl.live++;
    j->bytes += sizeof *m + (size_t)(m->in.text ? m->in.len : 0);
    j->msgs[j->n++] = m;
    j->pending++;
    if (!gw_limits_take(gw_pl.srv->limits, m->in.channel, m->in.user, gw_mono_us()))
        m->res = GW_R_RATE;
    else if (lk_inbound_check(&m->in, &m->why) != LK_OK)
        m->res = GW_R_INVALID;
    else if (!(m->out = out_get()))
        m->res = GW_R_INTERNAL;
    else
        m->todo = 1;
    if (gw_pl.stopped) { /* while the server closes its connections */
        m->res = m->todo ? GW_R_INTERNAL : m->res;
        m->todo = 0;
        m->next = NULL;
        gw_pl_done_push(m, m);
    } else {
        enqueue(m);
    }
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

static void job_complete(gw_job *j)
{
    size_t bytes = j->bytes;
    int i;

    if (!j->cancelled && j->done)
        j->done(j, j->ctx);
    for (i = 0; i < j->n; i++)
        msg_free(j->msgs[i]);
    free(j->msgs);
    free(j);
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
               in->channel, gw_pl_user_tag(in->user), m->state ? m->state : "",
               lk_out_count(m->out), (double)m->step_us / 1000.0);
        break;
    case GW_R_DUP:
        gw_metrics_dup(ch);
        gw_log(GW_LOG_INFO, "duplicate message acknowledged", "channel=%s user=%08lx", in->channel,
               gw_pl_user_tag(in->user));
        break;
    case GW_R_RATE:
        gw_metrics_error(GW_E_RATE);
        gw_log(GW_LOG_WARN, "message over the sender's rate: not processed",
               "channel=%s user=%08lx", in->channel, gw_pl_user_tag(in->user));
        break;
    case GW_R_INVALID:
        gw_metrics_error(GW_E_BAD_INPUT);
        gw_log(GW_LOG_INFO, "message refused", "channel=%s user=%08lx why=\"%s\"", in->channel,
               gw_pl_user_tag(in->user), m->why ? m->why : "");
        break;
    case GW_R_INTERNAL: gw_metrics_error(GW_E_INTERNAL); break;
    }
    if (in->render) { /* its replies went to the outbox: nobody reads them here */
        out_put(m->out);
        m->out = NULL;
    }
    if (--m->job->pending == 0 && m->job->ended)
        job_complete(m->job);
}

void gw_pipeline_poll(void)
{
    gw_msg *m, *next;
    gw_job *j;

    pthread_mutex_lock(&gw_pl.mu);
    m = gw_msgq_take(&gw_pl.done, NULL);
    pthread_mutex_unlock(&gw_pl.mu);
    for (; m; m = next) {
        next = m->next;
        msg_finish(m);
    }
    while ((j = gw_pl.ready_head)) {
        gw_pl.ready_head = j->next_ready;
        if (!gw_pl.ready_head)
            gw_pl.ready_tail = NULL;
        job_complete(j);
    }
}

lk_err gw_pipeline_start(gw_server *s)
{
    sigset_t set, old;
    lk_err err = LK_OK;
    int i, n = s->cfg.store_workers;

    memset(&gw_pl, 0, sizeof gw_pl);
    gw_pl.srv = s;
    gw_pl.batch_max = s->cfg.batch_max;
    gw_pl.batch_wait_us = s->cfg.batch_wait_us;
    gw_pl.hold = getenv("LOKET_TEST_HOLD_COMMIT");
    if (gw_pl.hold && !*gw_pl.hold)
        gw_pl.hold = NULL;
    pthread_mutex_init(&gw_pl.mu, NULL);
    gw_pl_sync_init();
    gw_pl.flow = s->flow;
    /* SQLite has one writer: more workers would only wait for its lock;
     * PostgreSQL's default is PG_WORKERS (README: More than one server) */
    if (n == 0)
        n = lk_store_outbox_claims(s->store) ? PG_WORKERS : 1;
    if (n > 1 && !lk_store_outbox_claims(s->store)) {
        gw_log(GW_LOG_WARN, "store_workers is 1 with SQLite (one writer)", "store_workers=%d", n);
        n = 1;
    }
    if (!(gw_pl.w = calloc((size_t)n, sizeof *gw_pl.w)))
        return LK_ENOMEM;
    gw_pl.nw = n;
    atomic_store(&gw_pl.ctx, s->ctx);
    /* the workers get no signals: SIGTERM and SIGHUP go to the loop's poll() */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    for (i = 0; i < n && err == LK_OK; i++)
        err = gw_pl_worker_open(s, &gw_pl.w[i]);
    if (err == LK_OK)
        err = gw_pl_sync_start(s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err == LK_OK)
        gw_log(GW_LOG_INFO, "store workers started",
               "store_workers=%d batch_max=%d batch_wait_us=%d sync_behind=%d", n, gw_pl.batch_max,
               gw_pl.batch_wait_us, gw_pl.behind);
    return err;
}

void gw_pipeline_stop(void)
{
    int i;

    for (i = 0; i < gw_pl.nw; i++) {
        worker *w = &gw_pl.w[i];
        if (!w->started)
            continue;
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    for (i = 0; i < gw_pl.nw; i++)
        if (gw_pl.w[i].started)
            pthread_join(gw_pl.w[i].th, NULL);
    gw_pl_sync_stop();             /* after the workers: it has their last batches */
    for (i = 0; i < gw_pl.nw; i++) /* the syncer wakes workers: after it */
        if (gw_pl.w[i].started) {
            pthread_cond_destroy(&gw_pl.w[i].cv);
            pthread_mutex_destroy(&gw_pl.w[i].mu);
            gw_pl.w[i].started = 0;
        }
    atomic_store(&gw_pl.ctx, NULL);
    gw_pl.stopped = 1;
    gw_pipeline_poll(); /* answers what its requesters still wait for */
}

void gw_pipeline_free(void)
{
    gw_msg *m, *next;
    gw_job *j;
    int i;

    if (!gw_pl.srv)
        return;
    gw_pipeline_stop();
    /* what is left belongs to requests that went (cancelled jobs) */
    for (m = gw_pl.done.head; m; m = next) {
        next = m->next;
        m->job->cancelled = m->job->ended = 1;
        msg_finish(m);
    }
    gw_pl.done.head = gw_pl.done.tail = NULL;
    while ((j = gw_pl.ready_head)) {
        gw_pl.ready_head = j->next_ready;
        j->cancelled = 1;
        job_complete(j);
    }
    gw_pl.ready_tail = NULL;
    for (i = 0; i < gw_pl.nw; i++) {
        lk_runtime_free(gw_pl.w[i].rt);
        lk_store_close(gw_pl.w[i].store);
        free(gw_pl.w[i].chans);
        free(gw_pl.w[i].users);
    }
    free(gw_pl.w);
    gw_pl.w = NULL;
    gw_pl.nw = 0;
    for (i = 0; i < gw_pl.npool; i++)
        lk_out_free(gw_pl.pool[i]);
    gw_pl.npool = 0;
    while (gw_pl.retired) { /* every message is freed: nothing uses them */
        retired *r = gw_pl.retired;
        gw_pl.retired = r->next;
        lk_flow_free(r->flow);
        free(r);
    }
    lk_flow_free(gw_pl.flow);
    gw_pl.flow = NULL;
    gw_pl.srv->flow = NULL;
    pthread_mutex_destroy(&gw_pl.mu);
    pthread_cond_destroy(&gw_pl.scv);
    pthread_mutex_destroy(&gw_pl.smu);
    gw_pl.srv = NULL;
}
