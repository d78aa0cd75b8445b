/* The loader's private interface, shared by the files of src/flow that turn
 * JSON into an lk_flow (json_pos.c, load.c, states.c, dataset.c, expr.c,
 * template.c). Only src/flow sees cJSON; nothing outside includes this.
 *
 * cJSON records no positions, so every file is also walked by a strict
 * scanner (json_pos.c) in step with the cJSON tree; it remembers where each
 * node's key and value start, and every error names file:line:col. */
#ifndef LOKET_FLOW_LOAD_H
#define LOKET_FLOW_LOAD_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "flow_model.h"

#define LD_MAX_FILE (16u << 20) /* bytes per file */
#define LD_MAX_DEPTH 64         /* nesting of arrays and objects */
#define LD_MAX_INCLUDES 16      /* depth of include chains */
#define LD_MAX_LEXWARN 64       /* words the flow uses that the lexicon maps, reported */

typedef struct ld_file {
    char *path; /* as shown in diagnostics and given to fopen */
    char *dir;  /* directory for relative paths: "" or ending in '/' */
    char *text; /* NUL-terminated */
    size_t len;
    size_t *lines; /* byte offset of each line start */
    size_t nlines;
    cJSON *root;
} ld_file;

typedef struct ld_pos {
    const cJSON *node; /* NULL: empty slot */
    int file;
    uint32_t key_off, val_off; /* key_off == val_off when the node has no key */
} ld_pos;

/* A state, function or data set definition, from whichever file holds it. */
typedef struct ld_def {
    const char *name;
    const cJSON *node;
    int file;
} ld_def;

typedef struct ld {
    lk_flow *f;
    lk_diag *diag;
    int nerr;
    int oom;
    int eio; /* the main file could not be read */

    ld_file *files;
    int nfiles, capfiles;
    ld_pos *pos; /* open addressing by node pointer */
    size_t npos, cappos;

    char path[1024]; /* JSON path of what is being compiled */
    size_t plen;

    ld_def *states, *funcs, *dsets;
    int nstates, nfuncs, ndsets, capstates, capfuncs, capdsets;

    const cJSON *settings;
    const cJSON **table_nodes; /* per flow->tables entry */
    int captables;

    const char **vars;
    int nvars, capvars;
    lk_edge_info *edges;
    int nedges, capedges;

    /* while compiling a function body: its parameters */
    const char *const *params;
    int nparams;
} ld;

/* Value types accepted by ld_member, or-ed. */
enum { LD_STR = 1, LD_INT = 2, LD_BOOL = 4, LD_OBJ = 8, LD_ARR = 16 };

/* ---- json_pos.c: files, positions, diagnostics ---- */
/* Reads, checks and parses a file; its index or -1 after reporting (at from,
 * the include or data set naming it, when not NULL). -2: out of memory. */
int ld_file_load(ld *l, const char *path, const cJSON *from);
/* Same for text already in memory (malloc-ed, NUL at len; taken over). */
int ld_file_text(ld *l, const char *path, const char *dir, char *text, size_t len);
const ld_pos *ld_pos_of(const ld *l, const cJSON *node);
void ld_line_col(const ld *l, int file, size_t off, int *line, int *col);
void ld_err(ld *l, const cJSON *node, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ld_err_key(ld *l, const cJSON *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* At byte k of the decoded string node (escapes are mapped back to the file). */
void ld_err_in(ld *l, const cJSON *node, size_t k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* With an explicit JSON path instead of the current one. */
void ld_err_path(ld *l, const cJSON *node, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
size_t ld_push(ld *l, const char *key); /* appends .key to the path; returns a mark */
size_t ld_push_i(ld *l, int i);
void ld_pop(ld *l, size_t mark);

/* ---- access.c: typed access ---- */
int ld_is_ident(const char *s); /* letters, digits and _, not starting with a digit */
const char *ld_type_name(const cJSON *n);
/* 0 and *v for an integer written without fraction or exponent; -1 not an
 * integer; -2 out of range. */
int ld_int_of(const ld *l, const cJSON *node, int64_t *v);
/* Reports every key of obj not in allowed (NULL-terminated); what names the
 * object in the message. Returns the number of unknown keys. */
int ld_check_keys(ld *l, const cJSON *obj, const char *what, const char *const *allowed);
/* obj's member key if it has one of the types (LD_*); reports a wrong type,
 * and a missing key when required. NULL when absent or wrong. */
const cJSON *ld_member(ld *l, const cJSON *obj, const char *key, int types, int required,
                       const char *what);
int ld_is(const ld *l, const cJSON *n, int types);
/* obj.key into *out when it is an integer in [lo, hi]; *out is left as it is
 * when the key is absent. Out of range: the error is why, or "KEY is between
 * LO and HI" when why is NULL. */
void ld_int_member(ld *l, const cJSON *obj, const char *key, const char *what, int lo, int hi,
                   int *out, const char *why);
void ld_want(ld *l, const cJSON *n, int types); /* reports "expected ..., found ..." */

/* ---- load.c ---- */
void *ld_alloc(ld *l, size_t n); /* arena, zeroed; notes OOM */
char *ld_strdup(ld *l, const char *s);
char *ld_norm(ld *l, const char *s); /* lk_text_norm into the arena */
/* A word users type: normalised, or the trimmed text when that is all
 * punctuation ("?"), which normalising would erase. */
char *ld_word(ld *l, const char *s);
int ld_var(const ld *l, const char *name); /* slot or -1 */
int ld_state(const ld *l, const char *name);
int ld_dataset(const ld *l, const char *name);
int ld_edge(ld *l, int from, int to, const char *what); /* edge id or -1 */
int ld_target(ld *l, const cJSON *node); /* state index of a goto string, or -1 after reporting */

/* ---- sensitive.c: personal data ---- */
/* The state's "clear" list, after its keys were checked. */
void ld_state_clear(ld *l, lk_state *s, const cJSON *st);
/* flow->sensitive from the inputs marked "sensitive", after the states. */
void ld_sensitive(ld *l);

/* ---- expr.c / template.c ---- */
/* Compiles the expression at s[start..] where s is the decoded text of the
 * JSON string node. Outside templates the expression must fill the rest of
 * s; inside one it stops before '|' or '}}' and *end says where. NULL after
 * reporting an error. */
lk_expr *ld_expr(ld *l, const cJSON *node, const char *s, size_t start, int in_template,
                 size_t *end);
/* A `set` value or an `if`: a JSON integer or a string holding an expression. */
lk_expr *ld_expr_node(ld *l, const cJSON *node);
lk_template *ld_template(ld *l, const cJSON *node);
int ld_is_builtin(const char *name);
/* Checks that settings hold only strings, integers, arrays and objects. */
void ld_settings_check(ld *l, const cJSON *node);

/* ---- top.c: flow-wide blocks, in load order after the states ---- */
void ld_commands(ld *l);
void ld_settings_blocks(ld *l);
void ld_state_needs(ld *l); /* yes/no words, default invalid text */
void ld_pass_loops(ld *l);

/* ---- window.c: the template for replies outside WhatsApp's 24-hour window ---- */
void ld_outside_window(ld *l);

/* ---- lexload.c: the lexicon, clarify texts and answers ---- */
void ld_lexicon(ld *l); /* before anything that reads words */
void ld_clarify(ld *l);
/* "console": the texts a chat client (the web console) shows. top.c. */
void ld_console(ld *l);
/* The canonical form of a flow word (lexicon applied; with drop, fillers
 * dropped too) in the arena; notes lexicon words the flow itself uses. */
char *ld_canon(ld *l, const char *s, int drop);
void ld_state_words(ld *l, lk_state *s, const cJSON *st, const char *what);

/* ---- states.c / dataset.c ---- */
void ld_states(ld *l);
void ld_datasets(ld *l);

#endif
