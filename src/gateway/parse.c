/* The gateway's parsers of untrusted input (parse.h): pure functions over
 * the bytes a peer sent, called by the routes and by the fuzz targets. No
 * libwebsockets, no logging, no clock, no server state here. */
#include "parse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- JSON ------------------------------------------------------------------------ */

static int hexval(char c);

int gw_json_depth_ok(const char *s, size_t n, int max)
{
    size_t i;
    int depth = 0, in_str = 0;

    for (i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return 0;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 1;
}

void gw_json_why(char *why, size_t whylen, enum gw_json_fault f, size_t off)
{
    switch (f) {
    case GW_JSON_DEEP:
        snprintf(why, whylen, "JSON nested deeper than %d levels", GW_MAX_JSON_DEPTH);
        break;
    case GW_JSON_NUL: snprintf(why, whylen, "malformed JSON: a NUL byte in the text"); break;
    case GW_JSON_NOT_OBJECT: snprintf(why, whylen, "expected a JSON object"); break;
    case GW_JSON_SYNTAX: snprintf(why, whylen, "malformed JSON at byte %zu", off); break;
    case GW_JSON_AFTER:
        snprintf(why, whylen, "malformed JSON: text after the value at byte %zu", off);
        break;
    }
}

cJSON *gw_json_parse(const char *s, size_t n, char *why, size_t whylen)
{
    const char *end = NULL;
    size_t i;
    cJSON *j;

    if (!gw_json_depth_ok(s, n, GW_MAX_JSON_DEPTH)) {
        gw_json_why(why, whylen, GW_JSON_DEEP, 0);
        return NULL;
    }
    if (memchr(s, '\0', n)) {
        gw_json_why(why, whylen, GW_JSON_NUL, 0);
        return NULL;
    }
    for (i = 0; i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'); i++)
        ;
    if (i < n && s[i] == '[') { /* not worth a tree (a 1 MiB array is 40 MB of nodes) */
        gw_json_why(why, whylen, GW_JSON_NOT_OBJECT, 0);
        return NULL;
    }
    j = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    if (!j) {
        /* end points at the error (cJSON_GetErrorPtr is a global: racy with threads) */
        size_t off = end && end >= s && end <= s + n ? (size_t)(end - s) : n;
        gw_json_why(why, whylen, GW_JSON_SYNTAX, off);
        return NULL;
    }
    while (end && end < s + n && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end && end < s + n) {
        gw_json_why(why, whylen, GW_JSON_AFTER, (size_t)(end - s));
        cJSON_Delete(j);
        return NULL;
    }
    if (!cJSON_IsObject(j)) {
        gw_json_why(why, whylen, GW_JSON_NOT_OBJECT, 0);
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

int gw_json_has_nul(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i + 5 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && !memcmp(s + i + 2, "0000", 4))
            return 1;
        i++; /* the escaped character */
    }
    return 0;
}

static int hex4(const char *p, unsigned *v)
{
    int i, h;

    *v = 0;
    for (i = 0; i < 4; i++) {
        if ((h = hexval(p[i])) < 0)
            return -1;
        *v = *v * 16 + (unsigned)h;
    }
    return 0;
}

/* What the escape at s[i] ("\\u" and four hex digits, i + 6 <= n) needs: 0xFF
 * for \u0000, 0xFE for a lone surrogate, 0 for nothing; *skip gets the bytes it
 * spans (12 for a surrogate pair). */
static int escape_mark(const char *s, size_t i, size_t n, size_t *skip)
{
    unsigned v, lo;

    *skip = 6;
    if (hex4(s + i + 2, &v) < 0)
        return 0; /* malformed: cJSON says so */
    if (v == 0)
        return 0xFF;
    if (v >= 0xDC00 && v <= 0xDFFF)
        return 0xFE;
    if (v < 0xD800 || v > 0xDBFF)
        return 0;
    if (i + 12 <= n && s[i + 6] == '\\' && s[i + 7] == 'u' && hex4(s + i + 8, &lo) == 0 &&
        lo >= 0xDC00 && lo <= 0xDFFF) {
        *skip = 12;
        return 0;
    }
    return 0xFE;
}

/* One pass over the strings of s; with out NULL it only says whether a copy is
 * needed, otherwise it marks out (a copy of s) in place. */
static int mark_pass(const char *s, size_t n, char *out)
{
    size_t i, skip = 6;
    int in_str = 0, need = 0, m;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0xFF) {
            need = 1;
            if (out)
                out[i] = (char)0xFE;
        } else if (!in_str) {
            in_str = c == '"';
        } else if (c == '"') {
            in_str = 0;
        } else if (c == '\\') {
            if (i + 6 <= n && s[i + 1] == 'u' && (m = escape_mark(s, i, n, &skip))) {
                need = 1;
                if (out)
                    memset(out + i, m, 6);
                i += 5;
            } else if (i + 6 <= n && s[i + 1] == 'u') {
                i += skip - 1;
            } else {
                i++; /* the escaped character */
            }
        }
    }
    return need;
}

int gw_json_mark(const char *s, size_t n, char **out)
{
    *out = NULL;
    if (!mark_pass(s, n, NULL))
        return 0;
    if (!(*out = malloc(n ? n : 1)))
        return -1;
    memcpy(*out, s, n);
    mark_pass(s, n, *out);
    return 1;
}

size_t gw_json_text_len(const char **s)
{
    if (strchr(*s, (char)0xFF)) {
        *s = "\0";
        return 1;
    }
    return strlen(*s);
}

cJSON *gw_json_parse_marked(const char *s, size_t n, char *why, size_t whylen)
{
    char *copy = NULL;
    cJSON *j;

    if (gw_json_mark(s, n, &copy) < 0) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    j = gw_json_parse(copy ? copy : s, n, why, whylen);
    free(copy);
    return j;
}

const char *gw_json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t gw_url_decode(char *s, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '+') {
            s[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            s[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            s[o++] = s[i];
        }
    }
    s[o] = '\0';
    return o;
}

/* ---- forms ------------------------------------------------------------------------- */

/* Splits s[0..n) (s[n] is a NUL; modified in place) into pairs. */
static lk_err split_form(char *s, size_t n, gw_form_param *ps, int *np)
{
    char *p = s, *end = s + n;

    *np = 0;
    while (p < end) {
        char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
        size_t len = amp ? (size_t)(amp - p) : (size_t)(end - p);
        if (len) {
            if (*np >= GW_FORM_MAX_PARAMS)
                return LK_EINVAL;
            p[len] = '\0';
            eq = strchr(p, '=');
            if (eq)
                *eq = '\0';
            ps[*np].k = p;
            ps[*np].v = eq ? eq + 1 : p + len;
            gw_url_decode(ps[*np].k, strlen(ps[*np].k));
            ps[*np].vlen = gw_url_decode(ps[*np].v, strlen(ps[*np].v));
            (*np)++;
        }
        p += len + 1;
    }
    return LK_OK;
}

lk_err gw_form_parse(const char *body, size_t len, gw_form *f)
{
    lk_err err;

    memset(f, 0, sizeof *f);
    if (!(f->buf = malloc(len + 1)) || !(f->ps = calloc(GW_FORM_MAX_PARAMS, sizeof *f->ps))) {
        err = LK_ENOMEM;
        goto fail;
    }
    if (len)
        memcpy(f->buf, body, len);
    f->buf[len] = '\0';
    err = memchr(f->buf, '\0', len) ? LK_EINVAL : split_form(f->buf, len, f->ps, &f->n);
    if (err != LK_OK)
        goto fail;
    return LK_OK;
fail:
    gw_form_clear(f);
    return err;
}

void gw_form_clear(gw_form *f)
{
    free(f->buf);
    free(f->ps);
    memset(f, 0, sizeof *f);
}

const gw_form_param *gw_form_find(const gw_form *f, const char *k)
{
    int i;
    for (i = 0; i < f->n; i++)
        if (!strcmp(f->ps[i].k, k))
            return &f->ps[i];
    return NULL;
}

const char *gw_form_get(const gw_form *f, const char *k)
{
    const gw_form_param *p = gw_form_find(f, k);
    return p ? p->v : NULL;
}

/* ---- signatures ----------------------------------------------------------------------- */

int gw_wa_signature_ok(const char *header, const char *secret, const char *body, size_t len)
{
    char want[65], got[65];
    size_t i, n;

    if (strncmp(header, "sha256=", 7))
        return 0;
    header += 7;
    n = strlen(header);
    if (n != 64)
        return 0;
    for (i = 0; i < n; i++)
        got[i] = (char)tolower((unsigned char)header[i]);
    got[n] = '\0';
    if (gw_hmac_sha256_hex(secret, body ? body : "", len, want) < 0)
        return 0;
    return gw_ct_equal(got, 64, want, 64);
}

static int param_cmp(const void *a, const void *b)
{
    const gw_form_param *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

/* The base URL; with GW_TW_PORT, an explicit port is dropped and a missing
 * one added (:443 for https, else :80), as Twilio's helper libraries try. */
static void put_base(lk_buf *b, const gw_twilio_url *u, int toggle_port)
{
    const char *s = u->public_url ? u->public_url : u->host ? u->host : "", *sep;
    size_t n = strlen(s), a = 0, e, c;
    int https = 0;

    if (!u->public_url)
        lk_buf_puts(b, "http://");
    else if ((sep = strstr(s, "://"))) {
        a = (size_t)(sep - s) + 3;
        https = a == 8 && !strncasecmp(s, "https", 5);
    }
    if (!toggle_port) {
        lk_buf_put(b, s, n);
        return;
    }
    for (e = a; e < n && s[e] != '/' && s[e] != '?' && s[e] != '#'; e++)
        ;
    for (c = e; c > a && isdigit((unsigned char)s[c - 1]); c--)
        ;
    if (c > a && c < e && s[c - 1] == ':') { /* ":port" */
        lk_buf_put(b, s, c - 1);
    } else {
        lk_buf_put(b, s, e);
        lk_buf_puts(b, https ? ":443" : ":80");
    }
    lk_buf_put(b, s + e, n - e);
}

static int plain_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Characters a query may hold as they are (RFC 3986), which the HTTP parser
 * leaves alone: all but & ; + (which it reads as separators and a space). */
static int loose_char(unsigned char c)
{
    return c && strchr("!$'()*,/:=?@", c) != NULL;
}

/* The query, each argument percent-encoded again: its first '=' as it is. */
static void put_args(lk_buf *b, const gw_twilio_url *u, int variant)
{
    const char *p = u->args, *end = u->args + u->args_len;

    lk_buf_putc(b, '?');
    while (p < end) {
        size_t n = strnlen(p, (size_t)(end - p)), i;
        const char *eq = memchr(p, '=', n);
        if (p != u->args)
            lk_buf_putc(b, '&');
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char)p[i];
            if (plain_char(c) || p + i == eq || ((variant & GW_TW_LOOSE) && loose_char(c)))
                lk_buf_putc(b, (char)c);
            else if (c == ' ' && (variant & GW_TW_PLUS))
                lk_buf_putc(b, '+');
            else
                lk_buf_printf(b, "%%%02X", c);
        }
        p += n + 1;
    }
}

int gw_twilio_url_put(lk_buf *b, const gw_twilio_url *u, int variant)
{
    put_base(b, u, variant & GW_TW_PORT);
    lk_buf_puts(b, u->path ? u->path : "");
    if (u->args && u->args_len)
        put_args(b, u, variant);
    return b->oom ? -1 : 0;
}

/* The variant bits that spell this URL no differently (a query without a
 * space needs no "+" variant, one without loose characters no loose one). */
static int same_bits(const gw_twilio_url *u)
{
    int same = GW_TW_PLUS | GW_TW_LOOSE, seen_eq = 0;
    size_t i;

    for (i = 0; u->args && i < u->args_len; i++) {
        unsigned char c = (unsigned char)u->args[i];
        if (!c)
            seen_eq = 0;
        else if (c == ' ')
            same &= ~GW_TW_PLUS;
        else if (c == '=' && !seen_eq)
            seen_eq = 1;
        else if (loose_char(c))
            same &= ~GW_TW_LOOSE;
    }
    return same;
}

static void put_params(lk_buf *b, gw_form *f)
{
    int i;

    if (f->n > 0)
        qsort(f->ps, (size_t)f->n, sizeof *f->ps, param_cmp);
    for (i = 0; i < f->n; i++) {
        lk_buf_puts(b, f->ps[i].k);
        lk_buf_puts(b, f->ps[i].v);
    }
}

int gw_twilio_base(lk_buf *b, const gw_twilio_url *u, gw_form *f)
{
    gw_twilio_url_put(b, u, 0);
    put_params(b, f);
    return b->oom ? -1 : 0;
}

int gw_twilio_signature_ok(const char *header, const char *token, const gw_twilio_url *u,
                           gw_form *f)
{
    char sig[64];
    lk_buf data = {0}, params = {0};
    size_t hn = strlen(header), at;
    int ok, v, same = same_bits(u);

    /* the first spelling is nearly always the one: the parameters are copied
     * aside only when another has to be tried */
    gw_twilio_url_put(&data, u, 0);
    at = data.len;
    put_params(&data, f);
    ok = !data.oom && gw_hmac_sha1_b64(token, data.p, data.len, sig, sizeof sig) == 0 &&
         gw_ct_equal(sig, strlen(sig), header, hn);
    for (v = 1; v < GW_TW_VARIANTS && !ok && !data.oom && !params.oom; v++) {
        if (v & same)
            continue;
        if (at != SIZE_MAX) { /* once: the parameters, before data is reused */
            lk_buf_put(&params, data.p + at, data.len - at);
            at = SIZE_MAX;
        }
        lk_buf_reset(&data);
        gw_twilio_url_put(&data, u, v);
        lk_buf_put(&data, params.p, params.len);
        ok = !data.oom && !params.oom &&
             gw_hmac_sha1_b64(token, data.p, data.len, sig, sizeof sig) == 0 &&
             gw_ct_equal(sig, strlen(sig), header, hn);
    }
    lk_buf_free(&params);
    lk_buf_free(&data);
    return ok;
}

/* ---- generic -------------------------------------------------------------------------- */

int gw_generic_parse(const char *body, size_t len, gw_generic_msg *m, char *why, size_t whylen)
{
    const cJSON *idj;

    memset(m, 0, sizeof *m);
    if (!(m->root = gw_json_parse_marked(body, len, why, whylen)))
        return -1;
    m->from = gw_json_str(m->root, "from");
    m->text = gw_json_str(m->root, "text");
    idj = cJSON_GetObjectItemCaseSensitive(m->root, "id");
    m->id = gw_json_str(m->root, "id");
    if (!m->from || !m->text || (idj && !cJSON_IsNull(idj) && !m->id)) {
        snprintf(why, whylen, "%s",
                 "expected {\"from\": string, \"text\": string, \"id\": optional string}");
        gw_generic_clear(m);
        return -1;
    }
    if (m->id && !*m->id) {
        snprintf(why, whylen, "%s",
                 "id must not be empty: leave it out, or give a unique id for deduplication");
        gw_generic_clear(m);
        return -1;
    }
    m->len = gw_json_text_len(&m->text);
    return 0;
}

void gw_generic_clear(gw_generic_msg *m)
{
    cJSON_Delete(m->root);
    memset(m, 0, sizeof *m);
}

/* ---- ws ----------------------------------------------------------------------------------- */

static void ws_error(gw_ws_frame *f, const char *why)
{
    f->kind = GW_WS_ERROR;
    f->why = why;
}

static void ws_hello(gw_ws_frame *f)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(f->root, "user");
    size_t n;

    f->kind = GW_WS_HELLO;
    if (!u || cJSON_IsNull(u))
        return; /* a new user */
    if (!cJSON_IsString(u) || !(n = strlen(u->valuestring)) ||
        n > GW_USER_MAX - (sizeof GW_WS_USER_PREFIX - 1) ||
        !lk_utf8_valid(u->valuestring, n, NULL)) {
        ws_error(f, "user must be 1 to 125 bytes of valid UTF-8");
        return;
    }
    f->user = u->valuestring;
}

static void ws_clock(gw_ws_frame *f, int test_clock)
{
    const cJSON *now = cJSON_GetObjectItemCaseSensitive(f->root, "now");
    int64_t ms;

    if (!test_clock) {
        ws_error(f, "setting the clock needs a server started with --test-clock");
        return;
    }
    if (cJSON_IsString(now) && lk_time_parse_iso(now->valuestring, &ms) == 0) {
        f->now_ms = ms;
    } else if (cJSON_IsNumber(now) && now->valuedouble >= 0 && now->valuedouble < 1e15) {
        f->now_ms = (int64_t)now->valuedouble;
    } else {
        ws_error(f, "now must be a time such as 2026-11-24T09:00:00+07:00");
        return;
    }
    f->kind = GW_WS_CLOCK;
}

static void ws_message(gw_ws_frame *f, int nul)
{
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(f->root, "text");

    if (!cJSON_IsString(text)) {
        ws_error(f, "a message needs a text string");
        return;
    }
    f->kind = GW_WS_MESSAGE;
    f->id = gw_json_str(f->root, "id");
    f->text = nul ? "\0" : text->valuestring;
    f->len = nul ? 1 : strlen(text->valuestring);
}

void gw_ws_parse(const char *s, size_t n, int binary, int test_clock, gw_ws_frame *f)
{
    const char *type;

    memset(f, 0, sizeof *f);
    if (binary) {
        ws_error(f, "binary frames are not supported: send JSON text");
        return;
    }
    if (!(f->root = gw_json_parse(s, n, f->why_buf, sizeof f->why_buf))) {
        ws_error(f, f->why_buf);
        return;
    }
    type = gw_json_str(f->root, "type");
    if (!type)
        ws_error(f, "a frame needs a type: hello, message or clock");
    else if (!strcmp(type, "message"))
        ws_message(f, gw_json_has_nul(s, n));
    else if (!strcmp(type, "hello"))
        ws_hello(f);
    else if (!strcmp(type, "clock"))
        ws_clock(f, test_clock);
    else
        ws_error(f, "unknown type: expected hello, message or clock");
}

void gw_ws_frame_clear(gw_ws_frame *f)
{
    cJSON_Delete(f->root);
    memset(f, 0, sizeof *f);
}
