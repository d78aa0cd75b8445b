/* The two background threads of `loket serve`, each on its own lk_store
 * connection so that neither ever blocks the loop's transactions for long:
 *
 * The sender posts due outbox rows to the WhatsApp Cloud API with libcurl's
 * multi interface: up to send_inflight requests at once, each bounded by
 * send_timeout, so that a Graph API that hangs on one request holds up only
 * that user. A row is marked sent on any 2xx answer (its messages[0].id kept
 * when there is one: a 2xx without it was still taken, and sending it again
 * would deliver it twice); gw_graph_answer_parse (graph.c) says which other
 * answers are retried with exponential backoff and jitter and which are
 * dropped. lk_store_outbox_due hands out at most the oldest pending row per
 * user and a user with a request in flight gets no other, so one user's
 * replies leave strictly in order, even while one of them is being retried.
 * The loop wakes the sender after each commit that added rows; a timer wakes
 * it too, for retries coming due. On stop no new request starts; the ones in
 * flight finish (each within send_timeout) and the thread exits.
 *
 * The maintenance thread runs the WAL checkpoints (the loop's connection has
 * automatic checkpoints off, keeping them off the message path), keeps the
 * WAL under wal_max (see checkpoint() below) and prunes dedup records older
 * than the dedup_keep setting. */
#include "gw.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ANSWER (64 * 1024)

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

static lk_err open_store(const gw_config *cfg, lk_store **out)
{
    lk_store_opts so;
    char dbname[256];
    lk_diag diag = {0};
    lk_err err;

    lk_store_opts_default(&so);
    so.sync = cfg->sync;
    so.wal_autocheckpoint = 0;
    if ((err = lk_store_open(cfg->db, &so, out, &diag)) != LK_OK)
        gw_log(GW_LOG_ERROR, "cannot open the database", "db=\"%s\" why=\"%s\"",
               lk_store_redact(cfg->db, dbname, sizeof dbname),
               diag.n ? diag.items[0].msg : lk_strerror(err));
    lk_diag_clear(&diag);
    return err;
}

/* ---- the sender ------------------------------------------------------------------------ */

/* One request in flight: its row (owned, a one-element lk_outbox_items
 * array) and what libcurl needs until the answer is in. */
typedef struct send_slot {
    CURL *easy;
    lk_outbox_item *it; /* NULL: the slot is free */
    struct curl_slist *hdrs;
    lk_buf url, answer;
    int64_t t0_us;
    char err[CURL_ERROR_SIZE];
} send_slot;

struct gw_sender {
    pthread_t th;
    const gw_config *cfg;
    lk_store *store;
    CURLM *multi;
    send_slot *slots;
    int nslots, busy;
    atomic_int stop, woken;
    uint64_t prng; /* jitter only; xorshift seeded from the OS */
    /* the loop's last turn (monotonic) and its end, for gw_sender_alive */
    _Atomic int64_t beat_us;
    _Atomic int exited;
};

static uint64_t next_rand(gw_sender *s)
{
    s->prng ^= s->prng << 13;
    s->prng ^= s->prng >> 7;
    s->prng ^= s->prng << 17;
    return s->prng;
}

/* Exponential backoff: base * 2^attempts up to the cap, of which the second
 * half is random so that retries of many rows do not arrive together. */
static int64_t backoff_ms(gw_sender *s, int attempts)
{
    int64_t d = s->cfg->retry_base_ms;
    int i;

    for (i = 0; i < attempts && d < s->cfg->retry_cap_ms; i++)
        d *= 2;
    if (d > s->cfg->retry_cap_ms)
        d = s->cfg->retry_cap_ms;
    return d / 2 + (int64_t)(next_rand(s) % (uint64_t)(d / 2 + 1));
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    lk_buf *b = ud;
    size_t len = size * n;
    if (b->len + len <= MAX_ANSWER)
        lk_buf_put(b, p, len);
    return len;
}

/* Records the outcome of one row: sent, retried later with backoff, or
 * dropped (refused for good, or failing for longer than retry_give_up). */
static void finish(gw_sender *s, const lk_outbox_item *it, enum gw_send_verdict v, long status,
                   const char *remote, const char *why, int64_t t0_us)
{
    int64_t next;
    lk_buf b = {0};

    if (v == GW_SEND_SENT) {
        lk_err err =
            lk_store_outbox_sent(s->store, it->id, remote && *remote ? remote : NULL, gw_now_ms());
        gw_metrics_out(GW_CH_WHATSAPP, 1);
        gw_log(remote && *remote ? GW_LOG_INFO : GW_LOG_WARN,
               remote && *remote ? "reply sent" : "reply sent: the API answered without an id",
               "outbox=%lld attempts=%d status=%ld ms=%.1f", (long long)it->id, it->attempts,
               status, (double)(gw_mono_us() - t0_us) / 1000.0);
        if (err != LK_OK) /* delivered but not marked: it goes again; log loudly */
            gw_log(GW_LOG_ERROR, "reply sent but not marked as sent", "outbox=%lld why=\"%s\"",
                   (long long)it->id, lk_store_errmsg(s->store));
        return;
    }
    gw_log_kv(&b, "why", why);
    if (v == GW_SEND_DROP || gw_now_ms() - it->created_ms > s->cfg->retry_give_up_ms) {
        gw_metrics_error(GW_E_DROPPED);
        gw_log(GW_LOG_WARN, "reply dropped", "outbox=%lld attempts=%d status=%ld%s",
               (long long)it->id, it->attempts + 1, status, lk_buf_str(&b));
        if (lk_store_outbox_drop(s->store, it->id, why, gw_now_ms()) != LK_OK)
            gw_log(GW_LOG_ERROR, "outbox drop not recorded", "outbox=%lld why=\"%s\"",
                   (long long)it->id, lk_store_errmsg(s->store));
    } else {
        next = backoff_ms(s, it->attempts);
        gw_metrics_error(GW_E_SEND);
        gw_log(GW_LOG_WARN, "reply not sent, will retry",
               "outbox=%lld attempts=%d status=%ld retry_ms=%lld%s", (long long)it->id,
               it->attempts + 1, status, (long long)next, lk_buf_str(&b));
        if (lk_store_outbox_retry(s->store, it->id, gw_now_ms() + next, why) != LK_OK)
            gw_log(GW_LOG_ERROR, "outbox retry not recorded", "outbox=%lld why=\"%s\"",
                   (long long)it->id, lk_store_errmsg(s->store));
    }
    lk_buf_free(&b);
}

static void slot_clear(send_slot *sl)
{
    curl_slist_free_all(sl->hdrs);
    sl->hdrs = NULL;
    lk_buf_free(&sl->url);
    lk_buf_free(&sl->answer);
    lk_outbox_items_free(sl->it, 1);
    sl->it = NULL;
}

/* Starts the request of sl->it. -1 with why set when it cannot be made (the
 * row is then retried like a failed request). */
static int slot_start(gw_sender *s, send_slot *sl, char *why, size_t wlen)
{
    const lk_outbox_item *it = sl->it;
    const char *pnid = NULL;
    lk_buf auth = {0};
    int rc = -1;

    if (!gw_chan_outbox(it->channel, &pnid) || !*pnid) { /* channels.c */
        snprintf(why, wlen, "unknown outbox channel '%s'", it->channel);
        return -1;
    }
    if (!s->cfg->wa_token) {
        snprintf(why, wlen, "LOKET_WA_TOKEN is not set");
        return -1;
    }
    lk_buf_printf(&sl->url, "%s/%s/messages", s->cfg->wa_api_url, pnid);
    lk_buf_printf(&auth, "Authorization: Bearer %s", s->cfg->wa_token);
    if (sl->url.oom || auth.oom || !(sl->hdrs = curl_slist_append(NULL, lk_buf_str(&auth))) ||
        !curl_slist_append(sl->hdrs, "Content-Type: application/json")) {
        snprintf(why, wlen, "out of memory");
        goto done;
    }
    curl_easy_reset(sl->easy);
    sl->err[0] = '\0';
    curl_easy_setopt(sl->easy, CURLOPT_URL, lk_buf_str(&sl->url));
    curl_easy_setopt(sl->easy, CURLOPT_HTTPHEADER, sl->hdrs);
    curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDS, it->payload);
    curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(it->payload));
    curl_easy_setopt(sl->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(sl->easy, CURLOPT_TIMEOUT, (long)s->cfg->send_timeout_s);
    curl_easy_setopt(sl->easy, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(sl->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(sl->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(sl->easy, CURLOPT_WRITEDATA, &sl->answer);
    curl_easy_setopt(sl->easy, CURLOPT_ERRORBUFFER, sl->err);
    curl_easy_setopt(sl->easy, CURLOPT_PRIVATE, sl);
    if (curl_multi_add_handle(s->multi, sl->easy) != CURLM_OK) {
        snprintf(why, wlen, "libcurl refused the request");
        goto done;
    }
    sl->t0_us = gw_mono_us();
    gw_metrics_sender_inflight(++s->busy);
    rc = 0;
done:
    lk_buf_free(&auth);
    return rc;
}

/* 1 when a request of it's user (on its channel) is in flight, or of it. */
static int in_flight(const gw_sender *s, const lk_outbox_item *it)
{
    int i;

    for (i = 0; i < s->nslots; i++) {
        const lk_outbox_item *o = s->slots[i].it;
        if (o &&
            (o->id == it->id || (!strcmp(o->user, it->user) && !strcmp(o->channel, it->channel))))
            return 1;
    }
    return 0;
}

/* Starts requests for the due rows whose users have none in flight, while
 * slots are free. lk_store_outbox_due gives the oldest pending row per user,
 * which for a user in flight is the row in flight: asking for as many rows as
 * there are slots always finds every free slot's row, if there is one. */
static void fill(gw_sender *s)
{
    lk_outbox_item *items = NULL;
    int i, k = 0, n = 0;
    char why[256];

    /* a store that claims (PostgreSQL) hands out no row in flight: a row
     * asked for and not started would wait for its lease */
    int want = lk_store_outbox_claims(s->store) ? s->nslots - s->busy : s->nslots;

    if (want <= 0)
        return;
    if (lk_store_outbox_due(s->store, gw_now_ms(), want, &items, &n) != LK_OK) {
        gw_log(GW_LOG_ERROR, "outbox query failed", "why=\"%s\"", lk_store_errmsg(s->store));
        return;
    }
    for (i = 0; i < n && s->busy < s->nslots; i++) {
        send_slot *sl;
        if (in_flight(s, &items[i]))
            continue;
        while (s->slots[k].it)
            k++;
        sl = &s->slots[k];
        if (!(sl->it = malloc(sizeof *sl->it)))
            break;
        *sl->it = items[i]; /* the slot owns the row's strings now */
        memset(&items[i], 0, sizeof items[i]);
        if (slot_start(s, sl, why, sizeof why) < 0) {
            finish(s, sl->it, GW_SEND_RETRY, 0, NULL, why, gw_mono_us());
            slot_clear(sl);
        }
    }
    lk_outbox_items_free(items, n);
}

/* Handles every request that completed; returns how many did. */
static int reap(gw_sender *s)
{
    CURLMsg *m;
    int left, done = 0;

    while ((m = curl_multi_info_read(s->multi, &left))) {
        send_slot *sl = NULL;
        enum gw_send_verdict v = GW_SEND_RETRY;
        gw_graph_answer a;
        long status = 0;
        char why[320];

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
        curl_multi_remove_handle(s->multi, m->easy_handle);
        if (!sl || !sl->it)
            continue;
        if (m->data.result == CURLE_OK) {
            curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &status);
            v = gw_chan_outbox(sl->it->channel, NULL)
                    ->classify(status, sl->answer.p, sl->answer.len, &a);
            snprintf(why, sizeof why, "HTTP %ld%s%.200s", status, a.message[0] ? ": " : "",
                     a.message);
        } else {
            memset(&a, 0, sizeof a);
            snprintf(why, sizeof why, "%s",
                     sl->err[0] ? sl->err : curl_easy_strerror(m->data.result));
        }
        finish(s, sl->it, v, status, a.id, why, sl->t0_us);
        slot_clear(sl);
        gw_metrics_sender_inflight(--s->busy);
        done++;
    }
    return done;
}

/* The sender's loop: ask the store for due rows when woken, when a request
 * completed (the user's next row may go) and every sender_poll (retries
 * coming due); then let libcurl run every request in flight, each bounded by
 * send_timeout. On stop, no new request starts and the ones in flight finish. */
static void *sender_main(void *arg)
{
    gw_sender *s = arg;
    int64_t last_query = 0;
    int query = 1;

    for (;;) {
        int running = 0, stop = atomic_load(&s->stop);

        s->beat_us = gw_mono_us();
        if (stop && s->busy == 0)
            break;
        if (atomic_exchange(&s->woken, 0))
            query = 1;
        if ((gw_mono_us() - last_query) / 1000 >= s->cfg->sender_poll_ms)
            query = 1;
        if (!stop && query && s->busy < s->nslots) {
            fill(s);
            last_query = gw_mono_us();
        }
        query = 0;
        curl_multi_perform(s->multi, &running);
        if (reap(s) > 0) {
            query = 1;
            continue;
        }
        curl_multi_poll(
            s->multi, NULL, 0,
            s->busy ? 100 : (int)(s->cfg->sender_poll_ms < 1000 ? s->cfg->sender_poll_ms : 1000),
            NULL);
    }
    s->exited = 1;
    return NULL;
}

int gw_sender_alive(gw_sender *s)
{
    /* A turn waits at most sender_poll, a send at most send_timeout, and the
     * outbox query at most the store's busy timeout (5 s). */
    int64_t limit;

    if (!s || s->exited)
        return 0;
    limit = 2 * (s->cfg->sender_poll_ms + (int64_t)s->cfg->send_timeout_s * 1000) + 10000;
    return gw_mono_us() - s->beat_us <= limit * 1000;
}

static void sender_free(gw_sender *s)
{
    int i;

    for (i = 0; s->slots && i < s->nslots; i++) {
        if (s->slots[i].easy) {
            if (s->slots[i].it)
                curl_multi_remove_handle(s->multi, s->slots[i].easy);
            curl_easy_cleanup(s->slots[i].easy);
        }
        slot_clear(&s->slots[i]);
    }
    free(s->slots);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    lk_store_close(s->store);
    free(s);
}

lk_err gw_sender_start(const gw_config *cfg, gw_sender **out)
{
    gw_sender *s = calloc(1, sizeof *s);
    char seed[17];
    int i;

    *out = NULL;
    if (!s)
        return LK_ENOMEM;
    s->cfg = cfg;
    s->beat_us = gw_mono_us();
    gw_random_hex(seed, 8);
    s->prng = strtoull(seed, NULL, 16) | 1;
    s->nslots = cfg->send_inflight > 0 ? cfg->send_inflight : 1;
    if (!(s->slots = calloc((size_t)s->nslots, sizeof *s->slots)) ||
        !(s->multi = curl_multi_init())) {
        sender_free(s);
        return LK_ENOMEM;
    }
    for (i = 0; i < s->nslots; i++)
        if (!(s->slots[i].easy = curl_easy_init())) {
            sender_free(s);
            return LK_ENOMEM;
        }
    curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)s->nslots);
    if (open_store(cfg, &s->store) != LK_OK || pthread_create(&s->th, NULL, sender_main, s)) {
        sender_free(s);
        return LK_EIO;
    }
    *out = s;
    return LK_OK;
}

void gw_sender_wake(gw_sender *s)
{
    if (!s)
        return;
    atomic_store(&s->woken, 1);
    curl_multi_wakeup(s->multi); /* the one multi call safe from another thread */
}

void gw_sender_stop(gw_sender *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    curl_multi_wakeup(s->multi);
    pthread_join(s->th, NULL);
    sender_free(s);
}

/* ---- maintenance ------------------------------------------------------------------------- */

struct gw_maint {
    pthread_t th;
    sleeper sl;
    const gw_config *cfg;
    lk_store *store;
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
 * and grows for as long as the load lasts. So its size is looked at every
 * WAL_POLL_MS, and once it passes wal_max a TRUNCATE checkpoint waits for
 * the writer's commit, holds new writers back while it copies the rest, and
 * cuts the file to zero bytes. The loop waits for it as for any writer.
 * Should the loop keep the lock every time (it holds it for most of a busy
 * second), the loop's connection checkpoints by itself at twice wal_max. */
static void checkpoint(gw_maint *m, int64_t *last_us, int64_t *warned_us)
{
    int64_t wal = 0, now = gw_mono_us();
    int done = 0;

    if (lk_store_wal_size(m->store, &wal) != LK_OK)
        wal = 0;
    if (wal >= m->cfg->wal_max) {
        if (lk_store_checkpoint_truncate(m->store, TRUNCATE_WAIT_MS, &done) != LK_OK)
            gw_log(GW_LOG_WARN, "checkpoint failed", "why=\"%s\"", lk_store_errmsg(m->store));
        else if (!done && now - *warned_us >= 60 * 1000000LL) {
            gw_log(GW_LOG_WARN, "the write-ahead log is over wal_max and still in use: retrying",
                   "bytes=%lld wal_max=%lld", (long long)wal, (long long)m->cfg->wal_max);
            *warned_us = now;
        }
        *last_us = now;
    } else if ((now - *last_us) / 1000 >= m->cfg->checkpoint_ms) {
        if (lk_store_checkpoint(m->store) != LK_OK)
            gw_log(GW_LOG_WARN, "checkpoint failed", "why=\"%s\"", lk_store_errmsg(m->store));
        *last_us = now;
    }
}

static void *maint_main(void *arg)
{
    gw_maint *m = arg;
    int64_t last_prune = gw_mono_us(), last_ckpt = last_prune, warned = 0;
    int64_t poll = m->cfg->checkpoint_ms < WAL_POLL_MS ? m->cfg->checkpoint_ms : WAL_POLL_MS;
    int done = 0;

    prune(m);
    while (!sleeper_wait(&m->sl, poll)) {
        checkpoint(m, &last_ckpt, &warned);
        if ((gw_mono_us() - last_prune) / 1000 >= m->cfg->prune_every_ms) {
            prune(m);
            last_prune = gw_mono_us();
        }
    }
    /* a clean stop leaves no log behind (the loop has stopped writing) */
    if (lk_store_checkpoint_truncate(m->store, 1000, &done) != LK_OK || !done)
        lk_store_checkpoint(m->store);
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
    if (open_store(cfg, &m->store) != LK_OK || pthread_create(&m->th, NULL, maint_main, m)) {
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
