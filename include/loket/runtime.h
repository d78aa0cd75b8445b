/* loket runtime: one inbound message as one store transaction.
 *
 *   dedup check -> load session -> step -> save session -> log in and out
 *   -> outbox (when the channel sends later) -> commit
 *
 * Shared by every way a message reaches loket (terminal chat, replay, the
 * websocket and webhook channels), so that they cannot differ in how a
 * message is processed. A reply is handed out only after its transaction
 * committed. One lk_runtime is used by one thread at a time. */
#ifndef LOKET_RUNTIME_H
#define LOKET_RUNTIME_H

#include "loket/core.h"
#include "loket/engine.h"
#include "loket/flow.h"
#include "loket/store.h"

/* Text longer than this (in code points) is refused before it reaches a session. */
#define LK_MAX_TEXT 4096

typedef struct lk_runtime lk_runtime;

/* Renders one reply into an outbox payload for the channel (e.g. a WhatsApp
 * Cloud API request body). Returns 0, or -1 to fail the transaction. */
typedef int (*lk_render_fn)(void *ctx, const char *user, const lk_reply *reply, lk_buf *payload);

typedef struct lk_inbound {
    /* The session and the processed ids belong to (channel, user): the same
     * sender id on two channels is two users. */
    const char *channel; /* "chat", "ws", "whatsapp", "generic", "twilio", "replay" */
    const char *user;    /* sender id, 1..128 bytes of valid UTF-8 */
    const char *ext_id;  /* external message id for dedup; NULL or "" for none */
    const char *text;
    size_t len;
    int64_t now_ms;
    lk_render_fn render; /* NULL: replies are not put in the outbox */
    void *render_ctx;
    const char *outbox_channel; /* channel name stored with outbox rows */
    /* What a channel knows beyond the text; all zero for a typed message. */
    const lk_flow *flow; /* the flow of this message (a number's own); NULL: the runtime's */
    int tap;             /* 1: a tap on a list row or button; text is the choice id sent back */
    const char *tap_question; /* the question the tapped list answered (lk_reply.question), or NULL
                                 when the id named none (an id from before, a foreign one) */
    const char *tap_title;    /* the title sent back with the tap, or NULL */
    /* Media: text is then the caption ("" when none). media_type is "image", "audio",
     * "voice", "video", "document", "sticker", "location" or "contacts"; NULL: no media. */
    const char *media_type;
    const char *media_id;   /* the platform's media id (or URL); NULL when none */
    const char *media_mime; /* its MIME type; NULL when not given */
} lk_inbound;

/* The runtime borrows flow and store; both must outlive it (or be swapped
 * with lk_runtime_set_flow). NULL on out of memory. */
lk_runtime *lk_runtime_new(const lk_flow *flow, lk_store *store);
void lk_runtime_free(lk_runtime *rt); /* NULL-safe */
void lk_runtime_set_flow(lk_runtime *rt, const lk_flow *flow);
const lk_flow *lk_runtime_flow(const lk_runtime *rt);

/* Checks the inbound text: valid UTF-8, no NUL, at most LK_MAX_TEXT code
 * points, a sane user id. LK_OK or LK_EINVAL with *why set to a static reason. */
lk_err lk_inbound_check(const lk_inbound *in, const char **why);

/* Handles one message in one transaction. On LK_OK, out holds the replies and
 * *dup (may be NULL) is 0; for a duplicate ext_id nothing is changed, out is
 * empty and *dup is 1. On any error the transaction is rolled back and the
 * stored session is untouched: LK_EINVAL (bad input, see lk_inbound_check),
 * LK_ESTORE (the database failed), LK_ELIMIT, LK_ENOMEM. *state (may be NULL)
 * gets the state after the step, borrowed from the flow. */
lk_err lk_runtime_handle(lk_runtime *rt, const lk_inbound *in, lk_out *out, int *dup,
                         const char **state);

/* Handles one message inside the caller's open transaction (lk_store_begin
 * on the runtime's store), in a savepoint of its own, so that many messages
 * share one commit: the caller commits, and hands the replies out only
 * after that. Results as lk_runtime_handle (a duplicate leaves nothing
 * written). On an error only this message's work is undone, unless the
 * store lost the whole transaction: then *lost is 1 and the caller rolls
 * back, losing the batch's earlier messages too. in must have passed
 * lk_inbound_check already: the caller checks it where a refusal can be
 * answered at once (the gateway on its loop thread), so it is not checked
 * twice on the way. */
lk_err lk_runtime_step(lk_runtime *rt, const lk_inbound *in, lk_out *out, int *dup,
                       const char **state, int *lost);

#endif
