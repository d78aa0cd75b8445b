/* Small helpers of the gateway: JSON depth and parsing with a reason, HMAC
 * signatures and constant-time comparison (OpenSSL), UTF-8 cuts for the
 * WhatsApp limits, clocks, random ids and text escapes. */
#include "gw.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

cJSON *gw_json_parse(const char *s, size_t n, char *why, size_t whylen)
{
    const char *end = NULL;
    cJSON *j;

    if (!gw_json_depth_ok(s, n, GW_MAX_JSON_DEPTH)) {
        snprintf(why, whylen, "JSON nested deeper than %d levels", GW_MAX_JSON_DEPTH);
        return NULL;
    }
    if (memchr(s, '\0', n)) {
        snprintf(why, whylen, "malformed JSON: a NUL byte in the text");
        return NULL;
    }
    j = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    if (!j) {
        /* end points at the error (cJSON_GetErrorPtr is a global: racy with threads) */
        size_t off = end && end >= s && end <= s + n ? (size_t)(end - s) : n;
        snprintf(why, whylen, "malformed JSON at byte %zu", off);
        return NULL;
    }
    while (end && end < s + n && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end && end < s + n) {
        snprintf(why, whylen, "malformed JSON: text after the value at byte %zu",
                 (size_t)(end - s));
        cJSON_Delete(j);
        return NULL;
    }
    if (!cJSON_IsObject(j)) {
        snprintf(why, whylen, "expected a JSON object");
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

const char *gw_json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int gw_json_put(lk_buf *b, const cJSON *item)
{
    char *s = cJSON_PrintUnformatted(item);
    if (!s)
        return -1;
    lk_buf_puts(b, s);
    cJSON_free(s);
    return b->oom ? -1 : 0;
}

int gw_ct_equal(const void *a, size_t an, const void *b, size_t bn)
{
    if (an != bn || an == 0)
        return 0;
    return CRYPTO_memcmp(a, b, an) == 0;
}

int gw_hmac_sha256_hex(const char *key, const void *data, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;

    if (!HMAC(EVP_sha256(), key, (int)strlen(key), data, n, md, &mdlen) || mdlen != 32)
        return -1;
    for (i = 0; i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

int gw_hmac_sha1_b64(const char *key, const void *data, size_t n, char *out, size_t outlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (outlen < 29 || !HMAC(EVP_sha1(), key, (int)strlen(key), data, n, md, &mdlen))
        return -1;
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
    return 0;
}

/* Bytes of the UTF-8 sequence starting with c (the text is valid). */
static size_t seq_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

void gw_utf8_cut(lk_buf *b, const char *s, size_t max)
{
    size_t i = 0, n = strlen(s), cp = 0, keep = 0;

    if (lk_utf8_len(s, n) <= max) {
        lk_buf_put(b, s, n);
        return;
    }
    while (i < n && cp + 1 < max) {
        i += seq_len((unsigned char)s[i]);
        cp++;
    }
    keep = i > n ? n : i;
    while (keep > 0 && s[keep - 1] == ' ')
        keep--;
    lk_buf_put(b, s, keep);
    if (max > 0)
        lk_buf_puts(b, "\xe2\x80\xa6"); /* … */
}

void gw_random_hex(char *out, size_t n)
{
    unsigned char buf[64];
    size_t i;

    if (n > sizeof buf)
        n = sizeof buf;
    if (RAND_bytes(buf, (int)n) != 1) {
        /* RAND_bytes does not fail on Linux after seeding; keep ids unique anyway */
        for (i = 0; i < n; i++)
            buf[i] = (unsigned char)(gw_mono_us() >> (i % 8));
    }
    for (i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", buf[i]);
    out[2 * n] = '\0';
}

int64_t gw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t gw_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void gw_iso_time(int64_t ms, char *out, size_t len)
{
    lk_civil c;

    lk_civil_from_ms(ms, 0, &c);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", c.year, c.month, c.day, c.hour, c.min,
             c.sec, (int)(((ms % 1000) + 1000) % 1000));
}

void gw_xml_escape(lk_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': lk_buf_puts(b, "&amp;"); break;
        case '<': lk_buf_puts(b, "&lt;"); break;
        case '>': lk_buf_puts(b, "&gt;"); break;
        case '"': lk_buf_puts(b, "&quot;"); break;
        case '\'': lk_buf_puts(b, "&apos;"); break;
        default: lk_buf_putc(b, *s); break;
        }
    }
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
