/* libpq's pipeline mode on the message path of the PostgreSQL backend.
 *
 * A transaction begun with pg_begin runs in pipeline mode: a statement is
 * sent without waiting for its answer, and the answers are read together
 * when a result is needed. The writes of a message whose answer nobody
 * looks at (BEGIN, SAVEPOINT, save, the log rows, the outbox rows without
 * their id) are only queued (pg_defer); a statement whose result is needed
 * (the processed id, the session, RELEASE, COMMIT) is queued after them and
 * one Sync sends the lot and reads every answer (pg_run, pg_cmd). A message
 * in a batch costs three round trips instead of one a statement: SAVEPOINT
 * with the processed id, the session, and its writes with RELEASE.
 *
 * Errors: after a failed statement the server skips the rest up to the
 * Sync, so the flush reports the first failure, under the name of the
 * statement that failed (a log row that failed is reported by the RELEASE
 * or COMMIT that read it). The transaction is then in error as without a
 * pipeline: ROLLBACK TO SAVEPOINT undoes that message alone, ROLLBACK the
 * transaction. Code that needs a synchronous call in the middle of a
 * transaction (pg_priv.c) leaves pipeline mode first (pg_pipe_leave).
 *
 * Only statements that answer with a command tag are queued unread, at most
 * PG_MAXPEND of them: the server's answers to a full queue are a few
 * hundred bytes, so it never blocks writing them while loket, blocking too,
 * is still writing the queue (the classic deadlock of pipelining on a
 * blocking connection). */
#include "pg_int.h"

#include <string.h>

/* Reads the answers of everything queued, after a Sync. The first failure
 * sets the store's error and is returned; *last (may be NULL) gets the
 * result of the last statement queued when all went well (PQclear it). */
static lk_err flush(pg_store *q, PGresult **last)
{
    lk_err err = LK_OK;
    PGresult *r;
    int i, n = q->npend;

    if (last)
        *last = NULL;
    q->npend = 0;
    if (PQpipelineSync(q->conn) != 1) {
        pg_fail(q, "pipeline", NULL);
        return LK_ESTORE;
    }
    for (i = 0; i < n; i++) {
        ExecStatusType st;

        if (!(r = PQgetResult(q->conn))) { /* the connection went */
            if (err == LK_OK)
                pg_fail(q, q->pend[i], NULL);
            return LK_ESTORE;
        }
        st = PQresultStatus(r);
        if (err == LK_OK && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            pg_fail(q, q->pend[i], st == PGRES_PIPELINE_ABORTED ? NULL : r);
            err = LK_ESTORE;
        }
        if (err == LK_OK && last && i == n - 1)
            *last = r;
        else
            PQclear(r);
        while ((r = PQgetResult(q->conn))) /* the NULL that ends a statement's results */
            PQclear(r);
    }
    /* the Sync's own result, and the pipeline is idle again */
    if (!(r = PQgetResult(q->conn)) || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
        if (err == LK_OK) {
            pg_fail(q, "pipeline", r);
            err = LK_ESTORE;
        }
    }
    PQclear(r);
    if (err != LK_OK)
        q->failed = 1;
    if (err != LK_OK && last && *last) {
        PQclear(*last);
        *last = NULL;
    }
    return err;
}

/* Queues statement which (a prepared one, or sql when which < 0). */
static lk_err queue(pg_store *q, int which, const char *sql, pg_params *p, int binary,
                    const char *op)
{
    int ok;
    lk_err err;

    if (q->npend == PG_MAXPEND && (err = flush(q, NULL)) != LK_OK)
        return err;
    if (which >= 0)
        ok = PQsendQueryPrepared(q->conn, pg_stmt_name(which), p ? p->n : 0, p ? p->v : NULL,
                                 p ? p->len : NULL, p ? p->fmt : NULL, binary);
    else
        ok = PQsendQueryParams(q->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
    if (!ok) {
        pg_fail(q, op, NULL);
        return LK_ESTORE;
    }
    q->pend[q->npend++] = op;
    return LK_OK;
}

lk_err pg_pipe_flush(pg_store *q)
{
    return q->npend ? flush(q, NULL) : LK_OK;
}

lk_err pg_pipe_enter(pg_store *q)
{
    if (PQenterPipelineMode(q->conn) != 1) {
        pg_fail(q, "begin: pipeline mode", NULL);
        return LK_ESTORE;
    }
    q->pipe = 1;
    q->npend = q->failed = 0;
    return LK_OK;
}

void pg_pipe_leave(pg_store *q)
{
    char keep[sizeof q->base.errmsg];
    int retry = q->base.retry;

    if (!q->pipe)
        return;
    if (q->npend) { /* on the way to a rollback: the error that led there stays the store's */
        memcpy(keep, q->base.errmsg, sizeof keep);
        flush(q, NULL); /* a failure stays in the transaction's status */
        memcpy(q->base.errmsg, keep, sizeof keep);
        q->base.retry = retry;
    }
    PQexitPipelineMode(q->conn);
    q->pipe = 0;
}

PGresult *pg_pipe_run(pg_store *q, int which, const char *sql, pg_params *p, int binary,
                      const char *op, lk_err *err)
{
    PGresult *r = NULL;

    if ((*err = queue(q, which, sql, p, binary, op)) == LK_OK)
        *err = flush(q, &r);
    return r;
}

lk_err pg_defer(pg_store *q, int which, pg_params *p, const char *op)
{
    lk_err err;
    PGresult *r;

    if ((err = pg_usable(q, op)) != LK_OK)
        return err;
    if (q->pipe)
        return queue(q, which, NULL, p, 0, op);
    if (!(r = pg_run(q, which, p, 0, op, &err)))
        return err;
    PQclear(r);
    return LK_OK;
}

lk_err pg_defer_sql(pg_store *q, const char *sql, const char *op)
{
    return queue(q, -1, sql, NULL, 0, op);
}
