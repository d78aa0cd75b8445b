/* The message path from the channels to the store and back (pipeline.h):
 * one queue type (gw_msg lists), the store workers, the done list.
 *
 * The life of one message, in the order things happen:
 *   1. loop thread, gw_job_add: the channel's parsed lk_inbound is copied
 *      into a gw_msg of its job; the sender's rate and lk_inbound_check are
 *      applied (a refused message keeps its result and goes the same way as
 *      the others, so that results come back in order). The message goes to
 *      the queue of the worker that a hash of (channel, user) names, so one
 *      user's messages are always handled by one worker, in order.
 *   2. worker thread, worker_main: it takes every message waiting, up to
 *      batch_max (after waiting up to batch_wait_us for more when there are
 *      fewer), opens one transaction on its own lk_store, runs each message
 *      in a savepoint of its own (lk_runtime_step: dedup, load, step, save,
 *      log, outbox; a failing one undoes only its own work, and a duplicate
 *      of an earlier message of the same batch is a duplicate), and commits
 *      once. A failed commit fails every message of the batch.
 *   3. worker thread: the batch goes on the done list, the sender is woken
 *      when outbox rows were committed, and the loop is woken with
 *      lws_cancel_service, the one lws call other threads may make.
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
 * the step and the commit. */
#include "gw.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_POOL 1024 /* lk_out kept for reuse (each keeps its buffers) */
#define PG_WORKERS 4  /* store_workers unset, on PostgreSQL */

/* A flow waiting for the messages submitted before it was retired. */
typedef struct retired {
    struct retired *next;
    lk_flow *flow;
    uint64_t seq; /* messages with a sequence number up to this one may use it */
    int64_t live; /* of those, the ones not freed yet */
} retired;
typedef struct gw_msg {
    struct gw_msg *next; /* in a worker's queue, then on the done list */
    gw_job *job;
    lk_inbound in; /* its strings point into data */
    lk_out *out;   /* NULL unless it goes to the store */
    uint64_t seq;  /* in the order of gw_job_add */
    int todo;      /* 1: for the store; 0: refused on the loop thread */
    gw_result res;
    const char *why;   /* GW_R_INVALID */
    const char *state; /* after the step, for the log (borrowed from the flow) */
    int64_t queued_us, step_us;
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

typedef struct worker {
    pthread_t th;
    int started;
    lk_store *store;
    lk_runtime *rt;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    gw_msg *head, *tail; /* its queue */
    int depth;
    int idle; /* waiting on cv */
    int stop;
    const char **chans, **users; /* lock_users' arguments, for batch_max messages */
} worker;

static struct {
    gw_server *srv;
    struct lws_context *_Atomic ctx; /* NULL once the workers stopped */
    worker *w;
    int nw;
    int batch_max, batch_wait_us;
    const char *hold;   /* LOKET_TEST_HOLD_COMMIT */
    pthread_mutex_t mu; /* the done list and flow */
    gw_msg *done_head, *done_tail;
    lk_flow *flow; /* the server's, for the next batch; owned */
    /* loop thread only */
    gw_job *ready_head, *ready_tail;
    lk_out *pool[OUT_POOL];
    int npool;
    int stopped;
    uint64_t seq; /* the last message's sequence number */
    int64_t live; /* messages submitted and not freed */
    retired *retired;
} P;

/* A short stable hash of a user id for logs: phone numbers stay out of them. */
static unsigned long user_tag(const char *u)
{
    unsigned long h = 5381;
    for (; *u; u++)
        h = h * 33 + (unsigned char)*u;
    return h & 0xffffffffUL;
}

static void wake_loop(void)
{
    struct lws_context *ctx = atomic_load(&P.ctx);
    if (ctx)
        lws_cancel_service(ctx);
}

/* ---- flows ------------------------------------------------------------------------------ */

void gw_pipeline_retire(lk_flow *flow)
{
    retired *r;

    if (!flow)
        return;
    if (P.live == 0) {
        lk_flow_free(flow);
        return;
    }
    if (!(r = malloc(sizeof *r))) {
        gw_log(GW_LOG_ERROR, "a replaced flow is kept: out of memory", NULL);
        return; /* leaked rather than freed under a worker */
    }
    r->flow = flow;
    r->seq = P.seq;
    r->live = P.live;
    r->next = P.retired;
    P.retired = r;
}

/* A message of sequence number seq was freed: retired flows it held back go. */
static void retired_note(uint64_t seq)
{
    retired **rp = &P.retired, *r;

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

    pthread_mutex_lock(&P.mu);
    old = P.flow;
    P.flow = flow;
    pthread_mutex_unlock(&P.mu);
    P.srv->flow = flow;
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
    X(ext_id) X(outbox_channel) X(tap_question) X(tap_title) X(media_type) X(media_id)             \
        X(media_mime)

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
    return P.npool ? P.pool[--P.npool] : lk_out_new();
}

static void out_put(lk_out *o)
{
    if (!o)
        return;
    if (P.npool < OUT_POOL) {
        lk_out_reset(o);
        P.pool[P.npool++] = o;
    } else {
        lk_out_free(o);
    }
}

static void msg_free(gw_msg *m)
{
    out_put(m->out);
    P.live--;
    if (P.retired)
        retired_note(m->seq);
    free(m);
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

/* Appends the list first..last to the done list and wakes the loop. */
static void done_push(gw_msg *first, gw_msg *last)
{
    pthread_mutex_lock(&P.mu);
    if (P.done_tail)
        P.done_tail->next = first;
    else
        P.done_head = first;
    P.done_tail = last;
    pthread_mutex_unlock(&P.mu);
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
    return &P.w[h % (uint32_t)P.nw];
}

static void enqueue(gw_msg *m)
{
    worker *w = route(&m->in);
    int idle;

    m->next = NULL;
    m->queued_us = gw_mono_us();
    gw_metrics_queue_depth(1);
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = m;
    else
        w->head = m;
    w->tail = m;
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
    m->seq = ++P.seq;
    P.live++;
    j->bytes += sizeof *m + (size_t)(m->in.text ? m->in.len : 0);
    j->msgs[j->n++] = m;
    j->pending++;
    if (!gw_limits_take(P.srv->limits, m->in.channel, m->in.user, gw_mono_us()))
        m->res = GW_R_RATE;
    else if (lk_inbound_check(&m->in, &m->why) != LK_OK)
        m->res = GW_R_INVALID;
    else if (!(m->out = out_get()))
        m->res = GW_R_INTERNAL;
    else
        m->todo = 1;
    if (P.stopped) { /* while the server closes its connections */
        m->res = m->todo ? GW_R_INTERNAL : m->res;
        m->todo = 0;
        m->next = NULL;
        done_push(m, m);
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

/* ---- the store workers ---------------------------------------------------------------------- */

/* LOKET_TEST_HOLD_COMMIT: see the top of the file. */
static void hold_before_commit(int n)
{
    char held[512];
    FILE *f;

    if (!P.hold || access(P.hold, F_OK) != 0)
        return;
    snprintf(held, sizeof held, "%s.held", P.hold);
    if ((f = fopen(held, "w"))) {
        fprintf(f, "%d\n", n);
        fclose(f);
    }
    while (access(P.hold, F_OK) == 0) {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    unlink(held);
}

/* Steps one message in its savepoint. 1 when the store lost the transaction,
 * or when the message met a lock conflict (the batch is run again). */
static int step_one(worker *w, gw_msg *m)
{
    int64_t t0 = gw_mono_us();
    int dup = 0, lost = 0;
    lk_err err;

    gw_metrics_queued(t0 - m->queued_us);
    err = lk_runtime_step(w->rt, &m->in, m->out, &dup, &m->state, &lost);
    m->step_us = gw_mono_us() - t0;
    m->todo = 0;
    if (err != LK_OK && lk_store_retryable(w->store)) {
        m->res = GW_R_INTERNAL; /* unless the batch runs again (run_batch) */
        lk_out_reset(m->out);
        return 1;
    }
    if (err == LK_OK) {
        m->res = dup ? GW_R_DUP : GW_R_OK;
    } else if (err == LK_EINVAL) {
        m->res = GW_R_INVALID;
        lk_inbound_check(&m->in, &m->why);
    } else {
        m->res = GW_R_INTERNAL;
        gw_log(GW_LOG_ERROR, "message failed, its work undone",
               "channel=%s user=%08lx err=\"%s\" store=\"%s\"", m->in.channel, user_tag(m->in.user),
               lk_strerror(err), lk_store_errmsg(w->store));
    }
    return lost;
}

/* Locks the users of the batch's messages for the store at once
 * (lk_store_lock_users: PostgreSQL's batches never deadlock each other). */
static lk_err lock_users(worker *w, gw_msg *batch)
{
    int n = 0;

    for (; batch; batch = batch->next)
        if (batch->todo) {
            w->chans[n] = batch->in.channel;
            w->users[n++] = batch->in.user;
        }
    return lk_store_lock_users(w->store, w->chans, w->users, n);
}

#define BATCH_TRIES 3 /* runs of a batch that meets lock conflicts */

/* Steps and commits one batch (step 2). A batch that failed on a lock
 * conflict (lk_store_retryable) is rolled back and run again from its first
 * message, up to BATCH_TRIES times: nothing of it was committed or answered. */
static void run_batch(worker *w, gw_msg *batch)
{
    gw_msg *m;
    int lost = 0, n = 0, outbox = 0, tries = 0;
    lk_err err = LK_OK;
    pthread_mutex_lock(&P.mu); /* a SIGHUP swaps it between two batches */
    if (lk_runtime_flow(w->rt) != P.flow)
        lk_runtime_set_flow(w->rt, P.flow);
    pthread_mutex_unlock(&P.mu);
again:
    for (m = batch; m && !m->todo; m = m->next)
        ;
    if (m && (err = lk_store_begin(w->store)) == LK_OK) {
        lost = (err = lock_users(w, batch)) != LK_OK;
        for (m = batch; m && !lost; m = m->next)
            if (m->todo) {
                lost = step_one(w, m);
                n++;
                outbox |= m->res == GW_R_OK && m->in.render && lk_out_count(m->out) > 0;
            }
        if (!lost) {
            hold_before_commit(n);
            err = lk_store_commit(w->store);
        }
        if (lost || err != LK_OK) {
            lk_store_rollback(w->store);
            if (lk_store_retryable(w->store) && ++tries < BATCH_TRIES) {
                gw_log(GW_LOG_WARN, "batch met a lock conflict, rolled back and run again",
                       "messages=%d store=\"%s\"", n, lk_store_errmsg(w->store));
                for (m = batch; m; m = m->next)
                    if (m->out) { /* went to the store (refused ones have none) */
                        m->todo = 1;
                        m->res = GW_R_OK;
                        m->why = m->state = NULL;
                    }
                lost = n = outbox = 0;
                goto again;
            }
            gw_log(GW_LOG_ERROR, "batch failed, rolled back", "messages=%d store=\"%s\"", n,
                   lk_store_errmsg(w->store));
        } else {
            gw_metrics_commit(n);
        }
    } else if (m) {
        gw_log(GW_LOG_ERROR, "batch not begun", "store=\"%s\"", lk_store_errmsg(w->store));
    }
    for (m = batch; m; m = m->next) /* what did not commit failed */
        if (m->todo || ((lost || err != LK_OK) && (m->res == GW_R_OK || m->res == GW_R_DUP))) {
            m->todo = 0;
            m->res = GW_R_INTERNAL;
            lk_out_reset(m->out);
        }
    if (outbox && !lost && err == LK_OK)
        gw_wake_sender();
}

/* Takes the batch waiting in w's queue: NULL when w was stopped and its
 * queue is empty. */
static gw_msg *take(worker *w, gw_msg **last)
{
    gw_msg *first;
    int n = 1;

    pthread_mutex_lock(&w->mu);
    while (!w->head && !w->stop) {
        w->idle = 1;
        pthread_cond_wait(&w->cv, &w->mu);
        w->idle = 0;
    }
    if (w->head && P.batch_wait_us > 0 && w->depth < P.batch_max && !w->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long)P.batch_wait_us * 1000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        while (w->depth < P.batch_max && !w->stop) {
            w->idle = 1;
            if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT) {
                w->idle = 0;
                break;
            }
            w->idle = 0;
        }
    }
    if ((first = w->head)) {
        for (*last = first; n < P.batch_max && (*last)->next; n++)
            *last = (*last)->next;
        w->head = (*last)->next;
        if (!w->head)
            w->tail = NULL;
        (*last)->next = NULL;
        w->depth -= n;
    }
    pthread_mutex_unlock(&w->mu);
    if (first)
        gw_metrics_queue_depth(-n);
    return first;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    gw_msg *batch, *last = NULL;

    while ((batch = take(w, &last))) {
        run_batch(w, batch);
        done_push(batch, last); /* step 3 */
    }
    return NULL;
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

    pthread_mutex_lock(&P.mu);
    m = P.done_head;
    P.done_head = P.done_tail = NULL;
    pthread_mutex_unlock(&P.mu);
    for (; m; m = next) {
        next = m->next;
        msg_finish(m);
    }
    while ((j = P.ready_head)) {
        P.ready_head = j->next_ready;
        if (!P.ready_head)
            P.ready_tail = NULL;
        job_complete(j);
    }
}

static lk_err worker_open(gw_server *s, worker *w)
{
    pthread_condattr_t ca;
    lk_store_opts so;
    char dbname[256];
    lk_diag diag = {0};
    lk_err err;

    lk_store_opts_default(&so);
    so.sync = s->cfg.sync;
    so.wal_autocheckpoint = 0;         /* the maintenance thread checkpoints */
    so.wal_limit = 2 * s->cfg.wal_max; /* the writer's bound on the WAL (see server.c) */
    if ((err = lk_store_open(s->cfg.db, &so, &w->store, &diag)) != LK_OK) {
        gw_log(GW_LOG_ERROR, "store worker: cannot open the database", "db=\"%s\" why=\"%s\"",
               lk_store_redact(s->cfg.db, dbname, sizeof dbname),
               diag.n ? diag.items[0].msg : lk_strerror(err));
        lk_diag_clear(&diag);
        return err;
    }
    if (!(w->rt = lk_runtime_new(s->flow, w->store)) ||
        !(w->chans = calloc((size_t)s->cfg.batch_max, sizeof *w->chans)) ||
        !(w->users = calloc((size_t)s->cfg.batch_max, sizeof *w->users)))
        return LK_ENOMEM;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca); /* take() waits until a CLOCK_MONOTONIC deadline */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        return LK_ENOMEM;
    }
    w->started = 1;
    return LK_OK;
}

lk_err gw_pipeline_start(gw_server *s)
{
    sigset_t set, old;
    lk_err err = LK_OK;
    int i, n = s->cfg.store_workers;

    memset(&P, 0, sizeof P);
    P.srv = s;
    P.batch_max = s->cfg.batch_max;
    P.batch_wait_us = s->cfg.batch_wait_us;
    P.hold = getenv("LOKET_TEST_HOLD_COMMIT");
    if (P.hold && !*P.hold)
        P.hold = NULL;
    pthread_mutex_init(&P.mu, NULL);
    P.flow = s->flow;
    /* SQLite has one writer: more workers would only wait for its lock;
     * PostgreSQL's default is PG_WORKERS (README: More than one server) */
    if (n == 0)
        n = lk_store_outbox_claims(s->store) ? PG_WORKERS : 1;
    if (n > 1 && !lk_store_outbox_claims(s->store)) {
        gw_log(GW_LOG_WARN, "store_workers is 1 with SQLite (one writer)", "store_workers=%d", n);
        n = 1;
    }
    if (!(P.w = calloc((size_t)n, sizeof *P.w)))
        return LK_ENOMEM;
    P.nw = n;
    atomic_store(&P.ctx, s->ctx);
    /* the workers get no signals: SIGTERM and SIGHUP go to the loop's poll() */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    for (i = 0; i < n && err == LK_OK; i++)
        err = worker_open(s, &P.w[i]);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}

void gw_pipeline_stop(void)
{
    int i;

    for (i = 0; i < P.nw; i++) {
        worker *w = &P.w[i];
        if (!w->started)
            continue;
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    for (i = 0; i < P.nw; i++)
        if (P.w[i].started) {
            pthread_join(P.w[i].th, NULL);
            pthread_cond_destroy(&P.w[i].cv);
            pthread_mutex_destroy(&P.w[i].mu);
            P.w[i].started = 0;
        }
    atomic_store(&P.ctx, NULL);
    P.stopped = 1;
    gw_pipeline_poll(); /* answers what its requesters still wait for */
}

void gw_pipeline_free(void)
{
    gw_msg *m, *next;
    gw_job *j;
    int i;

    if (!P.srv)
        return;
    gw_pipeline_stop();
    /* what is left belongs to requests that went (cancelled jobs) */
    for (m = P.done_head; m; m = next) {
        next = m->next;
        m->job->cancelled = m->job->ended = 1;
        msg_finish(m);
    }
    P.done_head = P.done_tail = NULL;
    while ((j = P.ready_head)) {
        P.ready_head = j->next_ready;
        j->cancelled = 1;
        job_complete(j);
    }
    P.ready_tail = NULL;
    for (i = 0; i < P.nw; i++) {
        lk_runtime_free(P.w[i].rt);
        lk_store_close(P.w[i].store);
        free(P.w[i].chans);
        free(P.w[i].users);
    }
    free(P.w);
    P.w = NULL;
    P.nw = 0;
    for (i = 0; i < P.npool; i++)
        lk_out_free(P.pool[i]);
    P.npool = 0;
    while (P.retired) { /* every message is freed: nothing uses them */
        retired *r = P.retired;
        P.retired = r->next;
        lk_flow_free(r->flow);
        free(r);
    }
    lk_flow_free(P.flow);
    P.flow = NULL;
    P.srv->flow = NULL;
    pthread_mutex_destroy(&P.mu);
    P.srv = NULL;
}
