/* The server's /chat frames written in place (wsframe.h). A frame starts
 * with room for the 4-byte header of the 16-bit length form, the object is
 * written after it, and gw_wsf_end fills the header in: a payload under 126
 * bytes moves 2 bytes back, one over 65535 moves 6 bytes on (the 64-bit
 * form), so most frames are written once and never copied. */
#include "wsframe.h"

#include <stdint.h>
#include <string.h>

#define HEAD_ROOM 4 /* 0x81, 126, 16-bit length */

/* Runs that need no escape are copied whole into room reserved for the rest
 * of the string, so a text costs one reserve and one copy per escape. The
 * room kept past the end is one byte more than the text needs: the closing
 * quote of gw_json_string. */
void gw_json_chars(lk_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;
    char *o;

    if (lk_buf_reserve(b, n + 1) < 0)
        return;
    o = b->p + b->len;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        memcpy(o, s + run, i - run);
        b->len = (size_t)(o - b->p) + (i - run);
        /* room for this escape, the rest unescaped and the closing quote */
        if (lk_buf_reserve(b, 6 + (n - i)) < 0)
            return;
        o = b->p + b->len;
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
            break;
        }
        run = i + 1;
    }
    memcpy(o, s + run, n - run);
    o += n - run;
    *o = '\0';
    b->len = (size_t)(o - b->p);
}

void gw_json_string(lk_buf *b, const char *s, size_t n)
{
    if (lk_buf_reserve(b, n + 2) < 0)
        return;
    b->p[b->len++] = '"';
    gw_json_chars(b, s, n);
    lk_buf_putc(b, '"'); /* in the room gw_json_chars kept */
}

void gw_wsf_begin(gw_wsf *w, lk_buf *b)
{
    w->b = b;
    w->start = b->len;
    w->nfields = 0;
    lk_buf_put(b, "\x81\x7e\0\0{", HEAD_ROOM + 1);
}

static void key(gw_wsf *w, const char *k)
{
    if (w->nfields++)
        lk_buf_putc(w->b, ',');
    gw_json_string(w->b, k, strlen(k));
    lk_buf_putc(w->b, ':');
}

void gw_wsf_str(gw_wsf *w, const char *k, const char *value)
{
    if (!value)
        return;
    key(w, k);
    gw_json_string(w->b, value, strlen(value));
}

void gw_wsf_int(gw_wsf *w, const char *k, int v)
{
    key(w, k);
    lk_buf_put_int(w->b, v);
}

void gw_wsf_bool(gw_wsf *w, const char *k, int v)
{
    key(w, k);
    if (v)
        lk_buf_put(w->b, "true", 4);
    else
        lk_buf_put(w->b, "false", 5);
}

/* Fills in the header of the frame at start whose n payload bytes follow
 * HEAD_ROOM bytes after it (b has room for 6 more bytes when n > 65535). */
static void frame_head(lk_buf *b, size_t start, size_t n)
{
    unsigned char *h = (unsigned char *)b->p + start;
    int i;

    if (n < 126) {
        h[1] = (unsigned char)n;
        memmove(h + 2, h + HEAD_ROOM, n);
        b->len -= 2;
    } else if (n <= 65535) {
        h[2] = (unsigned char)(n >> 8);
        h[3] = (unsigned char)n;
    } else {
        memmove(h + 10, h + HEAD_ROOM, n);
        h[1] = 127;
        for (i = 0; i < 8; i++)
            h[2 + i] = (unsigned char)((uint64_t)n >> (8 * (7 - i)));
        b->len += 6;
    }
    b->p[b->len] = '\0';
}

int gw_wsf_end(gw_wsf *w)
{
    lk_buf *b = w->b;
    size_t n;

    lk_buf_putc(b, '}');
    if (!b->oom) {
        n = b->len - w->start - HEAD_ROOM;
        if (n <= 65535 || lk_buf_reserve(b, 6) == 0) {
            frame_head(b, w->start, n);
            return 0;
        }
    }
    b->len = w->start; /* what it held before the frame */
    if (b->p)
        b->p[b->len] = '\0';
    return -1;
}

int gw_wsf_reply(lk_buf *b, const lk_reply *r)
{
    gw_wsf w;
    int k;

    if (!r->text)
        return 0;
    gw_wsf_begin(&w, b);
    gw_wsf_str(&w, "type", "reply");
    key(&w, "text");
    gw_json_string(b, r->text, r->len);
    if (r->nchoices > 0) {
        key(&w, "choices");
        lk_buf_putc(b, '[');
        for (k = 0; k < r->nchoices; k++) {
            gw_wsf ch = {b, 0, 0};

            if (k)
                lk_buf_putc(b, ',');
            lk_buf_putc(b, '{');
            gw_wsf_str(&ch, "id", r->choices[k].id);
            gw_wsf_str(&ch, "title", r->choices[k].title);
            lk_buf_putc(b, '}');
        }
        lk_buf_putc(b, ']');
    }
    gw_wsf_str(&w, "more", r->more);
    return gw_wsf_end(&w);
}

int gw_wsf_done(lk_buf *b, int n, int dup)
{
    gw_wsf w;

    gw_wsf_begin(&w, b);
    gw_wsf_str(&w, "type", "done");
    gw_wsf_int(&w, "replies", n);
    if (dup)
        gw_wsf_bool(&w, "duplicate", 1);
    return gw_wsf_end(&w);
}

int gw_wsf_simple(lk_buf *b, const char *type, const char *k, const char *value)
{
    gw_wsf w;

    gw_wsf_begin(&w, b);
    gw_wsf_str(&w, "type", type);
    if (k)
        gw_wsf_str(&w, k, value);
    return gw_wsf_end(&w);
}
