/* The server's frames of the /chat websocket written straight into a
 * connection's outgoing bytes: each one a whole RFC 6455 server frame (FIN,
 * text, unmasked, then the length in its shortest form) around a JSON
 * object, with no JSON tree and no string in between (wsframe.c).
 *
 * The bytes are what cJSON_PrintUnformatted prints for the same object:
 * the fields in the order they are written, strings escaped as JSON
 * requires (quote, backslash, \b \f \n \r \t, other bytes below 0x20 as
 * \u00xx), everything else, UTF-8 included, as it is. */
#ifndef LOKET_GW_WSFRAME_H
#define LOKET_GW_WSFRAME_H

#include <stddef.h>

#include "loket/core.h"
#include "loket/engine.h"

/* One frame being written into b: gw_wsf_begin, the fields, gw_wsf_end.
 * Borrows b; nothing to free. */
typedef struct gw_wsf {
    lk_buf *b;
    size_t start; /* where the frame begins in b */
    int nfields;
} gw_wsf;

/* Starts a frame with one object at the end of b. */
void gw_wsf_begin(gw_wsf *w, lk_buf *b);
/* "key":"value"; no field at all when value is NULL (as cJSON leaves it out). */
void gw_wsf_str(gw_wsf *w, const char *key, const char *value);
void gw_wsf_int(gw_wsf *w, const char *key, int v);
void gw_wsf_bool(gw_wsf *w, const char *key, int v);
/* Closes the object and puts the frame's header before it. 0, or -1 when
 * memory ran out: then b holds what it held before gw_wsf_begin (and its
 * oom is set). */
int gw_wsf_end(gw_wsf *w);

/* Whole frames (0, or -1 as gw_wsf_end):
 * {"type":"reply","text":T,"choices":[{"id":I,"title":L}...],"more":M}
 *   (choices only for a menu or list page, more only when r->more), */
int gw_wsf_reply(lk_buf *b, const lk_reply *r);
/* {"type":"done","replies":n} + "duplicate":true when dup, */
int gw_wsf_done(lk_buf *b, int n, int dup);
/* {"type":type} + "key":value when key is not NULL. */
int gw_wsf_simple(lk_buf *b, const char *type, const char *key, const char *value);

/* Appends s[0..n) as a JSON string, quotes included, escaped as above (the
 * WhatsApp payloads use it too). Out of memory: b's oom is set and b may end
 * with part of the string. */
void gw_json_string(lk_buf *b, const char *s, size_t n);
/* The same without the quotes: what goes between them, for a string written
 * in pieces. */
void gw_json_chars(lk_buf *b, const char *s, size_t n);

#endif
