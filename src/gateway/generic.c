/* POST /v1/messages: a synchronous JSON channel for other systems.
 *
 *   request   {"from":"628123","text":"Hi Chika","id":"optional-dedup-id"}
 *   200       {"replies":[{"text":"...","choices":[{"id":"1","title":"..."}]}]}
 *   200       {"replies":[],"duplicate":true}           the id was seen before
 *   400       {"error":"why"}   malformed JSON, missing fields, refused text
 *   401       {"error":"..."}   LOKET_GENERIC_TOKEN is set and the request's
 *                               "Authorization: Bearer TOKEN" is missing or wrong
 *   429       {"error":"..."}   the sender is over its rate
 *
 * Without LOKET_GENERIC_TOKEN anyone who reaches the port can talk as any
 * generic-channel sender id and read that sender's conversation, so the
 * server starts without a token only on a loopback address, or when
 * `generic_open = yes` says that is meant (it then warns at start).
 *
 * Also the metrics route, which is as small (the routes that are no channel's
 * are the server's, in channels.c). */
#include "gw.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

/* 1 for an address only this machine can reach: 127.0.0.0/8, ::1,
 * ::ffff:127.x.x.x or "localhost". Anything else (0.0.0.0, a name, an
 * interface) may be reachable from elsewhere. */
static int is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (!strcmp(host, "localhost"))
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return 0;
}

int gw_generic_check_listen(const gw_config *c)
{
    if (c->generic_token || is_loopback(c->host))
        return 0;
    if (c->generic_open) {
        gw_log(GW_LOG_WARN,
               "POST /v1/messages is open: anyone who reaches this address can talk as any "
               "generic sender id and read its conversation (generic_open = yes)",
               "host=%s", c->host);
        return 0;
    }
    fprintf(stderr,
            "loket serve: refusing to listen on %s with POST /v1/messages open to anyone: "
            "whoever reaches it could talk as any generic sender id and read its "
            "conversation.\n"
            "  Set LOKET_GENERIC_TOKEN (clients then send \"Authorization: Bearer TOKEN\"),\n"
            "  listen on a loopback address (--host 127.0.0.1, behind a proxy), or set\n"
            "  generic_open = yes to accept it.\n",
            c->host);
    return -1;
}

static cJSON *replies_json(const lk_out *out)
{
    cJSON *arr = cJSON_CreateArray();
    int i, n = lk_out_count(out);

    for (i = 0; arr && i < n; i++) {
        cJSON *o;
        lk_reply r;

        lk_out_get(out, i, &r);
        if (!(o = gw_reply_json(&r, NULL)))
            break;
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* The bearer token, when LOKET_GENERIC_TOKEN is set: 0, or 401 (answered). */
static int generic_verify(gw_req *r)
{
    const char *tok = gw_srv->cfg.generic_token;

    if (!tok || (strncmp(r->auth, "Bearer ", 7) == 0 &&
                 gw_ct_equal(r->auth + 7, strlen(r->auth + 7), tok, strlen(tok))))
        return 0;
    gw_respond_error(r, 401, GW_E_SIGNATURE, "missing or wrong Authorization bearer token");
    return 401;
}

/* After the commit: the replies, or why there are none. */
static void generic_answer(gw_req *r, const gw_job *job)
{
    const char *reason = NULL;
    cJSON *res;

    switch (gw_job_result(job, 0, &reason)) {
    case GW_R_OK:
        gw_metrics_out(GW_CH_GENERIC, lk_out_count(gw_job_out(job, 0)));
        res = cJSON_CreateObject();
        if (res)
            cJSON_AddItemToObject(res, "replies", replies_json(gw_job_out(job, 0)));
        gw_respond_json(r, 200, res);
        cJSON_Delete(res);
        break;
    case GW_R_DUP: GW_RESPOND_LIT(r, 200, "{\"replies\":[],\"duplicate\":true}"); break;
    case GW_R_RATE:
        GW_RESPOND_LIT(r, 429, "{\"error\":\"too many messages from this sender: slow down\"}");
        break;
    case GW_R_INVALID:
        res = cJSON_CreateObject();
        if (res)
            cJSON_AddStringToObject(res, "error", reason ? reason : "the text was refused");
        gw_respond_json(r, 400, res);
        cJSON_Delete(res);
        break;
    case GW_R_INTERNAL:
        GW_RESPOND_LIT(r, 500, "{\"error\":\"internal error: the message was not processed\"}");
        break;
    }
}

int gw_route_generic(gw_req *r)
{
    char why[128];
    gw_generic_msg msg;
    lk_inbound in = {0};

    if (r->route_ctx || generic_verify(r)) /* being handled already, or refused */
        return 0;
    if (gw_generic_parse(r->body.p ? r->body.p : "", r->body.len, &msg, why, sizeof why) < 0) {
        gw_respond_error(r, 400, GW_E_BAD_REQUEST, why);
        gw_mem_after_body(r->body.len);
        return 0;
    }
    in.channel = gw_chan_generic.name;
    in.user = msg.from;
    in.ext_id = msg.id;
    in.text = msg.text;
    in.len = msg.len;
    in.now_ms = gw_now_ms();
    gw_chan_submit(r, &gw_chan_generic, &in, 1); /* copies in */
    gw_generic_clear(&msg);
    return 0;
}

static const gw_route generic_routes[] = {
    {GW_POST, "/v1/messages", gw_route_generic},
    {GW_OTHER, NULL, NULL},
};

const gw_chan gw_chan_generic = {
    .name = "generic",
    .metric = GW_CH_GENERIC,
    .routes = generic_routes,
    .verify = generic_verify,
    .answer = generic_answer,
};

int gw_route_metrics(gw_req *r)
{
    int64_t active = -1, depth = -1;
    lk_buf b = {0};

    if (lk_store_active_sessions(gw_srv->store, gw_now_ms() - gw_srv->cfg.active_window_ms,
                                 &active) != LK_OK ||
        lk_store_outbox_depth(gw_srv->store, &depth) != LK_OK)
        gw_log(GW_LOG_WARN, "metrics: store query failed", NULL);
    gw_metrics_render(&b, active, depth);
    if (b.oom)
        gw_respond_error(r, 500, GW_E_INTERNAL, "out of memory");
    else
        gw_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
    lk_buf_free(&b);
    return 0;
}
