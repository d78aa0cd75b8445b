/* The gateway's private interface, shared by the files of src/gateway:
 *
 *   server.c    the context, vhost, signals, the main loop, shutdown, reload
 *   pipeline.c  the message path to the store and back: jobs (pipeline.h),
 *               its store workers in pipeline_worker.c
 *   channels.c  the table of channels and routes (channel.h)
 *   config.c    settings from defaults, a `key = value` file, the environment
 *   http.c      HTTP routing, body collection with caps, the response writer
 *   ws.c        the /chat websocket protocol
 *   wsauth.c    websocket resume tokens and new sessions per address
 *   generic.c   POST /v1/messages, GET /metrics
 *   whatsapp.c  the WhatsApp Cloud API webhook and the payload renderer
 *   twilio.c    the Twilio webhook (form body, signature, TwiML)
 *   sender.c    the sender thread (libcurl): outbox rows to the Graph API
 *   sendrec.c   what an answer does to its row (sender_int.h: their inside)
 *   sendpol.c   the sender's rules: rate per number, token pause, the 24-hour
 *               window's template, the sender's metrics
 *   sendq.c     read receipts and statuses handed from the route to the sender
 *   maint.c     the maintenance thread (checkpoints, pruning)
 *   limits.c    connection caps (global, webhooks, per address or proxied
 *               client) and the per-sender token buckets
 *   metrics.c   counters and the Prometheus text
 *   health.c    GET /healthz: the database and the sender thread, the version
 *   log.c       structured log lines on stderr
 *   util.c      HMAC, hex, base64, UTF-8 cuts, clocks, random ids, escapes
 *   parse.c     the pure parsers of untrusted input (parse.h): JSON with a depth
 *               cap, forms, the Twilio signed string, WhatsApp notifications,
 *               generic messages, websocket frames; the fuzz targets call them
 *   parse_http.c the HTTP framing rules (gw_http_check), raw request heads,
 *               addresses, CIDR ranges and X-Forwarded-For (parse.h)
 *   wsclient.c  the blocking client of `loket replay --url`
 *   console.c   `loket console`
 *   webconsole.c GET /: the web console page with the flow's console texts
 *
 * Only the loop thread touches gw_server fields other than the ones marked
 * otherwise; the sender and maintenance threads own their own lk_store. */
#ifndef LOKET_GW_H
#define LOKET_GW_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#include "loket/core.h"
#include "loket/engine.h"
#include "loket/flow.h"
#include "loket/gateway.h"
#include "loket/runtime.h"
#include "loket/store.h"

#include "parse.h"

#define GW_MAX_BODY (1024 * 1024)     /* HTTP request bodies */
#define GW_MAX_WS_MSG (64 * 1024)     /* one websocket message, all fragments */
#define GW_MAX_WS_QUEUE (1024 * 1024) /* bytes waiting to go to one websocket */

/* 1 when freed requests and buffers may be kept for reuse (http.c, ws.c); 0
 * under AddressSanitizer, which should see every use after free. */
#if defined(__SANITIZE_ADDRESS__)
#define GW_KEEP_FREED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GW_KEEP_FREED 0
#endif
#endif
#ifndef GW_KEEP_FREED
#define GW_KEEP_FREED 1
#endif
#define GW_CHAT_PROTOCOL "loket-chat"

/* ---- config.c ------------------------------------------------------------ */
typedef struct gw_config {
    char *flow, *db, *host;
    int port;
    lk_sync sync;
    int log_level;  /* GW_LOG_* */
    int test_clock; /* clients may set the clock of their conversations */
    int64_t dedup_keep_ms;
    int64_t log_keep_ms, outbox_keep_ms, session_keep_ms; /* retention; 0 keeps forever */
    double rate; /* messages per second per sender (token refill) */
    int burst;   /* bucket size */
    int max_conns_per_peer;
    int max_conns;         /* every connection; 0: derived from RLIMIT_NOFILE at start */
    int max_webhook_conns; /* the share of max_conns kept for /webhook/... */
    gw_cidr *trusted;      /* trusted_proxies: whose X-Forwarded-For is believed (loopback) */
    int ntrusted;
    int ws_ping_s, ws_idle_s;
    int request_timeout_s;
    int keepalive_idle_s; /* an idle kept-alive HTTP connection closes after this; 0: none kept */
    int64_t retry_base_ms, retry_cap_ms;
    int64_t retry_give_up_ms; /* a reply failing for longer than this is dropped */
    int64_t checkpoint_ms, sender_poll_ms, prune_every_ms;
    int64_t active_window_ms;
    int send_timeout_s;
    /* secrets and endpoints, from the environment only; never logged */
    char *wa_verify_token, *wa_app_secret, *wa_token, *wa_api_url;
    char *twilio_token, *public_url;
    char *generic_token; /* LOKET_GENERIC_TOKEN: the bearer /v1/messages wants, if set */
    int send_inflight;   /* Graph API requests in flight at most (one per user) */
    int batch_per_turn;  /* messages of one webhook body handled per loop turn */

    int generic_open;         /* /v1/messages without a token on a non-loopback address */
    int64_t wal_max;          /* bytes: the WAL is checkpointed and truncated past this */
    int ws_sessions_per_conn; /* session ids one websocket may take */
    int ws_new_sessions;      /* new websocket sessions per peer address per minute */
    char *ws_secret;          /* LOKET_WS_SECRET: signs resume tokens (else kept in the db) */
    int store_workers;        /* store worker threads (pipeline.c); 1 for SQLite, 0 unset */
    int batch_max;            /* messages per commit at most */
    int batch_wait_us;        /* how long a worker waits for more before a commit */
    char *wa_numbers;         /* phone_number_id=flow pairs (wa_numbers.c), or NULL */
    int wa_read_receipts;     /* mark WhatsApp messages read, with the typing indicator */
    double wa_rate;           /* Graph API sends per second per phone number id */
    int event_poll;           /* event_loop = poll: lws's poll() loop instead of epoll */
} gw_config;

void gw_config_defaults(gw_config *c);
/* Applies a `key = value` file; errors (unknown key, bad value) go to diag
 * as file:line: why. LK_EIO when the file cannot be read. */
lk_err gw_config_file(gw_config *c, const char *path, lk_diag *diag);
/* Applies LOKET_<KEY> variables for every file key, then reads the secrets. */
lk_err gw_config_env(gw_config *c, lk_diag *diag);
/* Sets one setting from text; src names where it came from for errors. */
lk_err gw_config_set(gw_config *c, const char *key, const char *value, const char *src,
                     lk_diag *diag);
void gw_config_free(gw_config *c);

/* ---- log.c --------------------------------------------------------------- */
enum { GW_LOG_ERROR = 0, GW_LOG_WARN = 1, GW_LOG_INFO = 2, GW_LOG_DEBUG = 3 };

void gw_log_init(int level);
/* One logfmt line on stderr: time=... level=... msg="msg" then the key=value
 * pairs of fmt. Every %s is escaped: fully between quotes (key=\"%s\"),
 * control bytes elsewhere. A line repeated more than 10 times a second is
 * counted instead and summed up with repeated=N. Thread safe. */
void gw_log(int level, const char *msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Writes the repeated=N summaries of the windows that ended (every second, and at exit). */
void gw_log_flush(void);
/* Appends key="value" (quoted, escaped, cut to 200 bytes) to b. */
void gw_log_kv(lk_buf *b, const char *key, const char *value);
/* Logs each item of a flow load's diagnostics (a warning or an error, with
 * file, line, column and path). */
void gw_log_diag(const lk_diag *diag);
/* Routes libwebsockets' own messages into gw_log. */
void gw_log_lws(int level, const char *line);

/* ---- util.c (its HMAC helpers are declared in parse.h) ------------------------ */
/* Prints item unformatted into b (appending); -1 on out of memory. */
int gw_json_put(lk_buf *b, const cJSON *item);
/* One bot reply as JSON: {"type":type (when not NULL),"text":...,"choices":[{"id","title"}]}
 * (choices only for a menu or list). The caller owns it; NULL on out of memory. */
cJSON *gw_reply_json(const lk_reply *r, const char *type);

/* Where s (valid UTF-8) is cut to at most max code points (max >= 1): 0 when
 * it has no more than max, *keep then its length; 1 when it is longer: its
 * first *keep bytes are kept (max - 1 code points at most, trailing spaces
 * dropped) and an ellipsis (U+2026) follows them. */
int gw_utf8_cut_len(const char *s, size_t max, size_t *keep);
/* n random bytes as hex into out (2n + 1 bytes). */
void gw_random_hex(char *out, size_t n);
/* Wall clock (Unix ms) and a monotonic clock (microseconds). */
int64_t gw_now_ms(void);
int64_t gw_mono_us(void);
/* Formats Unix ms as 2026-11-24T02:00:00.000Z. */
void gw_iso_time(int64_t ms, char *out, size_t len);
/* Appends s with & < > " ' and CR escaped for XML, leaving out what XML 1.0
 * forbids (other control characters, U+FFFE, U+FFFF, bytes not UTF-8). */
void gw_xml_escape(lk_buf *b, const char *s);
/* Called by a route once it freed everything a request body of len bytes
 * made (its parsed tree): after a big body, hands the freed heap back to the
 * system, so that memory stays flat after big bodies (mem.c). */
void gw_mem_after_body(size_t len);

/* ---- metrics.c ------------------------------------------------------------ */
enum gw_channel { GW_CH_WS, GW_CH_GENERIC, GW_CH_WHATSAPP, GW_CH_TWILIO, GW_CH_N };
enum gw_errkind {
    GW_E_BAD_REQUEST, /* malformed or too deep JSON, missing fields, bad form */
    GW_E_BAD_INPUT,   /* text refused by lk_inbound_check */
    GW_E_TOO_LARGE,   /* body or websocket message over its cap */
    GW_E_SIGNATURE,   /* webhook signature missing or wrong */
    GW_E_RATE,        /* a sender over its rate */
    GW_E_PEER_LIMIT,  /* a peer address over its connection cap */
    GW_E_TIMEOUT,     /* an HTTP request over its deadline */
    GW_E_INTERNAL,    /* store or engine failure */
    GW_E_SEND,        /* an outbox send that failed and will be retried */
    GW_E_DROPPED,     /* an outbox reply given up: refused for good, or too old */
    GW_E_STALE,       /* a webhook message older than the dedup window (a replay) */
    GW_E_N
};

void gw_metrics_in(enum gw_channel ch);
void gw_metrics_out(enum gw_channel ch, int n);
void gw_metrics_dup(enum gw_channel ch);
void gw_metrics_error(enum gw_errkind k);
void gw_metrics_step(int64_t us);
/* One delivery status the platform reported (queued, sent, delivered, read,
 * failed, undelivered; anything else counts as other). */
void gw_metrics_status(enum gw_channel ch, const char *status);
void gw_metrics_sender_inflight(int n); /* the sender's requests in flight now */
void gw_metrics_commit(int n);          /* a store worker committed n messages */
void gw_metrics_sync(void);             /* the syncer fdatasynced the WAL */
void gw_metrics_queued(int64_t us);     /* a message waited us for its worker */
void gw_metrics_queue_depth(int delta); /* messages queued (+) or taken (-) */
/* The # HELP and # TYPE lines of one metric (type "counter", "gauge", ...). */
void gw_metrics_head(lk_buf *b, const char *name, const char *type, const char *help);
/* A metric of one value: its head, then "name value". */
void gw_metrics_value(lk_buf *b, const char *name, const char *type, const char *help,
                      long long value);
/* A counter family: its head, then name{label="values[i]"} counts[i] for each of the n. */
void gw_metrics_counters(lk_buf *b, const char *name, const char *help, const char *label,
                         const char *const *values, atomic_ullong *counts, int n);
/* Writes the Prometheus text of everything plus the two gauges. */
void gw_metrics_render(lk_buf *b, int64_t active_sessions, int64_t outbox_depth);
enum gw_channel gw_channel_of(const char *name);

/* ---- limits.c ------------------------------------------------------------- */
typedef struct gw_limits gw_limits;

typedef struct gw_limits_opts {
    int max_per_peer;       /* connections per address: the peer's, or behind a trusted
                               proxy the client's (X-Forwarded-For) */
    int max_conns;          /* every connection */
    int max_webhook_conns;  /* the share of max_conns kept for webhooks (at most half) */
    const gw_cidr *trusted; /* borrowed, outlives the limits: the proxies whose */
    int ntrusted;           /* X-Forwarded-For is believed */
    double rate;            /* the per-sender token buckets */
    int burst;
} gw_limits_opts;

gw_limits *gw_limits_new(const gw_limits_opts *o);
void gw_limits_free(gw_limits *l);
/* Called at accept with the peer address: 0 to accept (counted until
 * gw_limits_release of the connection gw_limits_bind names next), -1 when
 * the peer is at its cap or the server at max_conns. When the server is full
 * it may accept by evicting the oldest connection that sent no request head
 * within a second, or an idle kept-alive one: then *evict names it (the caller
 * closes it). */
int gw_limits_accept(gw_limits *l, const struct sockaddr *sa, int64_t now_ms, const void **evict);
/* Binds the connection just created (LWS_CALLBACK_WSI_CREATE) to the last
 * accept; a no-op for connections that were not accepted (listener, pipe). */
void gw_limits_bind(gw_limits *l, const void *conn);
/* Once the request head is in: places conn in the webhooks' budget (webhook)
 * or the general pool, where behind a trusted proxy it counts for the client
 * X-Forwarded-For names (xff, xff_len; NULL when absent). 0, or -1 when
 * that budget, the pool or the client is full (the caller answers 503 and
 * closes). A connection is classified once: a later call (the next request
 * of a kept-alive connection) returns 0 when webhook matches its class, 1
 * when it does not (the caller closes after this answer), and ends its idle
 * time (gw_limits_idle). */
int gw_limits_classify(gw_limits *l, const void *conn, const char *xff, size_t xff_len,
                       int webhook);
/* A classified connection kept alive after its answer, waiting for its next
 * head: like a connection that sent no head, the first that a full server
 * evicts (gw_limits_accept) until its next head is in. */
void gw_limits_idle(gw_limits *l, const void *conn);
/* The client address conn counts for (the one a trusted proxy named, else the
 * peer) into out: 0, or -1 when conn is not a counted connection. */
int gw_limits_client(gw_limits *l, const void *conn, char *out, size_t len);
/* Stops counting a connection bound by gw_limits_bind; others are ignored. */
void gw_limits_release(gw_limits *l, const void *conn);
/* Takes a token from the bucket of (channel, user): 1 allowed, 0 over rate. */
int gw_limits_take(gw_limits *l, const char *channel, const char *user, int64_t now_us);

/* ---- server.c: the loop's shared state --------------------------------------- */
typedef struct gw_sender gw_sender;
typedef struct gw_maint gw_maint;
typedef struct gw_wsauth gw_wsauth;

typedef struct gw_server {
    gw_config cfg;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    lws_retry_bo_t retry;
    lk_flow *flow;
    lk_store *store; /* the loop thread's connection */
    gw_limits *limits;
    gw_wsauth *wsauth;
    gw_sender *sender;
    gw_maint *maint;
    uint64_t next_req;
    int inflight; /* HTTP requests received and not yet answered */
    int stopping; /* SIGTERM seen: refuse new work, drain */
    char rid_prefix[9];
    void *evloop;           /* the epoll loop (evloop.c) lws runs on; NULL: lws's poll() */
    void *foreign_loops[1]; /* info.foreign_loops */
} gw_server;

extern gw_server *gw_srv; /* the one server of this process (loop thread only) */

/* Tells the sender thread that new outbox rows were committed. */
void gw_wake_sender(void);

/* ---- evloop.c: the epoll loop lws runs on (a libev loop, foreign to lws) -------- */
#define GW_EVLOOP_PULSE_US (50 * LWS_US_PER_MS) /* the longest a due lws timer waits */
/* A new epoll loop for lws_create_context's foreign_loops, to be created with
 * LWS_SERVER_OPTION_LIBEV; free it with gw_evloop_free after
 * lws_context_destroy. NULL when epoll or lws's libev plugin cannot be had;
 * then why (n bytes) says why. */
void *gw_evloop_new(char *why, size_t n);
/* One turn: waits for an event (a socket, an lws timer, lws_cancel_service, a
 * signal) and runs the callbacks of what is ready. */
void gw_evloop_turn(void *loop);
void gw_evloop_free(void *loop); /* NULL-safe */

/* ---- http.c ------------------------------------------------------------------ */
typedef struct gw_req gw_req;

enum gw_method { GW_GET, GW_POST, GW_OTHER, GW_HEAD };

struct gw_req {
    struct lws *wsi;
    gw_req *older, *newer; /* in the list of requests before their deadline (http.c) */
    char rid[32];
    int64_t t0_us;
    enum gw_method method;
    char path[128];
    char host[256];
    char ctype[128];
    char hub_sig[128];    /* X-Hub-Signature-256 */
    char twilio_sig[128]; /* X-Twilio-Signature */
    char args[1024];      /* the URI arguments (Twilio's signed URL), each NUL-terminated */
    int args_len;         /* bytes in args; -1 when they did not fit */
    char auth[256];       /* Authorization */
    int64_t clen;         /* Content-Length, -1 when absent */
    lk_buf body;
    int (*on_body)(gw_req *r); /* the route's handler, run when the body is in */
    /* a route that answers in a later loop turn keeps its state here; when the
     * request is freed before (the peer left), route_free(r) frees it */
    void *route_ctx;
    void (*route_free)(gw_req *r);
    /* the response */
    int status;
    const char *resp_type;
    lk_buf resp;   /* headroom (LWS_PRE and room for the headers), then the body */
    int phase;     /* 0 nothing to write, 1 the response next, 3 done */
    int body_done; /* LWS_CALLBACK_HTTP_BODY_COMPLETION seen */
    int pipelined; /* ... and seen again: bytes after the body are buffered */
    int may_keep;  /* HTTP/1.1, no "Connection: close", the connection's class */
    int counted;   /* in gw_srv->inflight */
};

/* Queues the response of r (copying body) and asks for a writeable callback. */
void gw_respond(gw_req *r, int status, const char *ctype, const char *body, size_t len);
void gw_respond_json(gw_req *r, int status, const cJSON *obj);
#define GW_RESPOND_LIT(r, status, lit)                                                             \
    gw_respond((r), (status), "application/json", (lit), sizeof(lit) - 1)
/* {"error": why} with the status; counts the error kind. */
void gw_respond_error(gw_req *r, int status, enum gw_errkind kind, const char *why);
/* Copies a URL argument (decoded) of the request into buf; NULL when absent.
 * Only valid inside a GET handler (the headers are still there). */
const char *gw_req_arg(gw_req *r, const char *name, char *buf, int len);

int gw_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);
/* Frees the requests kept for reuse (after the context is destroyed). */
void gw_http_cleanup(void);

/* ---- wsauth.c: resume tokens and new sessions per address ---------------------------- */

/* Reads the secret (cfg->ws_secret, else the database's, made at first use).
 * NULL on failure (logged). */
gw_wsauth *gw_wsauth_open(const gw_config *cfg, lk_store *store);
void gw_wsauth_free(gw_wsauth *a); /* NULL-safe */
/* The resume token of websocket user id user: 64 hex characters and a NUL. */
void gw_wsauth_token(const gw_wsauth *a, const char *user, char out[65]);
/* 1 when token is the resume token of user, 0 otherwise (NULL included). */
int gw_wsauth_check(const gw_wsauth *a, const char *user, const char *token);
/* Takes one new session from the budget of a peer address: 1 allowed, 0 over. */
int gw_wsauth_new_session(gw_wsauth *a, const char *peer, int64_t now_us);

/* ---- ws.c ---------------------------------------------------------------------- */
/* ws.c: a websocket upgrade's subprotocol: gw_ws_confirm 0 or -1 after a
 * 400 (HTTP_CONFIRM_UPGRADE), gw_ws_adopt 0 when a client without one may
 * speak the chat protocol on the "http" protocol's callback. */
int gw_ws_confirm(struct lws *wsi);
int gw_ws_adopt(struct lws *wsi);
int gw_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len);

/* ---- the routes (generic.c, whatsapp.c, twilio.c, server.c) ---------------------- */
int gw_route_generic(gw_req *r);
/* At start: 0 when the generic webhook may listen as configured (a token, a
 * loopback address, or generic_open, which is logged as a warning); -1 with
 * the reason printed on stderr when the server must not start. */
int gw_generic_check_listen(const gw_config *c);
int gw_route_wa_verify(gw_req *r);
int gw_route_wa_post(gw_req *r);
int gw_route_twilio(gw_req *r);
int gw_route_metrics(gw_req *r);
int gw_route_console(gw_req *r);
int gw_route_healthz(gw_req *r); /* health.c */

/* Renders one reply as a Graph API message body (lk_render_fn): to a phone number as
 * "to", to a business-scoped user id as "recipient". Appends it to payload: 0, or -1 out
 * of memory (payload then holds what it held before, its oom set). */
int gw_wa_render(void *ctx, const char *user, const lk_reply *reply, lk_buf *payload);
/* The WhatsApp counters of what is not answered, in the Prometheus text. */
void gw_wa_metrics_render(lk_buf *b);

/* ---- wa_numbers.c: a flow per WhatsApp number (wa_numbers) ------------------------------ */
int gw_wa_numbers_valid(const char *spec, const char **why); /* 0, or -1 with *why */
/* Loads every number's flow (the loop thread's table); -1 with the reason on stderr. */
int gw_wa_numbers_open(const char *spec);
void gw_wa_numbers_reload(void); /* old flows go to gw_pipeline_retire; logs */
void gw_wa_numbers_close(void);
/* The flow of the number, borrowed until the next reload; NULL: the server's flow. */
const lk_flow *gw_wa_number_flow(const char *pnid);
int gw_wa_numbers_count(void);
const char *gw_wa_number_pnid(int i); /* the i-th listed number, NULL past the end */

/* ---- sender.c, maint.c --------------------------------------------------------------- */
/* Opens the store connection of a background thread (logs why not); wal_limit
 * as lk_store_opts.wal_limit (the message path's writers bound the WAL, the
 * others pass 0). */
lk_err gw_thread_store_open(const gw_config *cfg, int64_t wal_limit, lk_store **out);
/* Starts the sender thread on its own store connection; it sends nothing
 * until gw_sender_ready, once it was given the templates. */
lk_err gw_sender_start(const gw_config *cfg, gw_sender **out);
void gw_sender_ready(gw_sender *s); /* NULL-safe */
void gw_sender_wake(gw_sender *s);
/* 1 while the sender thread runs and has turned its loop recently enough. */
int gw_sender_alive(gw_sender *s);
/* Stops the sender after its current request and joins it. NULL-safe. */
void gw_sender_stop(gw_sender *s);
/* Starts the thread that checkpoints the WAL and prunes dedup records. */
lk_err gw_maint_start(const gw_config *cfg, gw_maint **out);
void gw_maint_stop(gw_maint *m); /* NULL-safe */

/* The outside_window template (copied; t NULL: none) of number pnid's own
 * flow, or with pnid NULL of the server's flow, which serves every number
 * without one. At start and after each reload. NULL-safe. */
void gw_sender_set_template(gw_sender *s, const char *pnid, const lk_flow_template *t);
/* WhatsApp route: marks message wamid of user, received on number pnid, as
 * read with the typing indicator (when wa_read_receipts is on), best effort,
 * from the sender thread before the user's next reply. NULL-safe. */
void gw_sender_read(gw_sender *s, const char *pnid, const char *user, const char *wamid);
/* WhatsApp route: a delivery status of a sent reply (statuses webhook), stored
 * by the sender thread with the others of its turn in one transaction, and
 * counted per status. code: errors[0].code, 0 when none. NULL-safe. */
void gw_sender_status(gw_sender *s, const char *pnid, const char *wamid, const char *status,
                      int code);
/* Loop thread, after each turn: wakes the sender once when the turn queued
 * receipts or statuses (gw_sender_read, gw_sender_status). NULL-safe. */
void gw_sender_flush(gw_sender *s);

/* ---- sendq.c ---- */
enum { GW_SQ_READ = 0, GW_SQ_STATUS = 1 };
typedef struct gw_sendq_item {
    int kind;        /* GW_SQ_* */
    char pnid[40];   /* the business phone number id */
    char user[64];   /* GW_SQ_READ: who sent the message */
    char id[192];    /* the wamid */
    char status[16]; /* GW_SQ_STATUS */
    int code;        /* GW_SQ_STATUS: the error code of a failure, 0 none */
    int tries;       /* GW_SQ_STATUS: times it found no row yet */
    int64_t at_ms;
} gw_sendq_item;
typedef struct gw_sendq gw_sendq;
gw_sendq *gw_sendq_new(void);
void gw_sendq_free(gw_sendq *q); /* NULL-safe */
/* Copies it in: 0, or 1 when the list was full and its oldest item went. */
int gw_sendq_push(gw_sendq *q, const gw_sendq_item *it);
/* Takes up to max items of kind, oldest first, into out; returns how many. */
int gw_sendq_take(gw_sendq *q, int kind, gw_sendq_item *out, int max);
/* Puts n taken items (of one kind) back in front, in their order. */
void gw_sendq_unget(gw_sendq *q, const gw_sendq_item *items, int n);
/* Stores the statuses waiting on the rows they name (channel
 * "whatsapp:<pnid>"), all in one transaction of st (the sender's). */
void gw_sendq_store_statuses(gw_sendq *q, lk_store *st);

/* ---- sendpol.c (the sender thread's, but for set_template and metrics) ---- */
typedef struct gw_sendpol gw_sendpol;
enum gw_sendpol_event {
    GW_SP_TEMPLATE,        /* a reply outside the window went as the template */
    GW_SP_UNSENT,          /* ... was kept unsent: the flow names no template */
    GW_SP_SKIPPED,         /* ... was left unsent: the template went already */
    GW_SP_RECEIPT_SENT,    /* a read receipt the API took */
    GW_SP_RECEIPT_FAILED,  /* ... it refused or did not answer */
    GW_SP_RECEIPT_DROPPED, /* ... dropped unsent (the list was full) */
    GW_SP_PACED,           /* a reply held back by wa_rate */
    GW_SP_UNMATCHED,       /* a status of no sent reply */
    GW_SP_QUERY,           /* the sender asked the outbox for due rows */
};
gw_sendpol *gw_sendpol_new(const gw_config *cfg);
void gw_sendpol_free(gw_sendpol *p); /* NULL-safe */
/* Takes a send from number pnid's budget: 0 when it may go now, else the
 * microseconds until it may (its rate, a throughput pause, a token pause). */
int64_t gw_sendpol_take(gw_sendpol *p, const char *pnid, int64_t now_us);
/* A request did not reach the Graph API (why: libcurl's message): every
 * request pauses for pause_us, then one at a time tries it. 1 when the
 * outage begins here (logged), 0 when it goes on. */
int gw_sendpol_unreachable(gw_sendpol *p, int64_t now_us, int64_t pause_us, const char *why);
/* Any answer of the Graph API: an outage ends (logged). */
void gw_sendpol_reachable(gw_sendpol *p, int64_t now_us);
/* The requests of the outage that failed so far (0: the API is reachable). */
int gw_sendpol_unreachable_level(const gw_sendpol *p);
/* Microseconds left of a pause of every request: the token's or an
 * outage's (0: none). */
int64_t gw_sendpol_wait(const gw_sendpol *p, int64_t now_us);
/* 1 while one request at a time tries the token or a Graph API out of reach. */
int gw_sendpol_probing(const gw_sendpol *p);
/* Learns from an answer: throughput pauses the number, auth every number,
 * a success ends both. */
void gw_sendpol_answer(gw_sendpol *p, const char *pnid, enum gw_send_verdict v, int64_t now_us);
/* The users the outside_window template went to, and when. */
void gw_sendpol_template_sent(gw_sendpol *p, const char *channel, const char *user, int64_t now_ms);
int gw_sendpol_template_since(const gw_sendpol *p, const char *channel, const char *user,
                              int64_t since_ms);
/* The template of number pnid's flow (NULL: the server's flow's). */
void gw_sendpol_set_template(gw_sendpol *p, const char *pnid, const lk_flow_template *t);
/* The Graph API body of the template of number pnid's flow in place of reply
 * (a Graph API body) into out (appending), and its name: 1, 0 when the flow
 * names none, -1 out of memory or a reply with no recipient. */
int gw_sendpol_template_body(gw_sendpol *p, const char *pnid, const char *reply, lk_buf *out,
                             char *name, size_t namelen);
/* A message template as a Graph API body, to whom reply (a Graph API body) is
 * addressed ("to" or "recipient"): type template, its name, language and
 * text body parameters. 0, or -1 (out of memory, no recipient in reply). */
int gw_wa_template_render(const char *reply, const char *name, const char *language,
                          const char *const *params, int nparams, lk_buf *out);
void gw_sendpol_count_answer(enum gw_send_verdict v);
void gw_sendpol_count_status(const char *status);
void gw_sendpol_count(enum gw_sendpol_event e);
/* Appends the sender's metrics (Prometheus text) to b. */
void gw_sendpol_metrics(lk_buf *b);

/* ---- wsclient.c, shared with console.c ------------------------------------------------- */
/* Called for each reply frame of a step: its text and its choices (a cJSON
 * array, or NULL). */
typedef void (*gw_reply_fn)(void *ctx, const char *text, const cJSON *choices);
/* Sends text and waits for the step's done frame, calling fn per reply. */
lk_err gw_wsclient_exchange(lk_wsclient *c, const char *text, gw_reply_fn fn, void *ctx, char *err,
                            size_t errlen);
const char *gw_wsclient_user(const lk_wsclient *c);
/* lk_wsclient_open with the resume token of user (NULL: none; the server
 * then gives a new id when user has a session). */
lk_err gw_wsclient_open(const char *url, const char *user, const char *token, lk_wsclient **out,
                        char *err, size_t errlen);
/* The resume token the welcome gave for gw_wsclient_user ("" when none). */
const char *gw_wsclient_token(const lk_wsclient *c);
/* The state a resumed session waits in, as the welcome said (NULL for a new
 * conversation); *ended (may be NULL) is 1 when it had ended. */
const char *gw_wsclient_state(const lk_wsclient *c, int *ended);

#include "pipeline.h"
#include "channel.h"

#endif
