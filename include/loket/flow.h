/* loket flows: declarative JSON files compiled at load into an immutable
 * lk_flow. A loaded flow is shared read-only by every session and thread; a
 * reload builds a new one and the old one is freed when nothing uses it.
 * The format is documented in flows/README.md. */
#ifndef LOKET_FLOW_H
#define LOKET_FLOW_H

#include "loket/core.h"

typedef struct lk_flow lk_flow;

/* Loads and checks the flow at path (and every file it includes or reads
 * data from, relative to the including file). On success *out owns a new flow
 * (lk_flow_free) and diag may hold warnings. On failure *out is NULL, the
 * return is LK_EFLOW (or LK_EIO / LK_ENOMEM) and diag holds every error found,
 * each with file:line:col, the JSON path and what is wrong. */
lk_err lk_flow_load(const char *path, lk_flow **out, lk_diag *diag);

/* Same, from a string; name stands for the file in diagnostics and includes
 * are resolved relative to the current directory. */
lk_err lk_flow_load_string(const char *name, const char *json, size_t len, lk_flow **out,
                           lk_diag *diag);

void lk_flow_free(lk_flow *flow); /* NULL-safe */

/* The deeper analysis of `loket check`, added to diag as warnings (a loaded
 * flow already passed every error check): transitions to undefined states,
 * states unreachable from the start, non-end states with no way out, template
 * variables no path sets, menu choices that can never be selected, menus and
 * lists over WhatsApp's limits (3 buttons, 10 rows, titles 20/24 chars).
 * Returns the number of problems added. */
size_t lk_flow_check(const lk_flow *flow, lk_diag *diag);

/* Read-only facts about a flow, for tools (coverage, listings). */
const char *lk_flow_name(const lk_flow *flow);
const char *lk_flow_path(const lk_flow *flow);
int lk_flow_state_count(const lk_flow *flow);
const char *lk_flow_state_name(const lk_flow *flow, int state);
int lk_flow_state_find(const lk_flow *flow, const char *name); /* -1 when none */
int lk_flow_edge_count(const lk_flow *flow);
/* Edge e goes from state *from to state *to; *what names it ("next",
 * "menu 3", "command menu", ...). Any out pointer may be NULL. */
void lk_flow_edge(const lk_flow *flow, int e, int *from, int *to, const char **what);
/* The i-th text of the flow's "console" section (what a chat client shows
 * around the conversation: "connecting", "reconnecting", ...), borrowed from
 * the flow: 1 with *key and *text set, 0 past the last. */
int lk_flow_console_text(const lk_flow *flow, int i, const char **key, const char **text);

/* The WhatsApp message template a reply goes as when it would leave more
 * than 24 hours after the user's last message (the flow's "outside_window"),
 * or NULL when the flow names none. Borrowed from the flow. */
typedef struct lk_flow_template {
    const char *name;          /* the approved template's name */
    const char *language;      /* its language code: "id", "en_US" */
    const char *const *params; /* the texts of its body parameters {{1}}, {{2}}, ... */
    int nparams;
} lk_flow_template;
const lk_flow_template *lk_flow_outside_window(const lk_flow *flow);

#endif
