/* Each channel behind one small interface (after courier's handlers).
 *
 * A channel file (ws.c, generic.c, whatsapp.c, twilio.c) exports one const
 * gw_chan: its name, its HTTP routes and the functions it has. channels.c
 * holds the table of them, the only place the server learns which channels
 * exist: http.c routes by it, the sender (sender.c) finds the channel of an
 * outbox row by it. Adding a channel touches its own file and the table.
 *
 * A webhook route follows the same steps in every channel:
 *   verify the request -> parse its messages into a gw_job (pipeline.h) ->
 *   gw_job_end -> (after the commit, on the loop thread) answer
 * Fields a channel has no use for are NULL. Included by gw.h. */
#ifndef LOKET_GW_CHANNEL_H
#define LOKET_GW_CHANNEL_H

typedef struct gw_route {
    enum gw_method method; /* a GET route answers HEAD too, without the body */
    const char *path;
    int (*fn)(gw_req *r); /* LWS_CALLBACK_HTTP's return: 0, or -1 to close */
} gw_route;

typedef struct gw_chan {
    const char *name;       /* lk_inbound.channel: "ws", "generic", "whatsapp", "twilio" */
    enum gw_channel metric; /* its label in /metrics */
    const gw_route *routes; /* ends with a NULL path; NULL when it has none */
    int webhook;            /* its routes take the webhooks' connection budget */
    /* The request's signature or token: 0, or the HTTP status it answered with. */
    int (*verify)(gw_req *r);
    /* One reply as the payload of an outbox row (replies sent later by the
     * sender thread); NULL when replies go back in the answer. Runs on a
     * store worker thread. */
    lk_render_fn render;
    /* The answer once every message of the request's job committed (or was
     * refused): called from the job's completion, on the loop thread. */
    void (*answer)(gw_req *r, const gw_job *job);
    /* Outbox rows named "<outbox_prefix><account>" are this channel's: the
     * sender posts them and classifies the answer with classify. */
    const char *outbox_prefix;
    enum gw_send_verdict (*classify)(long status, const char *body, size_t len, gw_graph_answer *a);
} gw_chan;

extern const gw_chan gw_chan_ws, gw_chan_generic, gw_chan_whatsapp, gw_chan_twilio;

/* The route of (method, path) in the table: NULL when none. *known (may be
 * NULL) is 1 when some route has the path (a wrong method is then a 405),
 * *webhook (may be NULL) 1 when the path is a webhook's. */
const gw_route *gw_route_find(enum gw_method method, const char *path, int *known, int *webhook);
/* The channel whose outbox rows are named like outbox_channel, NULL when
 * none; *account (may be NULL) gets what follows its prefix (a phone number
 * id). */
const gw_chan *gw_chan_outbox(const char *outbox_channel, const char **account);

/* Submits the n messages of r as one job (copied) and answers r with ch->answer
 * once they are all through; when r goes first, the job is cancelled. 0, or -1
 * when out of memory (r was answered 500, nothing is processed). */
int gw_chan_submit(gw_req *r, const gw_chan *ch, const lk_inbound *in, int n);

#endif
