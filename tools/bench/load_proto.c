/* loket-load's wire: buffers, the websocket client side of RFC 6455 (the
 * handshake, masked frames out, unmasked frames in), signed WhatsApp Cloud API
 * notifications as HTTP/1.1 requests on a keep-alive connection, and the
 * parsing of their responses. Nothing here blocks except ld_http_get, which
 * reads /metrics before and after a run. */
#include "load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LD_MAX_FRAME (1u << 20) /* larger server frames are refused */

/* ---- buffers -------------------------------------------------------------------------- */

static void lb_reserve(lb *b, size_t n)
{
    size_t cap;
    char *p;

    if (b->len + n + 1 <= b->cap)
        return;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    if (!(p = realloc(b->p, cap))) {
        fprintf(stderr, "loket-load: out of memory\n");
        exit(2);
    }
    b->p = p;
    b->cap = cap;
}

void lb_put(lb *b, const void *data, size_t n)
{
    lb_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
}

void lb_puts(lb *b, const char *s)
{
    lb_put(b, s, strlen(s));
}

void lb_printf(lb *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    lb_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void lb_consume(lb *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->p, b->p + n, b->len - n);
        b->len -= n;
    }
    if (b->p)
        b->p[b->len] = 0;
}

void lb_free(lb *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void lb_json_str(lb *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            lb_put(b, e, 2);
        } else if (ch < 0x20) {
            lb_printf(b, "\\u%04x", ch);
        } else {
            lb_put(b, s, 1);
        }
    }
}

/* ---- addresses --------------------------------------------------------------------------- */

int ld_url_parse(const char *url, char *host, size_t hsize, int *port, char *path, size_t psize)
{
    const char *p = strstr(url, "://"), *e;
    size_t n;

    if (!p)
        return -1;
    p += 3;
    if (*p == '[') {
        if (!(e = strchr(p, ']')))
            return -1;
        n = (size_t)(e - p - 1);
        if (n >= hsize)
            return -1;
        memcpy(host, p + 1, n);
        e++;
    } else {
        n = strcspn(p, ":/");
        if (n == 0 || n >= hsize)
            return -1;
        memcpy(host, p, n);
        e = p + n;
    }
    host[n] = 0;
    if (*e == ':')
        *port = (int)strtol(e + 1, (char **)&e, 10);
    if (*e == '/')
        snprintf(path, psize, "%s", e);
    else if (*e)
        return -1;
    return 0;
}

int ld_addr_set(ld_addr *a, const char *host, int port)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a->ss;

    if (!strcmp(host, "localhost"))
        host = "127.0.0.1";
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
            return -1;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        a->len = sizeof *a4;
        snprintf(a->hostport, sizeof a->hostport, "%s:%d", host, port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1 && IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr)) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        a->len = sizeof *a6;
        snprintf(a->hostport, sizeof a->hostport, "[%s]:%d", host, port);
        return 0;
    }
    return -1;
}

/* ---- sockets --------------------------------------------------------------------------- */

int ld_connect(const ld_addr *a, int nonblock)
{
    int one = 1;
    int fd =
        socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 &&
        !(nonblock && errno == EINPROGRESS)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* ---- websocket ----------------------------------------------------------------------------- */

static void base64(const unsigned char *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

void ld_ws_handshake(lb *out, const ld_addr *a, const char *path, char key[32])
{
    unsigned char raw[16];
    uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)out;
    int i;

    for (i = 0; i < 16; i++) {
        t ^= t << 13, t ^= t >> 7, t ^= t << 17;
        raw[i] = (unsigned char)t;
    }
    base64(raw, sizeof raw, key);
    lb_printf(out,
              "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
              "Sec-WebSocket-Protocol: loket-chat\r\nUser-Agent: loket-load\r\n\r\n",
              path, a->hostport, key);
}

/* The value of header name in the head (ends at the blank line), copied into v. */
static int header(const char *head, const char *name, char *v, size_t vsize)
{
    size_t n = strlen(name);
    const char *p = strstr(head, "\r\n");

    while (p && p[2] != '\r') {
        p += 2;
        if (!strncasecmp(p, name, n) && p[n] == ':') {
            const char *s = p + n + 1, *e = strstr(s, "\r\n");
            size_t len;
            while (*s == ' ' || *s == '\t')
                s++;
            len = e ? (size_t)(e - s) : strlen(s);
            while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                len--;
            if (len >= vsize)
                len = vsize - 1;
            memcpy(v, s, len);
            v[len] = 0;
            return 1;
        }
        p = strstr(p, "\r\n");
    }
    return 0;
}

int ld_ws_handshake_done(const lb *in, const char *key, size_t *used, const char **why)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[SHA_DIGEST_LENGTH];
    char cat[128], want[64], got[128];
    const char *end;

    if (!in->p || !(end = strstr(in->p, "\r\n\r\n")))
        return in->len > 16384 ? (*why = "handshake answer too long", -1) : 0;
    *used = (size_t)(end - in->p) + 4;
    if (strncmp(in->p, "HTTP/1.1 101", 12) != 0) {
        *why = "the server refused the websocket upgrade";
        return -1;
    }
    snprintf(cat, sizeof cat, "%s%s", key, guid);
    SHA1((const unsigned char *)cat, strlen(cat), md);
    base64(md, sizeof md, want);
    if (!header(in->p, "Sec-WebSocket-Accept", got, sizeof got) || strcmp(got, want) != 0) {
        *why = "bad Sec-WebSocket-Accept";
        return -1;
    }
    if (!header(in->p, "Sec-WebSocket-Protocol", got, sizeof got) || strcmp(got, "loket-chat")) {
        *why = "the server did not agree to the loket-chat subprotocol";
        return -1;
    }
    return 1;
}

void ld_ws_frame(lb *out, int opcode, const void *payload, size_t n, uint64_t *rng)
{
    unsigned char h[14], mask[4];
    const unsigned char *src = payload;
    size_t hl = 0, i, at;
    uint64_t r = *rng;

    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
    *rng = r;
    memcpy(mask, &r, 4);
    h[hl++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        h[hl++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        h[hl++] = 0x80 | 126;
        h[hl++] = (unsigned char)(n >> 8);
        h[hl++] = (unsigned char)n;
    } else {
        h[hl++] = 0x80 | 127;
        for (i = 0; i < 8; i++)
            h[hl++] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    }
    memcpy(h + hl, mask, 4);
    hl += 4;
    lb_put(out, h, hl);
    at = out->len;
    lb_put(out, payload, n);
    for (i = 0; i < n; i++)
        out->p[at + i] = (char)(src[i] ^ mask[i & 3]);
}

int ld_ws_parse(const lb *in, ld_frame *f)
{
    const unsigned char *b = (const unsigned char *)in->p;
    size_t n, off = 2;

    if (in->len < 2)
        return 0;
    if (b[1] & 0x80) /* a server never masks */
        return -1;
    n = b[1] & 0x7F;
    if (n == 126) {
        if (in->len < 4)
            return 0;
        n = ((size_t)b[2] << 8) | b[3];
        off = 4;
    } else if (n == 127) {
        uint64_t v = 0;
        int i;
        if (in->len < 10)
            return 0;
        for (i = 0; i < 8; i++)
            v = (v << 8) | b[2 + i];
        if (v > LD_MAX_FRAME)
            return -1;
        n = (size_t)v;
        off = 10;
    }
    if (n > LD_MAX_FRAME)
        return -1;
    if (in->len < off + n)
        return 0;
    f->opcode = b[0] & 0x0F;
    f->fin = (b[0] & 0x80) != 0;
    f->payload = in->p + off;
    f->len = n;
    f->used = off + n;
    return 1;
}

/* ---- the WhatsApp webhook ------------------------------------------------------------------ */

void ld_wa_request(lb *out, const ld_addr *a, const char *secret, const char *pnid,
                   const char *from, const char *wamid, const char *text)
{
    static lb body; /* reused: one request is built at a time */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    char sig[2 * EVP_MAX_MD_SIZE + 1];

    body.len = 0;
    /* The shape of Meta's "messages" notification for a text message. */
    lb_printf(&body,
              "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"102290129340398\","
              "\"changes\":[{\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":{"
              "\"display_phone_number\":\"15550783881\",\"phone_number_id\":\"%s\"},"
              "\"contacts\":[{\"profile\":{\"name\":\"Pengguna %s\"},\"wa_id\":\"%s\"}],"
              "\"messages\":[{\"from\":\"%s\",\"id\":\"%s\",\"timestamp\":\"%lld\","
              "\"type\":\"text\",\"text\":{\"body\":\"",
              pnid, from + strlen(from) - 4, from, from, wamid, (long long)time(NULL));
    lb_json_str(&body, text);
    lb_puts(&body, "\"}}]},\"field\":\"messages\"}]}]}");
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body.p, body.len, md,
         &mdlen);
    for (i = 0; i < mdlen; i++)
        snprintf(sig + 2 * i, 3, "%02x", md[i]);
    sig[2 * mdlen] = 0;
    lb_printf(out,
              "POST /webhook/whatsapp HTTP/1.1\r\nHost: %s\r\nUser-Agent: loket-load\r\n"
              "Content-Type: application/json\r\nContent-Length: %zu\r\n"
              "X-Hub-Signature-256: sha256=%s\r\n\r\n",
              a->hostport, body.len, sig);
    lb_put(out, body.p, body.len);
}

int ld_http_parse(const lb *in, ld_http *r)
{
    char v[64];
    const char *end;
    long clen = 0;
    size_t head;

    if (!in->p || !(end = strstr(in->p, "\r\n\r\n")))
        return in->len > 65536 ? -1 : 0;
    head = (size_t)(end - in->p) + 4;
    if (strncmp(in->p, "HTTP/1.", 7) != 0 || in->len < 12)
        return -1;
    r->status = atoi(in->p + 9);
    if (header(in->p, "Content-Length", v, sizeof v))
        clen = strtol(v, NULL, 10);
    if (clen < 0 || clen > (long)LD_MAX_FRAME)
        return -1;
    r->close = header(in->p, "Connection", v, sizeof v) && !strcasecmp(v, "close");
    if (in->len < head + (size_t)clen)
        return 0;
    r->used = head + (size_t)clen;
    return 1;
}

/* ---- /metrics
 * ------------------------------------------------------------------------------------ */

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ld_http_get(const ld_addr *a, const char *path, lb *body, int timeout_ms)
{
    long long end = ms_now() + timeout_ms;
    lb req = {0}, in = {0};
    struct pollfd pfd;
    size_t sent = 0;
    int fd, rc = -1;
    char *h;

    if ((fd = ld_connect(a, 1)) < 0)
        return -1;
    lb_printf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, a->hostport);
    for (;;) {
        long long left = end - ms_now();
        char buf[16384];
        ssize_t n;

        if (left <= 0)
            goto out;
        pfd.fd = fd;
        pfd.events = sent < req.len ? POLLOUT : POLLIN;
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        if (sent < req.len) {
            if ((n = send(fd, req.p + sent, req.len - sent, MSG_NOSIGNAL)) < 0 && errno != EAGAIN)
                goto out;
            sent += n > 0 ? (size_t)n : 0;
            continue;
        }
        if ((n = recv(fd, buf, sizeof buf, 0)) < 0 && errno != EAGAIN)
            goto out;
        if (n == 0)
            break;
        if (n > 0)
            lb_put(&in, buf, (size_t)n);
        if (in.len > (16u << 20))
            goto out;
    }
    if (!in.p || strncmp(in.p, "HTTP/1.1 200", 12) != 0 || !(h = strstr(in.p, "\r\n\r\n")))
        goto out;
    lb_puts(body, h + 4);
    rc = 0;
out:
    close(fd);
    lb_free(&req);
    lb_free(&in);
    return rc;
}
