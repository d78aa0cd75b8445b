/* A blocking client of the /chat protocol, for `loket replay --url` and
 * `loket console`. Each client has its own lws context with no listener;
 * the blocking calls service it until what they wait for arrives, the
 * connection drops, or a deadline passes (a sul timer wakes the loop). */
#include "gw.h"

#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_US (10 * 1000000LL)
#define STEP_TIMEOUT_US (30 * 1000000LL)

typedef struct msg {
    struct msg *next;
    size_t n;
    char s[];
} msg;

struct lk_wsclient {
    struct lws_context *ctx;
    struct lws *wsi;
    int connected, closed, failed;
    int close_said; /* why holds the server's close code and reason */
    char why[256];
    lk_buf rx;        /* the message being reassembled */
    msg *head, *tail; /* whole messages not read yet */
    lk_buf tx;        /* LWS_PRE bytes, then one message to send */
    int tx_pending;
    char user[GW_USER_MAX + 1];
    char token[80];  /* the welcome's resume token for user ("" when none) */
    char state[128]; /* a resumed session's state, from the welcome ("" when new) */
    int ended;       /* that session had ended */
    lws_sorted_usec_list_t timer;
};

static int client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    lk_wsclient *c = lws_context_user(lws_get_context(wsi));
    msg *m;

    if (!c)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED: c->connected = 1; break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        c->failed = 1;
        c->wsi = NULL;
        snprintf(c->why, sizeof c->why, "cannot connect: %s",
                 in ? (const char *)in : "connection failed");
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        lk_buf_put(&c->rx, in, len);
        if (c->rx.oom || c->rx.len > 4 * GW_MAX_WS_MSG)
            return -1;
        if (!lws_is_final_fragment(wsi))
            break;
        if (!(m = malloc(sizeof *m + c->rx.len + 1)))
            return -1;
        m->next = NULL;
        m->n = c->rx.len;
        memcpy(m->s, c->rx.p ? c->rx.p : "", c->rx.len);
        m->s[m->n] = '\0';
        if (c->tail)
            c->tail->next = m;
        else
            c->head = m;
        c->tail = m;
        lk_buf_reset(&c->rx);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!c->tx_pending)
            break;
        c->tx_pending = 0;
        if (lws_write(wsi, (unsigned char *)c->tx.p + LWS_PRE, c->tx.len - LWS_PRE,
                      LWS_WRITE_TEXT) < (int)(c->tx.len - LWS_PRE))
            return -1;
        break;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) {
            const unsigned char *p = in;
            snprintf(c->why, sizeof c->why, "the server closed the connection (%d%s%.*s)",
                     p[0] << 8 | p[1], len > 2 ? ": " : "", (int)(len - 2), (const char *)p + 2);
            c->close_said = 1;
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        c->closed = 1;
        c->wsi = NULL;
        if (!c->close_said)
            snprintf(c->why, sizeof c->why, "the server closed the connection");
        break;
    default: break;
    }
    (void)user;
    return 0;
}

static const struct lws_protocols client_protocols[] = {
    {GW_CHAT_PROTOCOL, client_cb, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_timer(lws_sorted_usec_list_t *sul)
{
    (void)sul; /* only wakes lws_service */
}

/* Services the context until cond holds. 0, or -1 with c->why set. */
static int pump(lk_wsclient *c, int64_t deadline_us, int (*cond)(lk_wsclient *))
{
    while (!cond(c)) {
        int64_t now = gw_mono_us();
        if (c->failed || c->closed)
            return -1;
        if (now >= deadline_us) {
            snprintf(c->why, sizeof c->why, "no answer from the server in time");
            return -1;
        }
        lws_sul_schedule(c->ctx, 0, &c->timer, on_timer, (lws_usec_t)(deadline_us - now));
        if (lws_service(c->ctx, 0) < 0) {
            snprintf(c->why, sizeof c->why, "the connection failed");
            return -1;
        }
    }
    lws_sul_cancel(&c->timer);
    return 0;
}

static int is_connected(lk_wsclient *c)
{
    return c->connected;
}

static int has_msg(lk_wsclient *c)
{
    return c->head != NULL;
}

static int tx_done(lk_wsclient *c)
{
    return !c->tx_pending;
}

/* Each call starts with no error: an error of an earlier step never stands
 * for what goes wrong now (a connection that dropped since then says so). */
static int send_json(lk_wsclient *c, const cJSON *o)
{
    static const char pad[LWS_PRE];

    if (!c->wsi) { /* why says how it was lost */
        if (!c->closed && !c->failed)
            snprintf(c->why, sizeof c->why, "not connected");
        return -1;
    }
    c->why[0] = '\0';
    lk_buf_reset(&c->tx);
    lk_buf_put(&c->tx, pad, LWS_PRE);
    if (gw_json_put(&c->tx, o) < 0) {
        snprintf(c->why, sizeof c->why, "out of memory");
        return -1;
    }
    c->tx_pending = 1;
    lws_callback_on_writable(c->wsi);
    return pump(c, gw_mono_us() + CONNECT_TIMEOUT_US, tx_done);
}

/* The next whole message as JSON (the caller deletes it); NULL on error. */
static cJSON *next_json(lk_wsclient *c, int64_t deadline_us)
{
    msg *m;
    cJSON *j;

    if (pump(c, deadline_us, has_msg) < 0)
        return NULL;
    m = c->head;
    c->head = m->next;
    if (!c->head)
        c->tail = NULL;
    j = cJSON_ParseWithLength(m->s, m->n);
    free(m);
    if (!j)
        snprintf(c->why, sizeof c->why, "the server sent a frame that is not JSON");
    return j;
}

static void copy_err(const lk_wsclient *c, char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", c->why[0] ? c->why : "websocket error");
}

/* ws://host[:port][/path]; wss:// as well. */
static int parse_url(const char *url, char *host, size_t hlen, int *port, char *path, size_t plen,
                     int *tls)
{
    const char *p, *slash, *colon;
    size_t n;

    if (!strncmp(url, "ws://", 5)) {
        *tls = 0, *port = 80, p = url + 5;
    } else if (!strncmp(url, "wss://", 6)) {
        *tls = 1, *port = 443, p = url + 6;
    } else {
        return -1;
    }
    slash = strchr(p, '/');
    n = slash ? (size_t)(slash - p) : strlen(p);
    if (*p == '[') { /* [::1]:8080 */
        const char *rb = memchr(p, ']', n);
        if (!rb)
            return -1;
        colon = rb + 1 < p + n && rb[1] == ':' ? rb + 1 : NULL;
        if ((size_t)(rb - p - 1) >= hlen)
            return -1;
        memcpy(host, p + 1, (size_t)(rb - p - 1));
        host[rb - p - 1] = '\0';
    } else {
        colon = memchr(p, ':', n);
        if ((colon ? (size_t)(colon - p) : n) >= hlen)
            return -1;
        memcpy(host, p, colon ? (size_t)(colon - p) : n);
        host[colon ? (size_t)(colon - p) : n] = '\0';
    }
    if (colon && (*port = atoi(colon + 1)) <= 0)
        return -1;
    snprintf(path, plen, "%s", slash ? slash : "/chat");
    return host[0] ? 0 : -1;
}

lk_err lk_wsclient_open(const char *url, const char *user, lk_wsclient **out, char *err,
                        size_t errlen)
{
    return gw_wsclient_open(url, user, NULL, out, err, errlen);
}

lk_err gw_wsclient_open(const char *url, const char *user, const char *token, lk_wsclient **out,
                        char *err, size_t errlen)
{
    struct lws_context_creation_info info;
    struct lws_client_connect_info ci;
    char host[256], path[512];
    lk_wsclient *c;
    cJSON *hello = NULL, *w = NULL;
    const char *type, *uid, *tok;
    int port, tls;

    *out = NULL;
    if (parse_url(url, host, sizeof host, &port, path, sizeof path, &tls) < 0) {
        snprintf(err, errlen, "not a websocket URL (ws://host:port/chat): %s", url);
        return LK_EINVAL;
    }
    if (!(c = calloc(1, sizeof *c))) {
        snprintf(err, errlen, "out of memory");
        return LK_ENOMEM;
    }
    lws_set_log_level(0, NULL);
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = client_protocols;
    info.user = c;
    if (tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    if (!(c->ctx = lws_create_context(&info))) {
        snprintf(c->why, sizeof c->why, "cannot create the websocket context");
        goto fail;
    }
    memset(&ci, 0, sizeof ci);
    ci.context = c->ctx;
    ci.address = host;
    ci.port = port;
    ci.path = path;
    ci.host = host;
    ci.origin = host;
    ci.protocol = GW_CHAT_PROTOCOL;
    ci.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
    ci.pwsi = &c->wsi;
    if (!lws_client_connect_via_info(&ci) && !c->failed) {
        snprintf(c->why, sizeof c->why, "cannot connect to %s", url);
        goto fail;
    }
    if (pump(c, gw_mono_us() + CONNECT_TIMEOUT_US, is_connected) < 0)
        goto fail;
    if (!(hello = cJSON_CreateObject()) || !cJSON_AddStringToObject(hello, "type", "hello") ||
        (user && !cJSON_AddStringToObject(hello, "user", user)) ||
        (user && token && !cJSON_AddStringToObject(hello, "token", token)) ||
        send_json(c, hello) < 0)
        goto fail;
    if (!(w = next_json(c, gw_mono_us() + CONNECT_TIMEOUT_US)))
        goto fail;
    type = gw_json_str(w, "type");
    uid = gw_json_str(w, "user");
    if (!type || strcmp(type, "welcome") || !uid) {
        const char *e = gw_json_str(w, "error");
        snprintf(c->why, sizeof c->why, "the server refused the hello%s%s", e ? ": " : "",
                 e ? e : "");
        goto fail;
    }
    snprintf(c->user, sizeof c->user, "%s", uid);
    tok = gw_json_str(w, "token");
    snprintf(c->token, sizeof c->token, "%s", tok && strlen(tok) < sizeof c->token ? tok : "");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(w, "resumed")) && gw_json_str(w, "state")) {
        snprintf(c->state, sizeof c->state, "%s", gw_json_str(w, "state"));
        c->ended = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(w, "ended"));
    }
    cJSON_Delete(hello);
    cJSON_Delete(w);
    *out = c;
    return LK_OK;
fail:
    copy_err(c, err, errlen);
    cJSON_Delete(hello);
    cJSON_Delete(w);
    lk_wsclient_close(c);
    return LK_EIO;
}

const char *gw_wsclient_user(const lk_wsclient *c)
{
    return c->user;
}

const char *gw_wsclient_token(const lk_wsclient *c)
{
    return c->token;
}

const char *gw_wsclient_state(const lk_wsclient *c, int *ended)
{
    if (ended)
        *ended = c->ended;
    return c->state[0] ? c->state : NULL;
}

lk_err lk_wsclient_clock(lk_wsclient *c, int64_t now_ms)
{
    cJSON *o = cJSON_CreateObject(), *a = NULL;
    const char *type;
    lk_err err = LK_EIO;

    if (!o || !cJSON_AddStringToObject(o, "type", "clock"))
        goto done;
    if (now_ms % 1000 == 0) {
        lk_civil t;
        char iso[40];
        lk_civil_from_ms(now_ms, 0, &t);
        snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02dZ", t.year, t.month, t.day, t.hour,
                 t.min, t.sec);
        if (!cJSON_AddStringToObject(o, "now", iso))
            goto done;
    } else if (!cJSON_AddNumberToObject(o, "now", (double)now_ms)) {
        goto done;
    }
    if (send_json(c, o) < 0 || !(a = next_json(c, gw_mono_us() + STEP_TIMEOUT_US)))
        goto done;
    type = gw_json_str(a, "type");
    err = type && !strcmp(type, "clock") && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "ok"))
              ? LK_OK
              : LK_EPROTO;
    if (err != LK_OK)
        snprintf(c->why, sizeof c->why, "the server refused the clock: %s",
                 gw_json_str(a, "error") ? gw_json_str(a, "error") : "?");
done:
    cJSON_Delete(o);
    cJSON_Delete(a);
    return err;
}

lk_err gw_wsclient_exchange(lk_wsclient *c, const char *text, gw_reply_fn fn, void *ctx, char *err,
                            size_t errlen)
{
    cJSON *o = cJSON_CreateObject(), *a = NULL;
    int64_t deadline = gw_mono_us() + STEP_TIMEOUT_US;
    lk_err rc = LK_EIO;

    if (!o || !cJSON_AddStringToObject(o, "type", "message") ||
        !cJSON_AddStringToObject(o, "text", text) || send_json(c, o) < 0)
        goto done;
    for (;;) {
        const char *type;
        cJSON_Delete(a);
        if (!(a = next_json(c, deadline)))
            goto done;
        if (!(type = gw_json_str(a, "type")))
            continue;
        if (!strcmp(type, "reply")) {
            if (fn)
                fn(ctx, gw_json_str(a, "text") ? gw_json_str(a, "text") : "",
                   cJSON_GetObjectItemCaseSensitive(a, "choices"));
        } else if (!strcmp(type, "done")) {
            rc = LK_OK;
            break;
        } else if (!strcmp(type, "error")) {
            snprintf(c->why, sizeof c->why, "the server answered with an error: %s",
                     gw_json_str(a, "error") ? gw_json_str(a, "error") : "?");
            rc = LK_EPROTO;
            goto done;
        } /* welcome and others: not part of the step */
    }
done:
    if (rc != LK_OK)
        copy_err(c, err, errlen);
    cJSON_Delete(o);
    cJSON_Delete(a);
    return rc;
}

static void join_reply(void *ctx, const char *text, const cJSON *choices)
{
    lk_buf *b = ctx;
    (void)choices;
    if (b->len)
        lk_buf_putc(b, '\n');
    lk_buf_puts(b, text);
}

lk_err lk_wsclient_send(lk_wsclient *c, const char *text, lk_buf *replies, char *err, size_t errlen)
{
    lk_buf_reset(replies);
    return gw_wsclient_exchange(c, text, join_reply, replies, err, errlen);
}

void lk_wsclient_close(lk_wsclient *c)
{
    msg *m, *next;

    if (!c)
        return;
    if (c->ctx)
        lws_context_destroy(c->ctx);
    for (m = c->head; m; m = next) {
        next = m->next;
        free(m);
    }
    lk_buf_free(&c->rx);
    lk_buf_free(&c->tx);
    free(c);
}
