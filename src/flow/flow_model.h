/* The compiled form of a flow: what the loader (src/flow) builds from JSON and
 * the engine (src/engine) runs. Only these two parts include this header.
 *
 * Everything a flow owns lives in its arena and is freed with the flow. Names
 * are resolved at load time: variables become slots, states and datasets
 * become indexes, settings become constants, texts become templates whose
 * placeholders are compiled expressions. Nothing in here is changed after
 * lk_flow_load returns. */
#ifndef LOKET_FLOW_MODEL_H
#define LOKET_FLOW_MODEL_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "loket/flow.h"

/* ---- arena ----------------------------------------------------------------- */
typedef struct lk_arena_block {
    struct lk_arena_block *next;
    size_t used, cap;
    /* data follows, max-aligned */
} lk_arena_block;

typedef struct lk_arena {
    lk_arena_block *head;
} lk_arena;

void *lk_arena_alloc(lk_arena *a, size_t n); /* zeroed; NULL on OOM */
char *lk_arena_strdup(lk_arena *a, const char *s);
char *lk_arena_strndup(lk_arena *a, const char *s, size_t n);
void lk_arena_free(lk_arena *a);

/* ---- values ------------------------------------------------------------------ */
typedef enum lk_vtype { LK_VT_NULL = 0, LK_VT_INT, LK_VT_STR } lk_vtype;

/* A constant value (settings, string literals, dataset fields). Integers are
 * int64: money is exact rupiah, never floating point. */
typedef struct lk_value {
    lk_vtype type;
    int64_t i;
    const char *s; /* arena; NUL-terminated */
    size_t n;
} lk_value;

/* ---- expressions ---------------------------------------------------------------
 * Syntax (flows/README.md): integers, "strings", variables, settings.a.b,
 * settings.a[expr], + - * / % (integer; / and % by zero give 0), == != < <= >
 * >=, && || ! (also and, or, not), parentheses, calls of builtins and of the
 * flow's own functions. Strings compare by bytes; a string in arithmetic is
 * its leading integer (or 0); null is 0 and "". */
typedef enum lk_op {
    LK_X_CONST, /* value */
    LK_X_VAR,   /* slot */
    LK_X_PARAM, /* slot = parameter index of the enclosing function */
    LK_X_NEG,
    LK_X_NOT,
    LK_X_ADD,
    LK_X_SUB,
    LK_X_MUL,
    LK_X_DIV,
    LK_X_MOD,
    LK_X_EQ,
    LK_X_NE,
    LK_X_LT,
    LK_X_LE,
    LK_X_GT,
    LK_X_GE,
    LK_X_AND,
    LK_X_OR,
    LK_X_BUILTIN, /* slot = lk_builtin */
    LK_X_FUNC,    /* slot = index into flow->funcs */
    LK_X_INDEX,   /* slot = index into flow->tables; args[0] is the key */
} lk_op;

typedef enum lk_builtin {
    LK_FN_MIN,           /* min(a, b, ...) */
    LK_FN_MAX,           /* max(a, b, ...) */
    LK_FN_ABS,           /* abs(a) */
    LK_FN_IF,            /* if(cond, a, b): only the chosen side is evaluated */
    LK_FN_LOCAL_WEEKDAY, /* local_weekday(offset_min): 0 Sunday .. 6 Saturday at now */
    LK_FN_LOCAL_MINUTES, /* local_minutes(offset_min): minutes since local midnight */
    LK_FN_MINUTES,       /* minutes("08:00") = 480 */
    LK_FN_CONTAINS,      /* contains(text, word): normalised whole-word match */
    LK_FN_LEN,           /* len(s): code points */
    LK_FN__COUNT
} lk_builtin;

typedef struct lk_expr {
    lk_op op;
    int slot;
    lk_value v; /* LK_X_CONST */
    int nargs;
    struct lk_expr **args; /* unary: args[0]; binary: args[0], args[1] */
} lk_expr;

typedef struct lk_func {
    const char *name;
    int nparams;
    const char **params;
    lk_expr *body;
} lk_func;

/* settings.fee[k]: a settings object or array compiled to key -> value pairs
 * (array keys are "0", "1", ...). The key expression's value is compared as
 * text (an integer 3 matches the key "3"). */
typedef struct lk_table {
    const char *name; /* "fee" */
    int n;
    const char **keys;
    lk_value *vals;
} lk_table;

/* ---- templates ---------------------------------------------------------------
 * "Total {{ total | money }}": literal runs and placeholders. A placeholder is
 * an expression with an optional filter. */
typedef enum lk_filter {
    LK_F_NONE = 0,
    LK_F_MONEY,  /* Rp3.750.000 */
    LK_F_NUMBER, /* 3.750.000 */
    LK_F_UPPER,
    LK_F_LOWER,
} lk_filter;

typedef struct lk_tseg {
    const char *lit; /* literal text when expr is NULL */
    size_t n;
    lk_expr *expr;
    lk_filter filter;
} lk_tseg;

typedef struct lk_template {
    int nsegs;
    lk_tseg *segs;
    const char *src; /* the source text, for diagnostics */
} lk_template;

/* ---- datasets ----------------------------------------------------------------
 * Rows read from a JSON file: {"id", "name", "parent"?, "aliases"?, other
 * fields...}. Rows are sorted by parent (then file order) so the children of
 * one parent row are the range [child_first[p], child_first[p] + child_count[p]). */
typedef struct lk_row {
    const char *id;
    const char *name; /* as shown: "Kota Bandung" */
    const char *norm; /* normalised full name: "kota bandung" */
    const char *bare; /* normalised without a prefix: "bandung" */
    int klass;        /* index into dataset->classes of the name's prefix, or -1 */
    int parent;       /* row index in the parent dataset, or -1 */
    int naliases;
    const char **aliases; /* normalised */
    lk_value *fields;     /* dataset->nfields values (NULL type when absent) */
} lk_row;

typedef struct lk_prefix {
    const char *word; /* normalised prefix as typed: "kab" */
    int klass;        /* class index: "kabupaten" */
} lk_prefix;

typedef struct lk_dataset {
    const char *name;
    const char *file;
    int nrows;
    lk_row *rows;
    int parent;       /* dataset index, or -1 */
    int *child_first; /* per parent row, when parent >= 0 */
    int *child_count;
    int nfields;
    const char **field_names; /* extra fields, exposed as <var>_<field> */
    int nclasses;
    const char **classes; /* "kota", "kabupaten" */
    int nprefixes;
    lk_prefix *prefixes; /* longest first */
    int nstrip;
    const char **strip; /* words dropped from input: "provinsi" */
    int nreplace;
    const char **replace_from; /* whole words replaced in input: "sumatra" */
    const char **replace_to;   /* -> "sumatera" */
    int fuzzy;                 /* max edit distance for typos (default 2) */
} lk_dataset;

/* ---- states -------------------------------------------------------------------- */
typedef struct lk_edge {
    lk_expr *cond; /* NULL: always */
    int target;    /* state index */
    int id;        /* index into flow->edges */
} lk_edge;

typedef struct lk_assign {
    int slot;
    lk_expr *expr;
} lk_assign;

typedef struct lk_option {
    const char *title;       /* shown after its number: "1. Cek Status Peserta" */
    const char *key;         /* shown instead of the number when set ("J"); also selects it */
    const char *short_title; /* title for channel buttons and list rows; NULL: title */
    int nwords;
    const char **words; /* normalised words that also select it (title included) */
    int nset;
    lk_assign *set; /* assignments when chosen */
    lk_edge edge;   /* cond is NULL */
} lk_option;

typedef enum lk_vkind {
    LK_V_TEXT = 0, /* any text up to max_len code points */
    LK_V_DIGITS,   /* only digits, of one of lens[] lengths (spaces and dashes ignored) */
    LK_V_NUMBER,   /* an integer in [min, max]; "5 bulan" gives 5 */
    LK_V_DATE,     /* yyyy-mm-dd, a real date; not_future: not after today at now */
    LK_V_REGEX,    /* POSIX ERE, case-insensitive, on the raw trimmed text */
    LK_V_YESNO,    /* flow->yes / flow->no words; stores 1 or 0 */
    LK_V_WORDS,    /* one of words[] (normalised); stores the normalised word */
    LK_V_MEDIA,    /* media of one of accept[]: stores its id; <var>_type, _mime, _caption */
} lk_vkind;

typedef struct lk_validator {
    lk_vkind kind;
    int nlens;
    int lens[4];
    int64_t min, max;
    int not_future;
    int max_len;
    regex_t re;
    int has_re;
    int nwords;
    const char **words;
    int nunits;                /* LK_V_NUMBER: words after a number that multiply it */
    const char **units;        /* normalised: "juta" */
    const int64_t *unit_mult;  /* 1000000 */
    lk_template *confirm;      /* a plain value to confirm ("lebih", a correction): {{match}} */
    lk_template *unit_refused; /* a number with another question's unit ("kelas 2") */
    int naccept;               /* LK_V_MEDIA: the media types taken ("image", "document") */
    const char **accept;
    int media_slots[3]; /* LK_V_MEDIA: slots of <var>_type, <var>_mime, <var>_caption */
    int sensitive;             /* personal data: masked in the log (src/flow/sensitive.c) */
} lk_validator;

typedef struct lk_choice {
    int dataset;
    int var;                /* slot receiving the row's name; <var>_id gets its id */
    int id_slot;            /* slot of <var>_id */
    int *field_slots;       /* per dataset field: slot of <var>_<field> */
    int parent_var;         /* slot of an earlier choice's <var>_id filtering rows, or -1 */
    int page;               /* rows per page of the list (default 10) */
    lk_template *confirm;   /* fuzzy match: "Maksud Anda *{{match}}*? (ya/tidak)" */
    lk_template *ambiguous; /* several rows share the name; the numbered list follows */
    lk_template *elsewhere; /* the name belongs to another parent: {{match}} {{match_parent}} */
    lk_template *more;      /* after a page that is not the last */
    int children;           /* data set whose rows have this one's rows as parents, or -1 */
    lk_template *child;     /* a row of children was named: {{match}} in {{match_parent}}? */
    const char *more_word;  /* normalised word that shows the next page ("lagi") */
} lk_choice;

typedef enum lk_skind {
    LK_S_PASS = 0, /* no input: say, then follow next at once */
    LK_S_MENU,
    LK_S_INPUT,
    LK_S_CHOICE,
    LK_S_END, /* say, then the session ends; the next message starts over */
} lk_skind;

typedef struct lk_state {
    const char *name;
    const char *file; /* where it is defined, for diagnostics */
    int line, col;
    lk_skind kind;
    int nset;
    lk_assign *set; /* evaluated in order on entry, before say */
    int nsay;
    lk_template **say; /* one reply each, sent on entry */
    int noptions;      /* LK_S_MENU */
    lk_option *options;
    lk_validator input;   /* LK_S_INPUT */
    int var;              /* LK_S_INPUT: slot receiving the value */
    lk_choice choice;     /* LK_S_CHOICE */
    lk_template *invalid; /* reply to invalid input; NULL: the flow's default */
    int nnext;
    lk_edge *next; /* first edge whose cond holds is taken */
    int ndata_words;
    const char **data_words; /* command words that are input here (e.g. "0") */
    int numbers_are_data;    /* input expects a number: digit-only commands are data */
    int no_history;          /* not a step `kembali` returns to (pass states) */
    int nyes, nno;           /* this question's own yes and no words ("masih", "lulus") */
    const char **yes, **no;  /* canonical */
    int64_t expire_ms;       /* idle time here; 0: the flow's */
    lk_template *resume;     /* after that time: offer to go on here (ya/tidak) */
    int nclear;
    int *clear; /* slots unset on entry, after say ("clear"; sensitive.c) */
} lk_state;

typedef enum lk_cmd_action {
    LK_CMD_GOTO = 0, /* go to target (and say, if set, first) */
    LK_CMD_BACK,     /* back to the previous input state, re-prompted */
    LK_CMD_SAY,      /* say, and stay in the current state */
    LK_CMD_END,      /* say, then end the session */
} lk_cmd_action;

typedef struct lk_command {
    const char *name;
    int nwords;
    const char **words;  /* normalised; the whole input must equal one */
    const char **cwords; /* the same, canonical (lexicon, fillers): "" when nothing is left */
    int anywhere;        /* also when a word stands among the words of a longer message */
    lk_cmd_action action;
    int target; /* LK_CMD_GOTO */
    lk_template *say;
    int edge; /* edge id for coverage of GOTO/END; -1 otherwise */
} lk_command;

/* Every transition of the flow, numbered for coverage. */
typedef struct lk_edge_info {
    int from, to;     /* from = -1 for global commands */
    const char *what; /* "next[1]", "menu 3", "command menu" */
} lk_edge_info;

/* ---- the lexicon: how people write (flows/README.md, "Lexicon") --------------------
 * Every list is sorted by word, for binary search. Words are normalised. */
typedef struct lk_wordnum {
    const char *w;
    int64_t v;
} lk_wordnum;

typedef struct lk_wordmap {
    const char *w;
    const char *to; /* canonical: one or more words, or "" to drop */
} lk_wordmap;

typedef struct lk_lexicon {
    int nmap;
    lk_wordmap *map; /* colloquial -> canonical, applied to users' and the flow's words */
    int nfill;
    const char **fill; /* words matching ignores ("kak", "dong") */
    int npre, nsuf;
    const char **pre, **suf; /* word forms: longest first, not sorted */
    int nnum, nmul, nadd, ncoll, nmonth;
    lk_wordnum *num;       /* "satu" 1, "sepuluh" 10 */
    lk_wordnum *mul;       /* "puluh" 10, "ratus" 100, "ribu" 1000 */
    lk_wordnum *add;       /* "belas" 10: added to the number before it */
    lk_wordnum *coll;      /* "berdua" 2: a count of people */
    lk_wordnum *month;     /* "agustus" 8, "agt" 8 */
    const char *one;       /* "se": "seratus", "setahun" are one of the rest */
    const char *coll_unit; /* the unit a collective word counts ("orang") */
    int nunit, nhedge, nneg, ncue, nq;
    const char **unit;  /* words that qualify a number ("kelas", "bulan") */
    const char **hedge; /* "lebih", "kurang": the number is not exact */
    const char **neg;   /* "tidak", "belum": a yes word after one is no */
    const char **cue;   /* "eh", "salah", "maksudnya": a correction */
    const char **q;     /* "apa", "berapa": a question */
} lk_lexicon;

/* An answer to a question asked in the middle of a flow. */
typedef struct lk_answer {
    int nwords;
    const char **words; /* canonical */
    lk_template *say;
} lk_answer;

/* What a person wrote, read once per message: the normalised text with the
 * lexicon applied (map), and without fillers and correction cues (bare).
 * Tokens point into these buffers. */
#define LK_CANON_MAX 1024
#define LK_TOK_MAX 64
typedef struct lk_canon {
    char map[LK_CANON_MAX];
    size_t mapn;
    char bare[LK_CANON_MAX]; /* fillers and cues dropped; the map when that leaves nothing */
    size_t baren;
    int cue;      /* a correction cue was dropped */
    int question; /* a question word, or '?' in the text */
    int qword;    /* a question word ("apa"), not only '?' */
} lk_canon;

/* Normalises and applies the lexicon (lex may be NULL: plain normalisation). */
void lk_canon_read(const lk_lexicon *lex, const char *raw, size_t rn, lk_canon *c);
/* The canonical form of a flow word, into out (cap bytes): its length. With
 * drop, fillers go too (unless nothing would be left). */
size_t lk_canon_word(const lk_lexicon *lex, const char *s, size_t n, int drop, char *out,
                     size_t cap);
/* The stem of word w (wn bytes) into out: a number word as digits, else the
 * word without the lexicon's prefixes and suffixes while 4 letters stay. */
size_t lk_lex_stem(const lk_lexicon *lex, const char *w, size_t wn, char *out, size_t cap);
/* Looks w up in a sorted list: index or -1. */
int lk_lex_find(const char *const *list, int n, const char *w, size_t wn);
int lk_lex_num(const lk_wordnum *list, int n, const char *w, size_t wn, int64_t *v);
/* The canonical words of w, or NULL when the lexicon does not map it. */
const char *lk_lex_map(const lk_lexicon *lex, const char *w, size_t wn);

/* Reserved variable slots, present in every flow. */
enum {
    LK_SLOT_INPUT = 0,    /* the raw text of the message being handled */
    LK_SLOT_MATCH,        /* choice states: the candidate's name */
    LK_SLOT_MATCH_PARENT, /* choice states: the candidate's parent row name */
    LK_SLOT__RESERVED
};

struct lk_flow {
    lk_arena arena;
    const char *name;
    const char *path;

    int nstates;
    lk_state *states;
    int start;
    int *state_by_name; /* state indexes sorted by name, for lookups */

    int nvars;
    const char **vars; /* slot -> name; the reserved ones first */

    int nfuncs;
    lk_func *funcs;
    int ntables;
    lk_table *tables;
    int ndatasets;
    lk_dataset *datasets;
    int ncommands;
    lk_command *commands; /* in precedence order */

    int nyes, nno;
    const char **yes, **no; /* normalised */

    lk_lexicon lex;
    int nanswers;
    lk_answer *answers;        /* questions inside a flow */
    lk_template *which;        /* several menu options fit: the list of them follows */
    lk_template *confirm;      /* a typo of an option: {{match}} is its title */
    lk_template *unit_refused; /* default for a number with another question's unit */
    lk_template *two_numbers;  /* a message with two different numbers */
    lk_template *stale;        /* a tap on a list or button of an earlier question */
    lk_template *media;        /* media (no caption) where no input takes it */
    const char *list_button;   /* label of the button that opens a list; NULL: none */
    int nlexwarn;
    const char **lexwarn; /* "word -> other": the lexicon maps a word the flow uses */

    int invalid_limit;    /* invalid replies in a row before escape (3) */
    lk_template *invalid; /* default reply to invalid input */
    lk_template *escape;  /* after invalid_limit: offer menu and 165 */
    int64_t expire_ms;    /* idle time after which a session starts over; 0 never */
    lk_template *expired; /* said on the next contact after expiry */
    int max_steps;        /* states entered per message (default 64) */
    int history;          /* depth of the `kembali` stack (default 16) */

    int nedges;
    lk_edge_info *edges;

    lk_flow_template *outside_window; /* window.c; NULL when the flow names none */

    int nconsole; /* the "console" section: texts a chat client shows around the talk */
    const char **console_keys, **console_texts;
    int nsensitive;
    int *sensitive; /* slots of inputs marked "sensitive" (sensitive.c) */
};

#endif
