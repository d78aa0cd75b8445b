/* The /chat websocket (subprotocol "loket-chat"): JSON text frames.
 *
 *   client -> server  {"type":"hello","user":"ID","token":"T"}  resume ID (optional)
 *                     {"type":"message","text":"..."} ("id" optional, dedup)
 *                     {"type":"clock","now":"2026-11-24T09:00:00+07:00"} (--test-clock)
 *   server -> client  {"type":"welcome","user":"ID","token":"T","flow":"NAME"}
 *                       + "resumed":true,"state":"S","ended":B when hello resumed a
 *                       session the store has (S: the state it waits in)
 *                     {"type":"reply","text":"...","choices":[{"id":"1","title":"..."}]}
 *                       + "more":"W" on a page of a longer list (W shows the next page)
 *                     {"type":"done","replies":N}
 *                     {"type":"clock","ok":true}
 *                     {"type":"error","error":"..."}
 *
 * A connection is not a session: the per-connection data holds a pointer to
 * a gw_conn, which holds the user id; the session lives in the store under
 * ("ws", id), so a client that reconnects with hello resumes it. Resuming an
 * id that has a session takes the token the welcome gave with it
 * (wsauth.c); without it the hello gets a new id, never that session. Each
 * connection may take ws_sessions_per_conn ids, and each address
 * ws_new_sessions new ones a minute, so a client cannot fill the database
 * with sessions by changing its id. Messages are reassembled across
 * fragments here, capped at GW_MAX_WS_MSG (close 1009), then classified by
 * gw_ws_parse (parse.c). */
#include "gw.h"
#include "wsframe.h"

#include <stdlib.h>
#include <string.h>

/* A message of this connection in the store pipeline: its job, answered in
 * the order the messages came (ws_done). */
typedef struct pending {
    struct pending *next;
    struct gw_conn *c;
    gw_job *job;
} pending;

typedef struct gw_conn {
    struct lws *wsi;
    unsigned long id; /* for the log */
    int64_t t0_us;
    unsigned long nmsg; /* frames received */
    char user[GW_USER_MAX + 1];
    char peer[48]; /* the peer address, for the budget of new sessions */
    int nsessions; /* session ids this connection has taken */
    int welcomed;
    int has_clock;
    int64_t clock_ms;
    lk_buf rx;
    int rx_binary;
    /* The frames waiting to go out, whole and in order: LWS_PRE bytes of
     * headroom, then the frames; the first sent bytes of them are with lws
     * already. Empty, it goes back to the spare buffers (out_done). */
    lk_buf out;
    size_t sent;
    int closing;               /* the queue overflowed: close after the writes in flight */
    pending *jobs, *jobs_tail; /* messages in the pipeline, oldest first */
} gw_conn;

struct ws_pss {
    gw_conn *conn;
};

/* ---- the outgoing queue ---------------------------------------------------------- */

/* Emptied buffers kept for the next answer, so that answering a message
 * allocates nothing, while an idle connection holds no buffer (none under
 * AddressSanitizer: GW_KEEP_FREED). Loop thread only; freed when the
 * protocol is destroyed. */
#define SPARE_MAX (GW_KEEP_FREED ? 64 : 0)
#define SPARE_CAP (16 * 1024) /* a bigger one is freed, not kept */
static lk_buf spare[SPARE_MAX + 1];
static int nspare;

/* Lets c go once what it was sent before is written (conn_tx). */
static void out_drop(gw_conn *c, const char *why)
{
    gw_log(GW_LOG_WARN, why, "queued=%zu", c->out.len ? c->out.len - LWS_PRE - c->sent : 0);
    c->closing = 1;
    lws_callback_on_writable(c->wsi);
}

/* c's buffer ready for one more frame at its end, or NULL when c is closing
 * or memory ran out. */
static lk_buf *out_begin(gw_conn *c)
{
    lk_buf *b = &c->out;

    if (c->closing)
        return NULL;
    if (!b->p && nspare > 0)
        *b = spare[--nspare];
    if (b->len == 0) {
        if (lk_buf_reserve(b, LWS_PRE + 512) < 0) {
            out_drop(c, "websocket dropped: out of memory");
            return NULL;
        }
        memset(b->p, 0, LWS_PRE);
        b->len = LWS_PRE;
    }
    return b;
}

/* After frames were written at the end of c's buffer, which was before bytes
 * long, with the status rc (-1: out of memory, and they were taken back).
 * Over the cap they are taken back too, and the client, which does not read
 * its replies, is let go. */
static void out_end(gw_conn *c, size_t before, int rc)
{
    if (rc < 0) {
        c->out.len = before;
        c->out.p[before] = '\0';
        out_drop(c, "websocket dropped: out of memory");
    } else if (c->out.len - LWS_PRE - c->sent > GW_MAX_WS_QUEUE) {
        c->out.len = before;
        c->out.p[before] = '\0';
        out_drop(c, "websocket dropped: replies not read");
    } else {
        lws_callback_on_writable(c->wsi);
    }
}

/* Everything in c's buffer went out: the buffer goes back to the spares. */
static void out_done(gw_conn *c)
{
    if (c->out.cap <= SPARE_CAP && !c->out.oom && nspare < SPARE_MAX) {
        lk_buf_reset(&c->out);
        spare[nspare++] = c->out;
    } else {
        lk_buf_free(&c->out);
    }
    memset(&c->out, 0, sizeof c->out);
    c->sent = 0;
}

static void spare_free(void)
{
    while (nspare > 0)
        lk_buf_free(&spare[--nspare]);
}

static void send_simple(gw_conn *c, const char *type, const char *key, const char *value)
{
    lk_buf *b = out_begin(c);
    size_t before;

    if (!b)
        return;
    before = b->len;
    out_end(c, before, gw_wsf_simple(b, type, key, value));
}

static void send_error(gw_conn *c, enum gw_errkind kind, const char *why)
{
    gw_metrics_error(kind);
    send_simple(c, "error", "error", why);
}

/* Says in the welcome w where a resumed session stands: the state it waits
 * in and whether it ended (the next message starts over). Only on hello, never
 * on the message path. Nothing is added when the id has no session. */
static void add_resumed(gw_wsf *w, const char *user)
{
    const lk_flow *flow = gw_srv->flow;
    lk_buf b = {0};
    lk_session *s = NULL;
    int found = 0;

    if (lk_store_load(gw_srv->store, "ws", user, &b, &found) == LK_OK && found &&
        (s = lk_session_new(flow)) && lk_session_decode(s, flow, b.p, b.len) == LK_OK) {
        gw_wsf_bool(w, "resumed", 1);
        gw_wsf_str(w, "state", lk_session_state(s, flow));
        gw_wsf_bool(w, "ended", lk_session_ended(s));
    }
    lk_session_free(s);
    lk_buf_free(&b);
}

/* The flow's name lets a console show who it talks to without knowing the
 * flow; the token is what resumes this id from another connection.
 * resumed: hello named an id, so say where its session stands. */
static void send_welcome(gw_conn *c, int resumed)
{
    lk_buf *b = out_begin(c);
    char token[65];
    size_t before;
    gw_wsf w;

    c->welcomed = 1;
    if (!b)
        return;
    before = b->len;
    gw_wsauth_token(gw_srv->wsauth, c->user, token);
    gw_wsf_begin(&w, b);
    gw_wsf_str(&w, "type", "welcome");
    gw_wsf_str(&w, "user", c->user);
    gw_wsf_str(&w, "token", token);
    gw_wsf_str(&w, "flow", lk_flow_name(gw_srv->flow));
    if (resumed)
        add_resumed(&w, c->user);
    out_end(c, before, gw_wsf_end(&w));
}

static void send_done(gw_conn *c, int n, int dup)
{
    lk_buf *b = out_begin(c);
    size_t before;

    if (!b)
        return;
    before = b->len;
    out_end(c, before, gw_wsf_done(b, n, dup));
}

/* The replies and the done frame, written together: one answer, which one
 * write sends (conn_tx). */
static void send_replies(gw_conn *c, const lk_out *out)
{
    int i, n = lk_out_count(out), rc = 0;
    lk_buf *b = out_begin(c);
    size_t before;

    gw_metrics_out(GW_CH_WS, n);
    if (!b)
        return;
    before = b->len;
    for (i = 0; i < n && rc == 0; i++) {
        lk_reply r;

        lk_out_get(out, i, &r);
        rc = gw_wsf_reply(b, &r);
    }
    if (rc == 0)
        rc = gw_wsf_done(b, n, 0);
    out_end(c, before, rc);
}

/* ---- the frames of the protocol ------------------------------------------------------- */

/* Gives the connection the session id user, or a new random one when user
 * is NULL. fresh: the id has no session yet, so it is charged to the peer
 * address. 0, or -1 when a cap refused it (an error frame says which) and
 * the connection keeps the id it had. */
static int take_id(gw_conn *c, const char *user, int fresh)
{
    static int64_t logged_us; /* a flood is one line per 10 s, not one per hello */
    char hex[33];
    int64_t now = gw_mono_us();

    if (c->nsessions >= gw_srv->cfg.ws_sessions_per_conn) {
        send_error(c, GW_E_RATE, "too many conversations on one connection: reconnect");
        return -1;
    }
    if (fresh && !gw_wsauth_new_session(gw_srv->wsauth, c->peer, now)) {
        if (!logged_us || now - logged_us >= 10 * 1000000LL) {
            gw_log(GW_LOG_WARN, "new websocket sessions refused: over the address's budget",
                   "peer=%s ws_new_sessions=%d", c->peer, gw_srv->cfg.ws_new_sessions);
            logged_us = now;
        }
        send_error(c, GW_E_RATE, "too many new conversations from this address: wait a minute");
        return -1;
    }
    c->nsessions++;
    if (user) {
        snprintf(c->user, sizeof c->user, "%s", user);
    } else {
        gw_random_hex(hex, 12);
        snprintf(c->user, sizeof c->user, "web-%s", hex);
    }
    return 0;
}

/* 1 when ("ws", user) has a session, 0 when not, -1 when the store failed. */
static int has_session(const char *user)
{
    lk_buf b = {0};
    int found = 0;
    lk_err err = lk_store_load(gw_srv->store, "ws", user, &b, &found);

    lk_buf_free(&b);
    return err == LK_OK ? found : -1;
}

static void on_hello(gw_conn *c, const gw_ws_frame *f)
{
    const char *token = gw_json_str(f->root, "token");
    int rc;

    if (f->user && !strcmp(f->user, c->user))
        rc = 0; /* the id it has already */
    else if (f->user && gw_wsauth_check(gw_srv->wsauth, f->user, token))
        rc = take_id(c, f->user, 0);
    else if (!f->user)
        rc = take_id(c, NULL, 1);
    else if ((rc = has_session(f->user)) < 0) {
        send_error(c, GW_E_INTERNAL, "internal error: try again");
        return;
    } else if (rc) {
        /* someone else's session, or a token lost: a new one, never that */
        gw_log(GW_LOG_INFO, "websocket hello without a valid token for an existing session",
               "conn=%s-ws%lu", gw_srv->rid_prefix, c->id);
        rc = take_id(c, NULL, 1);
    } else {
        rc = take_id(c, f->user, 1);
    }
    if (rc == 0)
        send_welcome(c, f->user && !strcmp(f->user, c->user));
}

static void on_clock(gw_conn *c, const gw_ws_frame *f)
{
    lk_buf *b;
    size_t before;
    gw_wsf w;

    c->clock_ms = f->now_ms;
    c->has_clock = 1;
    if (!(b = out_begin(c)))
        return;
    before = b->len;
    gw_wsf_begin(&w, b);
    gw_wsf_str(&w, "type", "clock");
    gw_wsf_bool(&w, "ok", 1);
    out_end(c, before, gw_wsf_end(&w));
}

/* After the commit: the replies and done, or the error. The messages of one
 * (channel, user) are processed in order, so a connection's answers come in
 * the order of its messages (across a hello that changed the id, the two
 * ids' answers may interleave). */
static void ws_done(gw_job *job, void *ctx)
{
    pending *p = ctx, **pp, *prev = NULL;
    gw_conn *c = p->c;
    const char *why = NULL;

    for (pp = &c->jobs; *pp != p; pp = &(*pp)->next)
        prev = *pp;
    *pp = p->next;
    if (c->jobs_tail == p)
        c->jobs_tail = prev;
    free(p);
    switch (gw_job_result(job, 0, &why)) {
    case GW_R_OK: send_replies(c, gw_job_out(job, 0)); break;
    case GW_R_DUP: send_done(c, 0, 1); break;
    case GW_R_RATE:
        send_simple(c, "error", "error", "too many messages: slow down and try again");
        break;
    case GW_R_INVALID: send_simple(c, "error", "error", why ? why : "the text was refused"); break;
    case GW_R_INTERNAL:
        send_simple(c, "error", "error", "internal error: the message was not processed");
        break;
    }
}

static void on_message(gw_conn *c, const gw_ws_frame *f)
{
    lk_inbound in = {0};
    pending *p;

    if (!c->user[0] && take_id(c, NULL, 1) < 0)
        return;
    if (!c->welcomed)
        send_welcome(c, 0);
    /* The session is the store's ("ws", id): a phone number said in a hello
     * never reaches that number's WhatsApp session. */
    in.channel = gw_chan_ws.name;
    in.user = c->user;
    in.ext_id = f->id;
    in.text = f->text;
    in.len = f->len;
    in.now_ms = c->has_clock ? c->clock_ms : gw_now_ms();
    if (!(p = calloc(1, sizeof *p)) || !(p->job = gw_job_new(ws_done, p))) {
        free(p);
        send_error(c, GW_E_INTERNAL, "internal error: the message was not processed");
        return;
    }
    p->c = c;
    if (gw_job_add(p->job, &in) < 0) { /* copies in */
        gw_job_cancel(p->job);
        free(p);
        send_error(c, GW_E_INTERNAL, "internal error: the message was not processed");
        return;
    }
    if (c->jobs_tail)
        c->jobs_tail->next = p;
    else
        c->jobs = p;
    c->jobs_tail = p;
    gw_job_end(p->job);
}

static void conn_message(gw_conn *c, const char *s, size_t n)
{
    gw_ws_frame f;

    gw_ws_parse(s, n, c->rx_binary, gw_srv->cfg.test_clock, &f);
    switch (f.kind) {
    case GW_WS_ERROR: send_error(c, GW_E_BAD_REQUEST, f.why); break;
    case GW_WS_HELLO: on_hello(c, &f); break;
    case GW_WS_MESSAGE: on_message(c, &f); break;
    case GW_WS_CLOCK: on_clock(c, &f); break;
    }
    gw_ws_frame_clear(&f);
}

/* ---- the connection's life ---------------------------------------------------------------- */

static gw_conn *conn_open(struct lws *wsi)
{
    static unsigned long next_id;
    gw_conn *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->wsi = wsi;
    c->id = ++next_id;
    /* behind a trusted proxy, the client it names: the budget of new sessions is theirs */
    if (gw_limits_client(gw_srv->limits, wsi, c->peer, sizeof c->peer) < 0)
        lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
    c->t0_us = gw_mono_us();
    gw_log(GW_LOG_DEBUG, "websocket open", "conn=%s-ws%lu", gw_srv->rid_prefix, c->id);
    return c;
}

static int conn_rx(struct lws *wsi, gw_conn *c, const void *in, size_t len)
{
    if (!c)
        return -1;
    if (c->rx.len == 0)
        c->rx_binary = lws_frame_is_binary(wsi);
    if (c->rx.len + len > GW_MAX_WS_MSG) {
        static const char why[] = "message larger than 64 KiB";
        gw_metrics_error(GW_E_TOO_LARGE);
        gw_log(GW_LOG_WARN, "websocket closed: message too large", "bytes=%zu", c->rx.len + len);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)why,
                         sizeof why - 1);
        return -1;
    }
    lk_buf_put(&c->rx, in, len);
    if (c->rx.oom)
        return -1;
    if (!lws_is_final_fragment(wsi))
        return 0;
    c->nmsg++;
    conn_message(c, c->rx.p ? c->rx.p : "", c->rx.len);
    lk_buf_reset(&c->rx);
    if (c->rx.cap > 2 * 4096) { /* do not keep a 64 KiB buffer per idle client */
        lk_buf_free(&c->rx);
    }
    return 0;
}

/* Bytes of the whole frames at the start of p[0..n) that fit in max, or of
 * the first frame when it alone is longer. The frames are ours (wsframe.c),
 * so their headers are whole and their lengths true. */
static size_t whole_frames(const unsigned char *p, size_t n, size_t max)
{
    size_t used = 0;

    while (used < n) {
        const unsigned char *h = p + used;
        size_t len = h[1] & 0x7f, head = 2;
        int i;

        if (len == 126) {
            len = (size_t)h[2] << 8 | h[3];
            head = 4;
        } else if (len == 127) {
            for (len = 0, i = 2; i < 10; i++)
                len = len << 8 | h[i];
            head = 10;
        }
        if (used && used + head + len > max)
            break;
        used += head + len;
    }
    return used;
}

/* Sends the frames waiting, as they are (LWS_WRITE_RAW: lws adds no header
 * of its own), as many whole ones as lws sends in one go: it sends at most
 * the protocol's tx_packet_size, else its rx_buffer_size, else 4096 bytes
 * (plus LWS_PRE + 4) and keeps the rest itself. Each write ends at the end
 * of a frame, so a ping or close of lws's never lands inside one of ours:
 * a write that the socket takes only in part stays with lws (its buflist),
 * and lws finishes it before anything else, and before it asks us for more.
 * No extension is negotiated (server.c), so a frame is sent as written. */
static int conn_tx(struct lws *wsi, gw_conn *c)
{
    const struct lws_protocols *pr = lws_get_protocol(wsi);
    size_t max, n, left;
    unsigned char *p;

    if (!c)
        return 0;
    left = c->out.len ? c->out.len - LWS_PRE - c->sent : 0;
    if (!left)
        return c->closing ? -1 : 0;
    max = pr && pr->tx_packet_size   ? pr->tx_packet_size
          : pr && pr->rx_buffer_size ? pr->rx_buffer_size
                                     : 4096;
    max += LWS_PRE + 4;
    p = (unsigned char *)c->out.p + LWS_PRE + c->sent;
    n = whole_frames(p, left, max);
    if (lws_write(wsi, p, n, LWS_WRITE_RAW) < (int)n)
        return -1;
    c->sent += n;
    if (n == left) {
        out_done(c);
    } else if (c->sent >= left - n) {
        /* a reader that never quite catches up: drop what went out, so the
         * buffer stays within twice what waits */
        memmove(c->out.p + LWS_PRE, c->out.p + LWS_PRE + c->sent, left - n + 1);
        c->out.len -= c->sent;
        c->sent = 0;
    }
    if (n < left || c->closing)
        lws_callback_on_writable(wsi);
    return 0;
}

static void conn_close(gw_conn *c)
{
    if (!c)
        return;
    gw_log(GW_LOG_INFO, "websocket closed", "conn=%s-ws%lu path=\"/chat\" frames=%lu s=%.1f",
           gw_srv->rid_prefix, c->id, c->nmsg, (double)(gw_mono_us() - c->t0_us) / 1e6);
    lk_buf_free(&c->out);
    while (c->jobs) { /* still in the pipeline: processed, never answered */
        pending *p = c->jobs;
        c->jobs = p->next;
        gw_job_cancel(p->job);
        free(p);
    }
    lk_buf_free(&c->rx);
    free(c);
}

static int filter(struct lws *wsi)
{
    char uri[64];

    if (gw_srv->stopping)
        return 1;
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 || strcmp(uri, "/chat"))
        return 1;
    return 0;
}

/* Browsers' plain new WebSocket(url) and test clients such as Botium's send
 * no Sec-WebSocket-Protocol; libwebsockets then binds them to protocols[0]
 * ("http") and 4.1.6 exports no way to move them. Such a client on /chat
 * speaks the chat protocol all the same: the http protocol's filter asks
 * here, and its callback passes the websocket reasons to gw_ws_callback
 * (its per-connection data, one pointer, holds a ws_pss as well). A client
 * that names another subprotocol never gets here: gw_ws_confirm refused it
 * with a 400 first. 0 accepts. */
int gw_ws_adopt(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) > 0)
        return 1;
    return filter(wsi);
}

/* 1 when the comma-separated list s names GW_CHAT_PROTOCOL. */
static int names_chat(const char *s)
{
    static const char want[] = GW_CHAT_PROTOCOL;
    const size_t n = sizeof want - 1;

    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        if (!strncmp(s, want, n) && (!s[n] || s[n] == ',' || s[n] == ' ' || s[n] == '\t'))
            return 1;
        while (*s && *s != ',')
            s++;
    }
    return 0;
}

/* Before libwebsockets picks a subprotocol: a client that asks only for
 * others would be dropped with no answer; it gets a 400 that names ours. */
int gw_ws_confirm(struct lws *wsi)
{
    char list[256];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL);

    if (n <= 0)
        return 0;
    if (n < (int)sizeof list && lws_hdr_copy(wsi, list, sizeof list, WSI_TOKEN_PROTOCOL) == n &&
        names_chat(list))
        return 0;
    gw_metrics_error(GW_E_BAD_REQUEST);
    lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST,
                           "unknown websocket subprotocol: ask for " GW_CHAT_PROTOCOL
                           " (Sec-WebSocket-Protocol: " GW_CHAT_PROTOCOL ") or for none");
    return -1;
}

int gw_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    struct ws_pss *pss = user;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: return filter(wsi);
    case LWS_CALLBACK_ESTABLISHED: return (pss->conn = conn_open(wsi)) ? 0 : -1;
    case LWS_CALLBACK_RECEIVE: return conn_rx(wsi, pss->conn, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE: return conn_tx(wsi, pss->conn);
    case LWS_CALLBACK_PROTOCOL_DESTROY: spare_free(); break;
    case LWS_CALLBACK_CLOSED:
        conn_close(pss->conn);
        pss->conn = NULL;
        break;
    default: break;
    }
    return 0;
}

const gw_chan gw_chan_ws = {
    .name = "ws",
    .metric = GW_CH_WS,
};
