/* Counters of the gateway and their Prometheus text (GET /metrics). The
 * loop thread counts messages, errors and steps; the sender thread counts
 * what it delivered; so every counter is an atomic. */
#include "gw.h"

#include <stdatomic.h>
#include <string.h>

static const char *const channel_names[GW_CH_N] = {"ws", "generic", "whatsapp", "twilio"};
static const char *const error_names[GW_E_N] = {
    "bad_request", "bad_input", "too_large", "signature", "rate_limited", "peer_limit",
    "timeout",     "internal",  "send",      "dropped",   "stale",
};
/* Upper bounds of the step-duration histogram, seconds. */
static const double bucket_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
#define NBUCKETS (sizeof bucket_s / sizeof *bucket_s)

static atomic_ullong msg_in[GW_CH_N], msg_out[GW_CH_N], msg_dup[GW_CH_N];
static atomic_ullong errors[GW_E_N];
static atomic_ullong step_bucket[NBUCKETS + 1]; /* the last is +Inf */
static atomic_ullong step_sum_us;
static atomic_int sender_inflight;
/* the store pipeline (pipeline.c): commits, messages per commit, the queues */
static const double batch_le[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
#define NBATCH (sizeof batch_le / sizeof *batch_le)
static atomic_ullong commits, syncs, batch_bucket[NBATCH + 1], batch_sum;
static atomic_ullong queue_bucket[NBUCKETS + 1], queue_sum_us;
static atomic_llong queue_depth;
/* delivery statuses a platform reported back (Twilio's MessageStatus, ...) */
static const char *const status_names[] = {"queued", "sent",        "delivered", "read",
                                           "failed", "undelivered", "other"};
#define NSTATUS (sizeof status_names / sizeof *status_names)
static atomic_ullong statuses[GW_CH_N][NSTATUS];

enum gw_channel gw_channel_of(const char *name)
{
    int i;
    for (i = 0; i < GW_CH_N; i++)
        if (!strncmp(name, channel_names[i], strlen(channel_names[i])))
            return (enum gw_channel)i;
    return GW_CH_GENERIC;
}

void gw_metrics_in(enum gw_channel ch)
{
    atomic_fetch_add(&msg_in[ch], 1);
}

void gw_metrics_out(enum gw_channel ch, int n)
{
    if (n > 0)
        atomic_fetch_add(&msg_out[ch], (unsigned long long)n);
}

void gw_metrics_dup(enum gw_channel ch)
{
    atomic_fetch_add(&msg_dup[ch], 1);
}

void gw_metrics_error(enum gw_errkind k)
{
    atomic_fetch_add(&errors[k], 1);
}

void gw_metrics_status(enum gw_channel ch, const char *status)
{
    size_t i;

    for (i = 0; i < NSTATUS - 1 && (!status || strcmp(status, status_names[i])); i++)
        ;
    atomic_fetch_add(&statuses[ch][i], 1);
}

void gw_metrics_sender_inflight(int n)
{
    atomic_store(&sender_inflight, n);
}

/* Counts a duration of us microseconds in a histogram of bucket_s. */
static void observe_us(atomic_ullong *bucket, atomic_ullong *sum_us, int64_t us)
{
    size_t i;
    double s = (double)us / 1e6;

    for (i = 0; i < NBUCKETS && s > bucket_s[i]; i++)
        ;
    atomic_fetch_add(&bucket[i], 1);
    atomic_fetch_add(sum_us, (unsigned long long)(us > 0 ? us : 0));
}

void gw_metrics_step(int64_t us)
{
    observe_us(step_bucket, &step_sum_us, us);
}

void gw_metrics_sync(void)
{
    atomic_fetch_add(&syncs, 1);
}

void gw_metrics_commit(int n)
{
    size_t i;

    for (i = 0; i < NBATCH && n > batch_le[i]; i++)
        ;
    atomic_fetch_add(&commits, 1);
    atomic_fetch_add(&batch_bucket[i], 1);
    atomic_fetch_add(&batch_sum, (unsigned long long)(n > 0 ? n : 0));
}

void gw_metrics_queued(int64_t us)
{
    observe_us(queue_bucket, &queue_sum_us, us);
}

void gw_metrics_queue_depth(int delta)
{
    atomic_fetch_add(&queue_depth, delta);
}

void gw_metrics_head(lk_buf *b, const char *name, const char *type, const char *help)
{
    lk_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void gw_metrics_value(lk_buf *b, const char *name, const char *type, const char *help,
                      long long value)
{
    gw_metrics_head(b, name, type, help);
    lk_buf_printf(b, "%s %lld\n", name, value);
}

void gw_metrics_counters(lk_buf *b, const char *name, const char *help, const char *label,
                         const char *const *values, atomic_ullong *counts, int n)
{
    int i;

    gw_metrics_head(b, name, "counter", help);
    for (i = 0; i < n; i++)
        lk_buf_printf(b, "%s{%s=\"%s\"} %llu\n", name, label, values[i], atomic_load(&counts[i]));
}

/* A histogram: its head, then its _bucket, _sum and _count lines. */
static void histogram(lk_buf *b, const char *name, const char *help, const double *le, size_t n,
                      atomic_ullong *buckets, double sum)
{
    unsigned long long cum = 0;
    size_t i;

    gw_metrics_head(b, name, "histogram", help);
    for (i = 0; i < n; i++) {
        cum += atomic_load(&buckets[i]);
        lk_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, le[i], cum);
    }
    cum += atomic_load(&buckets[n]);
    lk_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, cum, name,
                  sum, name, cum);
}

static void render_pipeline(lk_buf *b)
{
    gw_metrics_value(b, "loket_store_commits_total", "counter",
                     "Store transactions committed by the workers.",
                     (long long)atomic_load(&commits));
    gw_metrics_value(b, "loket_store_syncs_total", "counter",
                     "WAL fdatasyncs of the syncer (SQLite at synchronous FULL: one covers every "
                     "commit before it).",
                     (long long)atomic_load(&syncs));
    histogram(b, "loket_store_batch_messages", "Messages per commit.", batch_le, NBATCH,
              batch_bucket, (double)atomic_load(&batch_sum));
    gw_metrics_value(b, "loket_store_queue_depth", "gauge", "Messages waiting for a store worker.",
                     (long long)atomic_load(&queue_depth));
    histogram(b, "loket_store_queue_seconds", "Time from submit until a worker took the message.",
              bucket_s, NBUCKETS, queue_bucket, (double)atomic_load(&queue_sum_us) / 1e6);
}

void gw_metrics_render(lk_buf *b, int64_t active_sessions, int64_t outbox_depth)
{
    size_t i;

    gw_metrics_counters(b, "loket_messages_in_total", "Inbound messages processed, by channel.",
                        "channel", channel_names, msg_in, GW_CH_N);
    gw_metrics_counters(b, "loket_messages_out_total", "Replies delivered, by channel.", "channel",
                        channel_names, msg_out, GW_CH_N);
    gw_metrics_counters(b, "loket_duplicates_total", "Inbound messages acknowledged as duplicates.",
                        "channel", channel_names, msg_dup, GW_CH_N);
    gw_metrics_counters(b, "loket_errors_total", "Refused or failed requests and sends, by kind.",
                        "kind", error_names, errors, GW_E_N);
    gw_metrics_head(b, "loket_statuses_total", "counter",
                    "Delivery statuses reported back, by channel.");
    for (i = 0; i < GW_CH_N; i++) {
        size_t k;
        for (k = 0; k < NSTATUS; k++)
            if (atomic_load(&statuses[i][k]))
                lk_buf_printf(b, "loket_statuses_total{channel=\"%s\",status=\"%s\"} %llu\n",
                              channel_names[i], status_names[k], atomic_load(&statuses[i][k]));
    }
    histogram(b, "loket_step_seconds", "Time to handle one message in its transaction.", bucket_s,
              NBUCKETS, step_bucket, (double)atomic_load(&step_sum_us) / 1e6);
    gw_metrics_value(b, "loket_active_sessions", "gauge",
                     "Sessions with a message in the active window.", (long long)active_sessions);
    gw_metrics_value(b, "loket_outbox_depth", "gauge", "Replies waiting in the outbox.",
                     (long long)outbox_depth);
    gw_metrics_value(b, "loket_sender_inflight", "gauge", "Graph API requests in flight.",
                     (long long)atomic_load(&sender_inflight));
    render_pipeline(b);
    gw_wa_metrics_render(b);
    gw_sendpol_metrics(b); /* the WhatsApp sender's (sendpol.c) */
}
