/* Fuzz target: a stream of HTTP/1.1 requests as a client writes them, pipelined:
 * each head through gw_http_head_parse and gw_http_check (the rules the server
 * applies), each body framed by its Content-Length, then the next request, as
 * gw_http_next does; the X-Forwarded-For of each head walked behind a fixed
 * set of trusted proxies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

static int inside(gw_span s, const uint8_t *data, size_t size)
{
    return !s.p || ((const uint8_t *)s.p >= data && s.n <= size &&
                    (const uint8_t *)s.p + s.n <= data + size);
}

static void check_xff(const gw_http_head *h, const gw_cidr *trusted, int n)
{
    char text[64];
    gw_ip ip, back;

    if (!h->xff.p || gw_xff_client(h->xff.p, h->xff.n, trusted, n, &ip) != 0)
        return;
    gw_ip_format(&ip, text, sizeof text); /* the client's key in the connection caps */
    if (gw_ip_parse(text, strlen(text), &back) || memcmp(&back, &ip, sizeof ip))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gw_cidr trusted[3];
    static int ready;
    const char *s = (const char *)data, *why;
    size_t off = 0, used;
    gw_http_head h;
    gw_http_verdict v, again;
    int rc;

    if (!ready) {
        if (gw_cidr_parse("127.0.0.0/8", &trusted[0]) || gw_cidr_parse("::1", &trusted[1]) ||
            gw_cidr_parse("10.0.0.0/8", &trusted[2]))
            abort();
        ready = 1;
    }
    while (off < size) {
        rc = gw_http_next(s + off, size - off, 1024 * 1024, &h, &v, &used, &why);
        if (rc < 0 && !why)
            abort();
        if (rc <= 0)
            break;
        if (used == 0 || used > size - off || v.status != 0)
            abort();
        if (!inside(h.method, data, size) || !inside(h.target, data, size) ||
            !inside(h.clen, data, size) || !inside(h.te, data, size) || !inside(h.xff, data, size))
            abort();
        /* a request that is served has no Transfer-Encoding and at most one length */
        if (h.te.p || h.n_te || h.n_clen > 1 || !h.method.n || !h.target.n)
            abort();
        if (gw_http_check(&h, 1024 * 1024, &again) != 0 || again.clen != v.clen)
            abort();
        check_xff(&h, trusted, 3);
        off += used;
    }
    return 0;
}
