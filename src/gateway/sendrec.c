/* What a Graph API answer does to its outbox row (sender.c reads the
 * answers, graph.c classifies them): marked sent with its message id; retried
 * with exponential backoff and jitter, never sooner than Meta's six seconds
 * after a pair rate limit (131056); kept however long it takes while the
 * token or a permission is refused; sent as its number's outside_window
 * template after 131047 (once per silence); dropped, its error and code kept,
 * when it can never succeed or kept failing past retry_give_up; handed back
 * as it was when its request never reached the API. */
#include "sender_int.h"

#include <stdlib.h>
#include <string.h>

#define PAIR_WAIT_MS 6000 /* Meta's pair rate: one message per 6 s to a user */
#define DOWN_CAP_MS 60000 /* the longest pause while the Graph API is out of reach */

static uint64_t next_rand(gw_sender *s)
{
    s->prng ^= s->prng << 13;
    s->prng ^= s->prng >> 7;
    s->prng ^= s->prng << 17;
    return s->prng;
}

/* base * 2^n up to cap, of which the second half is random so that the
 * retries of many rows do not arrive together. */
static int64_t backoff(gw_sender *s, int n, int64_t cap)
{
    int64_t d = s->cfg->retry_base_ms;
    int i;

    for (i = 0; i < n && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    return d / 2 + (int64_t)(next_rand(s) % (uint64_t)(d / 2 + 1));
}

int64_t gw_send_backoff(gw_sender *s, int attempts)
{
    return backoff(s, attempts, s->cfg->retry_cap_ms);
}

int64_t gw_send_down_pause(gw_sender *s, int failed)
{
    return backoff(s, failed,
                   s->cfg->retry_cap_ms < DOWN_CAP_MS ? s->cfg->retry_cap_ms : DOWN_CAP_MS);
}

void gw_send_drop(gw_sender *s, const lk_outbox_item *it, const char *why, long status,
                  const char *msg)
{
    lk_buf b = {0};

    gw_log_kv(&b, "why", why);
    gw_metrics_error(GW_E_DROPPED);
    gw_log(GW_LOG_WARN, msg, "outbox=%lld attempts=%d status=%ld%s", (long long)it->id,
           it->attempts + 1, status, lk_buf_str(&b));
    if (lk_store_outbox_drop(s->store, it->id, why, gw_now_ms()) != LK_OK)
        gw_log(GW_LOG_ERROR, "outbox drop not recorded", "outbox=%lld why=\"%s\"",
               (long long)it->id, lk_store_errmsg(s->store));
    lk_buf_free(&b);
}

void gw_send_retry(gw_sender *s, const lk_outbox_item *it, int64_t next, long status,
                   const char *why)
{
    lk_buf b = {0};

    gw_log_kv(&b, "why", why);
    gw_metrics_error(GW_E_SEND);
    gw_log(GW_LOG_WARN, "reply not sent, will retry",
           "outbox=%lld attempts=%d status=%ld retry_ms=%lld%s", (long long)it->id,
           it->attempts + 1, status, (long long)next, lk_buf_str(&b));
    if (lk_store_outbox_retry(s->store, it->id, gw_now_ms() + next, why) != LK_OK)
        gw_log(GW_LOG_ERROR, "outbox retry not recorded", "outbox=%lld why=\"%s\"",
               (long long)it->id, lk_store_errmsg(s->store));
    lk_buf_free(&b);
}

/* The row's request never reached the Graph API (sender.c pauses every
 * request meanwhile): the row goes back as it was, no attempt counted and
 * nothing logged for it, due again when the API answers. */
void gw_send_unreached(gw_sender *s, const lk_outbox_item *it)
{
    gw_metrics_error(GW_E_SEND);
    if (lk_store_outbox_release(s->store, it->id) != LK_OK)
        gw_log(GW_LOG_ERROR, "outbox release not recorded", "outbox=%lld why=\"%s\"",
               (long long)it->id, lk_store_errmsg(s->store));
}

static void row_sent(gw_sender *s, const send_slot *sl, const char *remote, long status)
{
    const lk_outbox_item *it = sl->it;
    lk_err err = lk_store_outbox_sent(s->store, it->id, *remote ? remote : NULL, gw_now_ms());

    gw_metrics_out(sl->ch->metric, 1);
    if (sl->as_template) {
        gw_sendpol_template_sent(s->pol, it->channel, it->user, gw_now_ms());
        gw_sendpol_count(GW_SP_TEMPLATE);
        gw_log(GW_LOG_INFO, "reply outside the 24-hour window sent as the template",
               "outbox=%lld template=\"%s\"", (long long)it->id, sl->tmpl);
    }
    gw_log(*remote ? GW_LOG_INFO : GW_LOG_WARN,
           *remote ? "reply sent" : "reply sent: the API answered without an id",
           "outbox=%lld attempts=%d status=%ld ms=%.1f", (long long)it->id, it->attempts, status,
           (double)(gw_mono_us() - sl->t0_us) / 1000.0);
    if (err != LK_OK) /* delivered but not marked: it goes again; log loudly */
        gw_log(GW_LOG_ERROR, "reply sent but not marked as sent", "outbox=%lld why=\"%s\"",
               (long long)it->id, lk_store_errmsg(s->store));
}

/* The reply of sl goes as the outside_window template (into sl->body): 1;
 * 0 when the flow names none; -1 out of memory. */
int gw_send_use_template(gw_sender *s, send_slot *sl)
{
    int rc;

    lk_buf_reset(&sl->body);
    rc = gw_sendpol_template_body(s->pol, gw_send_pnid(sl->it->channel), sl->it->payload, &sl->body,
                                  sl->tmpl, sizeof sl->tmpl);
    sl->as_template = rc == 1;
    return rc;
}

void gw_send_unsent(gw_sender *s, const lk_outbox_item *it, long status)
{
    gw_sendpol_count(GW_SP_UNSENT);
    gw_send_drop(s, it,
                 "outside the 24-hour customer service window, and the flow names no "
                 "outside_window template",
                 status, "reply kept unsent: outside the 24-hour window");
}

void gw_send_skipped(gw_sender *s, const lk_outbox_item *it, long status)
{
    gw_sendpol_count(GW_SP_SKIPPED);
    gw_send_drop(s, it, "outside the 24-hour customer service window: the template went already",
                 status, "reply kept unsent: outside the 24-hour window");
}

/* Records the outcome of one reply. Returns 1 when the slot was started
 * again (the template after a 131047), 0 when it is done. */
int gw_send_finish(gw_sender *s, send_slot *sl, enum gw_send_verdict v, long status,
                   const gw_graph_answer *a, const char *why)
{
    const lk_outbox_item *it = sl->it;
    const char *pnid = gw_send_pnid(it->channel);
    int64_t next;
    char err[320];

    gw_sendpol_answer(s->pol, pnid, v, gw_mono_us());
    if (v != GW_SEND_SENT)
        gw_sendpol_count_answer(v);
    switch (v) {
    case GW_SEND_SENT: row_sent(s, sl, a->id, status); return 0;
    case GW_SEND_WINDOW:
        if (!sl->as_template &&
            gw_sendpol_template_since(s->pol, it->channel, it->user, it->created_ms)) {
            gw_send_skipped(s, it, status); /* the template of this silence went */
            return 0;
        }
        if (!sl->as_template) {
            int rc = gw_send_use_template(s, sl);
            if (rc == 0) {
                gw_send_unsent(s, it, status);
                return 0;
            }
            if (rc == 1 && gw_send_start(s, sl, pnid, lk_buf_str(&sl->body),
                                         (long)s->cfg->send_timeout_s, err, sizeof err) == 0) {
                gw_log(GW_LOG_INFO,
                       "reply refused outside the 24-hour window: sending the template",
                       "outbox=%lld template=\"%s\"", (long long)it->id, sl->tmpl);
                return 1;
            }
            gw_send_retry(s, it, gw_send_backoff(s, it->attempts), status,
                          "cannot start the template");
            return 0;
        }
        gw_send_drop(s, it, why, status, "reply dropped: the template was refused too");
        return 0;
    case GW_SEND_AUTH:
        /* kept however long it takes: nothing goes until the token is fixed */
        next = gw_send_backoff(s, it->attempts);
        gw_log(GW_LOG_ERROR,
               "the Graph API refuses the access token or a permission: replies wait "
               "until LOKET_WA_TOKEN is fixed",
               "outbox=%lld status=%ld code=%ld retry_ms=%lld", (long long)it->id, status, a->code,
               (long long)next);
        if (lk_store_outbox_retry(s->store, it->id, gw_now_ms() + next, why) != LK_OK)
            gw_log(GW_LOG_ERROR, "outbox retry not recorded", "outbox=%lld why=\"%s\"",
                   (long long)it->id, lk_store_errmsg(s->store));
        gw_metrics_error(GW_E_SEND);
        return 0;
    case GW_SEND_DROP: gw_send_drop(s, it, why, status, "reply dropped"); return 0;
    case GW_SEND_PAIR:
    case GW_SEND_THROUGHPUT:
    case GW_SEND_RETRY:
        if (gw_now_ms() - it->created_ms > s->cfg->retry_give_up_ms) {
            gw_send_drop(s, it, why, status, "reply dropped");
            return 0;
        }
        next = gw_send_backoff(s, it->attempts);
        if (v == GW_SEND_PAIR && next < PAIR_WAIT_MS)
            next = PAIR_WAIT_MS + (int64_t)(next_rand(s) % 1000);
        gw_send_retry(s, it, next, status, why);
        return 0;
    }
    return 0;
}
