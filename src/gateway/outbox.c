/* The two background threads of `loket serve`, each on its own lk_store
 * connection so that neither ever blocks the loop's transactions for long:
 *
 * The sender posts due outbox rows to the WhatsApp Cloud API with libcurl. A
 * row is marked sent only on a 2xx answer carrying messages[0].id; anything
 * else is retried with exponential backoff and jitter. lk_store_outbox_due
 * hands out at most the oldest pending row per user, so one user's replies
 * leave in order even while one of them is being retried. The loop wakes the
 * sender after each commit that added rows; a timer wakes it too, for retries
 * coming due. On stop it finishes the request in flight and exits.
 *
 * The maintenance thread runs the WAL checkpoints (the loop's connection has
 * automatic checkpoints off, keeping them off the message path), keeps the
 * WAL under wal_max (see checkpoint() below) and prunes dedup records older
 * than the dedup_keep setting. */
#include "gw.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 16
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

static int sleeper_stopped(sleeper *s)
{
    int stop;
    pthread_mutex_lock(&s->mu);
    stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static lk_err open_store(const gw_config *cfg, lk_store **out)
{
    lk_store_opts so;
    lk_diag diag = {0};
    lk_err err;

    lk_store_opts_default(&so);
    so.sync = cfg->sync;
    so.wal_autocheckpoint = 0;
    if ((err = lk_store_open(cfg->db, &so, out, &diag)) != LK_OK)
        gw_log(GW_LOG_ERROR, "cannot open the database", "db=\"%s\" why=\"%s\"", cfg->db,
               diag.n ? diag.items[0].msg : lk_strerror(err));
    lk_diag_clear(&diag);
    return err;
}

/* ---- the sender ------------------------------------------------------------------------ */

struct gw_sender {
    pthread_t th;
    sleeper sl;
    const gw_config *cfg;
    lk_store *store;
    CURL *curl;
    uint64_t prng; /* jitter only; xorshift seeded from the OS */
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

/* Posts one row. 0 and remote_id set when the API took it; -1 with why set
 * when it did not, and *status the HTTP status (0 when there was none). */
static int post(gw_sender *s, const lk_outbox_item *it, char *remote_id, size_t rlen, char *why,
                size_t wlen, long *status)
{
    const char *pnid = strchr(it->channel, ':');
    struct curl_slist *hdrs = NULL;
    lk_buf url = {0}, auth = {0}, answer = {0};
    cJSON *j = NULL;
    const char *id;
    CURLcode cc;
    int rc = -1;

    *status = 0;
    if (strncmp(it->channel, "whatsapp:", 9) || !pnid[1]) {
        snprintf(why, wlen, "unknown outbox channel '%s'", it->channel);
        return -1;
    }
    if (!s->cfg->wa_token) {
        snprintf(why, wlen, "LOKET_WA_TOKEN is not set");
        return -1;
    }
    lk_buf_printf(&url, "%s/%s/messages", s->cfg->wa_api_url, pnid + 1);
    lk_buf_printf(&auth, "Authorization: Bearer %s", s->cfg->wa_token);
    if (url.oom || auth.oom || !(hdrs = curl_slist_append(NULL, lk_buf_str(&auth))) ||
        !curl_slist_append(hdrs, "Content-Type: application/json")) {
        snprintf(why, wlen, "out of memory");
        goto done;
    }
    curl_easy_reset(s->curl);
    curl_easy_setopt(s->curl, CURLOPT_URL, lk_buf_str(&url));
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, it->payload);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(it->payload));
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, (long)s->cfg->send_timeout_s);
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &answer);
    if ((cc = curl_easy_perform(s->curl)) != CURLE_OK) {
        snprintf(why, wlen, "%s", curl_easy_strerror(cc));
        goto done;
    }
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, status);
    j = cJSON_ParseWithLength(answer.p ? answer.p : "", answer.len);
    if (*status < 200 || *status > 299) {
        const char *m = gw_json_str(cJSON_GetObjectItemCaseSensitive(j, "error"), "message");
        snprintf(why, wlen, "HTTP %ld%s%.200s", *status, m ? ": " : "", m ? m : "");
        goto done;
    }
    id = gw_json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "messages"), 0), "id");
    if (!id || !*id) {
        snprintf(why, wlen, "HTTP %ld without messages[0].id", *status);
        goto done;
    }
    snprintf(remote_id, rlen, "%s", id);
    rc = 0;
done:
    cJSON_Delete(j);
    curl_slist_free_all(hdrs);
    lk_buf_free(&url);
    lk_buf_free(&auth);
    lk_buf_free(&answer);
    return rc;
}

static void send_one(gw_sender *s, const lk_outbox_item *it)
{
    char remote[256], why[256];
    int64_t t0 = gw_mono_us(), next;
    long status;
    lk_err err;

    if (post(s, it, remote, sizeof remote, why, sizeof why, &status) == 0) {
        err = lk_store_outbox_sent(s->store, it->id, remote, gw_now_ms());
        gw_metrics_out(GW_CH_WHATSAPP, 1);
        gw_log(GW_LOG_INFO, "reply sent", "outbox=%lld attempts=%d status=%ld ms=%.1f",
               (long long)it->id, it->attempts, status, (double)(gw_mono_us() - t0) / 1000.0);
        if (err != LK_OK) /* delivered but not marked: it goes again; log loudly */
            gw_log(GW_LOG_ERROR, "reply sent but not marked as sent", "outbox=%lld why=\"%s\"",
                   (long long)it->id, lk_store_errmsg(s->store));
        return;
    }
    /* A 4xx other than a timeout or a rate limit will fail the same way
     * every time (a bad recipient, a closed conversation window): keeping it
     * would hold back the user's later replies forever. So would a reply that
     * has been failing for longer than retry_give_up. */
    if ((status >= 400 && status < 500 && status != 408 && status != 425 && status != 429) ||
        gw_now_ms() - it->created_ms > s->cfg->retry_give_up_ms) {
        gw_metrics_error(GW_E_DROPPED);
        gw_log(GW_LOG_WARN, "reply dropped", "outbox=%lld attempts=%d status=%ld why=\"%s\"",
               (long long)it->id, it->attempts + 1, status, why);
        if (lk_store_outbox_drop(s->store, it->id, why, gw_now_ms()) != LK_OK)
            gw_log(GW_LOG_ERROR, "outbox drop not recorded", "outbox=%lld why=\"%s\"",
                   (long long)it->id, lk_store_errmsg(s->store));
        return;
    }
    next = backoff_ms(s, it->attempts);
    gw_metrics_error(GW_E_SEND);
    gw_log(GW_LOG_WARN, "reply not sent, will retry",
           "outbox=%lld attempts=%d status=%ld retry_ms=%lld", (long long)it->id, it->attempts + 1,
           status, (long long)next);
    if (lk_store_outbox_retry(s->store, it->id, gw_now_ms() + next, why) != LK_OK)
        gw_log(GW_LOG_ERROR, "outbox retry not recorded", "outbox=%lld why=\"%s\"",
               (long long)it->id, lk_store_errmsg(s->store));
}

static void *sender_main(void *arg)
{
    gw_sender *s = arg;

    for (;;) {
        lk_outbox_item *items = NULL;
        int i, n = 0;

        if (sleeper_stopped(&s->sl))
            break;
        if (lk_store_outbox_due(s->store, gw_now_ms(), BATCH, &items, &n) != LK_OK) {
            gw_log(GW_LOG_ERROR, "outbox query failed", "why=\"%s\"", lk_store_errmsg(s->store));
            n = 0;
        }
        for (i = 0; i < n && !sleeper_stopped(&s->sl); i++)
            send_one(s, &items[i]);
        lk_outbox_items_free(items, n);
        if (n == 0 && sleeper_wait(&s->sl, s->cfg->sender_poll_ms))
            break;
    }
    return NULL;
}

lk_err gw_sender_start(const gw_config *cfg, gw_sender **out)
{
    gw_sender *s = calloc(1, sizeof *s);
    char seed[17];

    *out = NULL;
    if (!s)
        return LK_ENOMEM;
    s->cfg = cfg;
    gw_random_hex(seed, 8);
    s->prng = strtoull(seed, NULL, 16) | 1;
    if (sleeper_init(&s->sl)) {
        free(s);
        return LK_ENOMEM;
    }
    if (open_store(cfg, &s->store) != LK_OK || !(s->curl = curl_easy_init()) ||
        pthread_create(&s->th, NULL, sender_main, s)) {
        if (s->curl)
            curl_easy_cleanup(s->curl);
        lk_store_close(s->store);
        sleeper_destroy(&s->sl);
        free(s);
        return LK_EIO;
    }
    *out = s;
    return LK_OK;
}

void gw_sender_wake(gw_sender *s)
{
    if (s)
        sleeper_signal(&s->sl, 0);
}

void gw_sender_stop(gw_sender *s)
{
    if (!s)
        return;
    sleeper_signal(&s->sl, 1);
    pthread_join(s->th, NULL);
    curl_easy_cleanup(s->curl);
    lk_store_close(s->store);
    sleeper_destroy(&s->sl);
    free(s);
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
