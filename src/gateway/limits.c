/* Bounds on what one peer can take: open connections per peer address
 * (counted from accept to the socket's last callback), a global connection
 * cap with a share kept for the webhooks, and a token bucket per sender
 * (channel + user id). Loop thread only.
 *
 * A connection's life here: accepted (the global cap; the per-peer cap unless
 * the peer is a trusted proxy), "unclassified" until its request head is in,
 * then classified by gw_limits_classify: a webhook request (/webhook/...)
 * takes a place of the webhook budget instead of its address's (one address
 * takes at most half of that budget);
 * anything else (a websocket, the console, /v1/messages) takes a place of the
 * general pool (the global cap less the webhook share) and, from a trusted
 * proxy, counts for the client X-Forwarded-For names (or for the proxy when
 * it names none), under the same per-peer cap. So neither idle websockets nor a crowd behind the
 * proxy can take the webhooks' places. Connections still without a head after HEAD_GRACE_MS are
 * what the global cap evicts first (oldest first) when it is full: a head
 * sent slowly, or never, cannot hold a place others need. A kept-alive HTTP
 * connection keeps its class between requests and, while it waits for its
 * next head (gw_limits_idle), joins those evicted first.
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
#define HEAD_GRACE_MS 1000 /* a head this late makes its connection the first to go */
#define MAX_EVICTING 16    /* evictions under way at once (their sockets are still open) */

enum { CLS_NONE, CLS_GENERAL, CLS_WEBHOOK };

typedef struct entry {
    struct entry *next;
    int count;        /* peers: open connections */
    char *peer;       /* conns: the peer's address */
    int peer_counted; /* conns: counted under peer (not for a trusted proxy, not a webhook) */
    char *client;     /* conns: the other key it counts for (a client behind a trusted proxy, or
                         "webhook ADDRESS"), or NULL */
    int cls;          /* conns: CLS_* */
    int trusted;      /* conns: the peer is a trusted proxy */
    int evicting;     /* conns: told to close */
    const void *conn;
    int64_t t_ms;                /* conns: accepted at */
    struct entry *older, *newer; /* conns: the unclassified ones, oldest first */
    double tokens;               /* buckets */
    int64_t last_us;
    char key[];
} entry;

typedef struct table {
    entry **slots;
    size_t nslots, n;
} table;

struct gw_limits {
    gw_limits_opts o;
    int general_cap; /* max_conns less the webhook share */
    table peers;     /* peer address -> open connections */
    table conns;     /* connection (wsi pointer) -> its peer */
    table buckets;   /* channel + user -> token bucket */
    char *pending;   /* the peer of the accept whose connection is not created yet */
    int pending_counted, pending_trusted;
    int64_t pending_ms;
    int total, general, webhook, evicting;
    entry *oldest, *newest; /* unclassified connections */
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
            free(e->client);
            free(e);
        }
    free(t->slots);
    memset(t, 0, sizeof *t);
}

gw_limits *gw_limits_new(const gw_limits_opts *o)
{
    gw_limits *l = calloc(1, sizeof *l);
    int share;

    if (!l)
        return NULL;
    l->o = *o;
    share = o->max_webhook_conns < o->max_conns / 2 ? o->max_webhook_conns : o->max_conns / 2;
    l->general_cap = o->max_conns - share;
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

static int sock_ip(const struct sockaddr *sa, gw_ip *ip)
{
    memset(ip, 0, sizeof *ip);
    if (sa->sa_family == AF_INET) {
        memcpy(ip->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            memcpy(ip->a, &a->s6_addr[12], 4);
        } else {
            memcpy(ip->a, a, 16);
            ip->v6 = 1;
        }
        return 0;
    }
    return -1;
}

/* The open connections counted for key. */
static int open_of(gw_limits *l, const char *key)
{
    entry **pp = find(&l->peers, key);
    return pp ? (*pp)->count : 0;
}

/* One more connection for key: 0, or -1 out of memory. */
static int count_key(gw_limits *l, const char *key)
{
    entry **pp = find(&l->peers, key), *e = pp ? *pp : add(&l->peers, key);
    if (!e)
        return -1;
    e->count++;
    return 0;
}

static void link_newest(gw_limits *l, entry *e)
{
    e->older = l->newest;
    e->newer = NULL;
    if (l->newest)
        l->newest->newer = e;
    else
        l->oldest = e;
    l->newest = e;
}

/* The other end: first in line for eviction. */
static void link_oldest(gw_limits *l, entry *e)
{
    e->newer = l->oldest;
    e->older = NULL;
    if (l->oldest)
        l->oldest->older = e;
    else
        l->newest = e;
    l->oldest = e;
}

static void unlink_unclassified(gw_limits *l, entry *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else if (l->oldest == e)
        l->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else if (l->newest == e)
        l->newest = e->older;
    e->older = e->newer = NULL;
}

static void drop_pending(gw_limits *l)
{
    if (!l->pending)
        return;
    if (l->pending_counted)
        release_key(l, l->pending);
    free(l->pending);
    l->pending = NULL;
    l->total--;
}

/* The accept path of lws is: FILTER_NETWORK_CONNECTION (the socket and the
 * peer address, on the listener), then WSI_CREATE of the new connection
 * (before its socket is attached), ..., WSI_DESTROY (after the socket is
 * closed). So a connection is counted at accept, bound to its wsi at the
 * create that follows, and released by wsi at destroy. */
int gw_limits_accept(gw_limits *l, const struct sockaddr *sa, int64_t now_ms, const void **evict)
{
    char key[INET6_ADDRSTRLEN + 8];
    int trusted = 0, open;
    gw_ip ip;

    *evict = NULL;
    drop_pending(l); /* the previous accept never created a connection */
    if (sock_ip(sa, &ip) == 0) {
        gw_ip_format(&ip, key, sizeof key);
        trusted = gw_cidr_match(l->o.trusted, l->o.ntrusted, &ip);
    } else {
        snprintf(key, sizeof key, "local");
    }
    /* a trusted proxy carries many clients: they are counted once their heads name them */
    if (!trusted && (open = open_of(l, key)) >= l->o.max_per_peer) {
        gw_log(GW_LOG_WARN, "connection refused: too many from one peer", "peer=%s open=%d", key,
               open);
        return -1;
    }
    if (l->total - l->evicting >= l->o.max_conns) {
        entry *old = l->oldest;
        if (!old || now_ms - old->t_ms < HEAD_GRACE_MS || l->evicting >= MAX_EVICTING) {
            gw_log(GW_LOG_WARN, "connection refused: the server is at its connection cap",
                   "max_conns=%d", l->o.max_conns);
            return -1;
        }
        unlink_unclassified(l, old);
        old->evicting = 1;
        l->evicting++;
        *evict = old->conn;
        gw_log(GW_LOG_WARN, "connection closed: no request head in time and its place is needed",
               "max_conns=%d", l->o.max_conns);
    }
    if (!(l->pending = strdup(key)) || (!trusted && count_key(l, key) < 0)) {
        free(l->pending);
        l->pending = NULL;
        return -1;
    }
    l->pending_counted = !trusted;
    l->pending_trusted = trusted;
    l->pending_ms = now_ms;
    l->total++;
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
        e->peer_counted = l->pending_counted;
        l->pending = NULL;
        e->trusted = l->pending_trusted;
        e->conn = conn;
        e->t_ms = l->pending_ms;
        link_newest(l, e);
        return;
    }
    drop_pending(l); /* out of memory: do not count it at all */
}

/* Counts conn for key as well, under cap: 0, or -1 when key is at cap. */
static int count_also(gw_limits *l, entry *e, const char *key, int cap, const char *why)
{
    int open = open_of(l, key);

    if (open >= cap) {
        gw_log(GW_LOG_WARN, why, "peer=%s open=%d", key, open);
        return -1;
    }
    if ((e->client = strdup(key)) && count_key(l, key) < 0) {
        free(e->client); /* out of memory: not counted */
        e->client = NULL;
    }
    return 0;
}

int gw_limits_classify(gw_limits *l, const void *conn, const char *xff, size_t xff_len, int webhook)
{
    char ck[32], client[INET6_ADDRSTRLEN + 16];
    entry **pp, *e;
    gw_ip ip;
    int named;

    snprintf(ck, sizeof ck, "%p", conn);
    if (!(pp = find(&l->conns, ck)) || (e = *pp)->evicting)
        return 0;
    if (e->cls != CLS_NONE) { /* the next request of a kept-alive connection */
        unlink_unclassified(l, e);
        return (e->cls == CLS_WEBHOOK) != !!webhook;
    }
    /* whom it is for: the client a trusted proxy names (not itself a proxy), else the peer */
    named = e->trusted && xff &&
            gw_xff_client(xff, xff_len, l->o.trusted, l->o.ntrusted, &ip) == 0 &&
            !gw_cidr_match(l->o.trusted, l->o.ntrusted, &ip);
    if (webhook) {
        if (l->webhook >= l->o.max_webhook_conns) {
            gw_log(GW_LOG_WARN, "connection refused: the webhooks' connections are all in use",
                   "max_webhook_conns=%d", l->o.max_webhook_conns);
            return -1;
        }
        /* the share replaces the per-peer cap; one address takes at most half of it */
        snprintf(client, sizeof client, "webhook ");
        if (named)
            gw_ip_format(&ip, client + 8, sizeof client - 8);
        else
            snprintf(client + 8, sizeof client - 8, "%s", e->peer);
        if (count_also(l, e, client, l->o.max_webhook_conns > 1 ? l->o.max_webhook_conns / 2 : 1,
                       "connection refused: too many webhook connections from one peer") < 0)
            return -1;
        if (e->peer_counted) {
            release_key(l, e->peer);
            e->peer_counted = 0;
        }
        e->cls = CLS_WEBHOOK;
        l->webhook++;
        unlink_unclassified(l, e);
        return 0;
    }
    if (l->general >= l->general_cap) {
        gw_log(GW_LOG_WARN, "connection refused: every connection not kept for webhooks is in use",
               "max_conns=%d max_webhook_conns=%d", l->o.max_conns, l->o.max_webhook_conns);
        return -1;
    }
    if (e->trusted) { /* for the client it names, or for the proxy itself */
        if (named)
            gw_ip_format(&ip, client, sizeof client);
        else
            snprintf(client, sizeof client, "%s", e->peer);
        if (count_also(l, e, client, l->o.max_per_peer,
                       "connection refused: too many from one peer behind the proxy") < 0)
            return -1;
    }
    e->cls = CLS_GENERAL;
    l->general++;
    unlink_unclassified(l, e);
    return 0;
}

void gw_limits_idle(gw_limits *l, const void *conn)
{
    char ck[32];
    entry **pp, *e;

    snprintf(ck, sizeof ck, "%p", conn);
    if (!(pp = find(&l->conns, ck)) || (e = *pp)->cls == CLS_NONE || e->evicting)
        return;
    /* first in line, past any grace: closing it loses the peer nothing but a reconnect */
    unlink_unclassified(l, e);
    e->t_ms = INT64_MIN / 2;
    link_oldest(l, e);
}

int gw_limits_client(gw_limits *l, const void *conn, char *out, size_t len)
{
    char ck[32];
    entry **pp;

    snprintf(ck, sizeof ck, "%p", conn);
    if (!(pp = find(&l->conns, ck)))
        return -1;
    /* e->client is "webhook ADDR" for a webhook's place, the address otherwise */
    snprintf(out, len, "%s",
             (*pp)->client && (*pp)->cls != CLS_WEBHOOK ? (*pp)->client : (*pp)->peer);
    return 0;
}

void gw_limits_release(gw_limits *l, const void *conn)
{
    char ck[32];
    entry **pp, *e;

    snprintf(ck, sizeof ck, "%p", conn);
    if (!(pp = find(&l->conns, ck)))
        return;
    e = *pp;
    unlink_unclassified(l, e); /* unclassified, or kept alive and idle */
    if (e->cls == CLS_GENERAL)
        l->general--;
    else if (e->cls == CLS_WEBHOOK)
        l->webhook--;
    if (e->evicting)
        l->evicting--;
    if (e->peer_counted)
        release_key(l, e->peer);
    if (e->client)
        release_key(l, e->client);
    l->total--;
    free(e->peer);
    free(e->client);
    del(&l->conns, pp);
}

static void refill(const gw_limits *l, entry *e, int64_t now_us)
{
    double dt = (double)(now_us - e->last_us) / 1e6;
    if (dt > 0)
        e->tokens = fmin((double)l->o.burst, e->tokens + dt * l->o.rate);
    e->last_us = now_us;
}

static void sweep(gw_limits *l, int64_t now_us)
{
    size_t i;
    entry **pp;

    for (i = 0; i < l->buckets.nslots; i++)
        for (pp = &l->buckets.slots[i]; *pp;) {
            refill(l, *pp, now_us);
            if ((*pp)->tokens >= (double)l->o.burst)
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
        e->tokens = (double)l->o.burst;
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
