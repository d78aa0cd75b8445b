/* The inside of the sender thread, shared by its files:
 *
 *   sender.c    the thread's loop, the requests (libcurl), read receipts, the
 *               outbox rows it starts, the route's calls
 *   sendrec.c   what an answer does to its row: sent, retried, dropped, the
 *               template in its place
 *
 * Only the sender thread touches a gw_sender, but for the fields marked
 * atomic and the lists of sendq.c. */
#ifndef LOKET_SENDER_INT_H
#define LOKET_SENDER_INT_H

#include "gw.h"

#include <curl/curl.h>
#include <stdatomic.h>

#define MAX_ANSWER (64 * 1024)
#define WINDOW_MS (24 * 3600 * 1000LL) /* Meta's customer service window */
#define READ_TIMEOUT_S 5               /* a read receipt is worth less than a reply */

enum { SLOT_FREE, SLOT_REPLY, SLOT_READ };

/* One request in flight: a reply (its row, owned, a one-element
 * lk_outbox_items array) or a read receipt, and what libcurl needs until
 * the answer is in. */
typedef struct send_slot {
    CURL *easy;
    int kind;
    const gw_chan *ch;  /* the channel whose row or receipt it is (channels.c) */
    lk_outbox_item *it; /* SLOT_REPLY */
    gw_sendq_item note; /* SLOT_READ */
    int counted;        /* in s->busy */
    int as_template;    /* SLOT_REPLY: the body is the outside_window template */
    char tmpl[64];      /* its name */
    lk_buf body;        /* the request body when it is not it->payload */
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
    gw_sendq *q;
    gw_sendpol *pol;
    int64_t wake_at_us; /* a token or a pause ends then: look at the outbox again */
    atomic_int stop, woken, ready;
    int queued;    /* loop thread: receipts or statuses queued since its last gw_sender_flush */
    uint64_t prng; /* jitter only; xorshift seeded from the OS */
    /* the loop's last turn (monotonic) and its end, for gw_sender_alive */
    _Atomic int64_t beat_us;
    _Atomic int exited;
};

/* ---- sender.c ---- */
const char *gw_send_pnid(const char *channel); /* the phone number id of "whatsapp:<id>" */
/* Starts a POST of body to {api}/{pnid}/messages in sl (whose kind and row
 * are set); the slot counts as busy until reaped. -1 with why set when it
 * cannot be made. */
int gw_send_start(gw_sender *s, send_slot *sl, const char *pnid, const char *body, long tmo,
                  char *why, size_t wlen);

/* ---- sendrec.c ---- */
/* Exponential backoff: base * 2^attempts up to the cap, half of it random. */
int64_t gw_send_backoff(gw_sender *s, int attempts);
/* The pause (ms) of every request after the failed-th request in a row that
 * could not reach the Graph API: the same from retry_base, up to a minute. */
int64_t gw_send_down_pause(gw_sender *s, int failed);
void gw_send_drop(gw_sender *s, const lk_outbox_item *it, const char *why, long status,
                  const char *msg);
void gw_send_retry(gw_sender *s, const lk_outbox_item *it, int64_t next, long status,
                   const char *why);
/* The row's request never reached the Graph API: handed back unchanged. */
void gw_send_unreached(gw_sender *s, const lk_outbox_item *it);
/* The reply of sl goes as its number's outside_window template (into
 * sl->body): 1; 0 when the flow names none; -1 out of memory. */
int gw_send_use_template(gw_sender *s, send_slot *sl);
/* The reply leaves the queue unsent: outside the window, and no template
 * (gw_send_unsent), or the template of this silence went already (skipped). */
void gw_send_unsent(gw_sender *s, const lk_outbox_item *it, long status);
void gw_send_skipped(gw_sender *s, const lk_outbox_item *it, long status);
/* Records the outcome of one reply. Returns 1 when the slot was started
 * again (the template after a 131047), 0 when it is done. */
int gw_send_finish(gw_sender *s, send_slot *sl, enum gw_send_verdict v, long status,
                   const gw_graph_answer *a, const char *why);

#endif
