/* A store worker thread of the pipeline: steps 2 and 3 of a message's life
 * (pipeline.c says all of it). It takes the batch waiting in its queue, runs
 * each message in a savepoint of one transaction on its own lk_store, commits
 * once and hands the batch to the done list, or to the syncer when its
 * store syncs behind (pipeline_sync.c). */
#include "pipeline_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* LOKET_TEST_HOLD_COMMIT and LOKET_TEST_HOLD_SYNC: see the top of pipeline.c. */
void gw_pl_hold(const char *path, int n)
{
    char held[512];
    FILE *f;

    if (!path || access(path, F_OK) != 0)
        return;
    snprintf(held, sizeof held, "%s.held", path);
    if ((f = fopen(held, "w"))) {
        fprintf(f, "%d\n", n);
        fclose(f);
    }
    while (access(path, F_OK) == 0) {
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
    } else { /* its text passed lk_inbound_check at submit (pipeline.c) */
        m->res = GW_R_INTERNAL;
        gw_log(GW_LOG_ERROR, "message failed, its work undone",
               "channel=%s user=%08lx err=\"%s\" store=\"%s\"", m->in.channel,
               gw_pl_user_tag(m->in.user), lk_strerror(err), lk_store_errmsg(w->store));
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

/* Takes up to max messages from the head of w's queue (w->mu held, the
 * queue not empty): the first, the last in *last (its next NULL), how many
 * in *n. */
static gw_msg *cut(worker *w, int max, gw_msg **last, int *n)
{
    gw_msg *first = w->q.head;

    for (*last = first, *n = 1; *n < max && (*last)->next; (*n)++)
        *last = (*last)->next;
    w->q.head = (*last)->next;
    if (!w->q.head)
        w->q.tail = NULL;
    (*last)->next = NULL;
    w->depth -= *n;
    return first;
}

/* Sync behind: while the syncer still has batches to sync, what this batch
 * commits now could not be answered before the sync after those anyway. So
 * the worker keeps its transaction open and takes the messages that come in
 * meanwhile, up to batch_max in all (len: the batch's so far), and commits
 * once the syncer is free: fewer commits, each with more messages, and no
 * answer later for it. Messages queued after a SIGHUP swapped the flow wait
 * for the next batch, which takes the new flow (the batch's flow is the one
 * its runtime has). The chain taken, appended after *last, or NULL: commit. */
static gw_msg *grow(worker *w, gw_msg **last, int *len)
{
    gw_msg *first = NULL, *end;
    int n = 0, swapped;

    pthread_mutex_lock(&w->mu);
    while (!w->q.head && !w->stop && atomic_load(&gw_pl.sync_behind) > 0) {
        w->idle = w->await_sync = 1;
        pthread_cond_wait(&w->cv, &w->mu);
        w->idle = w->await_sync = 0;
    }
    pthread_mutex_lock(&gw_pl.mu);
    swapped = lk_runtime_flow(w->rt) != gw_pl.flow;
    pthread_mutex_unlock(&gw_pl.mu);
    if (w->q.head && !swapped && atomic_load(&gw_pl.sync_behind) > 0) {
        first = cut(w, gw_pl.batch_max - *len, &end, &n);
        (*last)->next = first;
        *last = end;
    }
    pthread_mutex_unlock(&w->mu);
    if (first) {
        gw_metrics_queue_depth(-n);
        *len += n;
    }
    return first;
}

/* Steps and commits one batch (step 2); 1 when it committed outbox rows. A
 * batch that failed on a lock conflict (lk_store_retryable) is rolled back
 * and run again from its first message, up to BATCH_TRIES times: nothing of
 * it was committed or answered. */
static int run_batch(worker *w, gw_msg *batch, gw_msg **last)
{
    gw_msg *m, *more = batch;
    int lost = 0, n = 0, outbox = 0, tries = 0, len = 0;
    lk_err err = LK_OK;

    for (m = batch; m; m = m->next)
        len++;

    pthread_mutex_lock(&gw_pl.mu); /* a SIGHUP swaps it between two batches */
    if (lk_runtime_flow(w->rt) != gw_pl.flow)
        lk_runtime_set_flow(w->rt, gw_pl.flow);
    pthread_mutex_unlock(&gw_pl.mu);
again:
    more = batch;
    for (m = batch; m && !m->todo; m = m->next)
        ;
    if (m && (err = lk_store_begin(w->store)) == LK_OK) {
        lost = (err = lock_users(w, batch)) != LK_OK;
        do {
            for (m = more; m && !lost; m = m->next)
                if (m->todo) {
                    lost = step_one(w, m);
                    n++;
                    outbox |= m->res == GW_R_OK && m->in.render && lk_out_count(m->out) > 0;
                }
        } while (!lost && gw_pl.behind && len < gw_pl.batch_max && (more = grow(w, last, &len)));
        if (!lost) {
            gw_pl_hold(gw_pl.hold, n);
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
    return outbox && !lost && err == LK_OK;
}

/* Takes the batch waiting in w's queue: NULL when w was stopped and its
 * queue is empty. */
static gw_msg *take(worker *w, gw_msg **last)
{
    gw_msg *first = NULL;
    int n = 0;

    pthread_mutex_lock(&w->mu);
    while (!w->q.head && !w->stop) {
        w->idle = 1;
        pthread_cond_wait(&w->cv, &w->mu);
        w->idle = 0;
    }
    if (w->q.head && gw_pl.batch_wait_us > 0 && w->depth < gw_pl.batch_max && !w->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long)gw_pl.batch_wait_us * 1000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        while (w->depth < gw_pl.batch_max && !w->stop) {
            w->idle = 1;
            if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT) {
                w->idle = 0;
                break;
            }
            w->idle = 0;
        }
    }
    if (w->q.head)
        first = cut(w, gw_pl.batch_max, last, &n);
    pthread_mutex_unlock(&w->mu);
    if (first)
        gw_metrics_queue_depth(-n);
    return first;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    gw_msg *batch, *last = NULL;
    int outbox;

    while ((batch = take(w, &last))) {
        outbox = run_batch(w, batch, &last);
        if (gw_pl.behind) { /* step 3, after the syncer's fdatasync */
            gw_pl_sync_push(batch, last, outbox);
            continue;
        }
        if (outbox) /* step 3 */
            gw_wake_sender();
        gw_pl_done_push(batch, last);
    }
    return NULL;
}

lk_err gw_pl_worker_open(gw_server *s, worker *w)
{
    pthread_condattr_t ca;
    lk_err err;

    /* the writer's bound on the WAL (see server.c) */
    if ((err = gw_thread_store_open(&s->cfg, 2 * s->cfg.wal_max, &w->store)) != LK_OK)
        return err;
    /* SQLite at FULL: commits at NORMAL, the syncer syncs behind them */
    if (s->cfg.sync == LK_SYNC_FULL && lk_store_defer_sync(w->store))
        gw_pl.behind = 1;
    if (!(w->rt = lk_runtime_new(s->flow, w->store)) ||
        !(w->chans = calloc((size_t)s->cfg.batch_max, sizeof *w->chans)) ||
        !(w->users = calloc((size_t)s->cfg.batch_max, sizeof *w->users)))
        return LK_ENOMEM;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* take()'s deadline is monotonic */
    pthread_mutex_init(&w->mu, NULL);
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
