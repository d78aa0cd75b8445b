/* The sender thread of `loket serve`, on its own lk_store connection so that
 * it never blocks the loop's transactions for long. Its turn, in order:
 *
 * 1. Statuses the WhatsApp route handed over (sendq.c) are stored, all of a
 *    turn in one transaction, on the rows whose remote id they name.
 * 2. Read receipts the route handed over start first, one request each
 *    (POST /{phone_number_id}/messages with status read and the typing
 *    indicator); while one is in flight, its user's next reply waits, so the
 *    user sees the message read and the bot typing before the answer.
 * 3. Due outbox rows start, up to send_inflight requests at once with
 *    libcurl's multi interface, each bounded by send_timeout, so that a
 *    Graph API that hangs on one request holds up only that user.
 *    lk_store_outbox_due hands out at most the oldest pending row per user
 *    and a user with a request in flight gets no other, so one user's
 *    replies leave strictly in order, even while one of them is retried.
 *    Each row takes a token of its phone number's rate (wa_rate, sendpol.c);
 *    a row without one waits for the next token. A row committed more than
 *    24 hours after the user's last message (the session's update time, read
 *    only for such old rows) would be refused by Meta: it goes as the flow's
 *    outside_window template instead, or is kept unsent when there is none.
 * 4. Answers are classified by the row's channel (its classify in the
 *    channel table, channels.c: graph.c for WhatsApp) and recorded
 *    (sendrec.c): a 2xx marks the row sent with its messages[0].id (a 2xx
 *    without it was still taken: sending it again would deliver it
 *    twice); a temporary error retries with
 *    exponential backoff and jitter; the pair rate limit (131056) retries no
 *    sooner than Meta's six seconds per user; the throughput limit (130429)
 *    pauses the number; a refused token or permission pauses every request,
 *    keeps the reply however long it takes and logs an ERROR an operator
 *    sees; 131047 (outside the window) sends the template in the same slot;
 *    anything that can never succeed is dropped with its error code kept.
 *    A request that never reached the Graph API (no address, connection
 *    refused, no connection in time) is no answer at all: the API is down
 *    for everyone, so every request pauses (sendpol.c: doubling pauses, one
 *    request at a time trying after each, logged once as it begins and
 *    once as it ends) and the row goes back unchanged, no attempt counted;
 *    while paused the sender does not read the outbox at all.
 *
 * The loop wakes the sender after each commit that added rows and when the
 * route queues something; a timer wakes it for retries and tokens coming due.
 * On stop no new request starts; the ones in flight finish (each within
 * send_timeout) and the thread exits. */
#include "sender_int.h"

#include <stdlib.h>
#include <string.h>

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    lk_buf *b = ud;
    size_t len = size * n;
    if (b->len + len <= MAX_ANSWER)
        lk_buf_put(b, p, len);
    return len;
}

/* The phone number id of an outbox row's channel ("whatsapp:<id>", channels.c);
 * "" for a row of no channel the sender posts (gw_send_start refuses it). */
const char *gw_send_pnid(const char *channel)
{
    const char *acct = "";
    return gw_chan_outbox(channel, &acct) ? acct : "";
}

static void wake_at(gw_sender *s, int64_t wait_us)
{
    int64_t t = gw_mono_us() + wait_us;
    if (!s->wake_at_us || t < s->wake_at_us)
        s->wake_at_us = t;
}

/* ---- requests ------------------------------------------------------------------------- */

static void slot_clear(send_slot *sl)
{
    curl_slist_free_all(sl->hdrs);
    sl->hdrs = NULL;
    lk_buf_free(&sl->url);
    lk_buf_free(&sl->answer);
    lk_buf_free(&sl->body);
    lk_outbox_items_free(sl->it, 1);
    sl->it = NULL;
    sl->kind = SLOT_FREE;
    sl->ch = NULL;
    sl->counted = 0;
    sl->as_template = 0;
    sl->tmpl[0] = '\0';
}

/* Starts a POST of body to {api}/{pnid}/messages in sl (whose kind and row
 * are set); the slot counts as busy until reaped. -1 with why set when it
 * cannot be made. */
int gw_send_start(gw_sender *s, send_slot *sl, const char *pnid, const char *body, long tmo,
                  char *why, size_t wlen)
{
    lk_buf auth = {0};
    int rc = -1;

    if (!*pnid || strspn(pnid, "0123456789") != strlen(pnid)) {
        snprintf(why, wlen, "no phone number id in the outbox channel");
        return -1;
    }
    if (!s->cfg->wa_token) {
        snprintf(why, wlen, "LOKET_WA_TOKEN is not set");
        return -1;
    }
    curl_slist_free_all(sl->hdrs);
    sl->hdrs = NULL;
    lk_buf_reset(&sl->url);
    lk_buf_reset(&sl->answer);
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
    curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(sl->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(sl->easy, CURLOPT_TIMEOUT, tmo);
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
    if (!sl->counted) /* a slot started again (the template) stays counted once */
        gw_metrics_sender_inflight(++s->busy);
    sl->counted = 1;
    rc = 0;
done:
    lk_buf_free(&auth);
    return rc;
}

/* 1 when a request of user on channel is in flight: a reply, or a read
 * receipt of the user's message (which goes first). */
static int user_busy(const gw_sender *s, const char *channel, const char *user)
{
    int i;

    for (i = 0; i < s->nslots; i++) {
        const send_slot *sl = &s->slots[i];
        if (sl->kind == SLOT_REPLY && !strcmp(sl->it->user, user) &&
            !strcmp(sl->it->channel, channel))
            return 1;
        if (sl->kind == SLOT_READ && !lk_store_outbox_claims(s->store) &&
            !strcmp(sl->note.user, user) && !strcmp(gw_send_pnid(channel), sl->note.pnid))
            return 1;
    }
    return 0;
}

static send_slot *free_slot(gw_sender *s)
{
    int i;

    for (i = 0; i < s->nslots; i++)
        if (s->slots[i].kind == SLOT_FREE)
            return &s->slots[i];
    return NULL;
}

/* Starts up to max of the read receipts waiting, while slots are free;
 * returns how many it took. */
static int start_receipts(gw_sender *s, int max)
{
    gw_sendq_item notes[64];
    int n, i;
    char why[128];

    n = gw_sendq_take(s->q, GW_SQ_READ, notes, max < 64 ? max : 64);
    for (i = 0; i < n; i++) {
        send_slot *sl = free_slot(s);
        cJSON *o;

        if (!sl) {
            gw_sendq_unget(s->q, notes + i, n - i);
            return i;
        }
        sl->kind = SLOT_READ;
        sl->ch = &gw_chan_whatsapp;
        sl->note = notes[i];
        lk_buf_reset(&sl->body);
        if ((o = cJSON_CreateObject())) {
            cJSON *ti;
            cJSON_AddStringToObject(o, "messaging_product", "whatsapp");
            cJSON_AddStringToObject(o, "status", "read");
            cJSON_AddStringToObject(o, "message_id", notes[i].id);
            if ((ti = cJSON_AddObjectToObject(o, "typing_indicator")))
                cJSON_AddStringToObject(ti, "type", "text");
            gw_json_put(&sl->body, o);
            cJSON_Delete(o);
        }
        if (!o || sl->body.oom ||
            gw_send_start(s, sl, notes[i].pnid, lk_buf_str(&sl->body),
                          s->cfg->send_timeout_s < READ_TIMEOUT_S ? s->cfg->send_timeout_s
                                                                  : READ_TIMEOUT_S,
                          why, sizeof why) < 0) {
            gw_sendpol_count(GW_SP_RECEIPT_FAILED);
            slot_clear(sl);
        }
    }
    return n;
}

/* Whether a row would leave outside the 24-hour window. The row was made
 * when a message of its user arrived, so a row younger than the window is
 * inside it; for an older one the user's session says when the user last
 * wrote (a later message reopens the window). *last_ms gets that time. */
static int outside_window(gw_sender *s, const lk_outbox_item *it, int64_t now_ms, int64_t *last_ms)
{
    const char *colon = strchr(it->channel, ':');
    char chan[64];
    int64_t t = 0;
    int found = 0;

    *last_ms = it->created_ms;
    if (now_ms - it->created_ms <= WINDOW_MS)
        return 0;
    /* sessions are keyed by the channel ("whatsapp") or by the number's own */
    if (lk_store_session_time(s->store, it->channel, it->user, &t, &found) == LK_OK && !found &&
        colon) {
        snprintf(chan, sizeof chan, "%.*s", (int)(colon - it->channel), it->channel);
        lk_store_session_time(s->store, chan, it->user, &t, &found);
    }
    if (found && t > *last_ms)
        *last_ms = t;
    return now_ms - *last_ms > WINDOW_MS;
}

/* Starts the reply of row *it in a free slot (taking over the row's
 * strings), or records why it goes no further. */
static void start_reply(gw_sender *s, lk_outbox_item *it)
{
    send_slot *sl = free_slot(s);
    int64_t last_ms, now_ms = gw_now_ms();
    const char *body = it->payload;
    char why[256];

    if (!sl || !(sl->it = malloc(sizeof *sl->it)))
        return;
    *sl->it = *it; /* the slot owns the row's strings now */
    memset(it, 0, sizeof *it);
    sl->kind = SLOT_REPLY;
    if (!(sl->ch = gw_chan_outbox(sl->it->channel, NULL)) || !sl->ch->classify) {
        snprintf(why, sizeof why, "no channel sends outbox rows of '%.64s'", sl->it->channel);
        gw_send_retry(s, sl->it, gw_send_backoff(s, sl->it->attempts), 0, why);
        slot_clear(sl);
        return;
    }
    if (outside_window(s, sl->it, now_ms, &last_ms)) {
        int rc;
        if (gw_sendpol_template_since(s->pol, sl->it->channel, sl->it->user, last_ms)) {
            gw_send_skipped(s, sl->it, 0);
            slot_clear(sl);
            return;
        }
        if ((rc = gw_send_use_template(s, sl)) == 0) {
            gw_send_unsent(s, sl->it, 0);
            slot_clear(sl);
            return;
        }
        body = rc == 1 ? lk_buf_str(&sl->body) : NULL;
    }
    if (!body) {
        snprintf(why, sizeof why, "out of memory");
    } else if (gw_send_start(s, sl, gw_send_pnid(sl->it->channel), body,
                             (long)s->cfg->send_timeout_s, why, sizeof why) == 0) {
        return;
    }
    gw_send_retry(s, sl->it, gw_send_backoff(s, sl->it->attempts), 0, why);
    slot_clear(sl);
}

/* Starts requests for the due rows whose users have none in flight, while
 * slots are free and the numbers have tokens. lk_store_outbox_due gives the
 * oldest pending row per user, which for a user in flight is the row in
 * flight: asking for as many rows as there are slots always finds every
 * free slot's row, if there is one. */
static void fill(gw_sender *s)
{
    lk_outbox_item *items = NULL;
    int i, n = 0;
    int64_t now_us = gw_mono_us(), wait;

    /* a store that claims (PostgreSQL) hands out no row in flight: a row
     * asked for and not started would wait for its lease */
    int want = lk_store_outbox_claims(s->store) ? s->nslots - s->busy : s->nslots;

    /* without a token nothing can go: the replies wait in the outbox,
     * unchanged, for a server started with one (said once at start) */
    if (!s->cfg->wa_token)
        return;
    /* the token was refused or the Graph API cannot be reached: nothing
     * goes, and the outbox is not read, until the pause ends */
    if ((wait = gw_sendpol_wait(s->pol, now_us)) > 0) {
        wake_at(s, wait);
        return;
    }
    /* after such a pause, one request tries it before the others go (a
     * read receipt waiting, else the reply due first) */
    if (gw_sendpol_probing(s->pol)) {
        if (s->busy > 0)
            return; /* the one request trying is still out */
        if (start_receipts(s, 1) > 0)
            return;
        want = 1;
    } else {
        start_receipts(s, s->nslots - s->busy);
    }
    if (want <= 0 || s->busy >= s->nslots)
        return;
    gw_sendpol_count(GW_SP_QUERY);
    if (lk_store_outbox_due(s->store, gw_now_ms(), want, &items, &n) != LK_OK) {
        gw_log(GW_LOG_ERROR, "outbox query failed", "why=\"%s\"", lk_store_errmsg(s->store));
        return;
    }
    /* sync behind (pipeline_sync.c): a row may be committed and not yet on
     * disk; this fdatasync of the WAL covers it (cheap when nothing is
     * dirty, a no-op on PostgreSQL); the rows stay due */
    if (n > 0 && s->cfg->sync == LK_SYNC_FULL && lk_store_wal_sync(s->store) != LK_OK) {
        gw_log(GW_LOG_ERROR, "WAL sync failed, replies held back", "why=\"%s\"",
               lk_store_errmsg(s->store));
        lk_outbox_items_free(items, n);
        wake_at(s, 1000 * 1000);
        return;
    }
    for (i = 0; i < n && s->busy < s->nslots && (!gw_sendpol_probing(s->pol) || !s->busy); i++) {
        if (user_busy(s, items[i].channel, items[i].user))
            continue;
        if ((wait = gw_sendpol_take(s->pol, gw_send_pnid(items[i].channel), now_us)) > 0) {
            gw_sendpol_count(GW_SP_PACED);
            wake_at(s, wait);
            /* a claimed row would wait for its lease: hand it back, due at the token */
            if (lk_store_outbox_claims(s->store))
                lk_store_outbox_retry(s->store, items[i].id, gw_now_ms() + wait / 1000 + 1,
                                      "held back by wa_rate");
            continue;
        }
        start_reply(s, &items[i]);
    }
    lk_outbox_items_free(items, n);
}

/* 1 when a request failed before it reached the Graph API: no address, no
 * connection, or none within the connect timeout (a timeout before the
 * request went out). Nothing about its row failed, and every other request
 * would fail the same way. A request that went out and then failed (a
 * reset, no answer within send_timeout) may be its row's own trouble. */
static int unreached(CURLcode rc, CURL *easy)
{
    curl_off_t pre = -1;

    if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
        rc == CURLE_COULDNT_CONNECT)
        return 1;
    return rc == CURLE_OPERATION_TIMEDOUT &&
           curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pre) == CURLE_OK && pre == 0;
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
        char why[400];

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
        curl_multi_remove_handle(s->multi, m->easy_handle);
        if (!sl || sl->kind == SLOT_FREE)
            continue;
        memset(&a, 0, sizeof a);
        if (m->data.result == CURLE_OK) {
            gw_sendpol_reachable(s->pol, gw_mono_us()); /* an answer, whatever it says */
            curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &status);
            v = sl->ch->classify(status, sl->answer.p, sl->answer.len, &a);
            if (s->cfg->wa_token && *s->cfg->wa_token && strstr(a.message, s->cfg->wa_token))
                snprintf(a.message, sizeof a.message, "(a message quoting the token)");
            if (a.code)
                snprintf(why, sizeof why, "HTTP %ld code %ld: %.200s", status, a.code, a.message);
            else
                snprintf(why, sizeof why, "HTTP %ld%s%.200s", status, a.message[0] ? ": " : "",
                         a.message);
        } else {
            snprintf(why, sizeof why, "%s",
                     sl->err[0] ? sl->err : curl_easy_strerror(m->data.result));
        }
        done++;
        if (m->data.result != CURLE_OK && unreached(m->data.result, sl->easy)) {
            int64_t pause_ms = gw_send_down_pause(s, gw_sendpol_unreachable_level(s->pol));

            gw_sendpol_unreachable(s->pol, gw_mono_us(), pause_ms * 1000, why);
            if (sl->kind == SLOT_READ)
                gw_sendpol_count(GW_SP_RECEIPT_FAILED);
            else
                gw_send_unreached(s, sl->it);
        } else if (sl->kind == SLOT_READ) {
            gw_sendpol_answer(s->pol, sl->note.pnid, v, gw_mono_us());
            gw_sendpol_count(v == GW_SEND_SENT ? GW_SP_RECEIPT_SENT : GW_SP_RECEIPT_FAILED);
            gw_log(v == GW_SEND_SENT ? GW_LOG_DEBUG : GW_LOG_INFO,
                   v == GW_SEND_SENT ? "read receipt sent" : "read receipt not taken",
                   "status=%ld code=%ld", status, a.code);
        } else if (gw_send_finish(s, sl, v, status, &a, why)) {
            continue; /* started again in the same slot */
        }
        if (sl->counted)
            gw_metrics_sender_inflight(--s->busy);
        slot_clear(sl);
    }
    return done;
}

/* The sender's loop: ask the store for due rows when woken, when a request
 * completed (the user's next row may go), when a token or pause comes due
 * and every sender_poll (retries coming due); then let libcurl run every
 * request in flight, each bounded by send_timeout. On stop, no new request
 * starts and the ones in flight finish. */
static void *sender_main(void *arg)
{
    gw_sender *s = arg;
    int64_t last_query = 0;
    int query = 1;

    for (;;) {
        int running = 0, stop = atomic_load(&s->stop), tmo;
        int64_t now = gw_mono_us();

        s->beat_us = now;
        if (stop && s->busy == 0)
            break;
        if (atomic_exchange(&s->woken, 0))
            query = 1;
        if ((now - last_query) / 1000 >= s->cfg->sender_poll_ms)
            query = 1;
        if (s->wake_at_us && now >= s->wake_at_us) {
            s->wake_at_us = 0;
            query = 1;
        }
        gw_sendq_store_statuses(s->q, s->store);
        if (!stop && query && s->busy < s->nslots && atomic_load(&s->ready)) {
            fill(s);
            last_query = gw_mono_us();
        }
        query = 0;
        curl_multi_perform(s->multi, &running);
        if (reap(s) > 0) {
            query = 1;
            continue;
        }
        tmo = s->busy ? 100 : (int)(s->cfg->sender_poll_ms < 1000 ? s->cfg->sender_poll_ms : 1000);
        if (s->wake_at_us) {
            int64_t w = (s->wake_at_us - gw_mono_us()) / 1000 + 1;
            if (w < tmo)
                tmo = w < 1 ? 1 : (int)w;
        }
        curl_multi_poll(s->multi, NULL, 0, tmo, NULL);
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
            if (s->slots[i].kind != SLOT_FREE)
                curl_multi_remove_handle(s->multi, s->slots[i].easy);
            curl_easy_cleanup(s->slots[i].easy);
        }
        slot_clear(&s->slots[i]);
    }
    free(s->slots);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    lk_store_close(s->store);
    gw_sendq_free(s->q);
    gw_sendpol_free(s->pol);
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
        !(s->multi = curl_multi_init()) || !(s->q = gw_sendq_new()) ||
        !(s->pol = gw_sendpol_new(cfg))) {
        sender_free(s);
        return LK_ENOMEM;
    }
    for (i = 0; i < s->nslots; i++)
        if (!(s->slots[i].easy = curl_easy_init())) {
            sender_free(s);
            return LK_ENOMEM;
        }
    curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)s->nslots);
    if (!cfg->wa_token)
        gw_log(GW_LOG_WARN,
               "LOKET_WA_TOKEN is not set: WhatsApp replies wait in the outbox for a start with it",
               NULL);
    if (gw_thread_store_open(cfg, 0, &s->store) != LK_OK ||
        pthread_create(&s->th, NULL, sender_main, s)) {
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
    /* Once is enough until the sender looks: it takes everything queued
     * after it cleared the flag. A wake per message would cost the loop a
     * write to libcurl's socket pair and the sender a turn for each. */
    if (!atomic_exchange(&s->woken, 1))
        curl_multi_wakeup(s->multi); /* the one multi call safe from another thread */
}

void gw_sender_set_template(gw_sender *s, const char *pnid, const lk_flow_template *t)
{
    if (s)
        gw_sendpol_set_template(s->pol, pnid, t);
}

void gw_sender_ready(gw_sender *s)
{
    if (!s)
        return;
    atomic_store(&s->ready, 1);
    gw_sender_wake(s);
}

/* Loop thread: the sender is woken once after the loop's turn
 * (gw_sender_flush), not for each receipt and status of the turn. */
static void queue(gw_sender *s, const gw_sendq_item *it)
{
    if (gw_sendq_push(s->q, it) == 1 && it->kind == GW_SQ_READ)
        gw_sendpol_count(GW_SP_RECEIPT_DROPPED);
    s->queued = 1;
}

void gw_sender_flush(gw_sender *s)
{
    if (s && s->queued) {
        s->queued = 0;
        gw_sender_wake(s);
    }
}

void gw_sender_read(gw_sender *s, const char *pnid, const char *user, const char *wamid)
{
    gw_sendq_item it;

    /* without a token none could go (fill): not queued at all */
    if (!s || !s->cfg->wa_read_receipts || !s->cfg->wa_token || !pnid || !user || !wamid)
        return;
    memset(&it, 0, sizeof it);
    it.kind = GW_SQ_READ;
    if (strlen(pnid) >= sizeof it.pnid || strlen(user) >= sizeof it.user ||
        strlen(wamid) >= sizeof it.id)
        return;
    strcpy(it.pnid, pnid);
    strcpy(it.user, user);
    strcpy(it.id, wamid);
    it.at_ms = gw_now_ms();
    queue(s, &it);
}

void gw_sender_status(gw_sender *s, const char *pnid, const char *wamid, const char *status,
                      int code)
{
    gw_sendq_item it;

    gw_sendpol_count_status(status);
    if (!s || !pnid || !wamid || !status || strlen(pnid) >= sizeof it.pnid ||
        strlen(wamid) >= sizeof it.id || strlen(status) >= sizeof it.status)
        return;
    memset(&it, 0, sizeof it);
    it.kind = GW_SQ_STATUS;
    strcpy(it.pnid, pnid);
    strcpy(it.id, wamid);
    strcpy(it.status, status);
    it.code = code;
    it.at_ms = gw_now_ms();
    queue(s, &it);
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
