/* Bounds on what one peer can take: open connections per peer address
 * (counted from accept to the socket's last callback) and a token bucket per
 * sender (channel + user id). Loop thread only.
 *
 * Both tables are small chained hash tables keyed by strings. The bucket
 * table forgets buckets that have refilled completely when it grows past
 * SWEEP_AT entries, so a flood of distinct sender ids cannot grow it without
 * bound: a full bucket is the same as no bucket. */
#include "gw.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_AT 50000

typedef struct entry {
    struct entry *next;
    int count;     /* peers: open connections */
    char *peer;    /* conns: the peer key the connection is counted under */
    double tokens; /* buckets */
    int64_t last_us;
    char key[];
} entry;

typedef struct table {
    entry **slots;
    size_t nslots, n;
} table;

struct gw_limits {
    int max_per_peer;
    double rate;
    int burst;
    table peers;   /* peer address -> open connections */
    table conns;   /* connection (wsi pointer) -> its peer */
    table buckets; /* channel + user -> token bucket */
    char *pending; /* the peer of the accept whose connection is not created yet */
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static entry **find(table *t, const char *key)
{
    entry **pp;
    if (!t->nslots)
        return NULL;
    for (pp = &t->slots[hash(key) % t->nslots]; *pp; pp = &(*pp)->next)
        if (!strcmp((*pp)->key, key))
            return pp;
    return NULL;
}

static int grow(table *t)
{
    size_t i, nn = t->nslots ? t->nslots * 2 : 64;
    entry **ns = calloc(nn, sizeof *ns), *e, *next;

    if (!ns)
        return -1;
    for (i = 0; i < t->nslots; i++)
        for (e = t->slots[i]; e; e = next) {
            next = e->next;
            e->next = ns[hash(e->key) % nn];
            ns[hash(e->key) % nn] = e;
        }
    free(t->slots);
    t->slots = ns;
    t->nslots = nn;
    return 0;
}

static entry *add(table *t, const char *key)
{
    size_t kl = strlen(key);
    entry *e;

    if (t->n >= t->nslots && grow(t) < 0)
        return NULL;
    if (!(e = calloc(1, sizeof *e + kl + 1)))
        return NULL;
    memcpy(e->key, key, kl + 1);
    e->next = t->slots[hash(key) % t->nslots];
    t->slots[hash(key) % t->nslots] = e;
    t->n++;
    return e;
}

static void del(table *t, entry **pp)
{
    entry *e = *pp;
    *pp = e->next;
    free(e);
    t->n--;
}

static void clear(table *t)
{
    size_t i;
    entry *e, *next;
    for (i = 0; i < t->nslots; i++)
        for (e = t->slots[i]; e; e = next) {
            next = e->next;
            free(e->peer);
            free(e);
        }
    free(t->slots);
    memset(t, 0, sizeof *t);
}

gw_limits *gw_limits_new(int max_per_peer, double rate, int burst)
{
    gw_limits *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->max_per_peer = max_per_peer;
    l->rate = rate;
    l->burst = burst;
    return l;
}

void gw_limits_free(gw_limits *l)
{
    if (!l)
        return;
    clear(&l->peers);
    clear(&l->conns);
    clear(&l->buckets);
    free(l->pending);
    free(l);
}

static void release_key(gw_limits *l, const char *key)
{
    entry **pp = find(&l->peers, key);
    if (pp && --(*pp)->count <= 0)
        del(&l->peers, pp);
}

static void peer_key(const struct sockaddr *sa, char *out, size_t len)
{
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)len);
        else
            inet_ntop(AF_INET6, a, out, (socklen_t)len);
    } else {
        snprintf(out, len, "local");
    }
}

/* The accept path of lws is: FILTER_NETWORK_CONNECTION (the socket and the
 * peer address, on the listener), then WSI_CREATE of the new connection
 * (before its socket is attached), ..., WSI_DESTROY (after the socket is
 * closed). So a connection is counted at accept, bound to its wsi at the
 * create that follows, and released by wsi at destroy. */
int gw_limits_accept(gw_limits *l, const struct sockaddr *sa)
{
    char key[INET6_ADDRSTRLEN + 8];
    entry **pp, *e;

    if (l->pending) { /* the previous accept never created a connection */
        release_key(l, l->pending);
        free(l->pending);
        l->pending = NULL;
    }
    peer_key(sa, key, sizeof key);
    pp = find(&l->peers, key);
    e = pp ? *pp : add(&l->peers, key);
    if (!e)
        return -1;
    if (e->count >= l->max_per_peer) {
        gw_log(GW_LOG_WARN, "connection refused: too many from one peer", "peer=%s open=%d", key,
               e->count);
        if (!e->count)
            del(&l->peers, find(&l->peers, key));
        return -1;
    }
    if (!(l->pending = strdup(key))) {
        if (!e->count)
            del(&l->peers, find(&l->peers, key));
        return -1;
    }
    e->count++;
    return 0;
}

void gw_limits_bind(gw_limits *l, const void *conn)
{
    char ck[32];
    entry *e;

    if (!l->pending)
        return; /* not an accepted connection (the listener, a pipe, ...) */
    snprintf(ck, sizeof ck, "%p", conn);
    if (!find(&l->conns, ck) && (e = add(&l->conns, ck))) {
        e->peer = l->pending;
        l->pending = NULL;
        return;
    }
    release_key(l, l->pending); /* out of memory: do not count it at all */
    free(l->pending);
    l->pending = NULL;
}

void gw_limits_release(gw_limits *l, const void *conn)
{
    char ck[32];
    entry **pp;

    snprintf(ck, sizeof ck, "%p", conn);
    if (!(pp = find(&l->conns, ck)))
        return;
    release_key(l, (*pp)->peer);
    free((*pp)->peer);
    del(&l->conns, pp);
}

static void refill(const gw_limits *l, entry *e, int64_t now_us)
{
    double dt = (double)(now_us - e->last_us) / 1e6;
    if (dt > 0)
        e->tokens = fmin((double)l->burst, e->tokens + dt * l->rate);
    e->last_us = now_us;
}

static void sweep(gw_limits *l, int64_t now_us)
{
    size_t i;
    entry **pp;

    for (i = 0; i < l->buckets.nslots; i++)
        for (pp = &l->buckets.slots[i]; *pp;) {
            refill(l, *pp, now_us);
            if ((*pp)->tokens >= (double)l->burst)
                del(&l->buckets, pp);
            else
                pp = &(*pp)->next;
        }
}

int gw_limits_take(gw_limits *l, const char *channel, const char *user, int64_t now_us)
{
    char key[GW_USER_MAX + 40];
    entry **pp, *e;

    snprintf(key, sizeof key, "%s\x1f%s", channel, user);
    if (!(pp = find(&l->buckets, key))) {
        if (l->buckets.n >= SWEEP_AT)
            sweep(l, now_us);
        if (!(e = add(&l->buckets, key)))
            return 1; /* out of memory: do not punish the sender for it */
        e->tokens = (double)l->burst;
        e->last_us = now_us;
    } else {
        e = *pp;
        refill(l, e, now_us);
    }
    if (e->tokens < 1.0)
        return 0;
    e->tokens -= 1.0;
    return 1;
}
