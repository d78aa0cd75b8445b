/* One inbound message, one transaction (or one savepoint of a transaction
 * shared by many): the only place that puts the engine and the store
 * together. The session, blob buffer and reply buffers are kept
 * in the runtime and reused, so a warm runtime does not allocate per message. */
#include "loket/runtime.h"
#include "loket/mask.h"

#include <stdlib.h>
#include <string.h>

struct lk_runtime {
    const lk_flow *flow;
    lk_store *store;
    lk_session *session;
    lk_buf blob;
    lk_buf payload;
    lk_buf mask; /* a log row with its sensitive data masked (mask.c) */
};

lk_runtime *lk_runtime_new(const lk_flow *flow, lk_store *store)
{
    lk_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    rt->flow = flow;
    rt->store = store;
    rt->session = lk_session_new(flow);
    if (!rt->session) {
        free(rt);
        return NULL;
    }
    return rt;
}

void lk_runtime_free(lk_runtime *rt)
{
    if (!rt)
        return;
    lk_session_free(rt->session);
    lk_buf_free(&rt->blob);
    lk_buf_free(&rt->payload);
    lk_buf_free(&rt->mask);
    free(rt);
}

void lk_runtime_set_flow(lk_runtime *rt, const lk_flow *flow)
{
    rt->flow = flow;
}

const lk_flow *lk_runtime_flow(const lk_runtime *rt)
{
    return rt->flow;
}

lk_err lk_inbound_check(const lk_inbound *in, const char **why)
{
    size_t ulen;

    if (!in->user || !(ulen = strlen(in->user)) || ulen > 128 ||
        !lk_utf8_valid(in->user, ulen, NULL)) {
        *why = "the sender id must be 1 to 128 bytes of valid UTF-8";
        return LK_EINVAL;
    }
    if (!in->text) {
        *why = "the message has no text";
        return LK_EINVAL;
    }
    if (memchr(in->text, '\0', in->len)) {
        *why = "the text contains a NUL character";
        return LK_EINVAL;
    }
    if (!lk_utf8_valid(in->text, in->len, NULL)) {
        *why = "the text is not valid UTF-8";
        return LK_EINVAL;
    }
    if (in->len > LK_MAX_TEXT && lk_utf8_len(in->text, in->len) > LK_MAX_TEXT) {
        *why = "the text is longer than 4096 characters";
        return LK_EINVAL;
    }
    return LK_OK;
}

/* The replies of one step: one log row holding them all (joined with "\n"
 * as a transcript shows them; the state is the inbound row's), and, when the
 * channel sends later, one outbox row each. */
static lk_err log_replies(lk_runtime *rt, const lk_inbound *in, const lk_out *out)
{
    int i, n = lk_out_count(out);
    lk_log_entry e = {in->user, in->channel, LK_DIR_OUT, in->now_ms, NULL, NULL, NULL, 0, NULL};
    lk_err err;

    if (n == 0)
        return LK_OK;
    e.text = lk_out_joined(out);
    e.text_len = strlen(e.text);
    if (lk_log_mask(out, &e, &rt->mask) != 0) /* a reply that repeats a sensitive value */
        return LK_ENOMEM;
    if ((err = lk_store_log(rt->store, &e)) != LK_OK)
        return err;
    for (i = 0; in->render && i < n; i++) {
        lk_reply r;

        lk_out_get(out, i, &r);
        lk_buf_reset(&rt->payload);
        if (in->render(in->render_ctx, in->user, &r, &rt->payload) != 0 || rt->payload.oom)
            return LK_ENOMEM;
        err = lk_store_outbox_add(rt->store, in->user,
                                  in->outbox_channel ? in->outbox_channel : in->channel,
                                  lk_buf_str(&rt->payload), in->now_ms, NULL);
        if (err != LK_OK)
            return err;
    }
    return LK_OK;
}

/* The work of one message inside an open transaction: dedup, load, step,
 * save, log, outbox. *seen is 1 for a duplicate (nothing written). On error
 * the caller undoes what was written (rollback or rollback_to). */
static lk_err process(lk_runtime *rt, const lk_inbound *in, lk_out *out, int *seen,
                      const char **state)
{
    const lk_flow *flow = in->flow ? in->flow : rt->flow;
    const char *st;
    int found = 0;
    lk_err err;
    lk_log_entry e;
    lk_input ein = {0};

    if ((err = lk_store_seen(rt->store, in->channel, in->user, in->ext_id, in->now_ms, seen)) !=
            LK_OK ||
        *seen)
        return err;
    if ((err = lk_store_load(rt->store, in->channel, in->user, &rt->blob, &found)) != LK_OK)
        return err;
    if (!found || lk_session_decode(rt->session, flow, rt->blob.p, rt->blob.len) != LK_OK)
        lk_session_reset(rt->session, flow);
    ein.text = in->text;
    ein.len = in->len;
    ein.tap = in->tap;
    ein.tap_question = in->tap_question;
    ein.tap_title = in->tap_title;
    ein.media_type = in->media_type;
    ein.media_id = in->media_id;
    ein.media_mime = in->media_mime;
    if ((err = lk_engine_input(flow, rt->session, &ein, in->now_ms, out)) != LK_OK)
        return err;
    st = lk_session_state(rt->session, flow);
    lk_buf_reset(&rt->blob);
    if ((err = lk_session_encode(rt->session, flow, &rt->blob)) != LK_OK)
        return err;
    if (rt->blob.oom)
        return LK_ENOMEM;
    if ((err = lk_store_save(rt->store, in->channel, in->user, rt->blob.p, rt->blob.len,
                             in->now_ms)) != LK_OK)
        return err;
    e = (lk_log_entry){in->user,   in->channel, LK_DIR_IN, in->now_ms, st,
                       in->ext_id, in->text,    in->len,   NULL};
    if (lk_out_missed(out) >= 0)
        e.missed = lk_flow_state_name(flow, lk_out_missed(out));
    if (lk_log_mask(out, &e, &rt->mask) != 0)
        return LK_ENOMEM;
    if ((err = lk_store_log(rt->store, &e)) != LK_OK)
        return err;
    if ((err = log_replies(rt, in, out)) != LK_OK)
        return err;
    *state = st;
    return LK_OK;
}

lk_err lk_runtime_handle(lk_runtime *rt, const lk_inbound *in, lk_out *out, int *dup,
                         const char **state)
{
    const char *why, *st = NULL;
    int seen = 0;
    lk_err err;

    if (dup)
        *dup = 0;
    lk_out_reset(out);
    if ((err = lk_inbound_check(in, &why)) != LK_OK)
        return err;
    if ((err = lk_store_begin(rt->store)) != LK_OK)
        return err;
    if ((err = process(rt, in, out, &seen, &st)) != LK_OK)
        goto fail;
    if (seen) {
        lk_store_rollback(rt->store);
        if (dup)
            *dup = 1;
        return LK_OK;
    }
    if ((err = lk_store_commit(rt->store)) != LK_OK)
        goto fail;
    if (state)
        *state = st;
    return LK_OK;
fail:
    lk_store_rollback(rt->store);
    lk_out_reset(out);
    return err;
}

lk_err lk_runtime_step(lk_runtime *rt, const lk_inbound *in, lk_out *out, int *dup,
                       const char **state, int *lost)
{
    const char *st = NULL;
    int seen = 0;
    lk_err err;

    *dup = 0;
    *lost = 0;
    lk_out_reset(out);
    if ((err = lk_store_savepoint(rt->store)) != LK_OK) {
        *lost = 1;
        return err;
    }
    if ((err = process(rt, in, out, &seen, &st)) != LK_OK)
        goto fail;
    /* PostgreSQL reads the answers of the writes at release: a failing one
     * is undone like any other error of the message */
    if ((err = lk_store_release(rt->store)) != LK_OK)
        goto fail;
    *dup = seen;
    if (state)
        *state = st;
    return LK_OK;
fail:
    if (lk_store_rollback_to(rt->store) != LK_OK)
        *lost = 1;
    lk_out_reset(out);
    return err;
}
