/* Delivery statuses in the SQLite backend: the channel reports what became
 * of a sent reply (WhatsApp: sent, delivered, read, failed) by the remote id
 * the send returned, and the row keeps the furthest one with its time and,
 * for a failure, the error code. Also the time of a user's session, which
 * the sender reads for the 24-hour customer service window. Both run on the
 * sender's connection, never on the message path. */
#include "sqlite_int.h"

lk_err sq_outbox_status(lk_store *s, const char *channel, const char *remote_id, const char *status,
                        int error_code, int64_t now_ms, int *updated)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_OB_STATUS];
    int rc = SQLITE_OK;
    lk_err err;

    *updated = 0;
    if ((err = usable(q, "outbox_status")) != LK_OK)
        return err;
    bind_text(st, 1, channel, -1, &rc);
    bind_text(st, 2, remote_id, -1, &rc);
    bind_text(st, 3, status, -1, &rc);
    bind_i64(st, 4, now_ms, &rc);
    bind_i64(st, 5, error_code, &rc);
    rc = step(st, rc);
    if (rc == SQLITE_DONE)
        *updated = sqlite3_changes(q->db) > 0;
    return done(q, st, rc, "outbox_status");
}

lk_err sq_session_time(lk_store *s, const char *channel, const char *user, int64_t *updated_ms,
                       int *found)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = q->st[ST_SESSION_TIME];
    int rc = SQLITE_OK;
    lk_err err;

    *found = 0;
    if ((err = usable(q, "session_time")) != LK_OK)
        return err;
    bind_text(st, 1, channel, -1, &rc);
    bind_text(st, 2, user, -1, &rc);
    rc = step(st, rc);
    if (rc == SQLITE_ROW) {
        *updated_ms = (int64_t)sqlite3_column_int64(st, 0);
        *found = 1;
    }
    return done(q, st, rc, "session_time");
}
