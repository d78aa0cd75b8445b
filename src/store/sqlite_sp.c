/* Savepoints of the SQLite backend: one level, named "m", so that a
 * transaction of many messages undoes a failing message's work alone. The
 * statements are prepared at first use and kept (sq_sp_free finalizes them). */
#include "sqlite_int.h"

enum { SP_MARK, SP_RELEASE, SP_UNDO };

static const char *const sp_sql[] = {"SAVEPOINT m", "RELEASE m", "ROLLBACK TO m"};

/* Runs savepoint statement i. */
static lk_err run(sq_store *q, int i, const char *op)
{
    int rc;

    if (!q->sp_st[i]) {
        rc =
            sqlite3_prepare_v3(q->db, sp_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &q->sp_st[i], NULL);
        if (rc != SQLITE_OK)
            return fail(q, op, rc);
    }
    return done(q, q->sp_st[i], sqlite3_step(q->sp_st[i]), op);
}

lk_err sq_savepoint(lk_store *s)
{
    sq_store *q = (sq_store *)s;
    lk_err err;

    if (!q->tx || q->sp) {
        lk_store_set_err(s, "savepoint: %s", q->tx ? "one is marked already" : "no transaction");
        return LK_EINVAL;
    }
    if ((err = usable(q, "savepoint")) != LK_OK || (err = run(q, SP_MARK, "savepoint")) != LK_OK)
        return err;
    q->sp = 1;
    return LK_OK;
}

lk_err sq_release(lk_store *s)
{
    sq_store *q = (sq_store *)s;
    lk_err err;

    if (!q->tx || !q->sp) {
        lk_store_set_err(s, "release: no savepoint");
        return LK_EINVAL;
    }
    if ((err = usable(q, "release")) != LK_OK || (err = run(q, SP_RELEASE, "release")) != LK_OK)
        return err;
    q->sp = 0;
    return LK_OK;
}

lk_err sq_rollback_to(lk_store *s)
{
    sq_store *q = (sq_store *)s;
    lk_err err;

    if (!q->tx || !q->sp) {
        lk_store_set_err(s, "rollback to savepoint: no savepoint");
        return LK_EINVAL;
    }
    /* ROLLBACK TO keeps the mark; RELEASE then drops it. When SQLite rolled
     * the whole transaction back after an error, usable() says so. */
    if ((err = usable(q, "rollback to savepoint")) != LK_OK ||
        (err = run(q, SP_UNDO, "rollback to savepoint")) != LK_OK ||
        (err = run(q, SP_RELEASE, "rollback to savepoint")) != LK_OK)
        return err;
    q->sp = 0;
    return LK_OK;
}

void sq_sp_free(sq_store *q)
{
    int i;

    for (i = 0; i < 3; i++)
        sqlite3_finalize(q->sp_st[i]);
}
