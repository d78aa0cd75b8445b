/* The gateway's parsers of untrusted input, apart from libwebsockets, I/O and
 * the server's state, so that the fuzz targets (tests/fuzz/fuzz_gw_*.c) can
 * call exactly what the routes call:
 *
 *   JSON        depth check on the raw text, parse with a reason, \u0000
 *   forms       application/x-www-form-urlencoded bodies (Twilio)
 *   signatures  X-Hub-Signature-256 (WhatsApp) and X-Twilio-Signature, with the
 *               string Twilio signs
 *   whatsapp    Cloud API notifications: messages and statuses
 *   generic     POST /v1/messages
 *   ws          one /chat websocket frame: hello, message or clock
 *
 * Every function here is pure: bytes in, a result or a reason out (parse.c,
 * and the HMAC helpers of util.c, which need only OpenSSL). Results that
 * borrow from a cJSON tree say so; the tree is freed by the matching _clear
 * function. WhatsApp notifications build no tree: they are read in place
 * (jscan.h), and the iterator borrows the body. */
#ifndef LOKET_GW_PARSE_H
#define LOKET_GW_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "jscan.h"
#include "loket/core.h"

#define GW_MAX_JSON_DEPTH 32
#define GW_FORM_MAX_PARAMS 256
#define GW_USER_MAX 128
/* Prepended to a websocket user id to make its session key. */
#define GW_WS_USER_PREFIX "ws:"

/* ---- JSON ------------------------------------------------------------------------ */
/* 1 when the JSON text nests at most max levels of [ and { (strings are
 * skipped), 0 when deeper. Does not validate anything else. */
int gw_json_depth_ok(const char *s, size_t n, int max);
/* Parses a JSON object from s[0..n). On failure returns NULL and writes a
 * reason to why ("nested deeper than 32 levels", "malformed JSON at byte 12").
 * The caller frees the tree with cJSON_Delete. */
cJSON *gw_json_parse(const char *s, size_t n, char *why, size_t whylen);
/* The reasons gw_json_parse gives (and gw_js_open, jscan.h), into why; off is the byte
 * of GW_JSON_SYNTAX and GW_JSON_AFTER. */
enum gw_json_fault { GW_JSON_DEEP, GW_JSON_NUL, GW_JSON_NOT_OBJECT, GW_JSON_SYNTAX, GW_JSON_AFTER };
void gw_json_why(char *why, size_t whylen, enum gw_json_fault f, size_t off);
/* 1 when the JSON text holds the escape \u0000: cJSON would cut the string
 * there and hide the NUL from lk_inbound_check, so callers test for it. */
int gw_json_has_nul(const char *s, size_t n);
/* gw_json_parse of the gw_json_mark copy of s, when one is needed: strings
 * that held \u0000 or a lone surrogate stay recognisable (gw_json_text_len). */
cJSON *gw_json_parse_marked(const char *s, size_t n, char *why, size_t whylen);
/* The string member name of obj, or NULL. */
const char *gw_json_str(const cJSON *obj, const char *name);
/* Decodes %XX and + in place, then writes a NUL at s[result] (s needs n + 1
 * bytes); returns the new length. */
size_t gw_url_decode(char *s, size_t n);

/* ---- forms ------------------------------------------------------------------------- */
typedef struct gw_form_param {
    char *k, *v; /* decoded, NUL-terminated, inside the form's buffer */
    size_t vlen; /* a decoded %00 stays visible to lk_inbound_check */
} gw_form_param;

typedef struct gw_form {
    char *buf;         /* owned: a decoded copy of the body */
    gw_form_param *ps; /* owned */
    int n;
} gw_form; /* a zeroed gw_form is empty */

/* Splits an application/x-www-form-urlencoded body into at most
 * GW_FORM_MAX_PARAMS decoded pairs (empty pairs are skipped, a name without
 * '=' has the empty value). LK_OK: f holds them (gw_form_clear); LK_EINVAL: a
 * NUL byte in the body or too many pairs; LK_ENOMEM. f is empty on failure. */
lk_err gw_form_parse(const char *body, size_t len, gw_form *f);
void gw_form_clear(gw_form *f); /* frees what f owns; f is empty after */
/* The first pair named k, or NULL. Borrowed from f. */
const gw_form_param *gw_form_find(const gw_form *f, const char *k);
const char *gw_form_get(const gw_form *f, const char *k); /* its value, or NULL */

/* ---- signatures ----------------------------------------------------------------------- */
/* Constant-time comparison of two byte strings (length checked first; two
 * empty strings are not equal). util.c. */
int gw_ct_equal(const void *a, size_t an, const void *b, size_t bn);
/* HMAC-SHA256 of data with key as lowercase hex into out (65 bytes). util.c. */
int gw_hmac_sha256_hex(const char *key, const void *data, size_t n, char out[65]);
/* HMAC-SHA1 of data with key, base64 into out (at least 29 bytes). util.c. */
int gw_hmac_sha1_b64(const char *key, const void *data, size_t n, char *out, size_t outlen);

/* 1 when header (X-Hub-Signature-256) is "sha256=" and the 64 hex digits, in
 * either case, of the HMAC-SHA256 of body keyed with secret; 0 otherwise. */
int gw_wa_signature_ok(const char *header, const char *secret, const char *body, size_t len);
/* The URL Twilio requested, as loket sees it: the base is public_url (when
 * not NULL) or http://{host}; then path; then, when args_len > 0, "?" and the
 * query's arguments, which the HTTP parser hands over percent-decoded (and
 * "+" as a space): args holds each one NUL-terminated, args_len bytes in all. */
typedef struct gw_twilio_url {
    const char *public_url, *host, *path;
    const char *args;
    size_t args_len;
} gw_twilio_url;

/* The spellings of that URL a signature is checked against, as bits of a
 * variant number: the base with and without its port (Twilio's helper
 * libraries accept both, :443 and :80 being the defaults), a space in the
 * query as %20 or "+", and the characters a query may hold unencoded
 * (!$'()*,/:=?@) percent-encoded or as they are. */
enum { GW_TW_PORT = 1, GW_TW_PLUS = 2, GW_TW_LOOSE = 4, GW_TW_VARIANTS = 8 };

/* Appends to b the URL in spelling variant. -1 on out of memory. */
int gw_twilio_url_put(lk_buf *b, const gw_twilio_url *u, int variant);
/* Appends to b the string Twilio signs: the URL (variant 0), then every
 * parameter's name and value sorted by name (then value). Sorts f's pairs in
 * place, so gw_form_find afterwards finds the first of duplicate names in
 * that order. -1 on out of memory. */
int gw_twilio_base(lk_buf *b, const gw_twilio_url *u, gw_form *f);
/* 1 when header (X-Twilio-Signature) is the base64 HMAC-SHA1, keyed with
 * token, of the URL in one of its spellings followed by the sorted
 * parameters (f is sorted as by gw_twilio_base); 0 otherwise. */
int gw_twilio_signature_ok(const char *header, const char *token, const gw_twilio_url *u,
                           gw_form *f);

/* ---- whatsapp ------------------------------------------------------------------------- */
enum gw_wa_kind {
    GW_WA_MESSAGE,   /* a message for the engine: text, a tap, media (with its caption) */
    GW_WA_INVALID,   /* a message without a sender, id, type or a digits-only phone_number_id */
    GW_WA_UNHANDLED, /* a reaction, an unsupported or unknown type: type, id; not answered */
    GW_WA_STATUS,    /* a delivery status: id, status, code, title */
    GW_WA_STALE,     /* a message older than the iterator's max_age_ms (a replay): from, id */
    GW_WA_GROUP,     /* a message in a group (group_id): from, id, type; not answered */
    GW_WA_ERROR,     /* an error of the notification itself (value.errors[]): code, title */
};

/* A row or button id as loket writes it: "q:" + question (':' and '%' escaped as %3A and
 * %25) + ':' + the choice id, so that a tap names the question it answers. */
#define GW_WA_ID_MAX 200 /* a list row id's limit (a button's is 256) */

/* One item of a notification. Every pointer is borrowed from the iterator
 * (gw_wa_next: until gw_wa_close; gw_wa_parse: during the callback only); any
 * may be NULL unless said. */
typedef struct gw_wa_event {
    enum gw_wa_kind kind;
    const char *pnid;        /* phone_number_id (GW_WA_MESSAGE: 1 to 32 digits) */
    const char *from, *id;   /* GW_WA_MESSAGE, GW_WA_UNHANDLED: not NULL. from is the phone */
    const char *type;        /* number, or the business-scoped user id (from_user_id) when */
    int bsuid;               /* the message has no from: bsuid is then 1 */
    const char *text;        /* GW_WA_MESSAGE: the text, a caption ("" when none) or the */
    size_t len;              /* choice id tapped; "\0" (1) when that text holds \u0000 */
    int64_t ts_ms;           /* GW_WA_MESSAGE, GW_WA_STALE: its timestamp, Unix ms */
    const char *status;      /* GW_WA_STATUS */
    int has_error, has_code; /* GW_WA_STATUS, GW_WA_ERROR, GW_WA_UNHANDLED: errors[0] is */
    int code;                /* there; its code is a number (errors[0].code) */
    const char *error_title; /* errors[0].title */
    /* GW_WA_MESSAGE: a tap on a list row or button of an interactive message */
    int tap;
    const char *tap_title;           /* the title sent back, or NULL */
    int has_question;                /* the id named a question: in question */
    char question[GW_WA_ID_MAX + 1]; /* unescaped */
    /* GW_WA_MESSAGE: media ("image", "audio", "voice", "video", "document", "sticker",
     * "location", "contacts"), its id and MIME type when it has them */
    const char *media_type, *media_id, *media_mime;
    const char *group_id; /* GW_WA_GROUP */
} gw_wa_event;

/* 1 when a WhatsApp user id is a phone number (digits), which a Graph API message
 * addresses as "to"; anything else is a business-scoped user id, addressed as
 * "recipient". */
int gw_wa_is_phone(const char *user);
/* The checks and pieces of a notification's reading that are not JSON
 * (parse_wa.c): a phone number id (digits, 1 to 32), a business-scoped user
 * id (1 to 128 of [A-Za-z0-9._-]), a tapped id ("q:<question>:<choice>" or
 * a bare choice id) into ev, and the media types a message may have. */
int gw_wa_pnid_ok(const char *s);
int gw_wa_bsuid_ok(const char *s);
void gw_wa_tap_id(gw_wa_event *ev, const char *id);
#define GW_WA_MEDIA_TYPES 5
extern const char *const gw_wa_media_types[GW_WA_MEDIA_TYPES];

/* Writes the row or button id of choice id of question to out (GW_WA_ID_MAX + 1 bytes),
 * NUL-terminated: the bare id when the whole would be longer than GW_WA_ID_MAX (it then
 * names no question). -1 (out untouched) when id alone is longer. */
int gw_wa_choice_id(char *out, const char *question, const char *id);

typedef void (*gw_wa_fn)(void *ctx, const gw_wa_event *ev);

/* Walks a notification one item at a time, so that a big body can be
 * handled over several turns of the loop. Every entry[].changes[] item comes
 * in order: first its value.messages[], then its value.statuses[], then its
 * value.errors[].
 *
 * A message is GW_WA_INVALID without a non-empty from (or, without from, a
 * from_user_id of 1 to 128 letters, digits, '.', '_' and '-'), id and type,
 * without a timestamp (Unix seconds, a string of digits as Meta sends it, or a
 * number) or with a phone_number_id that is not 1 to 32 digits. With
 * max_age_ms > 0, a message whose timestamp is more than max_age_ms before
 * now_ms is GW_WA_STALE. A \u0000 or a lone surrogate (\ud800 without its
 * pair) refuses only the message whose text holds it: the text of a NUL is
 * "\0" (len 1) and a lone surrogate makes it invalid UTF-8, both of which
 * lk_inbound_check refuses; anywhere else (a contact's name) it is ignored. */
typedef struct gw_wa_iter {
    gw_js_doc doc; /* the checked body */
    /* positions in the body, which must outlive the iterator (it is read in place) */
    gw_jv entry, change, item;
    gw_jv lists[3];   /* the change's value.messages, .statuses and .errors */
    const char *pnid; /* the change's phone_number_id, decoded */
    int phase;        /* 0: the change's messages, 1: its statuses, 2: its errors */
    int64_t now_ms, max_age_ms;
    gw_js_arena arena; /* owned: the decoded strings of events (gw_wa_close) */
} gw_wa_iter;

/* 0 with it ready (gw_wa_close frees it): it reads body in place, so body must
 * stay as it is until then; -1 when the body is not a JSON object (the reasons
 * of gw_json_parse, jscan.h) or out of memory, with a reason in why and nothing
 * to close. */
int gw_wa_open(const char *body, size_t len, int64_t now_ms, int64_t max_age_ms, gw_wa_iter *it,
               char *why, size_t whylen);
/* 1 with the next item in ev (borrowed from it until gw_wa_close); 0 at the end. */
int gw_wa_next(gw_wa_iter *it, gw_wa_event *ev);
void gw_wa_close(gw_wa_iter *it); /* NULL-safe; it is empty after */

/* Calls fn for every item of a notification (gw_wa_open without an age
 * limit). 0 when the body parsed; -1 when it is not a JSON object (fn was not
 * called) with a reason in why. */
int gw_wa_parse(const char *body, size_t len, gw_wa_fn fn, void *ctx, char *why, size_t whylen);

/* ---- generic -------------------------------------------------------------------------- */
typedef struct gw_generic_msg {
    cJSON *root;      /* owned: gw_generic_clear */
    const char *from; /* borrowed from root, not NULL */
    const char *text; /* borrowed from root; "\0" when the body holds \u0000 */
    size_t len;
    const char *id; /* borrowed from root; NULL when absent or null */
} gw_generic_msg;

/* Parses {"from": string, "text": string, "id": optional string}. An id
 * that is given must not be empty (an empty one cannot deduplicate: the
 * message is refused rather than processed twice). A \u0000 or a lone
 * surrogate counts only in text (NUL: "\0", len 1; a lone surrogate: invalid
 * UTF-8, refused by lk_inbound_check) and in from. 0 with m filled; -1 with a
 * reason in why and m empty. */
int gw_generic_parse(const char *body, size_t len, gw_generic_msg *m, char *why, size_t whylen);
void gw_generic_clear(gw_generic_msg *m);

/* ---- JSON text a cJSON tree would hide ------------------------------------------------ */
/* cJSON cuts a string at \u0000 and refuses a whole document for one lone
 * surrogate. When s[0..n) holds either (or a raw 0xFF byte), *out gets a
 * malloc'ed copy of the same length in which each \u0000 escape became six
 * 0xFF bytes and each lone surrogate escape six 0xFE bytes (a raw 0xFF
 * becomes 0xFE): both parse, and neither is valid UTF-8, so the strings
 * that held them stay recognisable (gw_json_text_len). Returns 1 with *out
 * set (the caller frees it), 0 when nothing needed it (*out NULL), -1 on out
 * of memory. */
int gw_json_mark(const char *s, size_t n, char **out);
/* The length of a string parsed from a gw_json_mark copy: 1 and *s = "\0"
 * when it held \u0000, else strlen. */
size_t gw_json_text_len(const char **s);

/* ---- the Graph API's answer to a send -------------------------------------------------- */
enum gw_send_verdict {
    GW_SEND_SENT,       /* any 2xx: the API took the message (its id, if any, is kept) */
    GW_SEND_RETRY,      /* no answer, 408, 425, 429, any status not 2xx or 4xx, Meta's
                           temporary and rate errors other than the ones below */
    GW_SEND_DROP,       /* any other 4xx: it would fail the same way again */
    GW_SEND_AUTH,       /* the access token or a permission (HTTP 401, 403, codes 190, 10,
                           200-299): every send fails until an operator acts; keep the reply */
    GW_SEND_THROUGHPUT, /* 130429: the phone number is over its messages per second */
    GW_SEND_PAIR,       /* 131056: too many messages to this one user in a short time */
    GW_SEND_WINDOW,     /* 131047: more than 24 hours since the user's last message */
};

typedef struct gw_graph_answer {
    char id[128];       /* messages[0].id, "" when absent */
    char message[256];  /* error.message, "" when absent */
    long code, subcode; /* error.code, error.error_subcode; 0 when absent */
} gw_graph_answer;

/* Classifies the answer of POST /{phone_number_id}/messages: status is the
 * HTTP status (0 when the request got none), body[0..len) the answer. Always
 * fills a. The Graph error code decides before the status: 131047 is
 * GW_SEND_WINDOW, 130429 GW_SEND_THROUGHPUT, 131056 GW_SEND_PAIR, the token and
 * permission codes (and any 401 or 403) GW_SEND_AUTH; Meta's other rate and
 * temporary errors (131048, 80007, 4, 1, 2, 131000, 131016, 133004) are
 * retried whatever the status. graph.c. */
enum gw_send_verdict gw_graph_answer_parse(long status, const char *body, size_t len,
                                           gw_graph_answer *a);
/* "sent", "retry", "drop", "auth", "throughput", "pair", "window". */
const char *gw_send_verdict_name(enum gw_send_verdict v);

/* ---- ws ----------------------------------------------------------------------------------- */
enum gw_ws_kind {
    GW_WS_ERROR,   /* answer {"type":"error","error":why} */
    GW_WS_HELLO,   /* user: the id asked for, or NULL for a new one */
    GW_WS_MESSAGE, /* text, len, id */
    GW_WS_CLOCK,   /* now_ms */
};

/* Not to be copied: why may point into why_buf. */
typedef struct gw_ws_frame {
    enum gw_ws_kind kind;
    const char *why;  /* GW_WS_ERROR: static text or why_buf */
    const char *user; /* GW_WS_HELLO: 1 to 125 bytes of valid UTF-8, or NULL */
    const char *text; /* GW_WS_MESSAGE: "\0" (len 1) when the frame holds \u0000 */
    size_t len;
    const char *id; /* GW_WS_MESSAGE: the dedup id, or NULL */
    int64_t now_ms; /* GW_WS_CLOCK */
    cJSON *root;    /* owned: what user, text and id borrow from */
    char why_buf[128];
} gw_ws_frame;

/* Classifies one reassembled websocket message. binary: it came in binary
 * frames; test_clock: the server lets clients set their clock. Always fills
 * f (gw_ws_frame_clear frees it); f->kind says what it is. */
void gw_ws_parse(const char *s, size_t n, int binary, int test_clock, gw_ws_frame *f);
void gw_ws_frame_clear(gw_ws_frame *f);

/* ---- HTTP request heads (parse_http.c) ------------------------------------------------ */
/* libwebsockets parses the heads the server reads; gw_http_check is the one place that
 * decides which of them loket serves, from the fields the server copies out of it. The
 * fuzz targets and unit tests build the same struct from raw bytes (gw_http_head_parse),
 * including several requests in one stream (gw_http_next). */
#define GW_HTTP_HEAD_MAX 8192 /* bytes of one request head, blank line included */

typedef struct gw_span {
    const char *p; /* NULL when absent; not NUL-terminated */
    size_t n;
} gw_span;

typedef struct gw_http_head {
    gw_span method;   /* "GET", "POST", ... */
    gw_span target;   /* the request target as sent */
    gw_span clen;     /* Content-Length (its last occurrence) */
    gw_span te;       /* Transfer-Encoding (its last occurrence) */
    gw_span xff;      /* X-Forwarded-For (its last occurrence) */
    int n_clen, n_te; /* how often each appeared: libwebsockets joins repeats with ',' */
} gw_http_head;

typedef struct gw_http_verdict {
    int status;      /* 0: serve the request; else answer this status and close */
    const char *why; /* static text, when status != 0 */
    int64_t clen;    /* the announced body length, -1 when none */
} gw_http_verdict;

/* Applies loket's framing rules to a request head: a Transfer-Encoding is refused (400
 * together with a Content-Length, else 411: bodies are never read chunked); a
 * Content-Length must be one run of 1 to 18 digits (400) of at most max_body (413); a POST
 * needs one (411); a GET or HEAD announces no body (400). Always fills v; returns
 * v->status. */
int gw_http_check(const gw_http_head *h, int64_t max_body, gw_http_verdict *v);

/* Parses one request head from s[0..n): the request line and the header fields up to the
 * blank line, CRLF line ends, no folding, no NUL. 1: h is filled (spans point into s) and
 * *used is the head's length; 0: incomplete, more bytes needed; -1: malformed (or longer
 * than GW_HTTP_HEAD_MAX) with a reason in *why. */
int gw_http_head_parse(const char *s, size_t n, gw_http_head *h, size_t *used, const char **why);

/* One whole request of a pipelined stream: its head (gw_http_head_parse), the verdict of
 * gw_http_check, then clen bytes of body. 1: *used covers head and body; 0: incomplete;
 * -1: malformed or refused (v or *why says why), the rest of the stream is not framed. */
int gw_http_next(const char *s, size_t n, int64_t max_body, gw_http_head *h, gw_http_verdict *v,
                 size_t *used, const char **why);

/* ---- addresses (parse_http.c) ----------------------------------------------------------- */
typedef struct gw_ip {
    int v6; /* 0: IPv4 in a[0..4); 1: IPv6 in a[0..16). An IPv4-mapped IPv6 is IPv4. */
    unsigned char a[16];
} gw_ip;

typedef struct gw_cidr {
    gw_ip ip;
    int bits; /* prefix length: 0-32 or 0-128 */
} gw_cidr;

/* Parses a literal IPv4 or IPv6 address from s[0..n) (no port, no brackets). 0 or -1. */
int gw_ip_parse(const char *s, size_t n, gw_ip *ip);
/* The canonical text of ip (inet_ntop) into out, at least 46 bytes. */
void gw_ip_format(const gw_ip *ip, char *out, size_t len);
/* Parses "10.0.0.0/8", "::1" or "192.168.1.7" (a whole address). 0 or -1. */
int gw_cidr_parse(const char *s, gw_cidr *c);
/* 1 when ip is inside one of the n ranges. */
int gw_cidr_match(const gw_cidr *c, int n, const gw_ip *ip);
/* The client behind trusted proxies: the X-Forwarded-For list is read from the right,
 * skipping addresses inside trusted[0..n); the first other one is the client. When every
 * entry is trusted, the leftmost is; an entry reached that is not an address ("unknown")
 * leaves the trusted hop right of it as the client. 0 with *client set; -1 when no entry
 * was usable (then the connection's own peer counts). */
int gw_xff_client(const char *xff, size_t len, const gw_cidr *trusted, int n, gw_ip *client);

#endif
