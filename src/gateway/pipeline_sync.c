/* The syncer thread of the store pipeline: step 3 of a message's life when
 * the store syncs behind (pipeline.c says all of it; sqlite_sync.c why it is
 * as durable as synchronous FULL). The worker commits at synchronous NORMAL
 * and hands its batch here; the syncer takes every batch waiting, makes them
 * durable with one lk_store_wal_sync and hands them, in order, to the done
 * list. So the fdatasync of one batch overlaps the stepping of the next, and
 * one fdatasync covers every batch committed while the one before ran. */
#include "pipeline_int.h"

#include <stdlib.h>

/* A failed sync: what those batches committed may be lost, so none of it is
 * a success (a retry of the client is deduplicated if it was kept). */
static void fail_all(gw_msg *m, lk_err err)
{
    int n = 0;

    for (; m; m = m->next)
        if (m->res == GW_R_OK || m->res == GW_R_DUP) {
            m->res = GW_R_INTERNAL;
            if (m->out)
                lk_out_reset(m->out);
            n++;
        }
    gw_log(GW_LOG_ERROR, "WAL sync failed, the batches' messages answered as failed",
           "messages=%d err=\"%s\" store=\"%s\"", n, lk_strerror(err),
           lk_store_errmsg(gw_pl.sync_store));
}

static void *sync_main(void *arg)
{
    gw_msg *first, *last, *m;
    int outbox, n, nb, i;
    lk_err err;

    (void)arg;
    for (;;) {
        pthread_mutex_lock(&gw_pl.smu);
        while (!gw_pl.sync.head && !gw_pl.sync_stop)
            pthread_cond_wait(&gw_pl.scv, &gw_pl.smu);
        first = gw_msgq_take(&gw_pl.sync, &last);
        outbox = gw_pl.sync_outbox;
        gw_pl.sync_outbox = 0;
        nb = gw_pl.sync_nb;
        gw_pl.sync_nb = 0;
        pthread_mutex_unlock(&gw_pl.smu);
        if (!first)
            break; /* stopped, and everything handed back */
        for (n = 0, m = first; m; m = m->next)
            n++;
        gw_pl_hold(gw_pl.hold_sync, n);
        err = lk_store_wal_sync(gw_pl.sync_store);
        gw_metrics_sync();
        if (err != LK_OK)
            fail_all(first, err);
        else if (outbox)
            gw_wake_sender(); /* its rows are on disk now */
        gw_pl_done_push(first, last);
        /* a worker keeping its batch open for this sync commits it now
         * (grow in pipeline_worker.c) */
        atomic_fetch_sub(&gw_pl.sync_behind, nb);
        for (i = 0; i < gw_pl.nw; i++) {
            worker *w = &gw_pl.w[i];
            if (!w->started)
                continue;
            pthread_mutex_lock(&w->mu);
            if (w->await_sync) /* not one waiting for messages in take */
                pthread_cond_signal(&w->cv);
            pthread_mutex_unlock(&w->mu);
        }
    }
    return NULL;
}

void gw_pl_sync_init(void)
{
    pthread_mutex_init(&gw_pl.smu, NULL);
    pthread_cond_init(&gw_pl.scv, NULL);
    gw_pl.hold_sync = getenv("LOKET_TEST_HOLD_SYNC");
    if (gw_pl.hold_sync && !*gw_pl.hold_sync)
        gw_pl.hold_sync = NULL;
}

lk_err gw_pl_sync_start(gw_server *s)
{
    lk_err err;

    if (!gw_pl.behind)
        return LK_OK;
    if ((err = gw_thread_store_open(&s->cfg, 0, &gw_pl.sync_store)) != LK_OK)
        return err;
    if (pthread_create(&gw_pl.sync_th, NULL, sync_main, NULL) != 0)
        return LK_ENOMEM;
    gw_pl.sync_started = 1;
    return LK_OK;
}

void gw_pl_sync_push(gw_msg *first, gw_msg *last, int outbox)
{
    pthread_mutex_lock(&gw_pl.smu);
    gw_msgq_put(&gw_pl.sync, first, last);
    gw_pl.sync_outbox |= outbox;
    gw_pl.sync_nb++;
    atomic_fetch_add(&gw_pl.sync_behind, 1);
    pthread_cond_signal(&gw_pl.scv);
    pthread_mutex_unlock(&gw_pl.smu);
}

void gw_pl_sync_stop(void)
{
    if (gw_pl.sync_started) {
        pthread_mutex_lock(&gw_pl.smu);
        gw_pl.sync_stop = 1;
        pthread_cond_signal(&gw_pl.scv);
        pthread_mutex_unlock(&gw_pl.smu);
        pthread_join(gw_pl.sync_th, NULL);
        gw_pl.sync_started = 0;
    }
    lk_store_close(gw_pl.sync_store);
    gw_pl.sync_store = NULL;
}
