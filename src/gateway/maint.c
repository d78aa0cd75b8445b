/* The maintenance thread of `loket serve`, on its own lk_store connection:
 * it runs the WAL checkpoints (the loop's connection has
 * automatic checkpoints off, keeping them off the message path), keeps the
 * WAL under wal_max (see checkpoint() below) and prunes dedup records older
 * than the dedup_keep setting. */
#include "gw.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A thread that sleeps until woken, stopped or a timeout. */
typedef struct sleeper {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, woken;
} sleeper;

static int sleeper_init(sleeper *s)
{
    pthread_condattr_t ca;

    memset(s, 0, sizeof *s);
    if (pthread_mutex_init(&s->mu, NULL))
        return -1;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_cond_init(&s->cv, &ca)) {
        pthread_condattr_destroy(&ca);
        pthread_mutex_destroy(&s->mu);
        return -1;
    }
    pthread_condattr_destroy(&ca);
    return 0;
}

static void sleeper_destroy(sleeper *s)
{
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

/* Waits up to ms; returns 1 when the thread should stop. */
static int sleeper_wait(sleeper *s, int64_t ms)
{
    struct timespec ts;
    int stop;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->stop && !s->woken)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts))
            break; /* timed out */
    s->woken = 0;
    stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static void sleeper_signal(sleeper *s, int stop)
{
    pthread_mutex_lock(&s->mu);
    if (stop)
        s->stop = 1;
    s->woken = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

lk_err gw_thread_store_open(const gw_config *cfg, int64_t wal_limit, lk_store **out)
{
    lk_store_opts so;
    char dbname[256];
    lk_diag diag = {0};
    lk_err err;

    lk_store_opts_default(&so);
    so.sync = cfg->sync;
    so.wal_autocheckpoint = 0; /* the maintenance thread checkpoints */
    so.wal_limit = wal_limit;
    if ((err = lk_store_open(cfg->db, &so, out, &diag)) != LK_OK)
        gw_log(GW_LOG_ERROR, "cannot open the database", "db=\"%s\" why=\"%s\"",
               lk_store_redact(cfg->db, dbname, sizeof dbname),
               diag.n ? diag.items[0].msg : lk_strerror(err));
    lk_diag_clear(&diag);
    return err;
}

/* ---- maintenance ------------------------------------------------------------------------- */

struct gw_maint {
    pthread_t th;
    sleeper sl;
    const gw_config *cfg;
    lk_store *store;
    int64_t wal_used; /* of the log, at the last checkpoint (lk_store_checkpoint) */
};

static void prune(gw_maint *m)
{
    int64_t n = 0;
    if (lk_store_prune_seen(m->store, gw_now_ms() - m->cfg->dedup_keep_ms, &n) != LK_OK)
        gw_log(GW_LOG_ERROR, "pruning dedup records failed", "why=\"%s\"",
               lk_store_errmsg(m->store));
    else if (n > 0)
        gw_log(GW_LOG_INFO, "dedup records pruned", "rows=%lld", (long long)n);
}

/* How often the maintenance thread looks at the size of the WAL, and how long
 * a TRUNCATE checkpoint waits for the writer of the moment. Short: while it
 * waits it holds SQLite's checkpoint lock, which keeps the loop's own bound
 * (lk_store_opts.wal_limit, at twice wal_max) from checkpointing. */
#define WAL_POLL_MS 200
#define TRUNCATE_WAIT_MS 100

/* The WAL is copied into the database by a PASSIVE checkpoint every
 * checkpoint_every, which never waits for anyone. Under a writer that never
 * pauses that is not enough: the log is never wholly copied, so never reset,
 * and grows for as long as the load lasts. So the file's size is looked at
 * every WAL_POLL_MS; while it is past wal_max, a PASSIVE checkpoint copies
 * what it can each time (the rest of the work, off the message path) and
 * says how much of the log is in use. Past wal_max a RESTART checkpoint
 * waits for the writer's commit, holds new writers back while it copies the
 * rest, and lets the next commit write the file again from its start: the
 * file keeps its blocks and its cached pages. Once the log stopped growing
 * (the load is over) a TRUNCATE checkpoint gives the disk back. The loop
 * waits for either as for any writer. Should the loop keep the lock every
 * time (it holds it for most of a busy second), the loop's connection
 * checkpoints by itself at twice wal_max. */
static void checkpoint(gw_maint *m, int64_t *last_us, int64_t *warned_us)
{
    int64_t file = 0, used = 0, now = gw_mono_us();
    int done = 0, idle;
    lk_err err;

    if (lk_store_wal_size(m->store, &file) != LK_OK)
        file = 0;
    if (file < m->cfg->wal_max && (now - *last_us) / 1000 < m->cfg->checkpoint_ms)
        return;
    *last_us = now;
    if (lk_store_checkpoint(m->store, &used) != LK_OK) {
        gw_log(GW_LOG_WARN, "checkpoint failed", "why=\"%s\"", lk_store_errmsg(m->store));
        return;
    }
    idle = used == m->wal_used;
    m->wal_used = used;
    if (used < m->cfg->wal_max && !(idle && file >= m->cfg->wal_max))
        return;
    err = idle ? lk_store_checkpoint_truncate(m->store, TRUNCATE_WAIT_MS, &done)
               : lk_store_checkpoint_restart(m->store, TRUNCATE_WAIT_MS, &done);
    if (err != LK_OK)
        gw_log(GW_LOG_WARN, "checkpoint failed", "why=\"%s\"", lk_store_errmsg(m->store));
    else if (!done && now - *warned_us >= 60 * 1000000LL) {
        gw_log(GW_LOG_WARN, "the write-ahead log is over wal_max and still in use: retrying",
               "bytes=%lld wal_max=%lld", (long long)used, (long long)m->cfg->wal_max);
        *warned_us = now;
    }
}

/* Retention (log_keep, outbox_keep, session_keep; lk_store_prune): a batch
 * per table at a time, with a pause between batches that lets the message
 * path take the write lock; at most RETENTION_BATCHES a round, the rest in
 * the next. */
#define RETENTION_BATCHES 2000
#define RETENTION_PAUSE_MS 20

static void retention(gw_maint *m)
{
    int64_t now = gw_now_ms();
    lk_prune_opts o = {0};
    lk_prune_counts n = {0};
    int more = 1, k;

    o.log_before_ms = m->cfg->log_keep_ms ? now - m->cfg->log_keep_ms : 0;
    o.outbox_before_ms = m->cfg->outbox_keep_ms ? now - m->cfg->outbox_keep_ms : 0;
    o.session_before_ms = m->cfg->session_keep_ms ? now - m->cfg->session_keep_ms : 0;
    for (k = 0; more && k < RETENTION_BATCHES && (!k || !sleeper_wait(&m->sl, RETENTION_PAUSE_MS));
         k++)
        if (lk_store_prune(m->store, &o, &n, &more) != LK_OK) {
            gw_log(GW_LOG_ERROR, "pruning old rows failed", "why=\"%s\"",
                   lk_store_errmsg(m->store));
            break;
        }
    if (n.log || n.outbox || n.sessions)
        gw_log(GW_LOG_INFO, "old rows pruned", "log=%lld outbox=%lld sessions=%lld",
               (long long)n.log, (long long)n.outbox, (long long)n.sessions);
}

static void *maint_main(void *arg)
{
    gw_maint *m = arg;
    int64_t last_prune = gw_mono_us(), last_ckpt = last_prune, warned = 0;
    int64_t poll = m->cfg->checkpoint_ms < WAL_POLL_MS ? m->cfg->checkpoint_ms : WAL_POLL_MS;
    int done = 0;

    prune(m);
    retention(m);
    while (!sleeper_wait(&m->sl, poll)) {
        checkpoint(m, &last_ckpt, &warned);
        if ((gw_mono_us() - last_prune) / 1000 >= m->cfg->prune_every_ms) {
            prune(m);
            retention(m);
            last_prune = gw_mono_us();
        }
    }
    /* a clean stop leaves no log behind (the loop has stopped writing) */
    if (lk_store_checkpoint_truncate(m->store, 1000, &done) != LK_OK || !done)
        lk_store_checkpoint(m->store, NULL);
    return NULL;
}

lk_err gw_maint_start(const gw_config *cfg, gw_maint **out)
{
    gw_maint *m = calloc(1, sizeof *m);

    *out = NULL;
    if (!m)
        return LK_ENOMEM;
    m->cfg = cfg;
    if (sleeper_init(&m->sl)) {
        free(m);
        return LK_ENOMEM;
    }
    if (gw_thread_store_open(cfg, 0, &m->store) != LK_OK ||
        pthread_create(&m->th, NULL, maint_main, m)) {
        lk_store_close(m->store);
        sleeper_destroy(&m->sl);
        free(m);
        return LK_EIO;
    }
    *out = m;
    return LK_OK;
}

void gw_maint_stop(gw_maint *m)
{
    if (!m)
        return;
    sleeper_signal(&m->sl, 1);
    pthread_join(m->th, NULL);
    lk_store_close(m->store);
    sleeper_destroy(&m->sl);
    free(m);
}
