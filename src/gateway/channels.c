/* The table of channels (channel.h) and the server's own routes: the one
 * place that says which channels this server has. */
#include "gw.h"

#include <stdlib.h>
#include <string.h>

static const gw_chan *const channels[] = {
    &gw_chan_ws,
    &gw_chan_generic,
    &gw_chan_whatsapp,
    &gw_chan_twilio,
};
#define NCHANNELS (sizeof channels / sizeof *channels)

/* What is not a channel: health, metrics and the web console. */
static const gw_route server_routes[] = {
    {GW_GET, "/healthz", gw_route_healthz},
    {GW_GET, "/", gw_route_console},
    {GW_GET, "/index.html", gw_route_console},
    {GW_GET, "/metrics", gw_route_metrics},
    {GW_OTHER, NULL, NULL},
};

/* Looks for path in routes; sets *rt when the method matches too. */
static int scan(const gw_route *routes, enum gw_method m, const char *path, const gw_route **rt)
{
    int known = 0;

    for (; routes && routes->path; routes++) {
        if (strcmp(routes->path, path))
            continue;
        known = 1;
        if (routes->method == m || (m == GW_HEAD && routes->method == GW_GET))
            *rt = routes;
    }
    return known;
}

const gw_route *gw_route_find(enum gw_method method, const char *path, int *known, int *webhook)
{
    const gw_route *rt = NULL;
    int k = scan(server_routes, method, path, &rt), w = 0;
    size_t i;

    for (i = 0; i < NCHANNELS; i++)
        if (scan(channels[i]->routes, method, path, &rt)) {
            k = 1;
            w = w || channels[i]->webhook;
        }
    if (known)
        *known = k;
    if (webhook)
        *webhook = w;
    return rt;
}

const gw_chan *gw_chan_outbox(const char *outbox_channel, const char **account)
{
    size_t i, n;

    for (i = 0; i < NCHANNELS; i++) {
        const char *p = channels[i]->outbox_prefix;
        if (!p || strncmp(outbox_channel, p, (n = strlen(p))))
            continue;
        if (account)
            *account = outbox_channel + n;
        return channels[i];
    }
    return NULL;
}

/* ---- one request, one job ------------------------------------------------------------ */

typedef struct req_job {
    gw_req *r;
    const gw_chan *ch;
    gw_job *job;
} req_job;

static void req_job_done(gw_job *job, void *ctx)
{
    req_job *rj = ctx;
    gw_req *r = rj->r;

    r->route_ctx = NULL;
    r->route_free = NULL;
    rj->ch->answer(r, job);
    free(rj);
    gw_mem_after_body(r->body.len);
}

static void req_job_abandon(gw_req *r)
{
    req_job *rj = r->route_ctx;

    gw_job_cancel(rj->job);
    free(rj);
    r->route_ctx = NULL;
    r->route_free = NULL;
}

int gw_chan_submit(gw_req *r, const gw_chan *ch, const lk_inbound *in, int n)
{
    req_job *rj = calloc(1, sizeof *rj);
    int i;

    if (!rj || !(rj->job = gw_job_new(req_job_done, rj))) {
        free(rj);
        gw_respond_error(r, 500, GW_E_INTERNAL, "out of memory");
        return -1;
    }
    rj->r = r;
    rj->ch = ch;
    for (i = 0; i < n; i++)
        if (gw_job_add(rj->job, &in[i]) < 0) {
            gw_job_cancel(rj->job);
            free(rj);
            gw_respond_error(r, 500, GW_E_INTERNAL, "out of memory");
            return -1;
        }
    r->route_ctx = rj;
    r->route_free = req_job_abandon;
    gw_job_end(rj->job);
    return 0;
}
