/* The public store functions: argument checks that hold for every backend,
 * then a call through the backend's vtable (store_int.h). Bad arguments are
 * the caller's mistake but may come from a peer (an empty user id, a huge
 * blob), so they get LK_EINVAL and a message rather than an assert. */
#include "store_int.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void lk_store_set_err(lk_store *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
}

static lk_err einval(lk_store *s, const char *what)
{
    if (s)
        lk_store_set_err(s, "%s", what);
    return LK_EINVAL;
}

static int bad_str(const char *z)
{
    return !z || !*z;
}

void lk_store_opts_default(lk_store_opts *o)
{
    const char *lease;

    o->sync = LK_SYNC_FULL;
    o->wal_autocheckpoint = 1000;
    o->busy_timeout_ms = 5000;
    o->server_lock = 0;
    o->wal_limit = 0;
    o->outbox_lease_ms = 60 * 1000;
    if ((lease = getenv("LOKET_OUTBOX_LEASE_MS")) != NULL && atoll(lease) > 0)
        o->outbox_lease_ms = atoll(lease);
}

const char *lk_store_redact(const char *path, char *buf, size_t n)
{
    const char *rest, *at, *end;
    size_t scheme;

    if (!n)
        return buf;
    if (!lk_store_pg_uri(path)) {
        snprintf(buf, n, "%s", path ? path : "");
        return buf;
    }
    scheme = strchr(path, ':') - path + 3; /* "postgresql://" */
    rest = path + scheme;
    end = rest + strcspn(rest, "?#");
    /* the last '@' before the path ends the user and password */
    for (at = end; at > rest && at[-1] != '@'; at--)
        ;
    snprintf(buf, n, "%.*s%.*s", (int)scheme, path, (int)(end - at), at);
    return buf;
}

int lk_store_schema_version(void)
{
    return lk_store_sqlite_schema_version();
}

lk_err lk_store_open(const char *path, const lk_store_opts *opts, lk_store **out, lk_diag *diag)
{
    lk_store_opts def;

    if (!out)
        return LK_EINVAL;
    *out = NULL;
    if (!path) {
        lk_diag_add(diag, NULL, 0, 0, NULL, "store: no database path given");
        return LK_EINVAL;
    }
    if (!opts) {
        lk_store_opts_default(&def);
        opts = &def;
    }
    if (opts->sync < LK_SYNC_OFF || opts->sync > LK_SYNC_FULL || opts->wal_autocheckpoint < 0 ||
        opts->busy_timeout_ms < 0 || opts->wal_limit < 0 || opts->outbox_lease_ms <= 0) {
        lk_diag_add(diag, path, 0, 0, NULL,
                    "store: bad options (sync %d, wal_autocheckpoint %d, busy_timeout_ms %d)",
                    (int)opts->sync, opts->wal_autocheckpoint, opts->busy_timeout_ms);
        return LK_EINVAL;
    }
    if (lk_store_pg_uri(path))
        return lk_store_pg_open(path, opts, out, diag);
    return lk_store_sqlite_open(path, opts, out, diag);
}

void lk_store_close(lk_store *s)
{
    if (s)
        s->ops->close(s);
}

lk_err lk_store_begin(lk_store *s)
{
    return s ? s->ops->begin(s) : LK_EINVAL;
}

lk_err lk_store_commit(lk_store *s)
{
    return s ? s->ops->commit(s) : LK_EINVAL;
}

int lk_store_defer_sync(lk_store *s)
{
    return s && s->ops->defer_sync ? s->ops->defer_sync(s) : 0;
}

lk_err lk_store_wal_sync(lk_store *s)
{
    if (!s)
        return LK_EINVAL;
    return s->ops->wal_sync ? s->ops->wal_sync(s) : LK_OK;
}

void lk_store_rollback(lk_store *s)
{
    if (s)
        s->ops->rollback(s);
}

lk_err lk_store_savepoint(lk_store *s)
{
    return s ? s->ops->savepoint(s) : LK_EINVAL;
}

lk_err lk_store_release(lk_store *s)
{
    return s ? s->ops->release(s) : LK_EINVAL;
}

lk_err lk_store_rollback_to(lk_store *s)
{
    return s ? s->ops->rollback_to(s) : LK_EINVAL;
}

lk_err lk_store_lock_users(lk_store *s, const char *const *channels, const char *const *users,
                           int n)
{
    int i;

    if (!s || n < 0 || (n > 0 && (!channels || !users)))
        return einval(s, "lock_users: no store or users");
    for (i = 0; i < n; i++)
        if (!channels[i] || !users[i])
            return einval(s, "lock_users: a user without channel or id");
    return s->ops->lock_users && n > 0 ? s->ops->lock_users(s, channels, users, n) : LK_OK;
}

int lk_store_retryable(const lk_store *s)
{
    return s && s->retry;
}

lk_err lk_store_seen(lk_store *s, const char *channel, const char *user, const char *ext_id,
                     int64_t now_ms, int *dup)
{
    if (!s || !dup)
        return einval(s, "seen: no store or no result");
    *dup = 0;
    if (bad_str(channel) || bad_str(user))
        return einval(s, "seen: no channel or no user");
    if (!ext_id || !*ext_id)
        return LK_OK; /* nothing to deduplicate on */
    return s->ops->seen(s, channel, user, ext_id, now_ms, dup);
}

lk_err lk_store_load(lk_store *s, const char *channel, const char *user, lk_buf *blob, int *found)
{
    if (!s || !blob || !found)
        return einval(s, "load: no store, buffer or result");
    *found = 0;
    lk_buf_reset(blob);
    if (bad_str(channel) || bad_str(user))
        return einval(s, "load: no channel or no user");
    return s->ops->load(s, channel, user, blob, found);
}

lk_err lk_store_save(lk_store *s, const char *channel, const char *user, const void *blob, size_t n,
                     int64_t now_ms)
{
    if (!s)
        return LK_EINVAL;
    if (bad_str(channel) || bad_str(user))
        return einval(s, "save: no channel or no user");
    if ((!blob && n) || n > INT_MAX)
        return einval(s, "save: no blob or blob too large");
    return s->ops->save(s, channel, user, blob, n, now_ms);
}

lk_err lk_store_delete(lk_store *s, const char *channel, const char *user)
{
    if (!s)
        return LK_EINVAL;
    if (bad_str(channel) || bad_str(user))
        return einval(s, "delete: no channel or no user");
    return s->ops->del(s, channel, user);
}

lk_err lk_store_log(lk_store *s, const lk_log_entry *e)
{
    if (!s)
        return LK_EINVAL;
    if (!e || bad_str(e->user) || bad_str(e->channel))
        return einval(s, "log: no entry, user or channel");
    if (e->dir != LK_DIR_IN && e->dir != LK_DIR_OUT)
        return einval(s, "log: bad direction");
    if ((!e->text && e->text_len) || e->text_len > INT_MAX)
        return einval(s, "log: no text or text too long");
    return s->ops->log(s, e);
}

lk_err lk_store_outbox_add(lk_store *s, const char *user, const char *channel, const char *payload,
                           int64_t now_ms, int64_t *id)
{
    if (!s)
        return LK_EINVAL;
    if (bad_str(user) || bad_str(channel) || !payload)
        return einval(s, "outbox_add: no user, channel or payload");
    return s->ops->outbox_add(s, user, channel, payload, now_ms, id);
}

lk_err lk_store_outbox_due(lk_store *s, int64_t now_ms, int max, lk_outbox_item **items, int *n)
{
    if (items)
        *items = NULL;
    if (n)
        *n = 0;
    if (!s || !items || !n || max < 0)
        return einval(s, "outbox_due: no store or result, or max < 0");
    if (max == 0)
        return LK_OK;
    return s->ops->outbox_due(s, now_ms, max, items, n);
}

int lk_store_outbox_claims(const lk_store *s)
{
    return s && !strcmp(s->ops->name, "postgresql");
}

void lk_outbox_items_free(lk_outbox_item *items, int n)
{
    int i;

    if (!items)
        return;
    for (i = 0; i < n; i++) {
        free(items[i].user);
        free(items[i].channel);
        free(items[i].payload);
    }
    free(items);
}

static int by_id(const void *a, const void *b)
{
    const lk_outbox_item *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

void lk_outbox_items_by_id(lk_outbox_item *items, int n)
{
    if (n > 1)
        qsort(items, (size_t)n, sizeof *items, by_id);
}

lk_err lk_store_outbox_sent(lk_store *s, int64_t id, const char *remote_id, int64_t now_ms)
{
    return s ? s->ops->outbox_sent(s, id, remote_id, now_ms) : LK_EINVAL;
}

lk_err lk_store_outbox_retry(lk_store *s, int64_t id, int64_t next_at_ms, const char *error)
{
    return s ? s->ops->outbox_retry(s, id, next_at_ms, error) : LK_EINVAL;
}

lk_err lk_store_outbox_drop(lk_store *s, int64_t id, const char *error, int64_t now_ms)
{
    return s ? s->ops->outbox_drop(s, id, error, now_ms) : LK_EINVAL;
}

lk_err lk_store_outbox_release(lk_store *s, int64_t id)
{
    return s ? s->ops->outbox_release(s, id) : LK_EINVAL;
}

lk_err lk_store_outbox_status(lk_store *s, const char *channel, const char *remote_id,
                              const char *status, int error_code, int64_t now_ms, int *updated)
{
    int dummy;

    if (!s)
        return LK_EINVAL;
    if (!channel || !*channel || !remote_id || !*remote_id)
        return einval(s, "outbox_status: no channel or remote id");
    if (!status || lk_outbox_status_rank(status) <= 0)
        return einval(s, "outbox_status: the status is not sent, delivered, read or failed");
    return s->ops->outbox_status(s, channel, remote_id, status, error_code, now_ms,
                                 updated ? updated : &dummy);
}

lk_err lk_store_session_time(lk_store *s, const char *channel, const char *user,
                             int64_t *updated_ms, int *found)
{
    if (!s)
        return LK_EINVAL;
    if (!channel || !*channel || !user || !*user || !updated_ms || !found)
        return einval(s, "session_time: no channel, user or result");
    return s->ops->session_time(s, channel, user, updated_ms, found);
}

lk_err lk_store_outbox_depth(lk_store *s, int64_t *n)
{
    if (!s || !n)
        return einval(s, "outbox_depth: no store or result");
    return s->ops->outbox_depth(s, n);
}

lk_err lk_store_prune_seen(lk_store *s, int64_t before_ms, int64_t *n)
{
    int64_t dummy;

    if (!s)
        return LK_EINVAL;
    return s->ops->prune_seen(s, before_ms, n ? n : &dummy);
}

lk_err lk_store_active_sessions(lk_store *s, int64_t since_ms, int64_t *n)
{
    if (!s || !n)
        return einval(s, "active_sessions: no store or result");
    return s->ops->active_sessions(s, since_ms, n);
}

lk_err lk_store_checkpoint(lk_store *s, int64_t *log_bytes)
{
    int64_t dummy;

    return s ? s->ops->checkpoint(s, log_bytes ? log_bytes : &dummy) : LK_EINVAL;
}

static lk_err checkpoint_full(lk_store *s, int wait_ms, int truncate, int *done)
{
    int dummy;

    if (!s || wait_ms < 0)
        return einval(s, "checkpoint: no store or wait_ms < 0");
    return s->ops->checkpoint_full(s, wait_ms, truncate, done ? done : &dummy);
}

lk_err lk_store_checkpoint_truncate(lk_store *s, int wait_ms, int *done)
{
    return checkpoint_full(s, wait_ms, 1, done);
}

lk_err lk_store_checkpoint_restart(lk_store *s, int wait_ms, int *done)
{
    return checkpoint_full(s, wait_ms, 0, done);
}

lk_err lk_store_wal_size(lk_store *s, int64_t *bytes)
{
    if (!s || !bytes)
        return einval(s, "wal_size: no store or result");
    *bytes = 0;
    return s->ops->wal_size(s, bytes);
}

lk_err lk_store_secret(lk_store *s, const char *name, const void *fresh, size_t n, lk_buf *out)
{
    if (!s || bad_str(name) || !fresh || !n || n > 4096 || !out)
        return einval(s, "secret: no store, name, fresh bytes (1 to 4096) or result");
    lk_buf_reset(out);
    return s->ops->secret(s, name, fresh, n, out);
}

const char *lk_store_errmsg(const lk_store *s)
{
    if (!s)
        return "no store";
    return s->errmsg;
}
