/* HTTP request heads and addresses (parse.h): the framing rules loket applies to every
 * request (gw_http_check), a strict parser of raw heads for the fuzz targets and tests,
 * and the X-Forwarded-For walk behind trusted proxies. Pure functions: bytes in, a
 * result out. */
#include "parse.h"

#include <arpa/inet.h>
#include <string.h>

/* ---- framing rules ------------------------------------------------------------------- */

static int span_is(gw_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.n == n && !memcmp(s.p, lit, n);
}

static int refuse(gw_http_verdict *v, int status, const char *why)
{
    v->status = status;
    v->why = why;
    return status;
}

int gw_http_check(const gw_http_head *h, int64_t max_body, gw_http_verdict *v)
{
    int has_clen = h->clen.p != NULL || h->n_clen > 0;
    int64_t len = 0;
    size_t i, n;

    v->status = 0;
    v->why = NULL;
    v->clen = -1;
    if (h->te.p || h->n_te > 0) {
        /* A proxy that frames by one and loket by the other would disagree on where
         * the next request starts: refuse both, and chunked bodies altogether. */
        if (has_clen)
            return refuse(v, 400, "Content-Length and Transfer-Encoding together");
        return refuse(v, 411, "a Content-Length header is required (no chunked bodies)");
    }
    if (has_clen) {
        n = h->clen.n;
        while (n && (h->clen.p[n - 1] == ' ' || h->clen.p[n - 1] == '\t'))
            n--;
        if (h->n_clen > 1 || n == 0 || n > 18)
            return refuse(v, 400, "Content-Length is not one number");
        for (i = 0; i < n; i++) {
            if (h->clen.p[i] < '0' || h->clen.p[i] > '9')
                return refuse(v, 400, "Content-Length is not one number");
            len = len * 10 + (h->clen.p[i] - '0');
        }
        v->clen = len;
        if (len > max_body)
            return refuse(v, 413, "the body is larger than 1 MiB");
    }
    if (span_is(h->method, "POST") && !has_clen)
        return refuse(v, 411, "a Content-Length header is required");
    if ((span_is(h->method, "GET") || span_is(h->method, "HEAD")) && len > 0)
        return refuse(v, 400, "a GET or HEAD request has no body");
    return 0;
}

/* ---- raw heads ------------------------------------------------------------------------- */

static int tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int name_is(const char *p, size_t n, const char *lit)
{
    size_t i;
    if (n != strlen(lit))
        return 0;
    for (i = 0; i < n; i++)
        if ((p[i] | 0x20) != lit[i])
            return 0;
    return 1;
}

/* The line at s[0..n) ending in CRLF: its length without the CRLF, or -1 when the line is
 * not complete, -2 when it holds a bare CR, a bare LF or a NUL. */
static long line_len(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (s[i] == '\0' || s[i] == '\n')
            return -2;
        if (s[i] == '\r') {
            if (i + 1 == n)
                return -1;
            return s[i + 1] == '\n' ? (long)i : -2;
        }
    }
    return -1;
}

static int request_line(const char *s, size_t n, gw_http_head *h, const char **why)
{
    const char *sp1 = memchr(s, ' ', n), *sp2;
    size_t i;

    if (!sp1 || sp1 == s) {
        *why = "malformed request line";
        return -1;
    }
    for (i = 0; s + i < sp1; i++)
        if (!tchar((unsigned char)s[i])) {
            *why = "malformed method";
            return -1;
        }
    sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s));
    if (!sp2 || sp2 == sp1 + 1) {
        *why = "malformed request line";
        return -1;
    }
    if ((size_t)(s + n - (sp2 + 1)) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
        (sp2[8] != '0' && sp2[8] != '1')) {
        *why = "not HTTP/1.0 or HTTP/1.1";
        return -1;
    }
    for (i = 0; sp1 + 1 + i < sp2; i++)
        if ((unsigned char)sp1[1 + i] <= ' ' || (unsigned char)sp1[1 + i] == 0x7f) {
            *why = "a control byte in the request target";
            return -1;
        }
    h->method.p = s;
    h->method.n = (size_t)(sp1 - s);
    h->target.p = sp1 + 1;
    h->target.n = (size_t)(sp2 - sp1 - 1);
    return 0;
}

static int header_line(const char *s, size_t n, gw_http_head *h, const char **why)
{
    const char *colon = memchr(s, ':', n);
    size_t nl, i;
    gw_span v;

    if (s[0] == ' ' || s[0] == '\t') {
        *why = "a folded header line";
        return -1;
    }
    if (!colon || colon == s) {
        *why = "a header line without a name";
        return -1;
    }
    nl = (size_t)(colon - s);
    for (i = 0; i < nl; i++)
        if (!tchar((unsigned char)s[i])) {
            *why = "a malformed header name";
            return -1;
        }
    v.p = colon + 1;
    v.n = n - nl - 1;
    while (v.n && (*v.p == ' ' || *v.p == '\t'))
        v.p++, v.n--;
    while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
        v.n--;
    for (i = 0; i < v.n; i++)
        if (((unsigned char)v.p[i] < ' ' && v.p[i] != '\t') || v.p[i] == 0x7f) {
            *why = "a control byte in a header value";
            return -1;
        }
    if (name_is(s, nl, "content-length")) {
        h->clen = v;
        h->n_clen++;
    } else if (name_is(s, nl, "transfer-encoding")) {
        h->te = v;
        h->n_te++;
    } else if (name_is(s, nl, "x-forwarded-for")) {
        h->xff = v;
    }
    return 0;
}

int gw_http_head_parse(const char *s, size_t n, gw_http_head *h, size_t *used, const char **why)
{
    size_t off = 0, lim = n < GW_HTTP_HEAD_MAX ? n : GW_HTTP_HEAD_MAX;
    int first = 1;

    memset(h, 0, sizeof *h);
    *used = 0;
    *why = NULL;
    for (;;) {
        long l = line_len(s + off, lim - off);
        if (l == -2) {
            *why = "a bare CR, LF or NUL in the head";
            return -1;
        }
        if (l == -1) {
            if (lim < n || n >= GW_HTTP_HEAD_MAX) {
                *why = "the head is longer than 8 KiB";
                return -1;
            }
            return 0;
        }
        if (l == 0) {
            if (first) {
                *why = "an empty request line";
                return -1;
            }
            *used = off + 2;
            return 1;
        }
        if (first ? request_line(s + off, (size_t)l, h, why)
                  : header_line(s + off, (size_t)l, h, why))
            return -1;
        first = 0;
        off += (size_t)l + 2;
    }
}

int gw_http_next(const char *s, size_t n, int64_t max_body, gw_http_head *h, gw_http_verdict *v,
                 size_t *used, const char **why)
{
    size_t head;
    int rc = gw_http_head_parse(s, n, h, &head, why);

    *used = 0;
    memset(v, 0, sizeof *v);
    v->clen = -1;
    if (rc <= 0)
        return rc;
    if (gw_http_check(h, max_body, v)) {
        *why = v->why;
        return -1;
    }
    if (v->clen > 0 && (uint64_t)v->clen > n - head)
        return 0;
    *used = head + (v->clen > 0 ? (size_t)v->clen : 0);
    return 1;
}

/* ---- addresses --------------------------------------------------------------------------- */

int gw_ip_parse(const char *s, size_t n, gw_ip *ip)
{
    char buf[64];

    if (n == 0 || n >= sizeof buf || memchr(s, '\0', n))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    memset(ip, 0, sizeof *ip);
    if (inet_pton(AF_INET, buf, ip->a) == 1)
        return 0;
    if (inet_pton(AF_INET6, buf, ip->a) != 1)
        return -1;
    ip->v6 = 1;
    if (!memcmp(ip->a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) { /* ::ffff:a.b.c.d */
        memmove(ip->a, ip->a + 12, 4);
        memset(ip->a + 4, 0, 12);
        ip->v6 = 0;
    }
    return 0;
}

void gw_ip_format(const gw_ip *ip, char *out, size_t len)
{
    if (!inet_ntop(ip->v6 ? AF_INET6 : AF_INET, ip->a, out, (socklen_t)len) && len)
        out[0] = '\0';
}

int gw_cidr_parse(const char *s, gw_cidr *c)
{
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    int bits = 0, max;

    if (gw_ip_parse(s, n, &c->ip))
        return -1;
    max = c->ip.v6 ? 128 : 32;
    if (!slash) {
        c->bits = max;
        return 0;
    }
    if (!slash[1] || strlen(slash + 1) > 3)
        return -1;
    for (s = slash + 1; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        bits = bits * 10 + (*s - '0');
    }
    if (bits > max)
        return -1;
    c->bits = bits;
    return 0;
}

static int in_range(const gw_cidr *c, const gw_ip *ip)
{
    int full = c->bits / 8, rest = c->bits % 8;

    if (c->ip.v6 != ip->v6)
        return 0;
    if (memcmp(c->ip.a, ip->a, (size_t)full))
        return 0;
    if (rest) {
        unsigned char mask = (unsigned char)(0xff << (8 - rest));
        return (c->ip.a[full] & mask) == (ip->a[full] & mask);
    }
    return 1;
}

int gw_cidr_match(const gw_cidr *c, int n, const gw_ip *ip)
{
    int i;
    for (i = 0; i < n; i++)
        if (in_range(&c[i], ip))
            return 1;
    return 0;
}

int gw_xff_client(const char *xff, size_t len, const gw_cidr *trusted, int n, gw_ip *client)
{
    size_t end = len;
    int found = 0;

    while (end > 0) {
        size_t start = end, a, b;
        gw_ip ip;

        while (start > 0 && xff[start - 1] != ',')
            start--;
        for (a = start; a < end && (xff[a] == ' ' || xff[a] == '\t'); a++)
            ;
        for (b = end; b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'); b--)
            ;
        if (gw_ip_parse(xff + a, b - a, &ip)) /* "unknown", a port, garbage: the */
            return found ? 0 : -1;            /* trusted hop that passed it on is the client */
        *client = ip;
        found = 1;
        if (!gw_cidr_match(trusted, n, &ip))
            return 0;
        end = start ? start - 1 : 0;
    }
    return found ? 0 : -1;
}
