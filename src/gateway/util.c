/* Small helpers of the gateway: printing JSON, HMAC signatures and
 * constant-time comparison (OpenSSL), UTF-8 cuts for the WhatsApp limits,
 * clocks, random ids and text escapes. */
#include "gw.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int gw_json_put(lk_buf *b, const cJSON *item)
{
    char *s = cJSON_PrintUnformatted(item);
    if (!s)
        return -1;
    lk_buf_puts(b, s);
    cJSON_free(s);
    return b->oom ? -1 : 0;
}

cJSON *gw_reply_json(const lk_reply *r, const char *type)
{
    cJSON *o = cJSON_CreateObject(), *arr;
    int k;

    if (!o || (type && !cJSON_AddStringToObject(o, "type", type)) ||
        !cJSON_AddStringToObject(o, "text", r->text)) {
        cJSON_Delete(o);
        return NULL;
    }
    if (r->nchoices > 0 && (arr = cJSON_AddArrayToObject(o, "choices"))) {
        for (k = 0; k < r->nchoices; k++) {
            cJSON *ch = cJSON_CreateObject();
            if (!ch)
                break;
            cJSON_AddStringToObject(ch, "id", r->choices[k].id);
            cJSON_AddStringToObject(ch, "title", r->choices[k].title);
            cJSON_AddItemToArray(arr, ch);
        }
    }
    if (r->more && !cJSON_AddStringToObject(o, "more", r->more)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int gw_ct_equal(const void *a, size_t an, const void *b, size_t bn)
{
    if (an != bn || an == 0)
        return 0;
    return CRYPTO_memcmp(a, b, an) == 0;
}

/* A keyed HMAC-SHA256 context for the last key a thread used. Every webhook
 * is signed with the same app secret, and keying a context (in OpenSSL 3,
 * the one-shot HMAC() also fetches the digest by name) costs more than the
 * MAC of a webhook's body; a context set up once is reset to its key by
 * EVP_MAC_init with no key. Thread-local, so any thread may sign; one
 * context per thread that ever signed, reachable until the process ends. */
static _Thread_local struct {
    EVP_MAC_CTX *ctx;
    size_t klen;
    char key[256];
} hm;

static EVP_MAC_CTX *keyed(const char *key, size_t klen)
{
    OSSL_PARAM params[2];
    EVP_MAC *mac;
    EVP_MAC_CTX *c;

    if (hm.ctx && hm.klen == klen && !memcmp(hm.key, key, klen))
        return EVP_MAC_init(hm.ctx, NULL, 0, NULL) ? hm.ctx : NULL;
    if (klen > sizeof hm.key)
        return NULL;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    c = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (!c || !EVP_MAC_init(c, (const unsigned char *)key, klen, params)) {
        EVP_MAC_CTX_free(c);
        return NULL;
    }
    EVP_MAC_CTX_free(hm.ctx);
    hm.ctx = c;
    hm.klen = klen;
    memcpy(hm.key, key, klen);
    return c;
}

/* n bytes as 2n lowercase hex digits and a NUL. */
static void put_hex(char *out, const unsigned char *b, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int gw_hmac_sha256_hex(const char *key, const void *data, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t klen = strlen(key), mdlen = 0;
    unsigned int len = 0;
    EVP_MAC_CTX *c = keyed(key, klen);

    if (c) {
        if (!EVP_MAC_update(c, data, n) || !EVP_MAC_final(c, md, &mdlen, sizeof md))
            return -1;
    } else { /* a key longer than the cache holds */
        if (!HMAC(EVP_sha256(), key, (int)klen, data, n, md, &len))
            return -1;
        mdlen = len;
    }
    if (mdlen != 32)
        return -1;
    put_hex(out, md, mdlen);
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

int gw_utf8_cut_len(const char *s, size_t max, size_t *keep)
{
    size_t i = 0, n = strlen(s), cp = 0;

    assert(max > 0);
    if (lk_utf8_len(s, n) <= max) {
        *keep = n;
        return 0;
    }
    while (i < n && cp + 1 < max) {
        i += seq_len((unsigned char)s[i]);
        cp++;
    }
    if (i > n)
        i = n;
    while (i > 0 && s[i - 1] == ' ')
        i--;
    *keep = i;
    return 1;
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
    put_hex(out, buf, n);
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

/* XML 1.0 allows tab, newline, carriage return, U+0020..U+D7FF,
 * U+E000..U+FFFD and U+10000..U+10FFFF: every other control character,
 * U+FFFE, U+FFFF and bytes that are not UTF-8 are left out, so that what a
 * user typed, echoed back, never makes the document unreadable. */
void gw_xml_escape(lk_buf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, n = strlen(str), len;

    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            switch (c) {
            case '&': lk_buf_puts(b, "&amp;"); break;
            case '<': lk_buf_puts(b, "&lt;"); break;
            case '>': lk_buf_puts(b, "&gt;"); break;
            case '"': lk_buf_puts(b, "&quot;"); break;
            case '\'': lk_buf_puts(b, "&apos;"); break;
            case '\r': lk_buf_puts(b, "&#13;"); break; /* a parser would make it \n */
            default:
                if (c >= 0x20 || c == '\t' || c == '\n')
                    lk_buf_putc(b, (char)c);
                break;
            }
            i++;
            continue;
        }
        len = c >= 0xc2 && c <= 0xdf   ? 2
              : c >= 0xe0 && c <= 0xef ? 3
              : c >= 0xf0 && c <= 0xf4 ? 4
                                       : 0;
        if (!len || i + len > n || !lk_utf8_valid(str + i, len, NULL)) {
            i++; /* not UTF-8: dropped */
            continue;
        }
        /* U+FFFE and U+FFFF are EF BF BE and EF BF BF */
        if (!(len == 3 && c == 0xef && s[i + 1] == 0xbf && s[i + 2] >= 0xbe))
            lk_buf_put(b, str + i, len);
        i += len;
    }
}
