/* GET / and /index.html: the web console, one page embedded in the binary
 * (console.html, by embed.cmake), with the texts of the flow's "console"
 * section put into it as it is served, so that every note the page shows
 * (connecting, reconnecting, not sent, ...) is in the flow's language from
 * the first paint on, before any websocket is open. */
#include "gw.h"

#include <string.h>

#include "gw_console_html.h"

/* The page holds this element; its "{}" is replaced by the texts. */
#define MARK "<script id=\"lk-texts\" type=\"application/json\">"

/* s as a JSON string that is safe inside a <script> element: < > & and
 * control characters as \u00XX (the text is valid UTF-8, from the flow). */
static void json_text(lk_buf *b, const char *s)
{
    lk_buf_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            lk_buf_printf(b, "\\%c", c);
        else if (c < 0x20 || c == '<' || c == '>' || c == '&')
            lk_buf_printf(b, "\\u%04x", c);
        else
            lk_buf_putc(b, (char)c);
    }
    lk_buf_putc(b, '"');
}

static const char *find(const char *s, size_t n, const char *what)
{
    size_t k = strlen(what), i;

    for (i = 0; i + k <= n; i++)
        if (s[i] == what[0] && !memcmp(s + i, what, k))
            return s + i;
    return NULL;
}

int gw_route_console(gw_req *r)
{
    const char *page = (const char *)gw_console_html, *at, *key, *text;
    const lk_flow *flow = gw_srv->flow;
    lk_buf b = {0};
    size_t head;
    int i;

    at = find(page, gw_console_html_len, MARK "{}");
    if (!at) { /* a page without the element: served as it is */
        gw_respond(r, 200, "text/html; charset=utf-8", page, gw_console_html_len);
        return 0;
    }
    head = (size_t)(at - page) + sizeof MARK - 1;
    lk_buf_put(&b, page, head);
    lk_buf_putc(&b, '{');
    for (i = 0; lk_flow_console_text(flow, i, &key, &text); i++) {
        if (i)
            lk_buf_putc(&b, ',');
        json_text(&b, key);
        lk_buf_putc(&b, ':');
        json_text(&b, text);
    }
    lk_buf_putc(&b, '}');
    lk_buf_put(&b, page + head + 2, gw_console_html_len - head - 2);
    if (b.oom)
        gw_respond_error(r, 500, GW_E_INTERNAL, "out of memory");
    else
        gw_respond(r, 200, "text/html; charset=utf-8", b.p, b.len);
    lk_buf_free(&b);
    return 0;
}
