/* loket-load: what its files share (load.c runs the clients and reports;
 * load_proto.c speaks websocket and HTTP; load_script.c holds the
 * conversations the clients walk and checks the replies). */
#ifndef LOKET_LOAD_H
#define LOKET_LOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A growable byte buffer; len bytes at p, always NUL-terminated when p is set. */
typedef struct lb {
    char *p;
    size_t len, cap;
} lb;

void lb_put(lb *b, const void *data, size_t n); /* exits on out of memory */
void lb_puts(lb *b, const char *s);
void lb_printf(lb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lb_consume(lb *b, size_t n); /* drops the first n bytes */
void lb_free(lb *b);
/* Appends s as the inside of a JSON string (quotes, backslashes, control characters escaped). */
void lb_json_str(lb *b, const char *s);

/* ---- the conversations (load_script.c) ---------------------------------------------- */

#define LD_MAX_EXPECT 4

typedef struct ld_step {
    const char *send;
    /* Fragments the step's replies must contain (case-insensitive); one that starts
     * with '!' must not appear. */
    const char *expect[LD_MAX_EXPECT];
} ld_step;

typedef struct ld_conv {
    const char *name;
    const ld_step *steps;
    int nsteps;
} ld_conv;

extern const ld_conv ld_convs[];
extern const int ld_nconvs;

/* The first fragment of step the replies (all texts of one step, joined by newlines)
 * miss or wrongly contain, or NULL when they pass. */
const char *ld_check(const ld_step *step, const char *replies);

/* ---- the wire (load_proto.c) ---------------------------------------------------------- */

/* The server's address, and "host:port" for Host headers ("[::1]:8080"). */
typedef struct ld_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    char hostport[80];
} ld_addr;

/* Splits ws://HOST[:PORT][/PATH] (also http://, [::1]); path is set only when the URL
 * has one. 0 or -1. */
int ld_url_parse(const char *url, char *host, size_t hsize, int *port, char *path, size_t psize);
/* Fills a for host and port: 0, or -1 when host is not a loopback address (127.0.0.0/8,
 * ::1, localhost) or no address at all: loket-load loads only this machine. */
int ld_addr_set(ld_addr *a, const char *host, int port);

/* A TCP socket connecting to a (non-blocking: the connect may still be under way).
 * Returns the descriptor or -1 with errno set. */
int ld_connect(const ld_addr *a, int nonblock);

/* The opening handshake of a websocket client; key receives the Sec-WebSocket-Key sent. */
void ld_ws_handshake(lb *out, const ld_addr *a, const char *path, char key[32]);
/* Parses the handshake's answer at in: 1 done (*used bytes consumed), 0 need more,
 * -1 refused (why says how). */
int ld_ws_handshake_done(const lb *in, const char *key, size_t *used, const char **why);
/* Appends one masked client frame (opcode 1 text, 8 close, 10 pong). */
void ld_ws_frame(lb *out, int opcode, const void *payload, size_t n, uint64_t *rng);

typedef struct ld_frame {
    int opcode, fin;
    const char *payload;
    size_t len;
    size_t used; /* bytes of the buffer the frame took */
} ld_frame;
/* 1 a whole frame at in (f filled), 0 need more, -1 malformed or too large. */
int ld_ws_parse(const lb *in, ld_frame *f);

/* A signed Cloud API notification carrying one text message, as an HTTP request. */
void ld_wa_request(lb *out, const ld_addr *a, const char *secret, const char *pnid,
                   const char *from, const char *wamid, const char *text);

typedef struct ld_http {
    int status;
    int close; /* Connection: close */
    size_t used;
} ld_http;
/* 1 a whole response at in, 0 need more, -1 malformed. */
int ld_http_parse(const lb *in, ld_http *r);

/* A blocking GET of path with a deadline; the body into body. 0 or -1. */
int ld_http_get(const ld_addr *a, const char *path, lb *body, int timeout_ms);

/* ---- the server (load_server.c) ------------------------------------------------------------ */

/* utime + stime of process pid in clock ticks, or -1. */
long long ld_proc_cpu_ticks(int pid);
/* A "key:  N kB" line of /proc/PID/status (VmRSS, VmHWM) in KiB, or -1. */
long ld_proc_status_kib(int pid, const char *key);

typedef struct ld_counters {
    int ok;         /* /metrics answered */
    double in;      /* loket_messages_in_total, all channels */
    double outbox;  /* loket_outbox_depth */
    double commits; /* a ..._commits_total counter, when the server has one */
    int has_commits;
} ld_counters;
/* Reads /metrics; m->ok is 0 when it did not answer. */
void ld_read_metrics(const ld_addr *a, ld_counters *m);

#endif
