/* The sender's rules beside the requests themselves (sender.c runs them, on
 * its thread only, so nothing here locks but the metrics, which are atomics):
 *
 * - The rate per phone number: a token bucket per phone_number_id holding
 *   one second of wa_rate, so that a number stays within the messages per
 *   second Meta allows it (80 by default). Meta's throughput error (130429)
 *   pauses that number, for a time that doubles while it repeats (from
 *   retry_base up to retry_cap) and starts again after a success.
 * - The token: a refused token or permission pauses every request (one token
 *   serves every number) in the same way, and raises loket_whatsapp_auth_failing.
 * - The Graph API out of reach (a request that never got to it: no address,
 *   connection refused, no connection within the connect timeout): it is
 *   down for every number and every row, so every request pauses, for a
 *   time that doubles (from retry_base up to retry_cap or a minute, the
 *   sender adds the jitter) with each probe that fails; after a pause one
 *   request at a time tries it. The first answer of any kind ends it. The
 *   outage is logged once when it begins and once when it ends, and
 *   loket_whatsapp_api_unreachable is 1 meanwhile.
 * - The 24-hour window: which users were sent the outside_window template,
 *   and when, so that the later replies of the same silence are not each
 *   turned into another template. A bounded table; forgetting an entry
 *   (eviction, a restart) costs at most one more template.
 * - The template's Graph API body, and the sender's metrics. */
#include "gw.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NUMBERS 64    /* phone numbers paced at once; the least recently used goes */
#define MAX_REMEMBER 4096 /* users sent the template, remembered */

typedef struct number {
    char pnid[40];
    double tokens;
    int64_t refill_us, used_us;
    int64_t paused_until_us;
    int level; /* throughput errors in a row */
} number;

struct gw_sendpol {
    const gw_config *cfg;
    number numbers[MAX_NUMBERS];
    int nnumbers;
    int64_t auth_until_us;
    int auth_level;
    int64_t down_until_us, down_since_us; /* the Graph API out of reach */
    int down_level;                       /* probes failed in a row, the first failure too */
    struct remembered {
        uint64_t key; /* hash of channel and user; 0 free */
        int64_t at_ms;
    } sent[MAX_REMEMBER];
    /* the templates, set by the loop thread at start and reload: [0] the
     * server's flow's, then those of the numbers with their own flow */
    pthread_mutex_t mu;
    struct tmpl {
        char pnid[40];             /* "" for [0] */
        lk_buf name, lang, params; /* params: NUL-separated */
        int n, has;
    } tmpl[MAX_NUMBERS + 1];
    int ntmpl;
};

/* ---- metrics ------------------------------------------------------------------------- */

static atomic_ullong m_class[7];   /* by enum gw_send_verdict, failed answers only */
static atomic_ullong m_status[5];  /* sent delivered read failed, other */
static atomic_ullong m_window[3];  /* template, unsent, skipped */
static atomic_ullong m_receipt[3]; /* sent, failed, dropped */
static atomic_ullong m_paced, m_unmatched, m_queries, m_outages;
static atomic_int m_auth_failing, m_unreachable;

void gw_sendpol_count_answer(enum gw_send_verdict v)
{
    if ((int)v >= 0 && (int)v < 7)
        atomic_fetch_add(&m_class[v], 1);
}

void gw_sendpol_count_status(const char *status)
{
    static const char *const names[] = {"sent", "delivered", "read", "failed"};
    int i;

    for (i = 0; i < 4 && (!status || strcmp(status, names[i])); i++)
        ;
    atomic_fetch_add(&m_status[i], 1);
}

void gw_sendpol_count(enum gw_sendpol_event e)
{
    switch (e) {
    case GW_SP_TEMPLATE: atomic_fetch_add(&m_window[0], 1); break;
    case GW_SP_UNSENT: atomic_fetch_add(&m_window[1], 1); break;
    case GW_SP_SKIPPED: atomic_fetch_add(&m_window[2], 1); break;
    case GW_SP_RECEIPT_SENT: atomic_fetch_add(&m_receipt[0], 1); break;
    case GW_SP_RECEIPT_FAILED: atomic_fetch_add(&m_receipt[1], 1); break;
    case GW_SP_RECEIPT_DROPPED: atomic_fetch_add(&m_receipt[2], 1); break;
    case GW_SP_PACED: atomic_fetch_add(&m_paced, 1); break;
    case GW_SP_UNMATCHED: atomic_fetch_add(&m_unmatched, 1); break;
    case GW_SP_QUERY: atomic_fetch_add(&m_queries, 1); break;
    }
}

void gw_sendpol_metrics(lk_buf *b)
{
    static const char *const classes[7] = {NULL,         "retry", "drop",  "auth",
                                           "throughput", "pair",  "window"};
    static const char *const statuses[5] = {"sent", "delivered", "read", "failed", "other"};
    static const char *const window[3] = {"template", "unsent", "skipped"};
    static const char *const receipt[3] = {"sent", "failed", "dropped"};

    gw_metrics_counters(b, "loket_whatsapp_send_errors_total",
                        "Graph API answers that did not take a message, by class.", "class",
                        classes + 1, m_class + 1, 6);
    gw_metrics_value(b, "loket_whatsapp_auth_failing", "gauge",
                     "1 while the Graph API refuses the access token or a permission (replies "
                     "wait).",
                     (long long)atomic_load(&m_auth_failing));
    gw_metrics_value(b, "loket_whatsapp_api_unreachable", "gauge",
                     "1 while the Graph API cannot be reached (no connection): replies wait and "
                     "one request at a time tries it.",
                     (long long)atomic_load(&m_unreachable));
    gw_metrics_value(b, "loket_whatsapp_api_unreachable_total", "counter",
                     "Times the Graph API became unreachable.", (long long)atomic_load(&m_outages));
    gw_metrics_value(b, "loket_sender_outbox_queries_total", "counter",
                     "Times the sender asked the outbox for due replies.",
                     (long long)atomic_load(&m_queries));
    gw_metrics_counters(b, "loket_whatsapp_statuses_total",
                        "Delivery statuses received, by status.", "status", statuses, m_status, 5);
    gw_metrics_value(b, "loket_whatsapp_statuses_unmatched_total", "counter",
                     "Statuses that moved no row (an unknown id, or a row already past them).",
                     (long long)atomic_load(&m_unmatched));
    gw_metrics_counters(b, "loket_whatsapp_outside_window_total",
                        "Replies that would have left more than 24 hours after the user's last "
                        "message: sent as the flow's template, kept unsent (no template), or "
                        "skipped (the template went already).",
                        "outcome", window, m_window, 3);
    gw_metrics_counters(b, "loket_whatsapp_read_receipts_total",
                        "Read receipts with the typing indicator: sent, failed, or dropped unsent "
                        "(the sender was behind).",
                        "result", receipt, m_receipt, 3);
    gw_metrics_value(b, "loket_whatsapp_paced_total", "counter",
                     "Times a due reply was held back: its phone number over wa_rate or paused.",
                     (long long)atomic_load(&m_paced));
}

/* ---- life ------------------------------------------------------------------------------- */

gw_sendpol *gw_sendpol_new(const gw_config *cfg)
{
    gw_sendpol *p = calloc(1, sizeof *p);

    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->mu, NULL)) {
        free(p);
        return NULL;
    }
    p->cfg = cfg;
    p->ntmpl = 1; /* the server's flow's, none until set */
    return p;
}

void gw_sendpol_free(gw_sendpol *p)
{
    int i;

    if (!p)
        return;
    pthread_mutex_destroy(&p->mu);
    for (i = 0; i < p->ntmpl; i++) {
        lk_buf_free(&p->tmpl[i].name);
        lk_buf_free(&p->tmpl[i].lang);
        lk_buf_free(&p->tmpl[i].params);
    }
    free(p);
}

/* ---- pacing ----------------------------------------------------------------------------- */

static number *number_of(gw_sendpol *p, const char *pnid, int64_t now_us)
{
    number *n, *lru = NULL;
    int i;

    for (i = 0; i < p->nnumbers; i++) {
        n = &p->numbers[i];
        if (!strcmp(n->pnid, pnid)) {
            n->used_us = now_us;
            return n;
        }
        if (!lru || n->used_us < lru->used_us)
            lru = n;
    }
    n = p->nnumbers < MAX_NUMBERS ? &p->numbers[p->nnumbers++] : lru;
    memset(n, 0, sizeof *n);
    snprintf(n->pnid, sizeof n->pnid, "%s", pnid);
    n->tokens = p->cfg->wa_rate < 1 ? 1 : p->cfg->wa_rate;
    n->refill_us = n->used_us = now_us;
    return n;
}

/* A pause that doubles with level, from retry_base up to retry_cap. */
/* Microseconds from now until t, 0 when t has passed. */
static int64_t until(int64_t t, int64_t now_us)
{
    return now_us < t ? t - now_us : 0;
}

static int64_t pause_us(const gw_sendpol *p, int level)
{
    int64_t d = p->cfg->retry_base_ms;
    int i;

    for (i = 1; i < level && d < p->cfg->retry_cap_ms; i++)
        d *= 2;
    return (d < p->cfg->retry_cap_ms ? d : p->cfg->retry_cap_ms) * 1000;
}

int64_t gw_sendpol_take(gw_sendpol *p, const char *pnid, int64_t now_us)
{
    number *n;
    double burst = p->cfg->wa_rate < 1 ? 1 : p->cfg->wa_rate;
    int64_t wait;

    if ((wait = until(p->auth_until_us, now_us)) > 0)
        return wait;
    n = number_of(p, pnid, now_us);
    if ((wait = until(n->paused_until_us, now_us)) > 0)
        return wait;
    n->tokens += (double)(now_us - n->refill_us) / 1e6 * p->cfg->wa_rate;
    if (n->tokens > burst)
        n->tokens = burst;
    n->refill_us = now_us;
    if (n->tokens >= 1) {
        n->tokens -= 1;
        return 0;
    }
    return (int64_t)((1 - n->tokens) / p->cfg->wa_rate * 1e6) + 1;
}

int gw_sendpol_unreachable(gw_sendpol *p, int64_t now_us, int64_t pause_us, const char *why)
{
    lk_buf b = {0};

    if (p->down_level && now_us < p->down_until_us)
        return 0; /* a request from before the pause: it tells nothing new */
    p->down_until_us = now_us + pause_us;
    if (p->down_level++) {
        gw_log(GW_LOG_DEBUG, "the Graph API still cannot be reached", "probes=%d retry_ms=%lld",
               p->down_level - 1, (long long)(pause_us / 1000));
        return 0;
    }
    p->down_since_us = now_us;
    atomic_store(&m_unreachable, 1);
    atomic_fetch_add(&m_outages, 1);
    gw_log_kv(&b, "why", why);
    gw_log(GW_LOG_WARN,
           "the Graph API cannot be reached: replies wait, one request at a time tries it",
           "retry_ms=%lld%s", (long long)(pause_us / 1000), lk_buf_str(&b));
    lk_buf_free(&b);
    return 1;
}

void gw_sendpol_reachable(gw_sendpol *p, int64_t now_us)
{
    if (!p->down_level)
        return;
    gw_log(GW_LOG_INFO, "the Graph API answers again: replies go", "after_ms=%lld probes=%d",
           (long long)((now_us - p->down_since_us) / 1000), p->down_level - 1);
    p->down_level = 0;
    p->down_until_us = 0;
    atomic_store(&m_unreachable, 0);
}

int gw_sendpol_unreachable_level(const gw_sendpol *p)
{
    return p->down_level;
}

int64_t gw_sendpol_wait(const gw_sendpol *p, int64_t now_us)
{
    int64_t a = until(p->auth_until_us, now_us), d = until(p->down_until_us, now_us);

    return a > d ? a : d;
}

int gw_sendpol_probing(const gw_sendpol *p)
{
    return p->auth_level > 0 || p->down_level > 0;
}

void gw_sendpol_answer(gw_sendpol *p, const char *pnid, enum gw_send_verdict v, int64_t now_us)
{
    number *n = number_of(p, pnid, now_us);

    switch (v) {
    case GW_SEND_SENT:
        n->level = 0;
        if (p->auth_level)
            gw_log(GW_LOG_INFO, "the Graph API takes the access token again", "after=%d",
                   p->auth_level);
        p->auth_level = 0;
        p->auth_until_us = 0;
        atomic_store(&m_auth_failing, 0);
        break;
    case GW_SEND_THROUGHPUT:
        n->paused_until_us = now_us + pause_us(p, ++n->level);
        n->tokens = 0;
        break;
    case GW_SEND_AUTH:
        p->auth_until_us = now_us + pause_us(p, ++p->auth_level);
        atomic_store(&m_auth_failing, 1);
        break;
    default: break;
    }
}

/* ---- the 24-hour window ----------------------------------------------------------------- */

static uint64_t key_of(const char *channel, const char *user)
{
    uint64_t h = 1469598103934665603ULL;
    const char *s;

    for (s = channel; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;
    for (s = user; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ? h : 1;
}

void gw_sendpol_template_sent(gw_sendpol *p, const char *channel, const char *user, int64_t now_ms)
{
    uint64_t k = key_of(channel, user);
    struct remembered *r = &p->sent[k % MAX_REMEMBER];

    r->key = k; /* a collision forgets the other user: one more template at most */
    r->at_ms = now_ms;
}

int gw_sendpol_template_since(const gw_sendpol *p, const char *channel, const char *user,
                              int64_t since_ms)
{
    uint64_t k = key_of(channel, user);
    const struct remembered *r = &p->sent[k % MAX_REMEMBER];

    return r->key == k && r->at_ms >= since_ms;
}

/* The entry of number pnid (NULL or unlisted: the server flow's, [0]); with
 * add, a new one for an unlisted number while there is room. */
static struct tmpl *tmpl_of(gw_sendpol *p, const char *pnid, int add)
{
    int i;

    if (!pnid)
        return &p->tmpl[0];
    for (i = 1; i < p->ntmpl; i++)
        if (!strcmp(p->tmpl[i].pnid, pnid))
            return &p->tmpl[i];
    if (!add || p->ntmpl > MAX_NUMBERS || strlen(pnid) >= sizeof p->tmpl[0].pnid)
        return add ? NULL : &p->tmpl[0];
    snprintf(p->tmpl[p->ntmpl].pnid, sizeof p->tmpl[0].pnid, "%s", pnid);
    return &p->tmpl[p->ntmpl++];
}

void gw_sendpol_set_template(gw_sendpol *p, const char *pnid, const lk_flow_template *t)
{
    struct tmpl *e;
    int i;

    pthread_mutex_lock(&p->mu);
    if ((e = tmpl_of(p, pnid, 1))) {
        lk_buf_reset(&e->name);
        lk_buf_reset(&e->lang);
        lk_buf_reset(&e->params);
        e->n = 0;
        e->has = t != NULL;
        if (t) {
            lk_buf_puts(&e->name, t->name);
            lk_buf_puts(&e->lang, t->language);
            for (i = 0; i < t->nparams; i++)
                lk_buf_put(&e->params, t->params[i], strlen(t->params[i]) + 1);
            e->n = t->nparams;
            if (e->name.oom || e->lang.oom || e->params.oom)
                e->has = 0;
        }
    }
    pthread_mutex_unlock(&p->mu);
}

int gw_sendpol_template_body(gw_sendpol *p, const char *pnid, const char *reply, lk_buf *out,
                             char *name, size_t namelen)
{
    const struct tmpl *e;
    int rc = 0;

    pthread_mutex_lock(&p->mu);
    e = tmpl_of(p, pnid, 0);
    if (e->has) {
        const char *params[20];
        const char *s = e->params.p;
        int i, n = e->n < 20 ? e->n : 20;

        for (i = 0; i < n; i++) {
            params[i] = s;
            s += strlen(s) + 1;
        }
        snprintf(name, namelen, "%s", lk_buf_str(&e->name));
        rc = gw_wa_template_render(reply, lk_buf_str(&e->name), lk_buf_str(&e->lang), params, n,
                                   out) == 0
                 ? 1
                 : -1;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int gw_wa_template_render(const char *reply, const char *name, const char *language,
                          const char *const *params, int nparams, lk_buf *out)
{
    cJSON *o = NULL, *t, *lang, *comps, *body, *ps, *r = NULL;
    const char *key = "to", *who;
    int i, rc = -1;

    /* addressed as the reply was: "to" a phone number, "recipient" a
     * business-scoped user id (gw_wa_render decides) */
    if (!(r = cJSON_Parse(reply)))
        return -1;
    if (!(who = gw_json_str(r, key)))
        who = gw_json_str(r, key = "recipient");
    if (!who || !(o = cJSON_CreateObject()))
        goto done;
    cJSON_AddStringToObject(o, "messaging_product", "whatsapp");
    cJSON_AddStringToObject(o, "recipient_type", "individual");
    cJSON_AddStringToObject(o, key, who);
    cJSON_AddStringToObject(o, "type", "template");
    if (!(t = cJSON_AddObjectToObject(o, "template")))
        goto done;
    cJSON_AddStringToObject(t, "name", name);
    if (!(lang = cJSON_AddObjectToObject(t, "language")))
        goto done;
    cJSON_AddStringToObject(lang, "code", language);
    if (nparams > 0) {
        if (!(comps = cJSON_AddArrayToObject(t, "components")) || !(body = cJSON_CreateObject()))
            goto done;
        cJSON_AddItemToArray(comps, body);
        cJSON_AddStringToObject(body, "type", "body");
        if (!(ps = cJSON_AddArrayToObject(body, "parameters")))
            goto done;
        for (i = 0; i < nparams; i++) {
            cJSON *prm = cJSON_CreateObject();
            if (!prm)
                goto done;
            cJSON_AddItemToArray(ps, prm);
            cJSON_AddStringToObject(prm, "type", "text");
            cJSON_AddStringToObject(prm, "text", params[i]);
        }
    }
    rc = gw_json_put(out, o);
done:
    cJSON_Delete(o);
    cJSON_Delete(r);
    return rc;
}
