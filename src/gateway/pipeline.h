/* How a channel hands its messages to the store and hears back (pipeline.c).
 *
 * A job holds the messages of one request or websocket message. The channel
 * adds them (gw_job_add copies each lk_inbound), ends the job, and goes on
 * serving; the job's done function runs later on the loop thread, once every
 * message of it committed (or was refused), with the result and replies of
 * each. Nothing is answered before that: a reply, a websocket done or a
 * webhook's 200 leaves only after the commit that holds it. Included by gw.h. */
#ifndef LOKET_GW_PIPELINE_H
#define LOKET_GW_PIPELINE_H

typedef struct gw_job gw_job;
typedef void (*gw_job_fn)(gw_job *job, void *ctx);

/* The result of one message. */
typedef enum gw_result {
    GW_R_OK = 0,
    GW_R_DUP,      /* already processed: acknowledge, nothing happened */
    GW_R_RATE,     /* over the sender's rate: not processed */
    GW_R_INVALID,  /* refused by lk_inbound_check: why says what */
    GW_R_INTERNAL, /* store or engine failure; its changes were rolled back */
} gw_result;

/* A new job whose done(job, ctx) runs once it ended and all its messages are
 * through; the job is freed when done returns. NULL on out of memory. */
gw_job *gw_job_new(gw_job_fn done, void *ctx);
/* Submits one message of the job: copies in (channel, user, ext_id, text,
 * outbox_channel, the tap and media strings: MSG_STRINGS in pipeline.c,
 * where a string field added to lk_inbound goes too; render_ctx and flow
 * must outlive the job), takes a token of the
 * sender's rate and checks the text here, on the loop thread, and queues it
 * for its store worker. Messages of one (channel, user) are processed in the
 * order they were added, across jobs. 0, or -1 on out of memory (not queued). */
int gw_job_add(gw_job *j, const lk_inbound *in);
/* No more messages. done runs in a later turn of the loop, never inside
 * this call; the caller must not touch the job afterwards. */
void gw_job_end(gw_job *j);
/* The requester is gone (the connection closed): done never runs; the job is
 * freed once its messages are through. Ends the job as well. NULL-safe. */
void gw_job_cancel(gw_job *j);

/* Inside done: the messages in the order they were added. */
int gw_job_count(const gw_job *j);
/* The result of message i; *why (may be NULL) gets the reason of a
 * GW_R_INVALID (static text). */
gw_result gw_job_result(const gw_job *j, int i, const char **why);
/* The replies of message i (empty unless GW_R_OK, and empty when its
 * lk_inbound had a render function: they went to the outbox), borrowed until
 * done returns. */
const lk_out *gw_job_out(const gw_job *j, int i);
/* How many messages have result r. */
int gw_job_count_result(const gw_job *j, gw_result r);

/* ---- the server's side (server.c) ---- */
/* Starts the store workers (store_workers, each with its own lk_store and
 * lk_runtime) on the server's settings, once s->ctx exists. The pipeline
 * takes s->flow over (gw_pipeline_free frees it). LK_OK or an error
 * (logged); gw_pipeline_free cleans up either way. */
lk_err gw_pipeline_start(gw_server *s);
/* Loop thread, after each service turn: runs the done functions of the jobs
 * whose messages came through. */
void gw_pipeline_poll(void);
/* The server's flow, for messages without one of their own, from the next
 * batch on; takes flow over and retires the old one. Loop thread. */
void gw_pipeline_set_flow(lk_flow *flow);
/* Takes over a flow that was replaced (a number's, on SIGHUP) and frees it once
 * every message submitted before this call is through: a queued message may
 * name it (lk_inbound.flow) and replies point into it. Loop thread. */
void gw_pipeline_retire(lk_flow *flow);
/* Processes and commits everything queued, stops the workers, and runs the
 * done functions of what came back. Messages added later fail (internal). */
void gw_pipeline_stop(void);
/* After the context is gone (every job cancelled): frees the rest, the
 * workers' stores and the flow. NULL-safe without a start. */
void gw_pipeline_free(void);

#endif
