/* States: say, set, menus, inputs, choices, end, next, invalid texts and
 * data words, compiled into lk_state with every name resolved and every
 * transition numbered as an edge. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

typedef struct name_ix {
    const char *name;
    int i;
} name_ix;

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

static lk_assign *assigns(ld *l, const cJSON *set, int *n)
{
    const cJSON *c;
    lk_assign *a;

    *n = 0;
    if (!set)
        return NULL;
    a = ld_alloc(l, ((size_t)cJSON_GetArraySize(set) + 1) * sizeof *a);
    for (c = set->child; c && a; c = c->next) {
        size_t mark = ld_push(l, "set");
        int slot = ld_var(l, c->string);
        ld_push(l, c->string);
        if (slot >= 0) { /* names that are not variables were reported already */
            a[*n].slot = slot;
            if ((a[*n].expr = ld_expr_node(l, c)))
                (*n)++;
        }
        ld_pop(l, mark);
    }
    return a;
}

/* The normalised words of arr, after first and second (a menu option's title
 * and key) when they are given. */
static const char **words(ld *l, const cJSON *arr, int *n, const char *first, const char *second,
                          int canon)
{
    const cJSON *c;
    const char **w;
    int k = 0, j;

    *n = 0;
    w = ld_alloc(l, ((size_t)cJSON_GetArraySize(arr) + 3) * sizeof *w);
    if (!w)
        return NULL;
    if (first && *first)
        w[(*n)++] = first;
    if (second && *second && !(first && strcmp(first, second) == 0))
        w[(*n)++] = second;
    for (c = arr ? arr->child : NULL; c; c = c->next, k++) {
        size_t mark = ld_push_i(l, k);
        const char *nw = NULL;
        if (!cJSON_IsString(c)) {
            ld_want(l, c, LD_STR);
        } else if ((nw = canon ? ld_canon(l, c->valuestring, 1) : ld_word(l, c->valuestring)) &&
                   !*nw) {
            ld_err(l, c, "empty word");
        } else if (nw) {
            for (j = 0; j < *n && strcmp(w[j], nw) != 0; j++)
                ;
            if (j == *n)
                w[(*n)++] = nw;
        }
        ld_pop(l, mark);
    }
    return w;
}

static void menu(ld *l, lk_state *s, int si, const cJSON *arr, int *needs_next)
{
    static const char *const keys[] = {"title", "key", "short", "words", "set", "goto", NULL};
    const cJSON *c;
    int k = 0;

    if (!arr->child)
        ld_err(l, arr, "a menu needs at least one option");
    s->options = ld_alloc(l, ((size_t)cJSON_GetArraySize(arr) + 1) * sizeof *s->options);
    for (c = arr->child; c && s->options; c = c->next, k++) {
        lk_option *o = &s->options[s->noptions++];
        const cJSON *title, *w, *set, *go, *key, *shorter;
        char what[300];
        size_t mark = ld_push_i(l, k);

        o->edge.target = -1;
        o->edge.id = -1;
        if (!cJSON_IsObject(c)) {
            ld_want(l, c, LD_OBJ);
            ld_pop(l, mark);
            continue;
        }
        snprintf(what, sizeof what, "option %d of state '%s'", k + 1, s->name);
        ld_check_keys(l, c, what, keys);
        title = ld_member(l, c, "title", LD_STR, 1, what);
        w = ld_member(l, c, "words", LD_ARR, 0, what);
        set = ld_member(l, c, "set", LD_OBJ, 0, what);
        go = ld_member(l, c, "goto", LD_STR, 0, what);
        key = ld_member(l, c, "key", LD_STR, 0, what);
        shorter = ld_member(l, c, "short", LD_STR, 0, what);
        if (key) {
            size_t m2 = ld_push(l, "key");
            const char *nk = ld_norm(l, key->valuestring);
            o->key = ld_strdup(l, key->valuestring);
            if (nk && (!*nk || strchr(nk, ' ')))
                ld_err(l, key, "a key is one word, such as \"J\"");
            ld_pop(l, m2);
        }
        if (shorter) {
            size_t m2 = ld_push(l, "short");
            o->short_title = ld_strdup(l, shorter->valuestring);
            if (!*shorter->valuestring)
                ld_err(l, shorter, "the short title is empty");
            ld_pop(l, m2);
        }
        if (title) {
            const char *nt = ld_canon(l, title->valuestring, 1);
            size_t m2 = ld_push(l, "title");
            o->title = ld_strdup(l, title->valuestring);
            if (nt && !*nt)
                ld_err(l, title, "the title is empty once normalised");
            ld_pop(l, m2);
            m2 = ld_push(l, "words");
            o->words = words(l, w, &o->nwords, nt, key ? ld_norm(l, key->valuestring) : NULL, 1);
            ld_pop(l, m2);
        }
        o->set = assigns(l, set, &o->nset);
        if (go) {
            size_t m2 = ld_push(l, "goto");
            o->edge.target = ld_target(l, go);
            ld_pop(l, m2);
        } else {
            *needs_next = 1;
        }
        snprintf(what, sizeof what, "menu %d", k + 1);
        o->edge.id = ld_edge(l, si, o->edge.target, what);
        ld_pop(l, mark);
    }
}

/* "units": {"juta": 1000000, "ribu": 1000}: words that may follow a number
 * ("20 juta", "1,5 jt") and multiply it. */
static void units(ld *l, lk_validator *v, const cJSON *obj)
{
    size_t mark = ld_push(l, "units");
    int n = cJSON_GetArraySize(obj), k = 0;
    const char **w = ld_alloc(l, ((size_t)n + 1) * sizeof *w);
    int64_t *m = ld_alloc(l, ((size_t)n + 1) * sizeof *m);
    const cJSON *c;

    for (c = obj->child; c && w && m; c = c->next) {
        size_t m2 = ld_push(l, c->string);
        const char *nw = ld_canon(l, c->string, 0);
        int64_t mult;
        if (!nw || !*nw || strchr(nw, ' ') || (nw[0] >= '0' && nw[0] <= '9'))
            ld_err_key(l, c, "a unit is one word, such as \"juta\"");
        else if (!cJSON_IsNumber(c) || ld_int_of(l, c, &mult) != 0 || mult < 1 ||
                 mult > INT64_C(1000000000000))
            ld_err(l, c, "a unit multiplies by an integer from 1 to 1000000000000");
        else {
            w[k] = nw;
            m[k++] = mult;
        }
        ld_pop(l, m2);
    }
    v->units = w;
    v->unit_mult = m;
    v->nunits = k;
    ld_pop(l, mark);
}

/* A media input: "accept": ["image", "document"] (default: every media type), and the
 * slots of <var>_type, <var>_mime and <var>_caption (load.c made them). */
static void media_accept(ld *l, lk_state *s, const cJSON *in, const char *what)
{
    static const char *const known[] = {"image",    "audio",   "voice",    "video",
                                        "document", "sticker", "location", "contacts"};
    static const char *const sfx[] = {"_type", "_mime", "_caption"};
    lk_validator *v = &s->input;
    const cJSON *a = ld_member(l, in, "accept", LD_ARR, 0, what), *e;
    const cJSON *var = cJSON_GetObjectItemCaseSensitive(in, "var");
    char name[128];
    int k, j;

    for (k = 0; k < 3; k++) {
        v->media_slots[k] = -1;
        if (cJSON_IsString(var) && strlen(var->valuestring) < 100) {
            snprintf(name, sizeof name, "%s%s", var->valuestring, sfx[k]);
            v->media_slots[k] = ld_var(l, name);
        }
    }
    if (!a)
        return;
    size_t mark = ld_push(l, "accept");
    v->accept = ld_alloc(l, ((size_t)cJSON_GetArraySize(a) + 1) * sizeof *v->accept);
    for (e = a->child, k = 0; e && v->accept; e = e->next, k++) {
        size_t m2 = ld_push_i(l, k);
        for (j = 0; j < (int)(sizeof known / sizeof known[0]); j++)
            if (cJSON_IsString(e) && !strcmp(e->valuestring, known[j]))
                break;
        if (j == (int)(sizeof known / sizeof known[0]))
            ld_err(l, e,
                   "accept lists media types: image, audio, voice, video, document, sticker, "
                   "location, contacts");
        else
            v->accept[v->naccept++] = known[j];
        ld_pop(l, m2);
    }
    if (!a->child)
        ld_err(l, a, "accept needs at least one media type (or leave it out for every type)");
    ld_pop(l, mark);
}

static void input(ld *l, lk_state *s, const cJSON *in)
{
    static const char *const keys[] = {"var",     "type",         "max_len",   "lengths", "min",
                                       "max",     "not_future",   "pattern",   "words",   "units",
                                       "confirm", "unit_refused", "accept",    "sensitive", NULL};
    static const struct {
        const char *name;
        lk_vkind kind;
        const char *keys; /* its own keys, space separated */
    } types[] = {
        {"text", LK_V_TEXT, " max_len "},
        {"digits", LK_V_DIGITS, " lengths "},
        {"number", LK_V_NUMBER, " min max units confirm unit_refused "},
        {"date", LK_V_DATE, " not_future confirm "},
        {"regex", LK_V_REGEX, " pattern "},
        {"yesno", LK_V_YESNO, " "},
        {"words", LK_V_WORDS, " words "},
        {"media", LK_V_MEDIA, " accept "},
    };
    lk_validator *v = &s->input;
    const cJSON *var, *type, *c;
    char key[40], what[300];
    int t = -1, k;
    int64_t n;

    s->var = -1;
    v->max_len = 200;
    v->min = INT64_MIN;
    v->max = INT64_MAX;
    snprintf(what, sizeof what, "the input of state '%s'", s->name);
    ld_check_keys(l, in, what, keys);
    if ((var = ld_member(l, in, "var", LD_STR, 1, what)))
        s->var = ld_var(l, var->valuestring);
    if ((type = ld_member(l, in, "type", LD_STR, 1, what))) {
        for (k = 0; k < (int)(sizeof types / sizeof types[0]); k++)
            if (strcmp(types[k].name, type->valuestring) == 0)
                t = k;
        if (t < 0) {
            size_t mark = ld_push(l, "type");
            ld_err(l, type,
                   "unknown input type '%s' (types: text, digits, number, date, regex, "
                   "yesno, words, media)",
                   type->valuestring);
            ld_pop(l, mark);
            return;
        }
    }
    if (t < 0)
        return;
    v->kind = types[t].kind;
    for (c = in->child; c; c = c->next) {
        size_t mark;
        if (!strcmp(c->string, "var") || !strcmp(c->string, "type") ||
            !strcmp(c->string, "sensitive"))
            continue;
        snprintf(key, sizeof key, " %s ", c->string);
        if (strstr(types[t].keys, key))
            continue;
        for (k = 0; k < (int)(sizeof types / sizeof types[0]) && !strstr(types[k].keys, key); k++)
            ;
        if (k == (int)(sizeof types / sizeof types[0]))
            continue; /* an unknown key, reported above */
        mark = ld_push(l, c->string);
        ld_err_key(l, c, "'%s' is for inputs of type %s, not %s", c->string, types[k].name,
                   types[t].name);
        ld_pop(l, mark);
    }
    ld_int_member(l, in, "max_len", what, 1, 100000, &v->max_len, NULL);
    if ((c = ld_member(l, in, "lengths", LD_ARR, 0, what))) {
        const cJSON *e;
        size_t mark = ld_push(l, "lengths");
        if (cJSON_GetArraySize(c) > 4)
            ld_err(l, c, "at most 4 lengths");
        for (e = c->child, k = 0; e && v->nlens < 4; e = e->next, k++) {
            size_t m2 = ld_push_i(l, k);
            if (ld_int_of(l, e, &n) != 0 || n < 1 || n > 64)
                ld_err(l, e, "a length is an integer between 1 and 64");
            else
                v->lens[v->nlens++] = (int)n;
            ld_pop(l, m2);
        }
        ld_pop(l, mark);
    }
    if ((c = ld_member(l, in, "min", LD_INT, 0, what)))
        ld_int_of(l, c, &v->min);
    if ((c = ld_member(l, in, "max", LD_INT, 0, what)))
        ld_int_of(l, c, &v->max);
    if (v->min > v->max)
        ld_err(l, in, "min (%lld) is larger than max (%lld)", (long long)v->min, (long long)v->max);
    if ((c = ld_member(l, in, "units", LD_OBJ, 0, what)))
        units(l, v, c);
    if ((c = ld_member(l, in, "confirm", LD_STR, 0, what))) {
        size_t mark = ld_push(l, "confirm");
        v->confirm = ld_template(l, c);
        ld_pop(l, mark);
    }
    if ((c = ld_member(l, in, "unit_refused", LD_STR, 0, what))) {
        size_t mark = ld_push(l, "unit_refused");
        v->unit_refused = ld_template(l, c);
        ld_pop(l, mark);
    }
    if ((c = ld_member(l, in, "not_future", LD_BOOL, 0, what)))
        v->not_future = cJSON_IsTrue(c);
    if ((c = ld_member(l, in, "sensitive", LD_BOOL, 0, what)))
        v->sensitive = cJSON_IsTrue(c);
    if (v->kind == LK_V_REGEX && (c = ld_member(l, in, "pattern", LD_STR, 1, what))) {
        int rc = regcomp(&v->re, c->valuestring, REG_EXTENDED | REG_ICASE | REG_NOSUB);
        size_t mark = ld_push(l, "pattern");
        if (rc != 0) {
            char msg[256];
            regerror(rc, &v->re, msg, sizeof msg);
            ld_err(l, c, "the pattern does not compile: %s", msg);
        } else {
            v->has_re = 1;
        }
        ld_pop(l, mark);
    }
    if (v->kind == LK_V_MEDIA)
        media_accept(l, s, in, what);
    if (v->kind == LK_V_WORDS && (c = ld_member(l, in, "words", LD_ARR, 1, what))) {
        size_t mark = ld_push(l, "words");
        v->words = words(l, c, &v->nwords, NULL, NULL, 1);
        if (!c->child)
            ld_err(l, c, "a words input needs at least one word");
        ld_pop(l, mark);
    }
}

/* The choice whose var is name, and its data set; -1 when none. */
static int choice_of_var(ld *l, const char *name, int *ds)
{
    int i;
    for (i = 0; i < l->nstates; i++) {
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(l->states[i].node, "choice");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ch, "var");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(ch, "dataset");
        if (cJSON_IsString(v) && strcmp(v->valuestring, name) == 0) {
            *ds = cJSON_IsString(d) ? ld_dataset(l, d->valuestring) : -1;
            return i;
        }
    }
    return -1;
}

static void choice(ld *l, lk_state *s, const cJSON *ch)
{
    static const char *const keys[] = {"dataset",   "var",       "parent",    "page",
                                       "confirm",   "ambiguous", "elsewhere", "more",
                                       "more_word", "children",  "child",     NULL};
    static const char *const texts[] = {"confirm", "ambiguous", "elsewhere", "more", "child"};
    lk_choice *c = &s->choice;
    const lk_dataset *ds = NULL;
    const cJSON *v;
    char name[256], what[300];
    int k;

    snprintf(what, sizeof what, "the choice of state '%s'", s->name);
    c->dataset = c->var = c->id_slot = c->parent_var = c->children = -1;
    c->page = 10;
    ld_check_keys(l, ch, what, keys);
    if ((v = ld_member(l, ch, "dataset", LD_STR, 1, what))) {
        size_t mark = ld_push(l, "dataset");
        if ((c->dataset = ld_dataset(l, v->valuestring)) < 0)
            ld_err(l, v, "no data set named '%s'", v->valuestring);
        else
            ds = &l->f->datasets[c->dataset];
        ld_pop(l, mark);
    }
    if ((v = ld_member(l, ch, "var", LD_STR, 1, what)) && strlen(v->valuestring) < 100) {
        c->var = ld_var(l, v->valuestring);
        snprintf(name, sizeof name, "%s_id", v->valuestring);
        c->id_slot = ld_var(l, name);
        if (ds) {
            c->field_slots = ld_alloc(l, ((size_t)ds->nfields + 1) * sizeof *c->field_slots);
            for (k = 0; k < ds->nfields && c->field_slots; k++) {
                snprintf(name, sizeof name, "%s_%s", v->valuestring, ds->field_names[k]);
                c->field_slots[k] = ld_var(l, name);
            }
        }
    }
    if ((v = ld_member(l, ch, "parent", LD_STR, 0, what)) && ds) {
        size_t mark = ld_push(l, "parent");
        int pds = -1;
        if (ds->parent < 0)
            ld_err(l, v, "data set '%s' has no parent data set to filter by", ds->name);
        else if (choice_of_var(l, v->valuestring, &pds) < 0)
            ld_err(l, v, "no choice sets '%s' (parent names the var of an earlier choice)",
                   v->valuestring);
        else if (pds != ds->parent)
            ld_err(l, v,
                   "'%s' is chosen from data set '%s', but the rows of '%s' have parents "
                   "in '%s'",
                   v->valuestring, pds >= 0 ? l->f->datasets[pds].name : "?", ds->name,
                   l->f->datasets[ds->parent].name);
        else if (strlen(v->valuestring) < 100) {
            snprintf(name, sizeof name, "%s_id", v->valuestring);
            c->parent_var = ld_var(l, name);
        }
        ld_pop(l, mark);
    }
    ld_int_member(l, ch, "page", what, 1, 100, &c->page, "page is between 1 and 100 rows");
    if ((v = ld_member(l, ch, "children", LD_STR, 0, what)) && ds) {
        size_t mark = ld_push(l, "children");
        if ((c->children = ld_dataset(l, v->valuestring)) < 0)
            ld_err(l, v, "no data set named '%s'", v->valuestring);
        else if (l->f->datasets[c->children].parent != c->dataset)
            ld_err(l, v, "the rows of '%s' do not have parents in '%s'", v->valuestring, ds->name);
        ld_pop(l, mark);
        if (c->children >= 0 && !ld_member(l, ch, "child", LD_STR, 1, what))
            c->children = -1;
    }
    for (k = 0; k < 5; k++) {
        lk_template **t[] = {&c->confirm, &c->ambiguous, &c->elsewhere, &c->more, &c->child};
        if ((v = ld_member(l, ch, texts[k], LD_STR, 0, what))) {
            size_t mark = ld_push(l, texts[k]);
            *t[k] = ld_template(l, v);
            ld_pop(l, mark);
        }
    }
    if ((v = ld_member(l, ch, "more_word", LD_STR, 0, what))) {
        size_t mark = ld_push(l, "more_word");
        c->more_word = ld_norm(l, v->valuestring);
        if (c->more_word && !*c->more_word)
            ld_err(l, v, "more_word is empty once normalised");
        ld_pop(l, mark);
    }
}

static void next(ld *l, lk_state *s, int si, const cJSON *nx)
{
    static const char *const keys[] = {"if", "goto", NULL};
    const cJSON *c;
    int k = 0, uncond = -1;

    if (cJSON_IsString(nx)) {
        s->next = ld_alloc(l, sizeof *s->next);
        if (!s->next)
            return;
        s->nnext = 1;
        s->next[0].target = ld_target(l, nx);
        s->next[0].id = ld_edge(l, si, s->next[0].target, "next");
        return;
    }
    if (!nx->child)
        ld_err(l, nx, "next needs at least one entry");
    s->next = ld_alloc(l, ((size_t)cJSON_GetArraySize(nx) + 1) * sizeof *s->next);
    for (c = nx->child; c && s->next; c = c->next, k++) {
        lk_edge *e = &s->next[s->nnext];
        const cJSON *cond, *go;
        char what[300];
        size_t mark = ld_push_i(l, k);

        if (!cJSON_IsObject(c)) {
            ld_err(l, c, "an entry of next is an object {\"if\": ..., \"goto\": ...}, not %s",
                   ld_type_name(c));
            ld_pop(l, mark);
            continue;
        }
        snprintf(what, sizeof what, "entry %d of the next of state '%s'", k, s->name);
        ld_check_keys(l, c, what, keys);
        if (uncond >= 0)
            ld_err(l, c, "this entry is never taken: entry %d before it has no \"if\"", uncond);
        cond = ld_member(l, c, "if", LD_STR | LD_INT, 0, what);
        go = ld_member(l, c, "goto", LD_STR, 1, what);
        if (cond) {
            size_t m2 = ld_push(l, "if");
            e->cond = ld_expr_node(l, cond);
            ld_pop(l, m2);
        } else if (!cJSON_GetObjectItemCaseSensitive(c, "if")) {
            uncond = k;
        }
        e->target = -1;
        if (go) {
            size_t m2 = ld_push(l, "goto");
            e->target = ld_target(l, go);
            ld_pop(l, m2);
        }
        snprintf(what, sizeof what, "next[%d]", k);
        e->id = ld_edge(l, si, e->target, what);
        s->nnext++;
        ld_pop(l, mark);
    }
}

static void state(ld *l, int si)
{
    static const char *const keys[] = {"say", "set",          "menu",    "input",      "choice",
                                       "end", "next",         "invalid", "data_words", "yes",
                                       "no",  "expire_after", "resume",  "clear",      NULL};
    lk_state *s = &l->f->states[si];
    const cJSON *st = l->states[si].node, *say, *set, *mn, *in, *ch, *end, *nx, *inv, *dw, *c;
    int kinds, needs_next = 0, k;
    char what[300];

    s->var = -1;
    if (!cJSON_IsObject(st)) {
        ld_err(l, st, "a state is an object, not %s", ld_type_name(st));
        return;
    }
    snprintf(what, sizeof what, "state '%s'", s->name);
    ld_check_keys(l, st, what, keys);
    say = ld_member(l, st, "say", LD_STR | LD_ARR, 0, what);
    set = ld_member(l, st, "set", LD_OBJ, 0, what);
    mn = ld_member(l, st, "menu", LD_ARR, 0, what);
    in = ld_member(l, st, "input", LD_OBJ, 0, what);
    ch = ld_member(l, st, "choice", LD_OBJ, 0, what);
    end = ld_member(l, st, "end", LD_BOOL, 0, what);
    nx = ld_member(l, st, "next", LD_STR | LD_ARR, 0, what);
    inv = ld_member(l, st, "invalid", LD_STR, 0, what);
    dw = ld_member(l, st, "data_words", LD_ARR, 0, what);
    if (end && !cJSON_IsTrue(end)) {
        size_t mark = ld_push(l, "end");
        ld_err(l, end, "end is true or left out");
        ld_pop(l, mark);
        end = NULL;
    }

    /* The kind follows the keys present, even when their values are wrong,
     * so that one mistake is not reported again as a missing "next". */
    c = cJSON_GetObjectItemCaseSensitive(st, "end");
    kinds = !!cJSON_GetObjectItemCaseSensitive(st, "menu") +
            !!cJSON_GetObjectItemCaseSensitive(st, "input") +
            !!cJSON_GetObjectItemCaseSensitive(st, "choice") + (c && !cJSON_IsFalse(c));
    if (kinds > 1)
        ld_err_key(l, st,
                   "state '%s' has more than one of menu, input, choice and end; a state "
                   "has at most one",
                   s->name);
    s->kind = cJSON_GetObjectItemCaseSensitive(st, "menu")     ? LK_S_MENU
              : cJSON_GetObjectItemCaseSensitive(st, "input")  ? LK_S_INPUT
              : cJSON_GetObjectItemCaseSensitive(st, "choice") ? LK_S_CHOICE
              : c && !cJSON_IsFalse(c)                         ? LK_S_END
                                                               : LK_S_PASS;

    s->set = assigns(l, set, &s->nset);
    if (say) {
        size_t mark = ld_push(l, "say");
        if (cJSON_IsString(say)) {
            s->say = ld_alloc(l, sizeof *s->say);
            if (s->say && (s->say[0] = ld_template(l, say)))
                s->nsay = 1;
        } else {
            if (!say->child)
                ld_err(l, say, "say is a text or a non-empty array of texts");
            s->say = ld_alloc(l, ((size_t)cJSON_GetArraySize(say) + 1) * sizeof *s->say);
            for (c = say->child, k = 0; c && s->say; c = c->next, k++) {
                size_t m2 = ld_push_i(l, k);
                if ((s->say[s->nsay] = ld_template(l, c)))
                    s->nsay++;
                ld_pop(l, m2);
            }
        }
        ld_pop(l, mark);
    }
    if (nx) {
        size_t mark = ld_push(l, "next");
        next(l, s, si, nx);
        ld_pop(l, mark);
    }
    if (mn) {
        size_t mark = ld_push(l, "menu");
        menu(l, s, si, mn, &needs_next);
        ld_pop(l, mark);
    } else if (in) {
        size_t mark = ld_push(l, "input");
        input(l, s, in);
        ld_pop(l, mark);
        s->numbers_are_data = s->input.kind == LK_V_NUMBER || s->input.kind == LK_V_DIGITS;
    } else if (ch) {
        size_t mark = ld_push(l, "choice");
        choice(l, s, ch);
        ld_pop(l, mark);
    }
    if (inv) {
        size_t mark = ld_push(l, "invalid");
        s->invalid = ld_template(l, inv);
        ld_pop(l, mark);
    }
    if (dw) {
        size_t mark = ld_push(l, "data_words");
        s->data_words = words(l, dw, &s->ndata_words, NULL, NULL, 0);
        ld_pop(l, mark);
    }
    s->no_history = s->kind == LK_S_PASS || s->kind == LK_S_END;
    ld_state_words(l, s, st, what);
    ld_state_clear(l, s, st);

    if (kinds > 1)
        return;
    if (s->kind == LK_S_END && cJSON_GetObjectItemCaseSensitive(st, "next"))
        ld_err_key(l, st, "state '%s' ends the session, so it cannot have \"next\"", s->name);
    else if (!cJSON_GetObjectItemCaseSensitive(st, "next") && s->kind == LK_S_PASS)
        ld_err_key(l, st,
                   "state '%s' needs \"next\": it has no menu, input, choice or end, so "
                   "it goes on at once",
                   s->name);
    else if (!cJSON_GetObjectItemCaseSensitive(st, "next") &&
             (s->kind == LK_S_INPUT || s->kind == LK_S_CHOICE))
        ld_err_key(l, st, "state '%s' needs \"next\": where to go after valid input", s->name);
    else if (!cJSON_GetObjectItemCaseSensitive(st, "next") && needs_next)
        ld_err_key(l, st, "state '%s' needs \"next\": an option without \"goto\" follows it",
                   s->name);
    if ((s->kind == LK_S_END || s->kind == LK_S_PASS) &&
        (inv || cJSON_GetObjectItemCaseSensitive(st, "data_words")))
        ld_err_key(l, st, "state '%s' takes no input, so \"%s\" is never used", s->name,
                   inv ? "invalid" : "data_words");
}

void ld_states(ld *l)
{
    lk_flow *f = l->f;
    name_ix *ix;
    const char **paths;
    int i;

    if (!l->nstates)
        return;
    f->states = ld_alloc(l, (size_t)l->nstates * sizeof *f->states);
    f->state_by_name = ld_alloc(l, (size_t)l->nstates * sizeof *f->state_by_name);
    paths = calloc((size_t)l->nfiles, sizeof *paths);
    ix = malloc((size_t)l->nstates * sizeof *ix);
    if (!f->states || !f->state_by_name || !ix || !paths) {
        free(ix);
        free((void *)paths);
        l->oom = 1;
        return;
    }
    f->nstates = l->nstates;
    for (i = 0; i < l->nstates; i++) {
        lk_state *s = &f->states[i];
        const ld_pos *p = ld_pos_of(l, l->states[i].node);
        int file = l->states[i].file;
        if (!paths[file])
            paths[file] = ld_strdup(l, l->files[file].path);
        s->name = ld_strdup(l, l->states[i].name);
        s->file = paths[file];
        if (p)
            ld_line_col(l, p->file, p->key_off, &s->line, &s->col);
        ix[i].name = l->states[i].name;
        ix[i].i = i;
    }
    qsort(ix, (size_t)l->nstates, sizeof *ix, cmp_name);
    for (i = 0; i < l->nstates; i++)
        f->state_by_name[i] = ix[i].i;
    free(ix);
    free((void *)paths);
    if (l->oom)
        return;
    for (i = 0; i < l->nstates; i++) {
        size_t mark = ld_push(l, "states");
        ld_push(l, l->states[i].name);
        state(l, i);
        ld_pop(l, mark);
    }
    ld_sensitive(l);
}
