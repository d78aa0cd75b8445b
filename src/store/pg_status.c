/* Delivery statuses in the PostgreSQL backend (the same rules as
 * sqlite_status.c): the row of a sent reply, found by its remote id, keeps
 * the furthest status the channel reported, its time and a failure's error
 * code. Also the time of a user's session, for the 24-hour window. Both run
 * on the sender's connection, never on the message path. */
#include "pg_int.h"

#include <stdlib.h>
#include <string.h>

lk_err pg_outbox_status(lk_store *s, const char *channel, const char *remote_id, const char *status,
                        int error_code, int64_t now_ms, int *updated)
{
    pg_store *q = (pg_store *)s;
    pg_params p = {.n = 0};
    PGresult *r;
    lk_err err;

    *updated = 0;
    if ((err = pg_usable(q, "outbox_status")) != LK_OK)
        return err;
    pg_p_text(&p, channel, strlen(channel));
    pg_p_text(&p, remote_id, strlen(remote_id));
    pg_p_text(&p, status, strlen(status));
    pg_p_i64(&p, now_ms);
    pg_p_i64(&p, error_code);
    if (!(r = pg_run(q, PS_OB_STATUS, &p, 0, "outbox_status", &err)))
        return err;
    *updated = atoi(PQcmdTuples(r)) > 0;
    PQclear(r);
    return LK_OK;
}

lk_err pg_session_time(lk_store *s, const char *channel, const char *user, int64_t *updated_ms,
                       int *found)
{
    pg_store *q = (pg_store *)s;
    pg_params p = {.n = 0};
    PGresult *r;
    lk_err err;

    *found = 0;
    if ((err = pg_usable(q, "session_time")) != LK_OK)
        return err;
    pg_p_text(&p, channel, strlen(channel));
    pg_p_text(&p, user, strlen(user));
    if (!(r = pg_run(q, PS_SESSION_TIME, &p, 0, "session_time", &err)))
        return err;
    if (PQntuples(r) > 0) {
        *updated_ms = pg_i64(r, 0, 0);
        *found = 1;
    }
    PQclear(r);
    return LK_OK;
}
