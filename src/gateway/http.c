/* HTTP on the loop thread: the protocols[0] callback of the vhost. It routes
 * each request, collects a POST body under its caps, runs the route's handler
 * once the body is in, and writes the response, headers and body, in one
 * writeable callback and one send. It also sees every accepted socket first,
 * which is where the connection caps are applied.
 *
 * Keep-alive, only where it is safe. libwebsockets 4.1.6 (lws_http_action,
 * server.c) mishandles a request whose head it parses from bytes it already
 * holds (its input buflist) when the previous request is completed: its loop
 * over the buffered input feeds the body from the wrong offset, then calls
 * lws_read_h1 in LRS_BODY with nothing left to read, which raises
 * LWS_CALLBACK_HTTP_BODY_COMPLETION and consumes nothing, forever and inside
 * one lws_service call: no timer, no signal, no other client. A head read
 * fresh from the socket after lws_http_transaction_completed (an idle
 * kept-alive connection) takes the path of a new connection's and is safe.
 *
 * So a connection goes back to keep-alive only when provably nothing of a
 * next request is buffered inside libwebsockets, which it shows only after a
 * body: once the body is complete the connection stays in LRS_BODY with
 * nothing left to read, and any byte that comes after it (read with the body
 * or later) goes to the buflist and makes the library raise the body
 * completion again, at the latest in the same lws_service call
 * (lws_service_do_ripe_rxflow ends every call). The answer is written in a
 * later call, so a request whose completion came once has nothing behind it
 * when its answer leaves. After a GET or HEAD no callback tells (the
 * connection sits in LRS_DOING_TRANSACTION and lws reads nothing), so those
 * close, and so does an answer to a request whose completion came twice
 * (pipelining: what followed is never parsed), to HTTP/1.0 or "Connection:
 * close", every 4xx and 5xx, a POST without a body, and anything while the
 * server stops. Otherwise the response has no "Connection: close" and
 * lws_http_transaction_completed waits keepalive_idle for the next head
 * (then the head has timeout_secs_ah_idle, as a new connection's has); the
 * connection keeps its place under the caps and, idle, is the first a full
 * server evicts (gw_limits_idle). keepalive_idle = off closes every answer.
 *
 * A request (gw_req) lives from LWS_CALLBACK_HTTP until its response is
 * written or the connection closes; an absolute deadline (never moved per
 * chunk) answers 408 and closes when it passes. Every request has the same
 * timeout, so their deadlines come in the order the requests did: they wait
 * in one list, oldest first, under one timer set for the oldest. A request
 * that leaves takes itself out of the list and leaves the timer alone (when
 * it fires it looks at the list as it is then, and is set again for the
 * oldest left); it is cancelled when the list empties. So lws sorts one
 * timer into its list per request_timeout under load, not one per request. */
#include "gw.h"

#include <stdlib.h>
#include <string.h>

/* Headroom of a response: LWS_PRE, then room for its headers, which go right
 * in front of the body so that both leave in one lws_write. */
#define HDR_ROOM 512
#define RESP_HEAD (LWS_PRE + HDR_ROOM)

/* lws frees and zeroes it at each request (lws_bind_protocol): per request only */
struct http_pss {
    gw_req *req;
};

static int classify(struct lws *wsi, int webhook);

static const char *method_name(enum gw_method m)
{
    return m == GW_GET ? "GET" : m == GW_POST ? "POST" : m == GW_HEAD ? "HEAD" : "OTHER";
}

/* ---- responses ---------------------------------------------------------------- */

void gw_respond(gw_req *r, int status, const char *ctype, const char *body, size_t len)
{
    static const char pad[RESP_HEAD];

    if (r->phase != 0)
        return; /* answered already (e.g. the deadline passed first) */
    r->status = status;
    r->resp_type = ctype;
    lk_buf_reset(&r->resp);
    lk_buf_put(&r->resp, pad, sizeof pad);
    lk_buf_put(&r->resp, body, len);
    if (r->resp.oom) {
        lk_buf_reset(&r->resp);
        lk_buf_put(&r->resp, pad, sizeof pad);
        lk_buf_puts(&r->resp, "{}");
        r->status = 500;
    }
    r->phase = 1;
    lws_callback_on_writable(r->wsi);
}

void gw_respond_json(gw_req *r, int status, const cJSON *obj)
{
    char *s = cJSON_PrintUnformatted(obj);
    if (!s) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        gw_respond(r, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    gw_respond(r, status, "application/json", s, strlen(s));
    cJSON_free(s);
}

void gw_respond_error(gw_req *r, int status, enum gw_errkind kind, const char *why)
{
    cJSON *o = cJSON_CreateObject();

    gw_metrics_error(kind);
    if (o && cJSON_AddStringToObject(o, "error", why))
        gw_respond_json(r, status, o);
    else
        gw_respond(r, status, "application/json", "{}", 2);
    cJSON_Delete(o);
}

const char *gw_req_arg(gw_req *r, const char *name, char *buf, int len)
{
    char key[64];
    snprintf(key, sizeof key, "%s=", name);
    return lws_get_urlarg_by_name(r->wsi, key, buf, len);
}

/* ---- the request's life ---------------------------------------------------------- */

/* Freed requests kept for the next ones, with their buffers while those are
 * small: a kept-alive connection's next request, or another's, allocates
 * nothing (none under AddressSanitizer: GW_KEEP_FREED). */
#define SPARE_MAX (GW_KEEP_FREED ? 64 : 0)
#define SPARE_BUF_MAX (16 * 1024) /* bytes of a kept buffer */

static gw_req *spare[SPARE_MAX + 1];
static int nspare;

static gw_req *req_new(void)
{
    lk_buf body, resp;
    gw_req *r;

    if (!nspare)
        return calloc(1, sizeof *r);
    r = spare[--nspare];
    body = r->body;
    resp = r->resp;
    memset(r, 0, sizeof *r);
    lk_buf_reset(&body);
    lk_buf_reset(&resp);
    r->body = body;
    r->resp = resp;
    return r;
}

static void spare_buf(lk_buf *b)
{
    if (b->cap > SPARE_BUF_MAX || b->oom)
        lk_buf_free(b);
}

void gw_http_cleanup(void)
{
    while (nspare > 0) {
        gw_req *r = spare[--nspare];
        lk_buf_free(&r->body);
        lk_buf_free(&r->resp);
        free(r);
    }
}

static void req_log(gw_req *r)
{
    gw_log(GW_LOG_INFO, "request", "rid=%s method=%s path=\"%s\" status=%d ms=%.2f", r->rid,
           method_name(r->method), r->path, r->status, (double)(gw_mono_us() - r->t0_us) / 1000.0);
}

static struct {
    gw_req *oldest, *newest;
    lws_sorted_usec_list_t sul;
    int armed;
} waiting;

static void deadlines_due(lws_sorted_usec_list_t *sul);

static int64_t deadline_us(const gw_req *r)
{
    return r->t0_us + (int64_t)gw_srv->cfg.request_timeout_s * 1000000;
}

static void wait_arm(void)
{
    int64_t left = deadline_us(waiting.oldest) - gw_mono_us();

    lws_sul_schedule(gw_srv->ctx, 0, &waiting.sul, deadlines_due,
                     (lws_usec_t)(left > 0 ? left : 0));
    waiting.armed = 1;
}

static void wait_add(gw_req *r)
{
    r->older = waiting.newest;
    r->newer = NULL;
    if (waiting.newest)
        waiting.newest->newer = r;
    else
        waiting.oldest = r;
    waiting.newest = r;
    if (!waiting.armed)
        wait_arm();
}

static void wait_remove(gw_req *r)
{
    if (!r->older && waiting.oldest != r)
        return; /* not in the list (taken out when its deadline passed) */
    if (r->older)
        r->older->newer = r->newer;
    else
        waiting.oldest = r->newer;
    if (r->newer)
        r->newer->older = r->older;
    else
        waiting.newest = r->older;
    r->older = r->newer = NULL;
    if (!waiting.oldest && waiting.armed) {
        lws_sul_cancel(&waiting.sul);
        waiting.armed = 0;
    }
}

static void req_free(struct http_pss *pss)
{
    gw_req *r = pss->req;

    if (!r)
        return;
    wait_remove(r);
    if (r->route_free)
        r->route_free(r);
    if (r->counted)
        gw_srv->inflight--;
    pss->req = NULL;
    if (nspare < SPARE_MAX) {
        spare_buf(&r->body);
        spare_buf(&r->resp);
        spare[nspare++] = r;
        return;
    }
    lk_buf_free(&r->body);
    lk_buf_free(&r->resp);
    free(r);
}

static void req_deadline(gw_req *r)
{
    gw_log(GW_LOG_WARN, "request deadline passed", "rid=%s path=\"%s\"", r->rid, r->path);
    if (r->phase == 0) {
        gw_respond_error(r, 408, GW_E_TIMEOUT, "the request took too long");
        /* if even the 408 cannot be written, hang up shortly */
        lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, 2);
    } else {
        gw_metrics_error(GW_E_TIMEOUT);
        lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
}

/* The timer of the list: every request past its deadline leaves the list and
 * is answered 408 (or hung up), then the timer is set for the oldest left. */
static void deadlines_due(lws_sorted_usec_list_t *sul)
{
    int64_t now = gw_mono_us();

    (void)sul;
    waiting.armed = 0;
    while (waiting.oldest && deadline_us(waiting.oldest) <= now) {
        gw_req *r = waiting.oldest;
        wait_remove(r);
        req_deadline(r);
    }
    if (waiting.oldest)
        wait_arm();
}

static void copy_hdr(struct lws *wsi, enum lws_token_indexes t, char *dst, int len)
{
    if (lws_hdr_total_length(wsi, t) <= 0 || lws_hdr_copy(wsi, dst, len, t) < 0)
        dst[0] = '\0';
}

static void copy_custom(struct lws *wsi, const char *name, char *dst, int len)
{
    if (lws_hdr_custom_length(wsi, name, (int)strlen(name)) <= 0 ||
        lws_hdr_custom_copy(wsi, dst, len, name, (int)strlen(name)) < 0)
        dst[0] = '\0';
}

/* 1 when the client keeps the connection: HTTP/1.1 without a Connection
 * header or with "keep-alive" alone (libwebsockets keeps it then too). */
static int keep_alive_asked(struct lws *wsi)
{
    char v[16];

    if (!gw_srv->cfg.keepalive_idle_s || lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_HTTP) != 8 ||
        strcmp(v, "HTTP/1.1"))
        return 0;
    return lws_hdr_total_length(wsi, WSI_TOKEN_CONNECTION) == 0 ||
           (lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_CONNECTION) == 10 &&
            !strcasecmp(v, "keep-alive"));
}

/* The framing rules of gw_http_check on the head libwebsockets parsed: 0 to go
 * on, else the request was answered (and its connection will close). */
static int frame_check(gw_req *r, struct lws *wsi)
{
    static const char *const methods[] = {"GET", "POST", "OTHER", "HEAD"};
    char clen[32];
    gw_http_head h;
    gw_http_verdict v;
    int n;

    memset(&h, 0, sizeof h);
    h.method.p = methods[r->method];
    h.method.n = strlen(methods[r->method]);
    if ((n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH)) > 0) {
        h.n_clen = 1;
        if (n < (int)sizeof clen &&
            lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH) == n) {
            h.clen.p = clen;
            h.clen.n = (size_t)n;
        } else {
            h.clen.p = "-"; /* longer than any number we take */
            h.clen.n = 1;
        }
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 ||
        lws_hdr_custom_length(wsi, "transfer-encoding:", 18) > 0) {
        h.n_te = 1;
        h.te.p = "?"; /* its value does not matter: no Transfer-Encoding is accepted */
        h.te.n = 1;
    }
    if (gw_http_check(&h, GW_MAX_BODY, &v) == 0) {
        r->clen = v.clen;
        return 0;
    }
    gw_respond_error(r, v.status, v.status == 413 ? GW_E_TOO_LARGE : GW_E_BAD_REQUEST, v.why);
    return v.status;
}

/* The URI arguments as lws decoded them, for the URL a Twilio signature
 * covers: each NUL-terminated in r->args; args_len -1 when they do not fit. */
static void copy_args(struct lws *wsi, gw_req *r)
{
    char z[1];
    int i, n;

    for (i = 0;; i++) {
        /* 0 is an empty argument or none: only a copy tells them apart */
        n = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (!n && lws_hdr_copy_fragment(wsi, z, sizeof z, WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
            return; /* no more */
        if (n < 0 || n + 1 > (int)sizeof r->args - r->args_len) {
            r->args_len = -1;
            return;
        }
        n = lws_hdr_copy_fragment(wsi, r->args + r->args_len, (int)sizeof r->args - r->args_len,
                                  WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            return;
        r->args_len += n + 1;
    }
}

static int req_begin(struct http_pss *pss, struct lws *wsi, const char *uri)
{
    const gw_route *rt;
    int path_known = 0, webhook = 0, placed;
    gw_req *r;

    if (!(r = req_new()))
        return -1;
    pss->req = r;
    r->wsi = wsi;
    r->t0_us = gw_mono_us();
    r->clen = -1;
    snprintf(r->rid, sizeof r->rid, "%s-%llu", gw_srv->rid_prefix,
             (unsigned long long)++gw_srv->next_req);
    r->counted = 1;
    gw_srv->inflight++;
    wait_add(r);

    r->method = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI)    ? GW_GET
                : lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) ? GW_POST
                : lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) ? GW_HEAD
                                                                : GW_OTHER;
    snprintf(r->path, sizeof r->path, "%s", uri ? uri : "");
    copy_hdr(wsi, WSI_TOKEN_HOST, r->host, sizeof r->host);
    copy_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, r->ctype, sizeof r->ctype);
    copy_custom(wsi, "x-hub-signature-256:", r->hub_sig, sizeof r->hub_sig);
    copy_custom(wsi, "x-twilio-signature:", r->twilio_sig, sizeof r->twilio_sig);
    if (!strcmp(r->path, "/webhook/twilio"))
        copy_args(wsi, r);
    copy_hdr(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, r->auth, sizeof r->auth);
    if (frame_check(r, wsi) != 0)
        return 0;
    rt = gw_route_find(r->method, r->path, &path_known, &webhook); /* channels.c */
    if ((placed = classify(wsi, webhook)) < 0) {
        GW_RESPOND_LIT(r, 503, "{\"error\":\"too many connections: try again later\"}");
        return 0;
    }
    /* a kept-alive connection keeps its first request's place: one of another
     * kind is answered, then the connection closes */
    r->may_keep = placed == 0 && keep_alive_asked(wsi);
    if (gw_srv->stopping) {
        GW_RESPOND_LIT(r, 503, "{\"error\":\"the server is shutting down\"}");
        return 0;
    }
    if (!rt) {
        if (path_known)
            gw_respond_error(r, 405, GW_E_BAD_REQUEST, "method not allowed");
        else /* not an error of ours or the peer's worth counting (favicon.ico, scanners) */
            GW_RESPOND_LIT(r, 404, "{\"error\":\"not found\"}");
        return 0;
    }
    if (r->method != GW_POST)
        return rt->fn(r);

    /* POST: gw_http_check capped the body from Content-Length before any of it is read */
    r->on_body = rt->fn;
    if (r->clen == 0)
        return 0; /* libwebsockets raises the body completion at once */
    return lk_buf_reserve(&r->body, (size_t)r->clen) < 0 ? -1 : 0;
}

static int req_body(gw_req *r, const void *in, size_t len)
{
    if (!r || r->phase != 0)
        return 0; /* answered already: the rest is dropped */
    if ((int64_t)(r->body.len + len) > r->clen) {
        gw_respond_error(r, 400, GW_E_BAD_REQUEST, "the body is longer than its Content-Length");
        return 0;
    }
    lk_buf_put(&r->body, in, len);
    return r->body.oom ? -1 : 0;
}

static int req_body_done(gw_req *r)
{
    /* A repeat: libwebsockets holds bytes that followed the body and raises
     * the completion again on each pass of the loop until the connection
     * goes. That ends with the answer's writeable callback on the next poll
     * (a fresh connection is writeable), so wait only if an answer is queued
     * or the route's job is still in the store pipeline (route_ctx). */
    if (!r || r->body_done) {
        if (r)
            r->pipelined = 1; /* its answer closes: what follows is never parsed */
        return r && (r->phase != 0 || r->route_ctx) ? 0 : -1; /* answered, or being handled */
    }
    r->body_done = 1;
    if (r->phase != 0 || !r->on_body)
        return 0;
    if ((int64_t)r->body.len != r->clen) {
        gw_respond_error(r, 400, GW_E_BAD_REQUEST, "the body is shorter than its Content-Length");
        return 0;
    }
    return r->on_body(r);
}

/* 1 when the connection may wait for a next request after r's answer (see
 * the top of the file). */
static int keep_alive(const gw_req *r)
{
    return r->may_keep && !r->pipelined && r->method == GW_POST && r->clen > 0 && r->body_done &&
           r->status < 400 && !gw_srv->stopping;
}

/* Writes the response: its headers are put in front of the body (in the
 * headroom gw_respond left), and both go in one lws_write. Spurious callbacks
 * find nothing to do. */
static int req_write(struct http_pss *pss, struct lws *wsi)
{
    unsigned char hdr[LWS_PRE + HDR_ROOM], *start = hdr + LWS_PRE, *p = start,
                                           *end = hdr + sizeof hdr - 1, *out;
    gw_req *r = pss->req;
    size_t blen, hlen;
    int keep;

    if (!r || r->phase != 1)
        return 0;
    if (r->resp.len < RESP_HEAD)
        return -1; /* out of memory even for the headroom */
    blen = r->resp.len - RESP_HEAD;
    keep = keep_alive(r);
    if (lws_add_http_common_headers(wsi, (unsigned int)r->status, r->resp_type, blen, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                    (const unsigned char *)"nosniff", 7, &p, end) ||
        (!keep && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                               (const unsigned char *)"close", 5, &p, end)) ||
        lws_finalize_http_header(wsi, &p, end))
        return -1;
    hlen = (size_t)(p - start);
    out = (unsigned char *)r->resp.p + RESP_HEAD - hlen;
    memcpy(out, start, hlen);
    if (r->method == GW_HEAD)
        blen = 0;
    if (lws_write(wsi, out, hlen + blen, LWS_WRITE_HTTP_FINAL) < (int)(hlen + blen))
        return -1;
    r->phase = 3;
    req_log(r);
    req_free(pss);
    if (!keep)
        return -1; /* the connection closes (libwebsockets flushes what is buffered first) */
    /* nothing is buffered (keep_alive): the next head is read fresh from the socket */
    if (lws_http_transaction_completed(wsi))
        return -1;
    gw_limits_idle(gw_srv->limits, wsi);
    return 0;
}

static void req_closed(struct http_pss *pss)
{
    gw_req *r;

    if (!pss) /* a connection closed before it sent a request (a browser's preconnect) */
        return;
    r = pss->req;
    if (r && r->phase != 3) {
        r->status = r->status ? r->status : 499; /* the peer left before the answer */
        req_log(r);
    }
    req_free(pss);
}

static int accept_peer(void *user)
{
    struct lws_filter_network_conn_args *a = user;
    const void *evict = NULL;

    if (gw_srv->stopping)
        return -1;
    if (gw_limits_accept(gw_srv->limits, (struct sockaddr *)&a->cli_addr, gw_mono_us() / 1000,
                         &evict) < 0) {
        gw_metrics_error(GW_E_PEER_LIMIT);
        return -1;
    }
    if (evict) /* a connection that sent no head in time gives its place up */
        lws_set_timeout((struct lws *)(uintptr_t)evict, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    return 0;
}

/* Places the connection in its budget once its head is in (limits.c): 0, 1
 * when a kept-alive connection holds a place of the other kind, or -1 when
 * that budget is full. */
static int classify(struct lws *wsi, int webhook)
{
    char xff[512];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR), rc;

    if (n <= 0 || n >= (int)sizeof xff ||
        lws_hdr_copy(wsi, xff, sizeof xff, WSI_TOKEN_X_FORWARDED_FOR) != n)
        n = 0;
    if ((rc = gw_limits_classify(gw_srv->limits, wsi, n ? xff : NULL, (size_t)n, webhook)) >= 0)
        return rc;
    gw_metrics_error(GW_E_PEER_LIMIT);
    return -1;
}

static int confirm_upgrade(struct lws *wsi, const char *in)
{
    if (!in || strcmp(in, "websocket")) { /* HTTP/2 (h2c) is off */
        lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST,
                               "HTTP/2 is not served here: use HTTP/1.1");
        return -1; /* hang up: 1 would keep the connection for a next request */
    }
    if (gw_ws_confirm(wsi))
        return -1;
    switch (classify(wsi, 0)) { /* a websocket never takes a webhook's place, whatever its path */
    case 0: return 0;
    case 1: /* a kept-alive webhook connection */
        lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST,
                               "a websocket needs a connection of its own");
        return -1;
    default:
        lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "too many connections");
        return -1;
    }
}

int gw_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    struct http_pss *pss = user;

    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: return accept_peer(user);
    case LWS_CALLBACK_WSI_CREATE: gw_limits_bind(gw_srv->limits, wsi); break;
    case LWS_CALLBACK_WSI_DESTROY: gw_limits_release(gw_srv->limits, wsi); break;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: return confirm_upgrade(wsi, (const char *)in);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return gw_ws_adopt(wsi); /* a websocket without a subprotocol */
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED: return gw_ws_callback(wsi, reason, user, in, len);
    case LWS_CALLBACK_HTTP: return pss && !pss->req ? req_begin(pss, wsi, in) : -1;
    case LWS_CALLBACK_HTTP_BODY: return pss ? req_body(pss->req, in, len) : -1;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: return pss ? req_body_done(pss->req) : -1;
    case LWS_CALLBACK_HTTP_WRITEABLE: return pss ? req_write(pss, wsi) : 0;
    case LWS_CALLBACK_CLOSED_HTTP: req_closed(pss); break;
    default: break;
    }
    return 0;
}
