/* Unit tests of the HTTP framing rules and the address helpers of the gateway
 * (src/gateway/parse_http.c), at each limit and one past it. */
#include "test.h"

#ifdef LOKET_HAVE_GATEWAY
#include <stdint.h>

#include "parse.h"

#define MAX_BODY (1024 * 1024)

static int check_head(const char *raw, gw_http_verdict *v)
{
    gw_http_head h;
    const char *why;
    size_t used;

    if (gw_http_head_parse(raw, strlen(raw), &h, &used, &why) != 1)
        return -1;
    return gw_http_check(&h, MAX_BODY, v);
}

static void test_lengths(void)
{
    gw_http_verdict v;
    char raw[256];

    CHECK_INT(check_head("POST /v1/messages HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n", &v), 0);
    CHECK_INT(v.clen, MAX_BODY);
    CHECK_INT(check_head("POST /v1/messages HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", &v), 413);
    CHECK_INT(check_head("POST / HTTP/1.1\r\nContent-Length: 000000000000000012\r\n\r\n", &v), 0);
    CHECK_INT(v.clen, 12);
    /* 18 digits are read, 19 are refused before any arithmetic could overflow */
    CHECK_INT(check_head("POST / HTTP/1.1\r\nContent-Length: 999999999999999999\r\n\r\n", &v), 413);
    CHECK_INT(check_head("POST / HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n", &v),
              400);
    CHECK_INT(check_head("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &v), 0);
    CHECK_INT(v.clen, 0);
    CHECK_INT(check_head("POST / HTTP/1.1\r\nContent-Length: 2 \r\n\r\n", &v), 0);
    CHECK_INT(check_head("POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\n", &v), 400);
    CHECK_INT(check_head("POST / HTTP/1.1\r\nContent-Length: 2,2\r\n\r\n", &v), 400);
    CHECK_INT(check_head("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", &v), 400);
    CHECK_INT(check_head("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", &v),
              400);
    CHECK_INT(check_head("POST / HTTP/1.1\r\nHost: x\r\n\r\n", &v), 411);
    CHECK_INT(check_head("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &v), 0);
    CHECK_INT(check_head("GET / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", &v), 400);
    CHECK_INT(check_head("HEAD / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", &v), 400);
    CHECK_INT(check_head("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &v), 411);
    CHECK_INT(check_head(
                  "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", &v),
              400);
    CHECK(v.why && strstr(v.why, "Transfer-Encoding"));
    snprintf(raw, sizeof raw,
             "POST / HTTP/1.1\r\ntransfer-encoding: identity\r\n"
             "content-length: 3\r\n\r\n");
    CHECK_INT(check_head(raw, &v), 400);
}

static void test_heads(void)
{
    static char big[GW_HTTP_HEAD_MAX + 64];
    gw_http_head h;
    const char *why;
    size_t used, n;

    CHECK_INT(gw_http_head_parse("GET / HTTP/1.1\r\nHost: x\r\n", 25, &h, &used, &why), 0);
    CHECK_INT(gw_http_head_parse("GET / HTTP/1.1\nHost: x\n\n", 24, &h, &used, &why), -1);
    CHECK_INT(gw_http_head_parse("GET / HTTP/1.1\r\n folded\r\n\r\n", 27, &h, &used, &why), -1);
    CHECK_INT(gw_http_head_parse("GET / HTTP/2.0\r\n\r\n", 18, &h, &used, &why), -1);
    CHECK_INT(gw_http_head_parse("GET /a\x1b HTTP/1.1\r\n\r\n", 21, &h, &used, &why), -1);
    CHECK_INT(gw_http_head_parse("GET / HTTP/1.1\r\n\r\nGET", 21, &h, &used, &why), 1);
    CHECK_INT(used, 18);
    /* a head of exactly GW_HTTP_HEAD_MAX bytes is read, one more byte is refused */
    n = GW_HTTP_HEAD_MAX;
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    memcpy(big + n - 4, "\r\n\r\n", 4);
    CHECK_INT(gw_http_head_parse(big, n, &h, &used, &why), 1);
    CHECK_INT(used, n);
    memset(big + n - 4, 'a', 4);
    memcpy(big + n - 3, "\r\n\r\n", 4);
    CHECK_INT(gw_http_head_parse(big, n + 1, &h, &used, &why), -1);
}

static void test_pipelined(void)
{
    static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                      post_head[] = "POST /v1/messages HTTP/1.1\r\nContent-Length: 2\r\n\r\n";
    const char *s = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                    "POST /v1/messages HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
                    "POST /v1/messages HTTP/1.1\r\nContent-Length: 5\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    size_t off = 0, used, n = strlen(s);
    gw_http_head h;
    gw_http_verdict v;
    const char *why;

    CHECK_INT(gw_http_next(s, n, MAX_BODY, &h, &v, &used, &why), 1);
    CHECK_INT(used, sizeof get - 1);
    off += used;
    CHECK_INT(gw_http_next(s + off, n - off, MAX_BODY, &h, &v, &used, &why), 1);
    CHECK_INT(v.clen, 2);
    CHECK_INT(used, sizeof post_head - 1 + 2);
    off += used;
    CHECK_INT(gw_http_next(s + off, n - off, MAX_BODY, &h, &v, &used, &why), -1);
    CHECK_INT(v.status, 400);
    /* one byte of the body short */
    CHECK_INT(
        gw_http_next(s + sizeof get - 1, sizeof post_head - 1 + 1, MAX_BODY, &h, &v, &used, &why),
        0);
}

static void test_addresses(void)
{
    gw_cidr t[3];
    gw_ip ip;
    char text[64];
    const char *xff;

    CHECK_INT(gw_cidr_parse("10.0.0.0/8", &t[0]), 0);
    CHECK_INT(gw_cidr_parse("::1", &t[1]), 0);
    CHECK_INT(gw_cidr_parse("192.168.1.0/24", &t[2]), 0);
    CHECK_INT(gw_cidr_parse("10.0.0.0/33", &(gw_cidr){0}), -1);
    CHECK_INT(gw_cidr_parse("::/129", &(gw_cidr){0}), -1);
    CHECK_INT(gw_cidr_parse("::/128", &(gw_cidr){0}), 0);
    CHECK_INT(gw_cidr_parse("1.2.3.4/", &(gw_cidr){0}), -1);
    CHECK_INT(gw_cidr_parse("1.2.3", &(gw_cidr){0}), -1);
    CHECK_INT(gw_ip_parse("192.168.1.255", 13, &ip), 0);
    CHECK_INT(gw_cidr_match(t, 3, &ip), 1);
    CHECK_INT(gw_ip_parse("192.168.2.0", 11, &ip), 0);
    CHECK_INT(gw_cidr_match(t, 3, &ip), 0);
    CHECK_INT(gw_ip_parse("::ffff:10.9.8.7", 15, &ip), 0);
    CHECK_INT(ip.v6, 0);
    CHECK_INT(gw_cidr_match(t, 3, &ip), 1);

    xff = "198.51.100.1, 203.0.113.9, 10.1.1.1";
    CHECK_INT(gw_xff_client(xff, strlen(xff), t, 3, &ip), 0);
    gw_ip_format(&ip, text, sizeof text);
    CHECK_STR(text, "203.0.113.9"); /* the first untrusted hop from the right */
    xff = "10.0.0.1,::1";
    CHECK_INT(gw_xff_client(xff, strlen(xff), t, 3, &ip), 0);
    gw_ip_format(&ip, text, sizeof text);
    CHECK_STR(text, "10.0.0.1"); /* all trusted: the leftmost */
    xff = "unknown, 10.0.0.7";
    CHECK_INT(gw_xff_client(xff, strlen(xff), t, 3, &ip), 0);
    gw_ip_format(&ip, text, sizeof text);
    CHECK_STR(text, "10.0.0.7");
    xff = "203.0.113.9:443";
    CHECK_INT(gw_xff_client(xff, strlen(xff), t, 3, &ip), -1);
    CHECK_INT(gw_xff_client("", 0, t, 3, &ip), -1);
}

int main(void)
{
    test_lengths();
    test_heads();
    test_pipelined();
    test_addresses();
    return test_done("test_gw_http");
}
#else
int main(void)
{
    puts("test_gw_http: no gateway in this build");
    return 0;
}
#endif
