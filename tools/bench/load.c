/* loket-load: a load generator for a running `loket serve` on this machine.
 *
 *   loket-load [--url URL | --host H --port P] [--mode ws|whatsapp] [--clients N]
 *              [--duration S] [--secret S] [--pnid ID] [--pid PID] [--metrics]
 *              [--timeout S] [--idle N]
 *
 * N clients in a closed loop, each on its own connection, one epoll thread:
 * a client sends a message, waits for its whole answer, checks it and sends
 * the next one. They walk the Chika reactivation conversations of
 * load_script.c over and over.
 * - ws: websocket /chat (subprotocol loket-chat), no hello (the server
 *   assigns each connection a user); a message is done at its "done" frame,
 *   and every step's replies are checked against the expected fragments: a
 *   miss is a wrong reply (and the client starts the conversation over).
 * - whatsapp: signed Cloud API notifications POSTed to /webhook/whatsapp on
 *   keep-alive connections, one phone number per client; a message is done
 *   at its HTTP response and counts when the status is 200 (the replies go
 *   to the outbox, so only the status is checked; --metrics shows the
 *   outbox's growth).
 * --idle N: N more websocket connections that open, answer pings and never
 *   send a message (users who opened the chat and said nothing), held for the
 *   whole run; with --clients 0 they are the whole load, and the report says
 *   how many stayed open and the server's RSS with them.
 * The clients connect first; the clock starts when all are connected (or
 * after 10 s), and after --duration no new message is sent, the ones in
 * flight get up to --timeout to finish, and the report is printed: msgs/s,
 * latency percentiles (send to done), errors, wrong replies, the server's
 * CPU and RSS from /proc (--pid) and messages per commit from /metrics
 * (--metrics). Exit 0 when messages went through with no error and no wrong
 * reply, 1 otherwise, 2 on bad usage. Only loopback addresses are accepted. */
#include "load.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_WAIT_NS (10 * 1000000000LL) /* for all clients to connect (+1 ms per idle one) */
#define CONNECT_SPREAD_NS 20000LL           /* between two idle connections' first connect */
#define RETRY_NS (200 * 1000000LL)          /* before a failed client reconnects */
#define MAX_RX (4u << 20)                   /* a client's unparsed input */
#define MAX_SHOWN 5                         /* wrong replies described on stderr */

enum mode { M_WS, M_WA };
enum cstate { C_RETRY, C_CONNECTING, C_HANDSHAKE, C_READY, C_WAIT };

typedef struct client {
    int fd, id;
    enum cstate st;
    int conv, step;
    int64_t sent_ns, retry_ns;
    lb out, in, msg, replies; /* msg: a fragmented websocket message */
    size_t out_off;
    int msg_op;
    int want_out; /* EPOLLOUT is registered */
    char key[32];
    char phone[24];
} client;

/* ---- options and totals ----------------------------------------------------------------- */

static struct {
    enum mode mode;
    ld_addr addr;
    char path[256];
    int clients, idle;
    double duration, timeout;
    const char *secret, *pnid;
    int pid, metrics;
} opt = {.mode = M_WS,
         .path = "/chat",
         .clients = 10,
         .duration = 10,
         .timeout = 10,
         .pnid = "106540352242922"};

static struct {
    uint64_t messages, wrong;
    uint64_t e_answer;                                /* error frames, HTTP statuses not 200 */
    uint64_t e_connect, e_closed, e_timeout, e_proto; /* connections lost or refused */
    uint64_t e_status[6];                             /* by class: 1xx ... 5xx, [0] other */
    int shown;
} tot;

static int ep;
static int64_t t_start, t_last; /* load began, last answer in */
static long srv_max_rss;        /* KiB, sampled */
static long long srv_cpu0;      /* the server's CPU ticks when the load began */
static uint64_t max_us;
static double self_cpu0; /* loket-load's own CPU seconds when the load began */
static int stopping, inflight;
static int nall;         /* clients + idle ones */
static int idle_open;    /* idle connections open at the end */
static long srv_rss_end; /* KiB, with the idle connections still open */
static uint64_t rng, wamid_seq;
static char run_tag[16];

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double self_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- latency: a log-linear histogram of microseconds (under 0.2% error) ------------------ */

#define H_SUB 512
#define H_BUCKETS (2 * H_SUB + 40 * H_SUB)
static uint64_t hist[H_BUCKETS];

static int h_index(uint64_t us)
{
    int msb, shift;
    if (us < 2 * H_SUB)
        return (int)us;
    msb = 63 - __builtin_clzll(us);
    shift = msb - 9;
    if (shift > 40)
        return H_BUCKETS - 1;
    return 2 * H_SUB + (shift - 1) * H_SUB + (int)((us >> shift) - H_SUB);
}

static uint64_t h_value(int b)
{
    int shift;
    if (b < 2 * H_SUB)
        return (uint64_t)b;
    shift = (b - 2 * H_SUB) / H_SUB + 1;
    return ((uint64_t)((b - 2 * H_SUB) % H_SUB) + H_SUB) << shift;
}

static double h_quantile(double q, uint64_t n)
{
    uint64_t want = (uint64_t)(q * (double)n), seen = 0;
    int b;
    if (want >= n)
        want = n - 1;
    for (b = 0; b < H_BUCKETS; b++)
        if ((seen += hist[b]) > want)
            return (double)h_value(b) / 1000.0;
    return 0;
}

/* ---- the clients ------------------------------------------------------------------------- */

static void client_fail(client *c, uint64_t *counter);

/* Registers the socket, or changes its events when EPOLLOUT is to be turned on or off. */
static void watch(client *c, int op)
{
    struct epoll_event ev = {0};
    int want_out = c->st == C_CONNECTING || c->out_off < c->out.len;

    if (op == EPOLL_CTL_MOD && want_out == c->want_out)
        return;
    c->want_out = want_out;
    ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0);
    ev.data.ptr = c;
    if (epoll_ctl(ep, op, c->fd, &ev) < 0 && op == EPOLL_CTL_ADD) {
        perror("loket-load: epoll_ctl");
        exit(2);
    }
}

/* Writes what is pending; EPOLLOUT stays on only while something is left. */
static void flush(client *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            client_fail(c, &tot.e_closed);
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out.len)
        c->out.len = c->out_off = 0;
    watch(c, EPOLL_CTL_MOD);
}

static void client_connect(client *c)
{
    if ((c->fd = ld_connect(&opt.addr, 1)) < 0) {
        c->st = C_RETRY;
        c->retry_ns = now_ns() + RETRY_NS;
        tot.e_connect++;
        return;
    }
    c->st = C_CONNECTING;
    c->in.len = c->out.len = c->out_off = c->msg.len = 0;
    watch(c, EPOLL_CTL_ADD);
}

static void client_close(client *c)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
}

/* A broken connection: counted, closed, and reconnected a little later; the
 * conversation starts over (a websocket client is a new user then). */
static void client_fail(client *c, uint64_t *counter)
{
    (*counter)++;
    if (c->st == C_WAIT)
        inflight--;
    client_close(c);
    c->st = C_RETRY;
    c->retry_ns = now_ns() + RETRY_NS;
    if (opt.mode == M_WS)
        c->step = 0;
}

static void client_send(client *c)
{
    const ld_step *s = &ld_convs[c->conv].steps[c->step];

    if (opt.mode == M_WS) {
        static lb j; /* reused: one message is built at a time */
        j.len = 0;
        lb_puts(&j, "{\"type\":\"message\",\"text\":\"");
        lb_json_str(&j, s->send);
        lb_puts(&j, "\"}");
        ld_ws_frame(&c->out, 1, j.p, j.len, &rng);
    } else {
        char wamid[64];
        snprintf(wamid, sizeof wamid, "wamid.HBgN%s%012llX", run_tag,
                 (unsigned long long)++wamid_seq);
        ld_wa_request(&c->out, &opt.addr, opt.secret, opt.pnid, c->phone, wamid, s->send);
    }
    c->replies.len = 0;
    if (c->replies.p)
        c->replies.p[0] = 0;
    c->st = C_WAIT;
    c->sent_ns = now_ns();
    inflight++;
    flush(c);
}

/* The answer to the message in flight is whole: count it, check it, go on. */
static void step_done(client *c, int ok)
{
    const ld_conv *cv = &ld_convs[c->conv];
    int64_t t = now_ns();

    inflight--;
    c->st = C_READY;
    if (!ok) {
        tot.e_answer++;
        c->step = 0; /* a greeting starts over from any state */
    } else {
        const char *miss = opt.mode == M_WS
                               ? ld_check(&cv->steps[c->step], c->replies.p ? c->replies.p : "")
                               : NULL;
        tot.messages++;
        uint64_t us = (uint64_t)(t - c->sent_ns) / 1000;
        hist[h_index(us)]++;
        if (us > max_us)
            max_us = us;
        if (miss) {
            tot.wrong++;
            if (tot.shown++ < MAX_SHOWN)
                fprintf(
                    stderr,
                    "loket-load: wrong reply (%s, step %d, sent \"%s\"): %s \"%s\" in:\n%.600s\n",
                    cv->name, c->step + 1, cv->steps[c->step].send,
                    miss[0] == '!' ? "unexpected" : "missing", miss + (miss[0] == '!'),
                    c->replies.p ? c->replies.p : "");
            c->step = 0;
        } else if (++c->step == cv->nsteps) {
            c->step = 0;
            c->conv = (c->conv + 1) % ld_nconvs;
        }
    }
}

/* The next message of a client whose answer is in, unless the run is over. */
static void next_message(client *c)
{
    if (c->id < opt.clients && c->st == C_READY && c->fd >= 0 && t_start && !stopping)
        client_send(c);
}

static void ws_message(client *c, const char *s, size_t n)
{
    cJSON *o = cJSON_ParseWithLength(s, n);
    const char *type = o ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "type")) : NULL;

    if (!type) {
        tot.e_proto++;
    } else if (c->st != C_WAIT) {
        /* welcome before the first reply, nothing else unasked */
    } else if (!strcmp(type, "reply")) {
        const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "text"));
        lb_puts(&c->replies, text ? text : "");
        lb_puts(&c->replies, "\n");
    } else if (!strcmp(type, "done")) {
        step_done(c, 1);
        next_message(c);
    } else if (!strcmp(type, "error")) {
        const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "error"));
        if (tot.e_answer < MAX_SHOWN)
            fprintf(stderr, "loket-load: error frame: %s\n", why ? why : "?");
        step_done(c, 0);
        next_message(c);
    }
    cJSON_Delete(o);
}

static void on_ws_input(client *c)
{
    ld_frame f;
    int r;

    while (c->fd >= 0 && (r = ld_ws_parse(&c->in, &f)) == 1) {
        if (f.opcode == 8) {
            client_fail(c, &tot.e_closed);
            return;
        }
        if (f.opcode == 9) {
            ld_ws_frame(&c->out, 10, f.payload, f.len, &rng);
            flush(c);
        } else if (f.opcode == 1 || f.opcode == 2 || f.opcode == 0) {
            if (f.opcode)
                c->msg_op = f.opcode;
            if (f.fin && c->msg.len == 0) {
                ws_message(c, f.payload, f.len);
            } else {
                lb_put(&c->msg, f.payload, f.len);
                if (f.fin) {
                    ws_message(c, c->msg.p, c->msg.len);
                    c->msg.len = 0;
                }
            }
        }
        if (c->fd >= 0)
            lb_consume(&c->in, f.used);
    }
    if (r < 0)
        client_fail(c, &tot.e_proto);
}

static void on_http_input(client *c)
{
    ld_http h;
    int r;

    while (c->fd >= 0 && (r = ld_http_parse(&c->in, &h)) == 1) {
        lb_consume(&c->in, h.used);
        if (c->st != C_WAIT) {
            client_fail(c, &tot.e_proto);
            return;
        }
        if (h.status != 200 && t_start) {
            int k = h.status / 100;
            tot.e_status[k >= 1 && k <= 5 ? k : 0]++;
            if (tot.e_answer < MAX_SHOWN)
                fprintf(stderr, "loket-load: the webhook answered %d\n", h.status);
        }
        step_done(c, h.status == 200);
        if (h.close) { /* answered, then closed: a new connection for the next one */
            client_close(c);
            client_connect(c);
            return;
        }
        next_message(c);
    }
    if (r < 0)
        client_fail(c, &tot.e_proto);
}

static void on_readable(client *c)
{
    char buf[65536];
    ssize_t n;

    for (;;) {
        n = recv(c->fd, buf, sizeof buf, 0);
        if (n > 0) {
            lb_put(&c->in, buf, (size_t)n);
            if (c->in.len > MAX_RX) {
                client_fail(c, &tot.e_proto);
                return;
            }
            if ((size_t)n < sizeof buf)
                break;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        /* closed by the server: an error only if an answer was awaited */
        if (c->st == C_WAIT || c->st == C_HANDSHAKE)
            client_fail(c, &tot.e_closed);
        else {
            client_close(c);
            client_connect(c);
        }
        return;
    }
    if (c->st == C_HANDSHAKE) {
        const char *why = NULL;
        size_t used = 0;
        int r = ld_ws_handshake_done(&c->in, c->key, &used, &why);
        if (r < 0) {
            if (tot.e_connect < MAX_SHOWN)
                fprintf(stderr, "loket-load: %s:\n%.300s\n", why, c->in.p);
            client_fail(c, &tot.e_connect);
            return;
        }
        if (r == 0)
            return;
        lb_consume(&c->in, used);
        c->st = C_READY;
        next_message(c);
    }
    if (opt.mode == M_WS)
        on_ws_input(c);
    else
        on_http_input(c);
}

static void on_event(client *c, uint32_t ev)
{
    if (c->st == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            client_fail(c, &tot.e_connect);
            return;
        }
        if (opt.mode == M_WS) {
            c->st = C_HANDSHAKE;
            ld_ws_handshake(&c->out, &opt.addr, opt.path, c->key);
            flush(c);
        } else {
            c->st = C_READY;
            watch(c, EPOLL_CTL_MOD);
            next_message(c);
        }
        return;
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(c);
    if (c->fd >= 0 && (ev & EPOLLOUT))
        flush(c);
}

/* ---- options ------------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: loket-load [--url URL | --host H --port P] [--mode ws|whatsapp]\n"
        "                  [--clients N] [--duration S] [--timeout S] [--secret S]\n"
        "                  [--pnid ID] [--pid PID] [--metrics] [--idle N]\n"
        "  --url URL       ws://127.0.0.1:8080/chat or http://127.0.0.1:8080 (loopback only)\n"
        "  --mode M        ws: websocket clients walking the Chika conversations (default);\n"
        "                  whatsapp: signed Cloud API webhooks, one phone number per client\n"
        "  --clients N     concurrent clients, each in a closed loop (default 10; 0: --idle only)\n"
        "  --duration S    seconds of load (default 10, at most 3600)\n"
        "  --timeout S     longest wait for one answer, and for the last ones (default 10)\n"
        "  --secret S      the app secret signing webhooks (default $LOKET_WA_APP_SECRET)\n"
        "  --pnid ID       the phone_number_id in the notifications\n"
        "  --pid PID       the server's process: CPU and RSS from /proc\n"
        "  --metrics       read /metrics before and after: messages per commit\n"
        "  --idle N        N more websocket connections held open, never sending (--mode ws)\n");
}

static int die_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "loket-load: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return 2;
}

static int parse_options(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"url", required_argument, 0, 'u'},     {"host", required_argument, 0, 'H'},
        {"port", required_argument, 0, 'p'},    {"mode", required_argument, 0, 'm'},
        {"clients", required_argument, 0, 'c'}, {"duration", required_argument, 0, 'd'},
        {"timeout", required_argument, 0, 't'}, {"secret", required_argument, 0, 's'},
        {"pnid", required_argument, 0, 'n'},    {"pid", required_argument, 0, 'P'},
        {"metrics", no_argument, 0, 'M'},       {"idle", required_argument, 0, 'i'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    char host[128] = "127.0.0.1";
    int port = 8080, ch;
    char *end;

    while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        switch (ch) {
        case 'u':
            if (ld_url_parse(optarg, host, sizeof host, &port, opt.path, sizeof opt.path))
                return die_usage("not a URL like ws://127.0.0.1:8080/chat", optarg);
            break;
        case 'H': snprintf(host, sizeof host, "%s", optarg); break;
        case 'p': port = (int)strtol(optarg, NULL, 10); break;
        case 'm':
            if (!strcmp(optarg, "ws"))
                opt.mode = M_WS;
            else if (!strcmp(optarg, "whatsapp"))
                opt.mode = M_WA;
            else
                return die_usage("--mode is ws or whatsapp", optarg);
            break;
        case 'c':
            opt.clients = (int)strtol(optarg, &end, 10);
            if (*end || opt.clients < 0 || opt.clients > 100000)
                return die_usage("--clients is 0 to 100000", optarg);
            break;
        case 'i':
            opt.idle = (int)strtol(optarg, &end, 10);
            if (*end || opt.idle < 0 || opt.idle > 100000)
                return die_usage("--idle is 0 to 100000", optarg);
            break;
        case 'd':
        case 't': {
            double v = strtod(optarg, &end);
            if (*end || !(v > 0) || v > 3600)
                return die_usage("a number of seconds above 0, at most 3600", optarg);
            *(ch == 'd' ? &opt.duration : &opt.timeout) = v;
            break;
        }
        case 's': opt.secret = optarg; break;
        case 'n': opt.pnid = optarg; break;
        case 'P':
            opt.pid = (int)strtol(optarg, &end, 10);
            if (*end || opt.pid < 1)
                return die_usage("--pid wants a process id", optarg);
            break;
        case 'M': opt.metrics = 1; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        return die_usage("unexpected argument", argv[optind]);
    if (opt.mode == M_WA && !opt.secret && !(opt.secret = getenv("LOKET_WA_APP_SECRET")))
        return die_usage("--mode whatsapp needs --secret or LOKET_WA_APP_SECRET", NULL);
    if (opt.idle && opt.mode != M_WS)
        return die_usage("--idle connections are websockets: --mode ws", NULL);
    if (opt.clients + opt.idle < 1)
        return die_usage("nothing to run: --clients 0 and no --idle", NULL);
    if (port < 1 || port > 65535)
        return die_usage("not a port number", NULL);
    if (ld_addr_set(&opt.addr, host, port) != 0)
        return die_usage("not a loopback address (loket-load only loads this machine)", host);
    return 0;
}

/* ---- the run ----------------------------------------------------------------------------------
 */

static void raise_fd_limit(int need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)need + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)need + 64 ? rl.rlim_max : (rlim_t)need + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Reconnects failed clients whose pause is over, and fails answers that take too long. */
static void timers(client *cl, int64_t t)
{
    int64_t limit = (int64_t)(opt.timeout * 1e9);
    int i;

    for (i = 0; i < nall; i++) {
        client *c = &cl[i];
        if (c->st == C_RETRY && !stopping && t >= c->retry_ns)
            client_connect(c);
        else if (c->st == C_WAIT && t - c->sent_ns > limit) {
            if (tot.e_timeout < MAX_SHOWN)
                fprintf(stderr, "loket-load: no answer within %.0f s\n", opt.timeout);
            client_fail(c, &tot.e_timeout);
        }
    }
}

static int all_ready(const client *cl)
{
    int i;
    for (i = 0; i < nall; i++)
        if (cl[i].st != C_READY)
            return 0;
    return 1;
}

static void run(client *cl)
{
    struct epoll_event evs[512];
    int64_t t0 = now_ns(), last_timers = 0, drain_end = 0, last_rss = 0;
    long rss;
    int i, n;

    for (i = 0; i < opt.clients; i++)
        client_connect(&cl[i]);
    for (; i < nall; i++) { /* spread out, so that the listen queue keeps up */
        cl[i].st = C_RETRY;
        cl[i].retry_ns = t0 + (int64_t)(i - opt.clients) * CONNECT_SPREAD_NS;
    }
    for (;;) {
        int64_t t = now_ns();

        if (!t_start &&
            (all_ready(cl) || t - t0 > CONNECT_WAIT_NS + (int64_t)opt.idle * 1000000LL)) {
            int ready = 0;
            for (i = 0; i < nall; i++)
                ready += cl[i].st == C_READY;
            if (ready < nall)
                fprintf(stderr, "loket-load: %d of %d connections ready in time\n", ready, nall);
            t_start = t;
            self_cpu0 = self_cpu();
            if (opt.pid)
                srv_cpu0 = ld_proc_cpu_ticks(opt.pid);
            for (i = 0; i < opt.clients; i++)
                next_message(&cl[i]);
        }
        if (t_start && !stopping && t - t_start >= (int64_t)(opt.duration * 1e9)) {
            stopping = 1;
            drain_end = t + (int64_t)(opt.timeout * 1e9);
        }
        if (stopping && (inflight == 0 || t >= drain_end))
            break;
        if (t - last_timers > 10 * 1000000LL || (!t_start && opt.idle)) {
            timers(cl, t);
            last_timers = t;
        }
        if (opt.pid && t - last_rss > 100 * 1000000LL) {
            if ((rss = ld_proc_status_kib(opt.pid, "VmRSS")) > srv_max_rss)
                srv_max_rss = rss;
            last_rss = t;
        }
        n = epoll_wait(ep, evs, (int)(sizeof evs / sizeof *evs), 10);
        for (i = 0; i < n; i++) {
            client *c = evs[i].data.ptr;
            if (c->fd >= 0)
                on_event(c, evs[i].events);
        }
    }
    t_last = now_ns();
    for (i = opt.clients; i < nall; i++)
        idle_open += cl[i].st == C_READY;
    if (opt.pid)
        srv_rss_end = ld_proc_status_kib(opt.pid, "VmRSS");
    for (i = 0; i < nall; i++)
        client_close(&cl[i]);
}

/* ---- the report ---------------------------------------------------------------------------------
 */

static int report(const ld_counters *m0, const ld_counters *m1)
{
    double secs = (double)(t_last - t_start) / 1e9;
    uint64_t errors = tot.e_answer + tot.e_connect + tot.e_closed + tot.e_timeout + tot.e_proto;
    int i;

    printf("loket-load: %s, %d clients, %.1f s against %s%s\n",
           opt.mode == M_WS ? "websocket" : "whatsapp webhooks", opt.clients, opt.duration,
           opt.addr.hostport, opt.mode == M_WS ? opt.path : "/webhook/whatsapp");
    printf("messages:      %llu in %.2f s: %.0f msgs/s%s\n", (unsigned long long)tot.messages, secs,
           secs > 0 ? (double)tot.messages / secs : 0.0,
           opt.mode == M_WA ? " acknowledged (200)" : "");
    if (tot.messages)
        printf("latency:       p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n",
               h_quantile(0.50, tot.messages), h_quantile(0.90, tot.messages),
               h_quantile(0.99, tot.messages), h_quantile(0.999, tot.messages),
               (double)max_us / 1000.0);
    else
        printf("latency:       n/a (no message answered)\n");
    printf(
        "errors:        %llu (%s %llu, connect %llu, closed %llu, timeout %llu, protocol %llu)\n",
        (unsigned long long)errors, opt.mode == M_WS ? "error frames" : "not 200",
        (unsigned long long)tot.e_answer, (unsigned long long)tot.e_connect,
        (unsigned long long)tot.e_closed, (unsigned long long)tot.e_timeout,
        (unsigned long long)tot.e_proto);
    for (i = 1; i <= 5; i++)
        if (tot.e_status[i])
            printf("               %dxx: %llu\n", i, (unsigned long long)tot.e_status[i]);
    if (opt.mode == M_WS)
        printf("wrong replies: %llu\n", (unsigned long long)tot.wrong);
    else
        printf("wrong replies: n/a (the replies go to the outbox; statuses checked)\n");
    if (opt.pid) {
        long long cpu1 = ld_proc_cpu_ticks(opt.pid);
        long hwm = ld_proc_status_kib(opt.pid, "VmHWM");
        double hz = (double)sysconf(_SC_CLK_TCK);
        if (cpu1 >= 0 && srv_cpu0 >= 0 && secs > 0)
            printf("server:        pid %d, CPU %.1f%%, RSS max %.1f MiB (VmHWM %.1f MiB)\n",
                   opt.pid, (double)(cpu1 - srv_cpu0) / hz / secs * 100.0,
                   (double)srv_max_rss / 1024.0, (double)hwm / 1024.0);
        else
            printf("server:        pid %d: /proc unreadable\n", opt.pid);
    } else {
        printf("server:        n/a (--pid not given)\n");
    }
    if (secs > 0)
        printf("load:          CPU %.1f%% of one core (loket-load itself)\n",
               (self_cpu() - self_cpu0) / secs * 100.0);
    if (!opt.metrics)
        printf("per commit:    n/a (--metrics not given)\n");
    else if (!m0->ok || !m1->ok)
        printf("per commit:    n/a (/metrics did not answer)\n");
    else if (!m1->has_commits)
        printf("per commit:    n/a (/metrics has no commits counter; %.0f messages in)\n",
               m1->in - m0->in);
    else if (m1->commits <= m0->commits)
        printf("per commit:    n/a (no commit during the run)\n");
    else
        printf("per commit:    %.2f messages (%.0f messages in, %.0f commits)\n",
               (m1->in - m0->in) / (m1->commits - m0->commits), m1->in - m0->in,
               m1->commits - m0->commits);
    if (opt.metrics && opt.mode == M_WA && m0->ok && m1->ok)
        printf("outbox:        %+.0f replies waiting (%.0f now)\n", m1->outbox - m0->outbox,
               m1->outbox);
    if (opt.idle) {
        printf("idle:          %d of %d websocket connections open at the end", idle_open,
               opt.idle);
        if (opt.pid && srv_rss_end >= 0)
            printf(", server RSS %.1f MiB with them", (double)srv_rss_end / 1024.0);
        printf("\n");
    }
    return (tot.messages > 0 || !opt.clients) && errors == 0 && tot.wrong == 0 &&
                   idle_open == opt.idle
               ? 0
               : 1;
}

int main(int argc, char **argv)
{
    ld_counters m0 = {0}, m1 = {0};
    client *cl;
    int i, rc;

    if ((rc = parse_options(argc, argv)) != 0)
        return rc;
    rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    snprintf(run_tag, sizeof run_tag, "%08llX", (unsigned long long)(rng >> 32));
    nall = opt.clients + opt.idle;
    raise_fd_limit(nall);
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        perror("loket-load: epoll_create1");
        return 2;
    }
    if (!(cl = calloc((size_t)nall, sizeof *cl))) {
        fprintf(stderr, "loket-load: out of memory\n");
        return 2;
    }
    for (i = 0; i < nall; i++) {
        cl[i].fd = -1;
        cl[i].id = i;
        cl[i].conv = i % ld_nconvs;
        /* an Indonesian mobile number of this run: 628, four digits of the run, the client */
        snprintf(cl[i].phone, sizeof cl[i].phone, "628%04u%05d",
                 (unsigned)((rng >> 16) % 9000 + 1000), i % 100000);
    }
    if (opt.metrics)
        ld_read_metrics(&opt.addr, &m0);
    run(cl);
    if (opt.metrics)
        ld_read_metrics(&opt.addr, &m1);
    rc = report(&m0, &m1);
    for (i = 0; i < nall; i++) {
        lb_free(&cl[i].out);
        lb_free(&cl[i].in);
        lb_free(&cl[i].msg);
        lb_free(&cl[i].replies);
    }
    free(cl);
    close(ep);
    return rc;
}
