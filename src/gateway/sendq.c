/* What the WhatsApp route hands the sender thread besides outbox rows: the
 * read receipts to send (mark a user's message read and show the typing
 * indicator) and the delivery statuses to store. The loop thread pushes, the
 * sender takes everything at the start of its turn; a mutex guards the two
 * bounded lists. Both are best effort: when a list is full (the sender is
 * far behind) the oldest item goes and is counted, since a late typing
 * indicator is worth nothing and statuses are informative, never a reply. */
#include "gw.h"

#include <stdlib.h>
#include <string.h>

#define QUEUE_CAP 4096

struct gw_sendq {
    pthread_mutex_t mu;
    gw_sendq_item *items[2]; /* GW_SQ_READ, GW_SQ_STATUS: ring buffers */
    int head[2], n[2];
};

gw_sendq *gw_sendq_new(void)
{
    gw_sendq *q = calloc(1, sizeof *q);

    if (!q)
        return NULL;
    if (pthread_mutex_init(&q->mu, NULL) ||
        !(q->items[0] = calloc(QUEUE_CAP, sizeof(gw_sendq_item))) ||
        !(q->items[1] = calloc(QUEUE_CAP, sizeof(gw_sendq_item)))) {
        free(q->items[0]);
        free(q);
        return NULL;
    }
    return q;
}

void gw_sendq_free(gw_sendq *q)
{
    if (!q)
        return;
    pthread_mutex_destroy(&q->mu);
    free(q->items[0]);
    free(q->items[1]);
    free(q);
}

/* 0 when queued; 1 when queued in place of the oldest item (counted); -1
 * when a field is too long for the item (not queued). */
int gw_sendq_push(gw_sendq *q, const gw_sendq_item *it)
{
    int k = it->kind, rc = 0, slot;

    if (k != GW_SQ_READ && k != GW_SQ_STATUS)
        return -1;
    pthread_mutex_lock(&q->mu);
    if (q->n[k] == QUEUE_CAP) {
        q->head[k] = (q->head[k] + 1) % QUEUE_CAP;
        q->n[k]--;
        rc = 1;
    }
    slot = (q->head[k] + q->n[k]) % QUEUE_CAP;
    q->items[k][slot] = *it;
    q->n[k]++;
    pthread_mutex_unlock(&q->mu);
    return rc;
}

int gw_sendq_take(gw_sendq *q, int kind, gw_sendq_item *out, int max)
{
    int i, n;

    pthread_mutex_lock(&q->mu);
    n = q->n[kind] < max ? q->n[kind] : max;
    for (i = 0; i < n; i++)
        out[i] = q->items[kind][(q->head[kind] + i) % QUEUE_CAP];
    q->head[kind] = (q->head[kind] + n) % QUEUE_CAP;
    q->n[kind] -= n;
    pthread_mutex_unlock(&q->mu);
    return n;
}

/* Puts items back at the front (those the sender took and could not start:
 * no free slot), in their order, unless newer ones filled the list. */
void gw_sendq_unget(gw_sendq *q, const gw_sendq_item *items, int n)
{
    int i, k;

    if (n <= 0)
        return;
    k = items[0].kind;
    pthread_mutex_lock(&q->mu);
    for (i = n - 1; i >= 0 && q->n[k] < QUEUE_CAP; i--) {
        q->head[k] = (q->head[k] + QUEUE_CAP - 1) % QUEUE_CAP;
        q->items[k][q->head[k]] = items[i];
        q->n[k]++;
    }
    pthread_mutex_unlock(&q->mu);
}

/* A status that finds no row may have overtaken its own send: Meta can post
 * "sent" before the sender has read the answer that names the id. It is
 * tried again a second later, up to MAX_TRIES times, then counted as
 * unmatched (a reply of another server, or long gone). */
#define MAX_TRIES 3
#define BATCH 256

void gw_sendq_store_statuses(gw_sendq *q, lk_store *st)
{
    gw_sendq_item items[BATCH], later[BATCH];
    int n, i, nl = 0, ndue = 0, up;
    int64_t now = gw_now_ms();
    char chan[64];
    lk_err err = LK_OK;

    if (!(n = gw_sendq_take(q, GW_SQ_STATUS, items, BATCH)))
        return;
    for (i = 0; i < n; i++)
        if (!items[i].tries || now >= items[i].at_ms + (int64_t)items[i].tries * 1000)
            items[ndue++] = items[i];
        else
            later[nl++] = items[i];
    if (ndue && (err = lk_store_begin(st)) == LK_OK) {
        for (i = 0; i < ndue && err == LK_OK; i++) {
            gw_sendq_item *it = &items[i];
            snprintf(chan, sizeof chan, "whatsapp:%s", it->pnid);
            err = lk_store_outbox_status(st, chan, it->id, it->status, it->code, now, &up);
            if (err == LK_EINVAL) { /* a status loket does not keep ("warning") */
                err = LK_OK;
                continue;
            }
            if (err == LK_OK && !up && it->tries < MAX_TRIES) {
                it->tries++;
                later[nl++] = *it;
            } else if (err == LK_OK && !up) {
                gw_sendpol_count(GW_SP_UNMATCHED);
            }
        }
        if (err == LK_OK)
            err = lk_store_commit(st);
        if (err != LK_OK)
            lk_store_rollback(st);
    }
    if (err != LK_OK)
        gw_log(GW_LOG_ERROR, "delivery statuses not stored", "count=%d why=\"%s\"", ndue,
               lk_store_errmsg(st));
    for (i = 0; i < nl; i++)
        gw_sendq_push(q, &later[i]);
}
