/* The batches of the store workers on PostgreSQL: the users of a batch
 * locked at once, in one order.
 *
 * Why: a worker steps a batch of messages in one transaction, and each
 * message holds its user (the session row, or the user's advisory lock)
 * until the commit. A user is on one worker of a server, but two servers'
 * workers may hold different users of theirs in opposite orders: batch 1
 * holds u1 and waits for u2, batch 2 holds u2 and waits for u1. PostgreSQL
 * would find that deadlock after deadlock_timeout (1 s) and fail one of
 * them. Instead, right after BEGIN, lock_users takes every user's advisory
 * lock in one statement, in the order of the lock keys (the same on every
 * server): a batch then holds all its users before it touches any of them,
 * two batches with a user in common take them in the same order, and one
 * waits for the other instead. Row locks taken later by the messages belong
 * to users the batch holds already, so they never wait for another batch.
 * What can still conflict is the work off the message path that locks rows
 * in an order of its own (retention, erasure); a deadlock or lock timeout
 * there fails the batch's statement, lk_store_retryable says so, and the
 * pipeline rolls the whole batch back and runs it again, in order. */
#include "pg_int.h"

#include <arpa/inet.h>
#include <string.h>

static void put32(lk_buf *b, uint32_t v)
{
    v = htonl(v);
    lk_buf_put(b, &v, 4);
}

/* A one-dimensional text[] in PostgreSQL's binary format (array_send):
 * dimensions, has-nulls, element type, then size and lower bound, then each
 * element as its length and bytes. */
lk_err pg_lock_users(lk_store *s, const char *const *channels, const char *const *users, int n)
{
    pg_store *q = (pg_store *)s;
    pg_params p = {.n = 0};
    PGresult *r;
    lk_err err;
    int i;

    if (!q->tx) {
        lk_store_set_err(s, "lock_users: no transaction");
        return LK_EINVAL;
    }
    if ((err = pg_usable(q, "lock_users")) != LK_OK)
        return err;
    lk_buf_reset(&q->keys);
    put32(&q->keys, 1);  /* dimensions */
    put32(&q->keys, 0);  /* no NULLs */
    put32(&q->keys, 25); /* text */
    put32(&q->keys, (uint32_t)n);
    put32(&q->keys, 1); /* lower bound */
    for (i = 0; i < n; i++) {
        size_t c = strlen(channels[i]), u = strlen(users[i]);

        put32(&q->keys, (uint32_t)(c + 1 + u));
        lk_buf_put(&q->keys, channels[i], c);
        lk_buf_putc(&q->keys, '\x1f'); /* as PS_LOCK_USER's chr(31) */
        lk_buf_put(&q->keys, users[i], u);
    }
    if (q->keys.oom) {
        lk_store_set_err(s, "lock_users: out of memory for %d users", n);
        return LK_ENOMEM;
    }
    pg_p_text(&p, q->keys.p, q->keys.len);
    if (!(r = pg_run(q, PS_LOCK_USERS, &p, 0, "lock_users", &err)))
        return err;
    PQclear(r);
    q->locked = 1;
    return LK_OK;
}
