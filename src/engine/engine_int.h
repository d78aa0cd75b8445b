/* The engine's private interface, shared by the files of src/engine: the
 * session layout (session.c), the reply collector (out.c), expressions and
 * templates (eval.c), menu and input matching (match.c), data set choices
 * (choice.c) and the step itself (step.c). Unit tests include it to reach the
 * matchers and the evaluator directly; nothing else does. */
#ifndef LOKET_ENGINE_INT_H
#define LOKET_ENGINE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "flow_model.h"
#include "loket/engine.h"

#define LK_MAX_CAND 10   /* candidates of a pending confirmation or disambiguation */
#define LK_NORM_MAX 4096 /* bytes of normalised input the matchers look at */
#define LK_EVAL_DEPTH 32 /* nested flow function calls */
#define LK_EVAL_ARGS 16  /* parameters of one flow function call */

enum {
    LK_PEND_NONE = 0,
    LK_PEND_CONFIRM,  /* a choice row, a menu option (cand[0]) or an input value (in match) */
    LK_PEND_DISAMBIG, /* which of cand[0..ncand) */
    LK_PEND_RESUME,   /* after expiry: go on here? */
};

/* A variable's value. A string keeps its allocation when the variable is
 * overwritten or cleared, so a warm session does not allocate; s is always
 * NUL-terminated when type is LK_VT_STR. */
typedef struct lk_var {
    lk_vtype type;
    int64_t i;
    char *s;
    size_t len, cap;
} lk_var;

struct lk_session {
    int state;
    int64_t last_ms;
    int invalid; /* invalid replies in a row */
    int ended;

    int *hist; /* states that took input, oldest first */
    int nhist, caphist;

    int pending; /* LK_PEND_*: what the choice state asked */
    int ncand;
    int cand[LK_MAX_CAND]; /* row indexes in the state's data set */
    int page;              /* page of the choice list shown last */
    int child;             /* with a LK_C_CHILD confirmation: the row named, in the
                              choice's children data set; else -1 */

    int nvars, capvars;
    lk_var *vars;
};

/* ---- session.c ---- */
/* Sizes the session for flow (variables, history). 0 ok, -1 out of memory. */
int lk_session_fit(lk_session *s, const lk_flow *flow);
lk_value lk_var_get(const lk_session *s, int slot);
/* Copies v into the slot (v may point into the slot itself). 0 ok, -1 OOM. */
int lk_var_set(lk_session *s, int slot, lk_value v);
int lk_var_set_int(lk_session *s, int slot, int64_t i);
int lk_var_set_str(lk_session *s, int slot, const char *p, size_t n);
void lk_var_clear(lk_session *s, int slot);
/* Pushes a state on the `kembali` history, dropping the oldest when full. */
void lk_hist_push(lk_session *s, const lk_flow *flow, int state);
/* Pops the newest entry that is not `current`; -1 when there is none. */
int lk_hist_pop(lk_session *s, int current);

/* ---- out.c ---- */
lk_buf *lk_out_buf(lk_out *o); /* where the open reply's text goes */
void lk_out_begin(lk_out *o);  /* opens a reply */
/* Closes the open reply and returns its index; an empty reply is dropped and
 * gives -1. */
int lk_out_end(lk_out *o);
/* Reopens reply i for appending when it is the last one; 0 ok, -1 not last. */
int lk_out_reopen(lk_out *o, int i);
/* Adds a choice to the open reply: its id is key or else the number id;
 * key and title are borrowed. */
void lk_out_choice(lk_out *o, const char *key, int id, const char *title);
/* Names the question the open reply's choices answer: the state's name, with "#which"
 * for a "which one?" list of a choice (its numbers are the list's, not the rows');
 * list_button is the flow's label, borrowed. */
void lk_out_question(lk_out *o, const char *state, int which, const char *list_button);
void lk_put_question(lk_buf *b, const char *state, int which);
/* The open reply is a list page with more after it: word (borrowed) shows the next. */
void lk_out_more(lk_out *o, const char *word);
void lk_out_edge(lk_out *o, int edge);
void lk_out_state(lk_out *o, int state);
void lk_out_miss(lk_out *o, int state); /* the state did not understand the message */
/* Notes sensitive data the step saw: input 1 when a sensitive input read the
 * message; v (n bytes, may be NULL) a sensitive value, kept once. */
void lk_out_secret(lk_out *o, int input, const char *v, size_t n);
/* Resolves choice pointers and the joined text after a step. 0 ok, -1 OOM
 * happened somewhere during the step. */
int lk_out_finish(lk_out *o);

/* ---- sensitive.c ---- */
/* Notes the sensitive variables the session holds (at the start of a step). */
void lk_sensitive_held(const lk_flow *flow, const lk_session *s, lk_out *o);
/* After the sensitive input st read a message: notes that, and the value it
 * took (or one waiting for confirmation). */
void lk_sensitive_read(const lk_flow *flow, const lk_state *st, const lk_session *s, lk_out *o);
/* Entering st: unsets its "clear" variables. */
void lk_sensitive_clear_state(const lk_flow *flow, const lk_state *st, lk_session *s, lk_out *o);
/* The session ends: unsets every sensitive variable. */
void lk_sensitive_clear_all(const lk_flow *flow, lk_session *s, lk_out *o);

/* ---- eval.c ---- */
typedef struct lk_ctx {
    const lk_flow *flow;
    const lk_session *s;
    int64_t now_ms;
} lk_ctx;

/* Evaluates e. Strings in the result are borrowed from the flow or the
 * session and stay valid until the session changes. Never fails: a call too
 * deep or with too many arguments gives null. */
lk_value lk_eval(const lk_ctx *c, const lk_expr *e);
int lk_truthy(lk_value v);
int64_t lk_value_int(lk_value v); /* a string's leading integer; null 0 */
/* Appends the template's text to b. */
void lk_render(const lk_ctx *c, const lk_template *t, lk_buf *b);
/* Appends a value as text (integers in decimal, null as nothing). */
void lk_put_value(lk_buf *b, lk_value v);

/* ---- menu.c ---- */
typedef enum lk_mres { LK_M_NONE = 0, LK_M_CHOSEN, LK_M_WHICH, LK_M_CONFIRM } lk_mres;
typedef struct lk_mmatch {
    lk_mres res;
    int opt; /* LK_M_CHOSEN, LK_M_CONFIRM */
    int n;   /* LK_M_WHICH: the tied options */
    int cand[LK_MAX_CAND];
} lk_mmatch;
/* What the canonical message c selects in the menu of st. */
void lk_match_menu(const lk_flow *flow, const lk_state *st, const lk_canon *c, lk_mmatch *m);
/* 1 yes, 0 no, -1 neither or both, for the canonical text q (lexicon
 * applied, fillers kept): the state's own words (st may be NULL) before the
 * flow's, a negation before a yes word makes it no. */
int lk_match_yesno(const lk_flow *flow, const lk_state *st, const char *q, size_t qn);
/* 1 when every word of phrase, by stem, is among the words of q. */
int lk_stems_have(const lk_lexicon *x, const char *q, size_t qn, const char *phrase);

/* ---- number.c ---- */
typedef enum lk_nres {
    LK_N_NONE = 0, /* refused */
    LK_N_OK,       /* taken */
    LK_N_CONFIRM,  /* taken, to confirm first ("lebih", two numbers with units) */
    LK_N_FOREIGN,  /* a number with another question's unit: unit names it */
    LK_N_TWO,      /* two different numbers */
} lk_nres;
typedef struct lk_nread {
    lk_nres res;
    int64_t val;
    char unit[32];
} lk_nread;
lk_nres lk_read_number(const lk_flow *f, const lk_validator *v, const char *raw, size_t rn,
                       lk_nread *out);
/* A date into buf as yyyy-mm-dd (cap >= 11): LK_N_OK, LK_N_CONFIRM when it
 * could be read two ways (a two-digit year, month first), or LK_N_NONE. */
lk_nres lk_read_date(const lk_flow *f, const lk_validator *v, const char *raw, size_t rn,
                     int64_t now_ms, char *buf, size_t cap);

/* ---- match.c ---- */
/* Checks an input: raw is the trimmed message (NUL-terminated), c its
 * canonical form. On LK_N_OK or LK_N_CONFIRM *out holds the value; its
 * string points into raw, the flow or tmp (tmpcap bytes). nr gets a
 * number's details (the unit of LK_N_FOREIGN). */
lk_nres lk_match_input(const lk_flow *flow, const lk_state *st, const char *raw, size_t rn,
                       const lk_canon *c, int64_t now_ms, char *tmp, size_t tmpcap, lk_value *out,
                       lk_nread *nr);
/* q is a whole number of at most 9 digits: its value, else -1. */
int lk_small_number(const char *q, size_t qn);

/* ---- command.c ---- */
/* w is input in st, not a command: a data word, or digits where a number is asked. */
int lk_is_data(const lk_state *st, const char *w);
/* The first command one of whose words is the whole message (q normalised,
 * raw as typed, c canonical), else one with "anywhere" among its words. */
const lk_command *lk_find_command(const lk_flow *flow, const lk_state *st, const char *q, size_t qn,
                                  const char *raw, size_t rn, const lk_canon *c);
/* The answer to a question in the message, or NULL when it asks nothing. */
const lk_answer *lk_find_answer(const lk_flow *flow, const lk_canon *c);

/* ---- choice.c ---- */
typedef enum lk_cres {
    LK_C_INVALID = 0,
    LK_C_CHOSEN,    /* row */
    LK_C_MORE,      /* show the next page */
    LK_C_CONFIRM,   /* a typo of row: ask */
    LK_C_DISAMBIG,  /* several rows fit: cand[0..n) */
    LK_C_ELSEWHERE, /* row exists under another parent */
    LK_C_DECLINED,  /* "tidak" to a confirmation */
    LK_C_CHILD,     /* n rows of the children data set (the first: cand[0]) under row: ask */
} lk_cres;

typedef struct lk_cmatch {
    lk_cres res;
    int row;
    int n;
    int cand[LK_MAX_CAND];
} lk_cmatch;

/* The rows the choice offers: [*first, *first + *count) of its data set.
 * Returns 1 when they are filtered by a parent, 0 when they are all rows. */
int lk_choice_rows(const lk_flow *flow, const lk_session *s, const lk_choice *ch, int *first,
                   int *count);
/* Matches normalised input q against the choice, given the session's pending
 * sub-state. Pure: the caller applies the result. */
lk_cres lk_match_choice(const lk_flow *flow, const lk_session *s, const lk_choice *ch,
                        const char *q, size_t qn, const lk_canon *c, lk_cmatch *m);
/* The one row of d named exactly (or by alias) in q, or -1. */
int lk_choice_named(const lk_dataset *d, const char *q, size_t qn);

/* ---- tap.c ---- */
typedef enum lk_tapres {
    LK_TAP_TEXT = 0, /* the state asks nothing: the tap is its input like any text */
    LK_TAP_TAKE,     /* id holds the choice id of the question being asked */
    LK_TAP_STALE,    /* it answers another question: note it and ask again */
} lk_tapres;
/* Where a tap (in->tap) goes in the session's current state; id gets cap bytes. */
lk_tapres lk_tap_resolve(const lk_flow *flow, const lk_session *s, const lk_input *in, char *id,
                         size_t cap);
/* 1 when st is a media input that takes media of type (every type without accept). */
int lk_media_accepts(const lk_state *st, const char *type);
/* What a tap or media does before the text is read (not after an expiry that asks to
 * resume): 0 read the text (*text, *len may now be the tapped choice's id, written to
 * tapid, and *tapped is 1), 1 answered aside (a stale tap, media nothing reads). */
int lk_tap_aside(const lk_flow *flow, const lk_session *s, const lk_input *in, int resume,
                 char *tapid, size_t cap, const char **text, size_t *len, int *tapped);
/* Stores the media of in in st's variables: 0, or -1 out of memory. */
int lk_media_store(lk_session *s, const lk_state *st, const lk_input *in);

#endif
