/* Loading a flow: the top level of the format (flows/README.md), includes,
 * variables, functions, commands, session and invalid settings, the
 * load-time loop checks, and the read-only accessors of flow.h.
 *
 * The loader keeps going after an error to report as many as it sensibly
 * can; a flow with any error is freed and never returned. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

/* ---- helpers shared by the loader ---------------------------------------------- */

void *ld_alloc(ld *l, size_t n)
{
    void *p = lk_arena_alloc(&l->f->arena, n);
    if (!p)
        l->oom = 1;
    return p;
}

char *ld_strdup(ld *l, const char *s)
{
    char *p = lk_arena_strdup(&l->f->arena, s);
    if (!p)
        l->oom = 1;
    return p;
}

char *ld_norm(ld *l, const char *s)
{
    size_t n = strlen(s);
    char *p = ld_alloc(l, n + 1);
    if (p)
        lk_text_norm(s, n, p, n + 1);
    return p;
}

char *ld_word(ld *l, const char *s)
{
    char *p = ld_norm(l, s);
    size_t n;

    if (!p || *p)
        return p;
    /* All punctuation, such as "?": normalising would leave nothing, so the
     * word is kept as written, without surrounding white space. */
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return lk_arena_strndup(&l->f->arena, s, n);
}

int ld_var(const ld *l, const char *name)
{
    int i;
    for (i = 0; i < l->nvars; i++)
        if (strcmp(l->vars[i], name) == 0)
            return i;
    return -1;
}

int ld_state(const ld *l, const char *name)
{
    return l->f->state_by_name ? lk_flow_state_find(l->f, name) : -1;
}

int ld_dataset(const ld *l, const char *name)
{
    int i;
    for (i = 0; i < l->f->ndatasets; i++)
        if (l->f->datasets[i].name && strcmp(l->f->datasets[i].name, name) == 0)
            return i;
    return -1;
}

int ld_edge(ld *l, int from, int to, const char *what)
{
    if (l->nedges == l->capedges) {
        int ncap = l->capedges ? l->capedges * 2 : 64;
        lk_edge_info *ne = realloc(l->edges, (size_t)ncap * sizeof *ne);
        if (!ne) {
            l->oom = 1;
            return -1;
        }
        l->edges = ne;
        l->capedges = ncap;
    }
    l->edges[l->nedges].from = from;
    l->edges[l->nedges].to = to;
    l->edges[l->nedges].what = ld_strdup(l, what);
    return l->nedges++;
}

int ld_target(ld *l, const cJSON *node)
{
    const char *near = NULL;
    int i, s, best = 3;

    if (!cJSON_IsString(node)) {
        ld_want(l, node, LD_STR);
        return -1;
    }
    if ((s = ld_state(l, node->valuestring)) >= 0)
        return s;
    for (i = 0; i < l->f->nstates; i++) {
        const char *n = l->f->states[i].name;
        int d = n ? lk_text_edit(n, strlen(n), node->valuestring, strlen(node->valuestring), 2) : 3;
        if (d < best && d < (int)strlen(node->valuestring)) {
            best = d;
            near = n;
        }
    }
    if (near)
        ld_err(l, node, "no state named '%s' (did you mean '%s'?)", node->valuestring, near);
    else
        ld_err(l, node, "no state named '%s'", node->valuestring);
    return -1;
}

/* ---- definitions across files ----------------------------------------------------- */

static void add_defs(ld *l, int file, const char *section, const char *kind, ld_def **arr, int *n,
                     int *cap)
{
    const cJSON *obj = ld_member(l, l->files[file].root, section, LD_OBJ, 0, "the flow"), *c;
    int k, line, col;

    for (c = obj ? obj->child : NULL; c; c = c->next) {
        for (k = 0; k < *n; k++) {
            const ld_pos *p = ld_pos_of(l, (*arr)[k].node);
            size_t mark;
            if (strcmp((*arr)[k].name, c->string) != 0)
                continue;
            ld_line_col(l, p->file, p->key_off, &line, &col);
            mark = ld_push(l, section);
            ld_push(l, c->string);
            ld_err_key(l, c, "%s '%s' is defined twice: first at %s:%d:%d", kind, c->string,
                       l->files[p->file].path, line, col);
            ld_pop(l, mark);
            break;
        }
        if (k < *n)
            continue;
        if (*n == *cap) {
            int ncap = *cap ? *cap * 2 : 32;
            ld_def *na = realloc(*arr, (size_t)ncap * sizeof *na);
            if (!na) {
                l->oom = 1;
                return;
            }
            *arr = na;
            *cap = ncap;
        }
        (*arr)[*n].name = c->string;
        (*arr)[*n].node = c;
        (*arr)[*n].file = file;
        (*n)++;
    }
}

static void collect_defs(ld *l, int file)
{
    add_defs(l, file, "states", "state", &l->states, &l->nstates, &l->capstates);
    add_defs(l, file, "functions", "function", &l->funcs, &l->nfuncs, &l->capfuncs);
    add_defs(l, file, "datasets", "data set", &l->dsets, &l->ndsets, &l->capdsets);
}

static void includes(ld *l, int file, int depth)
{
    static const char *const keys[] = {"loket", "include", "states", "functions", "datasets", NULL};
    const cJSON *inc = ld_member(l, l->files[file].root, "include", LD_ARR, 0, "the flow"), *c;
    int i = 0;

    for (c = inc ? inc->child : NULL; c; c = c->next, i++) {
        size_t mark = ld_push(l, "include");
        char *path, real[PATH_MAX], other[PATH_MAX];
        int k, idx, dup = -1;

        ld_push_i(l, i);
        if (!cJSON_IsString(c)) {
            ld_want(l, c, LD_STR);
            ld_pop(l, mark);
            continue;
        }
        path = malloc(strlen(l->files[file].dir) + strlen(c->valuestring) + 1);
        if (!path) {
            l->oom = 1;
            return;
        }
        strcpy(path, c->valuestring[0] == '/' ? "" : l->files[file].dir);
        strcat(path, c->valuestring);
        if (realpath(path, real))
            for (k = 0; k < l->nfiles && dup < 0; k++)
                if (realpath(l->files[k].path, other) && strcmp(real, other) == 0)
                    dup = k;
        if (dup >= 0) {
            ld_err(l, c, "'%s' is already part of the flow (as %s)", path, l->files[dup].path);
        } else if (depth >= LD_MAX_INCLUDES) {
            ld_err(l, c, "includes nested deeper than %d files", LD_MAX_INCLUDES);
        } else if ((idx = ld_file_load(l, path, c)) >= 0) {
            /* Paths inside the included file start from its own root. */
            const cJSON *root = l->files[idx].root;
            char saved[sizeof l->path];
            size_t slen = l->plen;
            memcpy(saved, l->path, sizeof saved);
            ld_pop(l, 0);
            if (!cJSON_IsObject(root)) {
                ld_err(l, root,
                       "an included file is a JSON object with states, functions "
                       "and datasets, not %s",
                       ld_type_name(root));
            } else {
                const cJSON *v = ld_member(l, root, "loket", LD_INT, 0, "an included file");
                int64_t ver = 1;
                ld_check_keys(l, root, "an included file", keys);
                if (v && ld_int_of(l, v, &ver) == 0 && ver != 1)
                    ld_err(l, v, "unsupported format version %lld (this loket reads 1)",
                           (long long)ver);
                collect_defs(l, idx);
                includes(l, idx, depth + 1);
            }
            memcpy(l->path, saved, sizeof saved);
            l->plen = slen;
        }
        free(path);
        ld_pop(l, mark);
    }
}

/* ---- variables --------------------------------------------------------------------- */

static int add_var_name(ld *l, const char *name)
{
    if (ld_var(l, name) >= 0)
        return 0;
    if (l->nvars == l->capvars) {
        int ncap = l->capvars ? l->capvars * 2 : 32;
        const char **nv = realloc(l->vars, (size_t)ncap * sizeof *nv);
        if (!nv) {
            l->oom = 1;
            return -1;
        }
        l->vars = nv;
        l->capvars = ncap;
    }
    if (!(l->vars[l->nvars] = ld_strdup(l, name)))
        return -1;
    l->nvars++;
    return 0;
}

/* A name a flow assigns: node is where it is written (a key when key). */
static void add_var(ld *l, const char *name, const cJSON *node, int key)
{
    static const char *const reserved[] = {"input", "match", "match_parent", "settings",
                                           "and",   "or",    "not",          NULL};
    int k;

    if (!ld_is_ident(name)) {
        if (key)
            ld_err_key(l, node,
                       "'%s' is not a variable name (letters, digits and '_', not "
                       "starting with a digit)",
                       name);
        else
            ld_err(l, node,
                   "'%s' is not a variable name (letters, digits and '_', not starting "
                   "with a digit)",
                   name);
        return;
    }
    for (k = 0; reserved[k]; k++) {
        if (strcmp(name, reserved[k]) != 0)
            continue;
        if (key)
            ld_err_key(l, node, "'%s' is reserved and cannot be assigned", name);
        else
            ld_err(l, node, "'%s' is reserved and cannot be assigned", name);
        return;
    }
    add_var_name(l, name);
}

static void vars_of_set(ld *l, const cJSON *set)
{
    const cJSON *c;
    if (!cJSON_IsObject(set))
        return;
    for (c = set->child; c; c = c->next) {
        size_t mark = ld_push(l, "set");
        ld_push(l, c->string);
        add_var(l, c->string, c, 1);
        ld_pop(l, mark);
    }
}

/* Every name any state assigns, before any expression is compiled, so that
 * reading a name nothing sets is an error wherever it is read. */
static const char *str_or(const cJSON *v)
{
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void collect_vars(ld *l)
{
    int i, k;

    add_var_name(l, "input");
    add_var_name(l, "match");
    add_var_name(l, "match_parent");
    for (i = 0; i < l->nstates; i++) {
        const cJSON *st = l->states[i].node, *menu, *c, *in, *ch, *v;
        size_t mark = ld_push(l, "states");
        ld_push(l, l->states[i].name);
        vars_of_set(l, cJSON_GetObjectItemCaseSensitive(st, "set"));
        menu = cJSON_GetObjectItemCaseSensitive(st, "menu");
        k = 0;
        for (c = cJSON_IsArray(menu) ? menu->child : NULL; c; c = c->next, k++) {
            size_t m2 = ld_push(l, "menu");
            ld_push_i(l, k);
            vars_of_set(l, cJSON_GetObjectItemCaseSensitive(c, "set"));
            ld_pop(l, m2);
        }
        in = cJSON_GetObjectItemCaseSensitive(st, "input");
        v = cJSON_GetObjectItemCaseSensitive(in, "var");
        if (cJSON_IsString(v)) {
            size_t m2 = ld_push(l, "input");
            ld_push(l, "var");
            add_var(l, v->valuestring, v, 0);
            if (!strcmp(str_or(cJSON_GetObjectItemCaseSensitive(in, "type")), "media") &&
                ld_is_ident(v->valuestring) && strlen(v->valuestring) < 100) {
                static const char *const sfx[] = {"_type", "_mime", "_caption"};
                char name[128];
                for (k = 0; k < 3; k++) {
                    snprintf(name, sizeof name, "%s%s", v->valuestring, sfx[k]);
                    add_var_name(l, name);
                }
            }
            ld_pop(l, m2);
        }
        ch = cJSON_GetObjectItemCaseSensitive(st, "choice");
        v = cJSON_GetObjectItemCaseSensitive(ch, "var");
        if (cJSON_IsString(v)) {
            const cJSON *dsn = cJSON_GetObjectItemCaseSensitive(ch, "dataset");
            int ds = cJSON_IsString(dsn) ? ld_dataset(l, dsn->valuestring) : -1;
            size_t m2 = ld_push(l, "choice");
            char name[256];
            ld_push(l, "var");
            add_var(l, v->valuestring, v, 0);
            if (ld_is_ident(v->valuestring) && strlen(v->valuestring) < 100) {
                snprintf(name, sizeof name, "%s_id", v->valuestring);
                add_var_name(l, name);
                for (k = 0; ds >= 0 && k < l->f->datasets[ds].nfields; k++) {
                    snprintf(name, sizeof name, "%s_%s", v->valuestring,
                             l->f->datasets[ds].field_names[k]);
                    add_var_name(l, name);
                }
            }
            ld_pop(l, m2);
        }
        ld_pop(l, mark);
    }
}

/* ---- functions ------------------------------------------------------------------- */

static int func_cycle(ld *l, int fn, char *color, int *stack, int depth);

static int calls_cycle(ld *l, const lk_expr *e, char *color, int *stack, int depth)
{
    int k;
    if (!e)
        return 0;
    if (e->op == LK_X_FUNC && func_cycle(l, e->slot, color, stack, depth))
        return 1;
    for (k = 0; k < e->nargs; k++)
        if (calls_cycle(l, e->args[k], color, stack, depth))
            return 1;
    return 0;
}

/* Depth-first over calls; a call to a function on the stack is a cycle. */
static int func_cycle(ld *l, int fn, char *color, int *stack, int depth)
{
    int found;

    if (color[fn] == 2)
        return 0;
    if (color[fn] == 1) {
        char msg[512];
        size_t len = 0, mark;
        int k = depth > 0 ? depth - 1 : 0; /* fn is on the stack, so depth > 0 */
        while (k > 0 && stack[k] != fn)
            k--;
        for (; k < depth && len < sizeof msg - 1; k++)
            len +=
                (size_t)snprintf(msg + len, sizeof msg - len, "%s -> ", l->f->funcs[stack[k]].name);
        if (len < sizeof msg - 1)
            snprintf(msg + len, sizeof msg - len, "%s", l->f->funcs[fn].name);
        mark = ld_push(l, "functions");
        ld_push(l, l->funcs[fn].name);
        ld_err_key(l, l->funcs[fn].node, "function '%s' calls itself (%s): it would never end",
                   l->f->funcs[fn].name, msg);
        ld_pop(l, mark);
        return 1;
    }
    color[fn] = 1;
    stack[depth] = fn;
    found = calls_cycle(l, l->f->funcs[fn].body, color, stack, depth + 1);
    color[fn] = 2; /* done, even on a cycle: each cycle is reported once */
    return found;
}

static void functions(ld *l)
{
    static const char *const keys[] = {"params", "expr", NULL};
    lk_flow *f = l->f;
    char *color;
    int *stack, i, k;
    size_t nf;

    if (l->nfuncs <= 0)
        return;
    nf = (size_t)l->nfuncs;
    f->funcs = ld_alloc(l, (size_t)l->nfuncs * sizeof *f->funcs);
    if (!f->funcs)
        return;
    f->nfuncs = l->nfuncs;
    for (i = 0; i < l->nfuncs; i++) { /* names and parameters first: calls may go forward */
        const cJSON *fn = l->funcs[i].node, *params, *c;
        lk_func *fu = &f->funcs[i];
        size_t mark = ld_push(l, "functions");
        ld_push(l, l->funcs[i].name);
        fu->name = ld_strdup(l, l->funcs[i].name);
        if (!ld_is_ident(l->funcs[i].name))
            ld_err_key(l, fn, "'%s' is not a function name (letters, digits and '_')",
                       l->funcs[i].name);
        else if (ld_is_builtin(l->funcs[i].name))
            ld_err_key(l, fn, "'%s' is a builtin function; give this one another name",
                       l->funcs[i].name);
        if (!cJSON_IsObject(fn)) {
            ld_err(l, fn, "a function is an object {\"params\": [...], \"expr\": \"...\"}, not %s",
                   ld_type_name(fn));
            ld_pop(l, mark);
            continue;
        }
        ld_check_keys(l, fn, "a function", keys);
        ld_member(l, fn, "expr", LD_STR | LD_INT, 1, "a function");
        params = ld_member(l, fn, "params", LD_ARR, 0, "a function");
        fu->nparams = cJSON_GetArraySize(params);
        fu->params = ld_alloc(l, (size_t)(fu->nparams + 1) * sizeof *fu->params);
        k = 0;
        for (c = params ? params->child : NULL; c && fu->params; c = c->next, k++) {
            size_t m2 = ld_push(l, "params");
            int j;
            ld_push_i(l, k);
            if (!cJSON_IsString(c) || !ld_is_ident(c->valuestring)) {
                ld_err(l, c, "a parameter is a name (letters, digits and '_')");
                fu->params[k] = "";
            } else {
                fu->params[k] = ld_strdup(l, c->valuestring);
                for (j = 0; j < k; j++)
                    if (strcmp(fu->params[j], c->valuestring) == 0)
                        ld_err(l, c, "parameter '%s' is listed twice", c->valuestring);
            }
            ld_pop(l, m2);
        }
        ld_pop(l, mark);
    }
    for (i = 0; i < l->nfuncs; i++) {
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(l->funcs[i].node, "expr");
        size_t mark = ld_push(l, "functions");
        if (ld_is(l, body, LD_STR | LD_INT) && f->funcs[i].params) {
            ld_push(l, l->funcs[i].name);
            ld_push(l, "expr");
            l->params = f->funcs[i].params;
            l->nparams = f->funcs[i].nparams;
            f->funcs[i].body = ld_expr_node(l, body);
            l->params = NULL;
            l->nparams = 0;
        }
        ld_pop(l, mark);
    }
    color = calloc(nf, 1);
    stack = calloc(nf + 1, sizeof *stack);
    if (color && stack) {
        for (i = 0; i < l->nfuncs; i++)
            func_cycle(l, i, color, stack, 0);
    } else {
        l->oom = 1;
    }
    free(color);
    free(stack);
}

/* ---- the load --------------------------------------------------------------------- */

static void load_flow(ld *l)
{
    static const char *const keys[] = {"loket",     "name",     "start",  "include", "settings",
                                       "session",   "invalid",  "yes",    "no",      "commands",
                                       "functions", "datasets", "states", "lexicon", "clarify",
                                       "answers",   "list_button",
                                       "outside_window", /* window.c */
                                       "console",
                                       NULL};
    const cJSON *root = l->files[0].root, *v;
    lk_flow *f = l->f;
    int64_t ver;
    int i;

    if (!cJSON_IsObject(root)) {
        ld_err(l, root, "a flow is a JSON object, not %s", ld_type_name(root));
        return;
    }
    f->path = ld_strdup(l, l->files[0].path);
    ld_check_keys(l, root, "the flow", keys);
    if ((v = ld_member(l, root, "loket", LD_INT, 1, "the flow")) && ld_int_of(l, v, &ver) == 0 &&
        ver != 1) {
        size_t mark = ld_push(l, "loket");
        ld_err(l, v, "unsupported format version %lld (this loket reads 1)", (long long)ver);
        ld_pop(l, mark);
    }
    v = ld_member(l, root, "name", LD_STR, 1, "the flow");
    f->name = ld_strdup(l, v ? v->valuestring : "");
    if ((v = ld_member(l, root, "list_button", LD_STR, 0, "the flow"))) {
        size_t mark = ld_push(l, "list_button");
        if (!v->valuestring[0] || lk_utf8_len(v->valuestring, strlen(v->valuestring)) > 20)
            ld_err(l, v, "list_button is 1 to 20 characters (WhatsApp's limit)");
        else
            f->list_button = ld_strdup(l, v->valuestring);
        ld_pop(l, mark);
    }
    if ((l->settings = ld_member(l, root, "settings", LD_OBJ, 0, "the flow"))) {
        size_t mark = ld_push(l, "settings");
        ld_settings_check(l, l->settings);
        ld_pop(l, mark);
    }
    if (!cJSON_GetObjectItemCaseSensitive(root, "states"))
        ld_err(l, root, "missing required key 'states' in the flow");
    collect_defs(l, 0);
    includes(l, 0, 0);
    if (l->oom)
        return;
    ld_lexicon(l);
    ld_datasets(l);
    collect_vars(l);
    functions(l);
    ld_states(l);
    if ((v = ld_member(l, root, "start", LD_STR, 1, "the flow"))) {
        size_t mark = ld_push(l, "start");
        f->start = ld_target(l, v);
        ld_pop(l, mark);
    }
    ld_commands(l);
    ld_settings_blocks(l);
    ld_outside_window(l);
    ld_clarify(l);
    ld_console(l);
    ld_state_needs(l);
    if (!l->nerr)
        ld_pass_loops(l);
    if (l->oom)
        return;
    f->nvars = l->nvars;
    f->vars = ld_alloc(l, (size_t)(l->nvars + 1) * sizeof *f->vars);
    f->nedges = l->nedges;
    f->edges = ld_alloc(l, (size_t)(l->nedges + 1) * sizeof *f->edges);
    if (f->vars && f->edges) {
        for (i = 0; i < l->nvars; i++)
            f->vars[i] = l->vars[i];
        if (l->nedges)
            memcpy(f->edges, l->edges, (size_t)l->nedges * sizeof *f->edges);
    }
}

static lk_err load(const char *path, const char *json, size_t len, lk_flow **out, lk_diag *diag)
{
    ld l;
    lk_err err = LK_OK;
    int i, file;

    *out = NULL;
    memset(&l, 0, sizeof l);
    l.diag = diag;
    if (!(l.f = calloc(1, sizeof *l.f)))
        return LK_ENOMEM;
    if (json) {
        char *text = malloc(len + 1);
        if (!text) {
            free(l.f);
            return LK_ENOMEM;
        }
        memcpy(text, json, len);
        text[len] = '\0';
        file = ld_file_text(&l, path, "", text, len);
    } else {
        file = ld_file_load(&l, path, NULL);
        if (l.eio)
            err = LK_EIO;
    }
    if (file >= 0)
        load_flow(&l);
    if (l.oom)
        err = LK_ENOMEM;
    else if (l.nerr && err == LK_OK)
        err = LK_EFLOW;
    for (i = 0; i < l.nfiles; i++) {
        cJSON_Delete(l.files[i].root);
        free(l.files[i].path);
        free(l.files[i].dir);
        free(l.files[i].text);
        free(l.files[i].lines);
    }
    free(l.files);
    free(l.pos);
    free(l.states);
    free(l.funcs);
    free(l.dsets);
    free((void *)l.table_nodes);
    free((void *)l.vars);
    free(l.edges);
    if (err != LK_OK) {
        lk_flow_free(l.f);
        return err;
    }
    *out = l.f;
    return LK_OK;
}

lk_err lk_flow_load(const char *path, lk_flow **out, lk_diag *diag)
{
    return load(path, NULL, 0, out, diag);
}

lk_err lk_flow_load_string(const char *name, const char *json, size_t len, lk_flow **out,
                           lk_diag *diag)
{
    return load(name ? name : "(string)", json, len, out, diag);
}
