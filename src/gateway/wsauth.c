/* Who may use which websocket session, and how many new ones an address
 * may open. Loop thread only.
 *
 * Resume tokens: a session id alone is not enough to resume a session (ids
 * can be read over a shoulder, or guessed when a client picked them). The
 * welcome frame gives the id with its token, hex HMAC-SHA256 of the id under
 * the server's secret; a hello that names an id with a session must bring
 * that token. The secret is LOKET_WS_SECRET or, without it, 32 random bytes
 * the database keeps (lk_store_secret), so tokens survive restarts and every
 * server on one database agrees on them. Changing the secret voids every
 * token (clients then start new sessions).
 *
 * New sessions per address: a token bucket of ws_new_sessions per minute per
 * peer address, in a fixed table (SLOTS entries), so a flood of addresses
 * cannot grow it: a full bucket is the same as no bucket, so such entries
 * are reused first. */
#include "gw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 1024
#define PROBE 8
#define TOKEN_CTX "loket ws resume\n"

typedef struct bucket {
    char peer[48]; /* "" when free */
    double tokens;
    int64_t last_us;
} bucket;

struct gw_wsauth {
    char key[65]; /* the secret as hex (the HMAC helpers take a string key) */
    int per_min;
    bucket b[SLOTS];
};

gw_wsauth *gw_wsauth_open(const gw_config *cfg, lk_store *store)
{
    gw_wsauth *a = calloc(1, sizeof *a);
    char fresh[65];
    lk_buf got = {0};

    if (!a)
        return NULL;
    a->per_min = cfg->ws_new_sessions;
    if (cfg->ws_secret) {
        /* any length: hashed to a fixed-size key */
        if (gw_hmac_sha256_hex(cfg->ws_secret, TOKEN_CTX, strlen(TOKEN_CTX), a->key) < 0)
            goto fail;
        return a;
    }
    gw_random_hex(fresh, 32);
    if (lk_store_secret(store, "ws-resume", fresh, 64, &got) != LK_OK || got.len < 32 ||
        got.len >= sizeof a->key || memchr(got.p, 0, got.len)) {
        gw_log(GW_LOG_ERROR, "cannot read the websocket secret from the database", "why=\"%s\"",
               lk_store_errmsg(store));
        goto fail;
    }
    memcpy(a->key, got.p, got.len);
    a->key[got.len] = '\0';
    lk_buf_free(&got);
    return a;
fail:
    lk_buf_free(&got);
    free(a);
    return NULL;
}

void gw_wsauth_free(gw_wsauth *a)
{
    free(a);
}

void gw_wsauth_token(const gw_wsauth *a, const char *user, char out[65])
{
    char msg[sizeof TOKEN_CTX + GW_USER_MAX];
    int n = snprintf(msg, sizeof msg, TOKEN_CTX "%s", user);

    if (n < 0 || (size_t)n >= sizeof msg || gw_hmac_sha256_hex(a->key, msg, (size_t)n, out) < 0)
        out[0] = '\0'; /* never matches: check() wants 64 characters */
}

int gw_wsauth_check(const gw_wsauth *a, const char *user, const char *token)
{
    char want[65];

    if (!token || strlen(token) != 64)
        return 0;
    gw_wsauth_token(a, user, want);
    return want[0] && gw_ct_equal(want, 64, token, 64);
}

/* The tokens of e at now_us, without taking any. */
static double avail(const gw_wsauth *a, const bucket *e, int64_t now_us)
{
    double dt = (double)(now_us - e->last_us) / 60e6;
    return fmin((double)a->per_min, e->tokens + (dt > 0 ? dt * a->per_min : 0));
}

int gw_wsauth_new_session(gw_wsauth *a, const char *peer, int64_t now_us)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    bucket *e = NULL, *spare = NULL;
    const char *p;
    int i;

    for (p = peer; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (i = 0; i < PROBE; i++) {
        bucket *c = &a->b[(h + (uint64_t)i) % SLOTS];
        if (!strcmp(c->peer, peer)) {
            e = c;
            break;
        }
        /* to replace: a free entry, else a full bucket, else the one that
         * took its last session the longest ago */
        if (!spare || (spare->peer[0] && (!c->peer[0] || avail(a, c, now_us) >= a->per_min ||
                                          c->last_us < spare->last_us)))
            spare = c;
    }
    if (e) {
        e->tokens = avail(a, e, now_us);
    } else {
        e = spare;
        snprintf(e->peer, sizeof e->peer, "%s", peer);
        e->tokens = (double)a->per_min;
    }
    e->last_us = now_us;
    if (e->tokens < 1.0)
        return 0;
    e->tokens -= 1.0;
    return 1;
}
