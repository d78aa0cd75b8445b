/* `loket serve`: the libwebsockets context and vhost, signals, the main loop,
 * the service turns that hand committed messages back to the channels
 * (gw_pipeline_poll), flow reloads and the orderly shutdown.
 *
 * Threads: the loop thread runs lws and every transaction of the message
 * path on its own lk_store connection (automatic WAL checkpoints off); the
 * sender and the maintenance threads (sender.c, maint.c) have their own connections.
 * Signals are blocked in those threads, so SIGTERM, SIGINT and SIGHUP always
 * interrupt the loop's wait (epoll_wait, or poll() with event_loop = poll).
 *
 * The loop: epoll through libev, lws running on it as a foreign loop
 * (evloop.c); one turn of it, then gw_pipeline_poll and the reload and stop
 * checks. When lws's libev plugin or epoll cannot be had, a WARN says why and
 * the server goes on with lws's own poll() loop.
 *
 * SIGTERM/SIGINT: new connections and requests are refused, requests in
 * flight are answered (up to a few seconds), the context is destroyed
 * (closing websockets), the sender finishes its current request, and the
 * databases close. SIGHUP: the flow is loaded and checked again; a broken one
 * is refused with its errors logged and the old one stays. */
#include "gw.h"

#include <curl/curl.h>
#include <getopt.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

gw_server *gw_srv;

static volatile sig_atomic_t got_stop, got_reload;
static struct lws_context *volatile signal_ctx;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_reload = 1;
    else
        got_stop = 1;
    /* The loop thread is the only one with these signals unblocked, so the
     * loop's wait returns with EINTR; a signal that lands between the flag
     * check and the wait is covered by lws's wake-up eventfd, which
     * lws_cancel_service only write()s to. */
    if (signal_ctx)
        lws_cancel_service(signal_ctx);
}

static lws_sorted_usec_list_t drain_tick, log_tick, pulse;

static void on_tick(lws_sorted_usec_list_t *sul)
{
    (void)sul; /* only makes lws_service return */
}

/* Every second: the summaries of repeated log lines whose window ended. */
static void on_log_tick(lws_sorted_usec_list_t *sul)
{
    gw_log_flush();
    lws_sul_schedule(gw_srv->ctx, 0, sul, on_log_tick, LWS_US_PER_SEC);
}

/* With the epoll loop: a timer that comes due every GW_EVLOOP_PULSE_US, so
 * that lws re-arms its own timer at least that often (evloop.c, Timers). */
static void on_pulse(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(gw_srv->ctx, 0, sul, on_pulse, GW_EVLOOP_PULSE_US);
}

static const struct lws_protocols protocols[] = {
    {"http", gw_http_callback, sizeof(void *), 0, 0, NULL, 0},
    {GW_CHAT_PROTOCOL, gw_ws_callback, sizeof(void *), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

void gw_wake_sender(void)
{
    gw_sender_wake(gw_srv->sender);
}

/* ---- reload ------------------------------------------------------------------------------ */

/* The sender's copies of the outside_window templates: the server's flow's and
 * those of the numbers with a flow of their own. */
static void sender_templates(gw_server *s)
{
    int i;

    gw_sender_set_template(s->sender, NULL, lk_flow_outside_window(s->flow));
    for (i = 0; i < gw_wa_numbers_count(); i++) {
        const char *pnid = gw_wa_number_pnid(i);
        gw_sender_set_template(s->sender, pnid, lk_flow_outside_window(gw_wa_number_flow(pnid)));
    }
}

static void reload_flow(gw_server *s)
{
    lk_flow *flow = NULL;
    lk_diag diag = {0};
    lk_err err = lk_flow_load(s->cfg.flow, &flow, &diag);

    gw_log_diag(&diag);
    lk_diag_clear(&diag);
    if (err != LK_OK) {
        gw_log(GW_LOG_ERROR, "flow reload refused: keeping the running flow",
               "flow=\"%s\" err=\"%s\"", s->cfg.flow, lk_strerror(err));
        gw_wa_numbers_reload(); /* each number's flow stands on its own */
        sender_templates(s);
        return;
    }
    gw_pipeline_set_flow(flow); /* the workers take it at their next batch; the old
                                   one is freed once nothing refers to it */
    gw_log(GW_LOG_INFO, "flow reloaded", "flow=\"%s\" name=\"%s\" states=%d", s->cfg.flow,
           lk_flow_name(flow), lk_flow_state_count(flow));
    gw_wa_numbers_reload();
    sender_templates(s);
}

/* ---- start and stop ----------------------------------------------------------------------------
 */

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: loket serve [--flow FLOW] [--db PATH] [--host HOST] [--port PORT]\n"
            "                   [--config FILE] [--test-clock]\n\n"
            "Serves the web console (GET /), the websocket chat (/chat, subprotocol\n"
            "loket-chat), POST /v1/messages, the WhatsApp Cloud API webhook\n"
            "(/webhook/whatsapp), the Twilio webhook (/webhook/twilio), GET /healthz and\n"
            "GET /metrics. Defaults: flows/chika.json, loket.db, 127.0.0.1, 8080.\n\n"
            "--config FILE reads `key = value` lines; keys: flow db host port sync log\n"
            "  test_clock dedup_keep rate burst max_conns_per_peer ws_ping ws_idle\n"
            "  request_timeout retry_base retry_cap retry_give_up checkpoint_every sender_poll\n"
            "  prune_every active_window send_timeout send_inflight batch_per_turn\n"
            "  generic_open wal_max ws_sessions_per_conn ws_new_sessions max_conns\n"
            "  max_webhook_conns trusted_proxies wa_read_receipts wa_rate log_keep\n"
            "  outbox_keep session_keep store_workers batch_max batch_wait_us\n"
            "  keepalive_idle event_loop. Each key is also read from LOKET_<KEY>; flags win\n"
            "  over the environment, which wins over the file.\n"
            "--test-clock lets websocket clients set the clock of their conversations\n"
            "  (for `loket replay --url`); never on a production server.\n\n"
            "Secrets come from the environment only: LOKET_WA_VERIFY_TOKEN,\n"
            "LOKET_WA_APP_SECRET, LOKET_WA_TOKEN, LOKET_WA_API_URL (default\n"
            "https://graph.facebook.com/v25.0), LOKET_TWILIO_AUTH_TOKEN, LOKET_PUBLIC_URL,\n"
            "LOKET_GENERIC_TOKEN (then POST /v1/messages wants \"Authorization: Bearer\n"
            "TOKEN\"; without it, a non-loopback --host needs generic_open = yes),\n"
            "LOKET_WS_SECRET (signs websocket resume tokens; default: kept in the db).\n"
            "SIGHUP reloads the flow; SIGTERM and SIGINT stop after the work in flight.\n");
}

/* Reads the settings: defaults, the file, the environment, then the flags. */
static int configure(gw_config *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"flow", required_argument, NULL, 'f'},   {"db", required_argument, NULL, 'd'},
        {"host", required_argument, NULL, 'H'},   {"port", required_argument, NULL, 'p'},
        {"config", required_argument, NULL, 'c'}, {"test-clock", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *file = NULL;
    lk_diag diag = {0};
    int ch, rc = 0;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "f:d:H:p:c:th", opts, NULL)) != -1) {
        if (ch == 'c')
            file = optarg;
        else if (ch == 'h')
            return usage(stdout), 1;
        else if (ch == '?')
            return usage(stderr), 2;
    }
    if (optind != argc)
        return usage(stderr), 2;
    gw_config_defaults(c);
    if (file && gw_config_file(c, file, &diag) != LK_OK)
        rc = 2;
    if (gw_config_env(c, &diag) != LK_OK)
        rc = 2;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "f:d:H:p:c:th", opts, NULL)) != -1) {
        const char *key = ch == 'f'   ? "flow"
                          : ch == 'd' ? "db"
                          : ch == 'H' ? "host"
                          : ch == 'p' ? "port"
                                      : NULL;
        if (key && gw_config_set(c, key, optarg, "command line", &diag) != LK_OK)
            rc = 2;
        if (ch == 't')
            c->test_clock = 1;
    }
    lk_diag_print(&diag, stderr);
    lk_diag_clear(&diag);
    return rc;
}

/* The connection cap under the file descriptor limit: every connection is a
 * descriptor, and the databases (the loop's, the sender's, the maintenance
 * thread's and each store worker's connection, each with its -wal and -shm),
 * the listener, the loop's wake-up pipe, stdio, the sender's sockets (one per
 * request in flight, send_inflight) and a flow reload need some too. At the
 * limit accept() fails and libwebsockets retries it in a busy loop, so the cap
 * keeps clear of it. */
static void cap_connections(gw_config *c, long *fd_limit)
{
    struct rlimit rl;
    long soft = 1024, cap;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        soft = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1000000 ? 1000000 : (long)rl.rlim_cur;
    *fd_limit = soft;
    cap = soft - 32 - soft / 16 - c->send_inflight - 3L * (c->store_workers ? c->store_workers : 4);
    if (cap < 8)
        cap = 8;
    if (c->max_conns > cap)
        gw_log(GW_LOG_WARN, "max_conns lowered to stay under the file descriptor limit",
               "max_conns=%d fd_limit=%ld now=%ld", c->max_conns, soft, cap);
    if (c->max_conns == 0 || c->max_conns > cap)
        c->max_conns = (int)cap;
}

static int open_parts(gw_server *s)
{
    gw_limits_opts lo;
    lk_store_opts so;
    char dbname[256];
    lk_diag diag = {0};
    lk_err err;

    if ((err = lk_flow_load(s->cfg.flow, &s->flow, &diag)) != LK_OK) {
        lk_diag_print(&diag, stderr);
        if (!diag.n)
            fprintf(stderr, "%s: %s\n", s->cfg.flow, lk_strerror(err));
        lk_diag_clear(&diag);
        return -1;
    }
    lk_diag_clear(&diag);
    if (gw_wa_numbers_open(s->cfg.wa_numbers) < 0)
        return -1;
    lk_store_opts_default(&so);
    so.sync = s->cfg.sync;
    so.wal_autocheckpoint = 0; /* the maintenance thread checkpoints */
    /* one server per database file, so the outbox is sent once; and a bound
     * on the WAL for when the maintenance thread cannot catch the loop
     * (SQLite only: servers on one PostgreSQL database share it, the
     * outbox by leases, and PostgreSQL bounds its own log) */
    so.server_lock = 1;
    so.wal_limit = 2 * s->cfg.wal_max;
    if ((err = lk_store_open(s->cfg.db, &so, &s->store, &diag)) != LK_OK) {
        lk_diag_print(&diag, stderr);
        if (!diag.n)
            fprintf(stderr, "%s: %s\n", lk_store_redact(s->cfg.db, dbname, sizeof dbname),
                    lk_strerror(err));
        lk_diag_clear(&diag);
        return -1;
    }
    memset(&lo, 0, sizeof lo);
    lo.max_per_peer = s->cfg.max_conns_per_peer;
    lo.max_conns = s->cfg.max_conns;
    lo.max_webhook_conns = s->cfg.max_webhook_conns;
    lo.trusted = s->cfg.trusted;
    lo.ntrusted = s->cfg.ntrusted;
    lo.rate = s->cfg.rate;
    lo.burst = s->cfg.burst;
    if (!(s->limits = gw_limits_new(&lo)) || !(s->wsauth = gw_wsauth_open(&s->cfg, s->store))) {
        fprintf(stderr, "loket serve: out of memory\n");
        return -1;
    }
    return 0;
}

static void close_parts(gw_server *s)
{
    gw_sender_stop(s->sender);
    gw_maint_stop(s->maint);
    gw_pipeline_free();
    lk_store_close(s->store);
    lk_flow_free(s->flow);
    gw_wa_numbers_close();
    gw_limits_free(s->limits);
    gw_wsauth_free(s->wsauth);
    gw_config_free(&s->cfg);
}

/* Starts the threads with the signals blocked, so that they inherit the mask
 * and only the loop thread sees SIGTERM, SIGINT and SIGHUP. */
static int start_threads(gw_server *s)
{
    sigset_t set, old;
    int rc = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    if (gw_sender_start(&s->cfg, &s->sender) != LK_OK ||
        gw_maint_start(&s->cfg, &s->maint) != LK_OK)
        rc = -1;
    else {
        sender_templates(s);
        gw_sender_ready(s->sender); /* it sends nothing before it knows the templates */
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() must return */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static struct lws_context *create_context(gw_server *s)
{
    struct lws_context_creation_info info;

    memset(&info, 0, sizeof info); /* 4.1.6 has no lws_context_info_defaults() */
    s->retry.secs_since_valid_ping = (uint16_t)s->cfg.ws_ping_s;
    s->retry.secs_since_valid_hangup = (uint16_t)s->cfg.ws_idle_s;
    info.port = s->cfg.port;
    info.iface = s->cfg.host;
    info.protocols = protocols;
    info.vhost_name = "loket";
    /* lws's own waits (for a body, among others) end a little after the
     * request's deadline (http.c): at the same second they raced it and won
     * at times, closing without the 408 */
    info.timeout_secs = (unsigned int)s->cfg.request_timeout_s + 2;
    /* a head has request_timeout from its first byte (not re-armed per byte), on a
     * new connection as on a kept-alive one (http.c), which waits keepalive_idle
     * for that first byte */
    info.timeout_secs_ah_idle = (unsigned int)s->cfg.request_timeout_s;
    info.keepalive_timeout = s->cfg.keepalive_idle_s ? s->cfg.keepalive_idle_s : 1;
    info.retry_and_idle_policy = &s->retry;
    info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    if (strchr(s->cfg.host, ':') == NULL)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (s->evloop) { /* lws on loket's epoll loop (evloop.c) */
        info.options |= LWS_SERVER_OPTION_LIBEV;
        s->foreign_loops[0] = s->evloop;
        info.foreign_loops = s->foreign_loops;
    }
    /* no extensions (permessage-deflate off), no mounts, no CGI, no TLS: a
     * proxy in front terminates TLS; HTTP/2 is not negotiated without it and
     * the h2c upgrade is refused in the HTTP callback */
    return lws_create_context(&info);
}

/* The loop and its context: epoll unless event_loop = poll, or unless it
 * cannot be had (a WARN says why, and lws's poll() loop serves). NULL when the
 * server cannot listen. */
static struct lws_context *open_loop(gw_server *s)
{
    struct lws_context *ctx;
    char why[256] = "";

    if (!s->cfg.event_poll && !(s->evloop = gw_evloop_new(why, sizeof why)))
        gw_log(GW_LOG_WARN, "epoll event loop unavailable: going on with poll", "reason=\"%s\"",
               why);
    if ((ctx = create_context(s)) || !s->evloop)
        return ctx;
    /* not a bind failure alone: lws may have failed to take the loop */
    gw_evloop_free(s->evloop);
    s->evloop = NULL;
    if ((ctx = create_context(s)))
        gw_log(GW_LOG_WARN, "epoll event loop unavailable: going on with poll",
               "reason=\"libwebsockets did not start on the libev loop\"");
    return ctx;
}

/* One turn of the loop: waits for an event and handles what is ready. */
static int turn(gw_server *s)
{
    if (!s->evloop)
        return lws_service(s->ctx, 0);
    gw_evloop_turn(s->evloop);
    return 0;
}

/* Runs the loop until SIGTERM/SIGINT, then drains the requests in flight. */
static void run(gw_server *s)
{
    int64_t deadline;

    lws_sul_schedule(s->ctx, 0, &log_tick, on_log_tick, LWS_US_PER_SEC);
    if (s->evloop) {
        lws_sul_schedule(s->ctx, 0, &pulse, on_pulse, GW_EVLOOP_PULSE_US);
        lws_cancel_service(s->ctx); /* lws arms its timer after a socket event */
    }
    while (!got_stop) {
        if (turn(s) < 0)
            break;
        gw_pipeline_poll();
        gw_sender_flush(s->sender);
        if (got_reload) {
            got_reload = 0;
            reload_flow(s);
        }
    }
    s->stopping = 1;
    gw_log(GW_LOG_INFO, "stopping: finishing the requests in flight", "inflight=%d", s->inflight);
    deadline = gw_mono_us() + 5 * 1000000;
    while (s->inflight > 0 && gw_mono_us() < deadline) {
        lws_sul_schedule(s->ctx, 0, &drain_tick, on_tick, 50 * LWS_US_PER_MS);
        if (turn(s) < 0)
            break;
        gw_pipeline_poll();
        gw_sender_flush(s->sender);
    }
    lws_sul_cancel(&drain_tick);
    lws_sul_cancel(&log_tick);
    lws_sul_cancel(&pulse);
}

int lk_serve_main(int argc, char **argv)
{
    static gw_server server;
    gw_server *s = &server;
    long fd_limit;
    char dbname[256];
    int rc;

    memset(s, 0, sizeof *s);
    gw_srv = s;
    if ((rc = configure(&s->cfg, argc, argv)) != 0) {
        gw_config_free(&s->cfg);
        return rc == 1 ? 0 : 2;
    }
    gw_log_init(s->cfg.log_level);
    lws_set_log_level(LLL_ERR | LLL_WARN, gw_log_lws);
    gw_random_hex(s->rid_prefix, 4);
    cap_connections(&s->cfg, &fd_limit);
    install_signals();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "loket serve: libcurl did not initialise\n");
        return 1;
    }
    rc = 1;
    if (gw_generic_check_listen(&s->cfg) < 0 || open_parts(s) < 0 || start_threads(s) < 0)
        goto done;
    if (!(s->ctx = open_loop(s))) {
        gw_log(GW_LOG_ERROR, "cannot listen", "host=%s port=%d", s->cfg.host, s->cfg.port);
        goto done;
    }
    if (gw_pipeline_start(s) != LK_OK) {
        gw_pipeline_stop();
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
        goto done;
    }
    signal_ctx = s->ctx;
    s->vhost = lws_get_vhost_by_name(s->ctx, "loket");
    gw_log(GW_LOG_INFO, "listening",
           "host=%s port=%d flow=\"%s\" db=\"%s\" test_clock=%d whatsapp=%s twilio=%s "
           "generic_auth=%s fd_limit=%ld max_conns=%d max_webhook_conns=%d "
           "max_conns_per_peer=%d trusted_proxies=%d event_loop=%s version=%s git=%s schema=%d",
           s->cfg.host, s->vhost ? lws_get_vhost_listen_port(s->vhost) : s->cfg.port, s->cfg.flow,
           lk_store_redact(s->cfg.db, dbname, sizeof dbname), s->cfg.test_clock,
           s->cfg.wa_app_secret ? "on" : "off", s->cfg.twilio_token ? "on" : "off",
           s->cfg.generic_token ? "on" : "off", fd_limit, s->cfg.max_conns,
           s->cfg.max_webhook_conns, s->cfg.max_conns_per_peer, s->cfg.ntrusted,
           s->evloop ? "epoll" : "poll", lk_version(),
           *lk_version_git() ? lk_version_git() : "none", lk_store_schema_version());
    run(s);
    signal_ctx = NULL;
    gw_pipeline_stop(); /* what is queued commits */
    lws_context_destroy(s->ctx);
    s->ctx = NULL;
    gw_http_cleanup();
    rc = 0;
done:
    gw_evloop_free(s->evloop); /* after the context: lws leaves a foreign loop alone */
    s->evloop = NULL;
    close_parts(s);
    curl_global_cleanup();
    gw_log_flush();
    if (rc == 0)
        gw_log(GW_LOG_INFO, "stopped", NULL);
    gw_srv = NULL;
    return rc;
}
