/* loket engine: the pure step function.
 *
 *   lk_engine_step(flow, session, text, now) -> session', replies
 *
 * No I/O, no clock reads, no globals, no randomness: the same flow, session,
 * text and time give the same session and replies, byte for byte. Sessions
 * are plain values the caller loads from and saves to a store. */
#ifndef LOKET_ENGINE_H
#define LOKET_ENGINE_H

#include "loket/core.h"
#include "loket/flow.h"

/* ---- sessions ------------------------------------------------------------ */
typedef struct lk_session lk_session;

/* A new session at the flow's start state. NULL on out of memory. The
 * session may be used with any flow; it refers to states and variables by
 * name when encoded, so it survives a flow reload. */
lk_session *lk_session_new(const lk_flow *flow);
void lk_session_free(lk_session *s); /* NULL-safe */
/* Back to the start state with no variables, keeping allocations. */
void lk_session_reset(lk_session *s, const lk_flow *flow);

/* Appends the session's compact encoding to out. */
lk_err lk_session_encode(const lk_session *s, const lk_flow *flow, lk_buf *out);
/* Replaces s with a decoded session. A state or variable the flow no longer
 * has resets the session to the start (the state) or drops the variable.
 * LK_EINVAL when the bytes are not a session encoding (s is then reset). */
lk_err lk_session_decode(lk_session *s, const lk_flow *flow, const void *data, size_t n);

/* The name of the session's current state (borrowed from the flow). */
const char *lk_session_state(const lk_session *s, const lk_flow *flow);
/* 1 when the last step reached an end state (the next message starts over). */
int lk_session_ended(const lk_session *s);
/* Time of the last message the session handled, Unix ms; 0 if none. */
int64_t lk_session_last(const lk_session *s);
/* A variable as text, for tools and tests; NULL when unset. The pointer is
 * valid until the session changes. Integers are formatted into buf. */
const char *lk_session_var(const lk_session *s, const lk_flow *flow, const char *name, lk_buf *buf);

/* ---- replies ------------------------------------------------------------- */
typedef struct lk_choice_out {
    const char *id;    /* what the choice stands for as input, e.g. "6" */
    const char *title; /* the option's title */
} lk_choice_out;

typedef struct lk_reply {
    const char *text; /* NUL-terminated */
    size_t len;
    const lk_choice_out *choices; /* a menu or list page: one per option; else NULL */
    int nchoices;
    /* With choices: the question they answer ("prov", "kabkota#which"), which a channel
     * puts in its button and row ids so that a tap names it back (lk_input.tap_question).
     * Borrowed like the rest; NULL without choices. */
    const char *question;
    const char *list_button; /* the flow's label of the button that opens a list, or NULL */
    const char *more; /* a list page with pages after it: the word that shows the next; else NULL */
} lk_reply;

/* The output of one step: replies, the edges taken (for coverage) and the
 * states entered. Reused across steps: lk_out_reset keeps its memory. All
 * pointers it hands out stay valid until the next reset or step. */
typedef struct lk_out lk_out;

lk_out *lk_out_new(void);
void lk_out_free(lk_out *o); /* NULL-safe */
void lk_out_reset(lk_out *o);
int lk_out_count(const lk_out *o);
void lk_out_get(const lk_out *o, int i, lk_reply *r);
/* Every reply joined with "\n" (what a transcript compares against). */
const char *lk_out_joined(const lk_out *o);
/* Edge ids taken (lk_flow_edge) during the step, and the states it visited:
 * first the state that handled the message, then each state entered. */
int lk_out_edges(const lk_out *o, const int **edges);
int lk_out_states(const lk_out *o, const int **states);
/* The state that did not understand the message (it got an invalid reply),
 * or -1: what `loket misses` reads from the message log. */
int lk_out_missed(const lk_out *o);
/* Personal data the step saw, for whoever logs it to mask (inputs marked
 * "sensitive" in the flow): 1 when such an input read the message itself;
 * and the values of sensitive variables the session held or took during the
 * step, each NUL-terminated, one after another, *n bytes in all (0: none). */
int lk_out_sensitive_input(const lk_out *o);
const char *lk_out_sensitive_values(const lk_out *o, size_t *n);

/* ---- the step --------------------------------------------------------------
 * Handles one inbound message of len bytes (valid UTF-8, no NUL: the caller
 * rejects anything else) at now_ms (Unix ms). Appends replies to out (reset it
 * first). On LK_OK the session is the new session. On an error (LK_ENOMEM,
 * LK_ELIMIT when a message runs more than the flow's step bound) the session
 * may be half-changed: the caller drops it and keeps the stored one. */
lk_err lk_engine_step(const lk_flow *flow, lk_session *s, const char *text, size_t len,
                      int64_t now_ms, lk_out *out);

/* A message with what a channel knows beyond its text. A zeroed lk_input with text and
 * len set is a typed message (lk_engine_step). */
typedef struct lk_input {
    const char *text; /* as for lk_engine_step; a tap's choice id; media's caption or "" */
    size_t len;
    /* A tap on a list row or button (text is the choice id sent back): it is taken when
     * tap_question is the question being asked and the title fits, or else when the title
     * exactly fits one choice of the question being asked; otherwise the flow's
     * clarify.stale note and the question again. Never by its number alone. */
    int tap;
    const char *tap_question; /* NULL: the id named no question */
    const char *tap_title;    /* NULL: none sent back */
    /* Media ("image", "document", ...): a state whose input accepts the type stores it;
     * elsewhere a caption is read as text, and no caption gets clarify.media. */
    const char *media_type, *media_id, *media_mime; /* NULL when none */
} lk_input;

lk_err lk_engine_input(const lk_flow *flow, lk_session *s, const lk_input *in, int64_t now_ms,
                       lk_out *out);

#endif
