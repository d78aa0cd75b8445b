/* The inside of the store pipeline, shared by its two files (pipeline.c
 * opens with the life of a message):
 *
 *   pipeline.c         the loop thread's side: jobs, the queues' entry, the
 *                      done list, flows, start and stop
 *   pipeline_worker.c  a store worker thread: batches, savepoints, commits
 *   pipeline_sync.c    the syncer thread (sync behind, SQLite at FULL)
 *
 * gw_pl is the pipeline's one state; the fields marked "loop thread only" are
 * never touched by a worker. */
#ifndef LOKET_GW_PIPELINE_INT_H
#define LOKET_GW_PIPELINE_INT_H

#include "gw.h"

#include <stdatomic.h>

#define OUT_POOL 1024 /* lk_out kept for reuse (each keeps its buffers) */

/* A flow waiting for the messages submitted before it was retired. */
typedef struct retired {
    struct retired *next;
    lk_flow *flow;
    uint64_t seq; /* messages with a sequence number up to this one may use it */
    int64_t live; /* of those, the ones not freed yet */
} retired;
typedef struct gw_msg {
    struct gw_msg *next; /* in a worker's queue, then on the done list */
    gw_job *job;
    lk_inbound in; /* its strings point into data */
    lk_out *out;   /* NULL unless it goes to the store */
    uint64_t seq;  /* in the order of gw_job_add */
    int todo;      /* 1: for the store; 0: refused on the loop thread */
    gw_result res;
    const char *why;   /* GW_R_INVALID */
    const char *state; /* after the step, for the log (borrowed from the flow) */
    int64_t queued_us, step_us;
    char data[];
} gw_msg;

/* The one list type messages travel in between threads (a worker's queue,
 * the syncer's list, the done list): first..last linked by next, under the
 * lock of whoever owns it. */
typedef struct gw_msgq {
    gw_msg *head, *tail;
} gw_msgq;

/* Appends the chain first..last (last->next NULL) to q. */
static inline void gw_msgq_put(gw_msgq *q, gw_msg *first, gw_msg *last)
{
    if (q->tail)
        q->tail->next = first;
    else
        q->head = first;
    q->tail = last;
}

/* Takes all of q: its first message (NULL when empty), its last in *last. */
static inline gw_msg *gw_msgq_take(gw_msgq *q, gw_msg **last)
{
    gw_msg *first = q->head;
    if (last)
        *last = q->tail;
    q->head = q->tail = NULL;
    return first;
}

struct gw_job {
    gw_job_fn done;
    void *ctx;
    gw_msg **msgs;
    int n, cap;
    int pending;  /* added and not through yet */
    size_t bytes; /* the messages' memory, for gw_mem_after_body */
    int ended, cancelled;
    gw_job *next_ready;
};

typedef struct worker {
    pthread_t th;
    int started;
    lk_store *store;
    lk_runtime *rt;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    gw_msgq q; /* its queue */
    int depth;
    int idle;       /* waiting on cv */
    int await_sync; /* ... in grow, for the syncer to be free (pipeline_worker.c) */
    int stop;
    const char **chans, **users; /* lock_users' arguments, for batch_max messages */
} worker;

typedef struct gw_pl_state {
    gw_server *srv;
    struct lws_context *_Atomic ctx; /* NULL once the workers stopped */
    worker *w;
    int nw;
    int batch_max, batch_wait_us;
    const char *hold;   /* LOKET_TEST_HOLD_COMMIT */
    pthread_mutex_t mu; /* the done list and flow */
    gw_msgq done;
    lk_flow *flow; /* the server's, for the next batch; owned */
    /* loop thread only */
    gw_job *ready_head, *ready_tail;
    lk_out *pool[OUT_POOL];
    int npool;
    int stopped;
    uint64_t seq; /* the last message's sequence number */
    int64_t live; /* messages submitted and not freed */
    retired *retired;
    /* pipeline_sync.c: sync behind (lk_store_defer_sync); set before the
     * workers start, then read only */
    int behind;
    const char *hold_sync; /* LOKET_TEST_HOLD_SYNC */
    lk_store *sync_store;  /* the syncer's own */
    pthread_t sync_th;
    int sync_started;
    pthread_mutex_t smu; /* the syncer's list */
    pthread_cond_t scv;
    gw_msgq sync;
    int sync_outbox, sync_stop;
    int sync_nb;             /* batches on the syncer's list (under smu) */
    _Atomic int sync_behind; /* batches handed to the syncer and not synced yet */
} gw_pl_state;

extern gw_pl_state gw_pl;

/* A short stable hash of a user id for logs: phone numbers stay out of them. */
static inline unsigned long gw_pl_user_tag(const char *u)
{
    unsigned long h = 5381;
    for (; *u; u++)
        h = h * 33 + (unsigned char)*u;
    return h & 0xffffffffUL;
}

/* pipeline.c: appends the list first..last to the done list and wakes the loop
 * (step 3). Any thread. */
void gw_pl_done_push(gw_msg *first, gw_msg *last);
/* pipeline_worker.c: opens w's store and runtime and starts its thread. */
lk_err gw_pl_worker_open(gw_server *s, worker *w);
/* pipeline_worker.c: a test hold (LOKET_TEST_HOLD_COMMIT, LOKET_TEST_HOLD_SYNC):
 * while path exists, writes n to path.held and waits. path may be NULL. */
void gw_pl_hold(const char *path, int n);

/* pipeline_sync.c. init before the workers start, start after (it starts
 * the syncer when a worker deferred its syncs), stop after the workers
 * stopped (the syncer hands back everything it was given first). */
void gw_pl_sync_init(void);
lk_err gw_pl_sync_start(gw_server *s);
void gw_pl_sync_stop(void);
/* A committed (or failed) batch first..last goes to the syncer instead of
 * the done list; outbox: it committed outbox rows. Worker thread. */
void gw_pl_sync_push(gw_msg *first, gw_msg *last, int outbox);

#endif
