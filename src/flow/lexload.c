/* Loading the flow's lexicon ("lexicon": an object, or the name of a JSON
 * file holding one) and the texts and answers that go with it ("clarify",
 * "answers"). flows/README.md, "Lexicon", documents every key. */
#include <stdlib.h>
#include <string.h>

#include "load.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_num(const void *a, const void *b)
{
    return strcmp(((const lk_wordnum *)a)->w, ((const lk_wordnum *)b)->w);
}

static int cmp_map(const void *a, const void *b)
{
    return strcmp(((const lk_wordmap *)a)->w, ((const lk_wordmap *)b)->w);
}

/* One lexicon word: normalised, a single word. */
static const char *one_word(ld *l, const cJSON *node, const char *s)
{
    const char *w = ld_norm(l, s);
    if (w && (!*w || strchr(w, ' '))) {
        ld_err(l, node, "'%s' is not one word", s);
        return NULL;
    }
    return w;
}

static void dup_check(ld *l, const cJSON *node, const char *const *sorted, int n, const char *what)
{
    int i;
    for (i = 1; i < n; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0)
            ld_err(l, node, "'%s' is twice in %s", sorted[i], what);
}

/* "fillers": ["kak", ...]; sorted unless keep_order (prefixes, suffixes:
 * longest first). */
static const char **list(ld *l, const cJSON *obj, const char *key, int *n, int keep_order)
{
    const cJSON *arr = ld_member(l, obj, key, LD_ARR, 0, "the lexicon"), *c;
    const char **w;
    size_t mark;
    int k = 0;

    *n = 0;
    if (!arr)
        return NULL;
    mark = ld_push(l, key);
    w = ld_alloc(l, ((size_t)cJSON_GetArraySize(arr) + 1) * sizeof *w);
    for (c = arr->child; c && w; c = c->next, k++) {
        size_t m2 = ld_push_i(l, k);
        const char *nw;
        if (!cJSON_IsString(c))
            ld_want(l, c, LD_STR);
        else if ((nw = one_word(l, c, c->valuestring)))
            w[(*n)++] = nw;
        ld_pop(l, m2);
    }
    if (w && keep_order) {
        /* longest first, so that "meng" is tried before "me" */
        int i, j;
        for (i = 1; i < *n; i++)
            for (j = i; j > 0 && strlen(w[j]) > strlen(w[j - 1]); j--) {
                const char *t = w[j];
                w[j] = w[j - 1];
                w[j - 1] = t;
            }
    } else if (w) {
        qsort(w, (size_t)*n, sizeof *w, cmp_str);
        dup_check(l, arr, w, *n, key);
    }
    ld_pop(l, mark);
    return w;
}

/* "numbers": {"satu": 1, ...}: word -> integer in [lo, hi]. */
static lk_wordnum *nums(ld *l, const cJSON *obj, const char *key, int *n, int64_t lo, int64_t hi)
{
    const cJSON *o = ld_member(l, obj, key, LD_OBJ, 0, "the lexicon"), *c;
    lk_wordnum *w;
    size_t mark;
    int i;

    *n = 0;
    if (!o)
        return NULL;
    mark = ld_push(l, key);
    w = ld_alloc(l, ((size_t)cJSON_GetArraySize(o) + 1) * sizeof *w);
    for (c = o->child; c && w; c = c->next) {
        size_t m2 = ld_push(l, c->string);
        int64_t v;
        const char *nw = one_word(l, c, c->string);
        if (!cJSON_IsNumber(c) || ld_int_of(l, c, &v) != 0 || v < lo || v > hi)
            ld_err(l, c, "'%s' needs an integer from %lld to %lld", c->string, (long long)lo,
                   (long long)hi);
        else if (nw) {
            w[*n].w = nw;
            w[(*n)++].v = v;
        }
        ld_pop(l, m2);
    }
    if (w) {
        qsort(w, (size_t)*n, sizeof *w, cmp_num);
        for (i = 1; i < *n; i++)
            if (strcmp(w[i - 1].w, w[i].w) == 0)
                ld_err(l, o, "'%s' is twice in %s", w[i].w, key);
    }
    ld_pop(l, mark);
    return w;
}

static void words_map(ld *l, lk_lexicon *x, const cJSON *obj)
{
    const cJSON *o = ld_member(l, obj, "words", LD_OBJ, 0, "the lexicon"), *c;
    size_t mark;
    int i;

    if (!o)
        return;
    mark = ld_push(l, "words");
    x->map = ld_alloc(l, ((size_t)cJSON_GetArraySize(o) + 1) * sizeof *x->map);
    for (c = o->child; c && x->map; c = c->next) {
        size_t m2 = ld_push(l, c->string);
        const char *from = one_word(l, c, c->string), *to;
        if (!cJSON_IsString(c))
            ld_want(l, c, LD_STR);
        else if (from && (to = ld_norm(l, c->valuestring))) {
            if (strcmp(from, to) == 0)
                ld_err(l, c, "'%s' maps to itself", c->string);
            x->map[x->nmap].w = from;
            x->map[x->nmap++].to = to;
        }
        ld_pop(l, m2);
    }
    if (x->map) {
        qsort(x->map, (size_t)x->nmap, sizeof *x->map, cmp_map);
        for (i = 1; i < x->nmap; i++)
            if (strcmp(x->map[i - 1].w, x->map[i].w) == 0)
                ld_err(l, o, "'%s' is twice in words", x->map[i].w);
        /* one step: a canonical word is not mapped again */
        for (i = 0; i < x->nmap; i++) {
            const char *t = x->map[i].to;
            while (*t) {
                size_t k = 0;
                int lo = 0, hi = x->nmap - 1;
                while (t[k] && t[k] != ' ')
                    k++;
                while (lo <= hi) {
                    int mid = (lo + hi) / 2, cmp = strncmp(x->map[mid].w, t, k);
                    if (cmp == 0 && x->map[mid].w[k])
                        cmp = 1;
                    if (cmp == 0) {
                        ld_err(l, o, "'%s' maps to '%s', which is mapped again", x->map[i].w,
                               x->map[mid].w);
                        break;
                    }
                    if (cmp < 0)
                        lo = mid + 1;
                    else
                        hi = mid - 1;
                }
                t += k;
                while (*t == ' ')
                    t++;
            }
        }
    }
    ld_pop(l, mark);
}

static void lexicon_obj(ld *l, const cJSON *obj)
{
    static const char *const keys[] = {
        "words",     "fillers",     "prefixes",   "suffixes",        "numbers", "multiplies",
        "adds",      "one",         "collective", "collective_unit", "units",   "hedges",
        "negations", "corrections", "questions",  "months",          NULL};
    lk_lexicon *x = &l->f->lex;
    const cJSON *v;

    if (!cJSON_IsObject(obj)) {
        ld_err(l, obj, "a lexicon is an object, not %s", ld_type_name(obj));
        return;
    }
    ld_check_keys(l, obj, "the lexicon", keys);
    words_map(l, x, obj);
    x->fill = list(l, obj, "fillers", &x->nfill, 0);
    x->pre = list(l, obj, "prefixes", &x->npre, 1);
    x->suf = list(l, obj, "suffixes", &x->nsuf, 1);
    x->num = nums(l, obj, "numbers", &x->nnum, 0, INT64_C(1000000000));
    x->mul = nums(l, obj, "multiplies", &x->nmul, 2, INT64_C(1000000000));
    x->add = nums(l, obj, "adds", &x->nadd, 1, 1000);
    x->coll = nums(l, obj, "collective", &x->ncoll, 1, 1000);
    x->month = nums(l, obj, "months", &x->nmonth, 1, 12);
    x->unit = list(l, obj, "units", &x->nunit, 0);
    x->hedge = list(l, obj, "hedges", &x->nhedge, 0);
    x->neg = list(l, obj, "negations", &x->nneg, 0);
    x->cue = list(l, obj, "corrections", &x->ncue, 0);
    x->q = list(l, obj, "questions", &x->nq, 0);
    if ((v = ld_member(l, obj, "one", LD_STR, 0, "the lexicon"))) {
        size_t mark = ld_push(l, "one");
        x->one = one_word(l, v, v->valuestring);
        ld_pop(l, mark);
    }
    if ((v = ld_member(l, obj, "collective_unit", LD_STR, 0, "the lexicon"))) {
        size_t mark = ld_push(l, "collective_unit");
        x->coll_unit = one_word(l, v, v->valuestring);
        ld_pop(l, mark);
    }
    if (x->ncoll && !x->coll_unit) {
        size_t mark = ld_push(l, "collective");
        ld_err(l, obj, "collective words need a collective_unit (the unit they count)");
        ld_pop(l, mark);
    }
}

void ld_lexicon(ld *l)
{
    const cJSON *root = l->files[0].root;
    const cJSON *v = ld_member(l, root, "lexicon", LD_STR | LD_OBJ, 0, "the flow");
    size_t mark;

    if (!v)
        return;
    mark = ld_push(l, "lexicon");
    if (cJSON_IsObject(v)) {
        lexicon_obj(l, v);
    } else {
        const char *dir = l->files[0].dir;
        char *path = malloc(strlen(dir) + strlen(v->valuestring) + 1);
        int idx;
        if (!path) {
            l->oom = 1;
            ld_pop(l, mark);
            return;
        }
        strcpy(path, v->valuestring[0] == '/' ? "" : dir);
        strcat(path, v->valuestring);
        idx = ld_file_load(l, path, v);
        free(path);
        if (idx >= 0) {
            char saved[sizeof l->path];
            size_t slen = l->plen;
            memcpy(saved, l->path, sizeof saved);
            ld_pop(l, 0);
            lexicon_obj(l, l->files[idx].root);
            memcpy(l->path, saved, sizeof saved);
            l->plen = slen;
        } else if (idx == -2) {
            l->oom = 1;
        }
    }
    ld_pop(l, mark);
}

char *ld_canon(ld *l, const char *s, int drop)
{
    size_t n = strlen(s);
    char buf[LK_CANON_MAX];
    size_t len = lk_canon_word(&l->f->lex, s, n, drop, buf, sizeof buf);
    char *plain = ld_norm(l, s);

    /* "the flow uses a word the lexicon maps to another": check warns */
    if (plain && l->f->lex.nmap) {
        const char *p = plain;
        while (*p) {
            size_t k = 0;
            int i;
            while (p[k] && p[k] != ' ')
                k++;
            for (i = 0; i < l->f->lex.nmap; i++) {
                const lk_wordmap *m = &l->f->lex.map[i];
                if (strncmp(m->w, p, k) == 0 && m->w[k] == '\0') {
                    lk_buf b = {0};
                    int j;
                    lk_buf_printf(&b, "'%s' -> '%s'", m->w, m->to);
                    for (j = 0; j < l->f->nlexwarn && b.p; j++)
                        if (strcmp(l->f->lexwarn[j], b.p) == 0)
                            break;
                    if (!l->f->lexwarn)
                        l->f->lexwarn = ld_alloc(l, LD_MAX_LEXWARN * sizeof *l->f->lexwarn);
                    if (b.p && l->f->lexwarn && j == l->f->nlexwarn &&
                        l->f->nlexwarn < LD_MAX_LEXWARN)
                        l->f->lexwarn[l->f->nlexwarn++] = ld_strdup(l, b.p);
                    lk_buf_free(&b);
                    break;
                }
            }
            p += k;
            while (*p == ' ')
                p++;
        }
    }
    if (!plain)
        return NULL;
    if (!*plain)
        return ld_word(l, s); /* "?" */
    if (len == 0)
        return drop ? lk_arena_strdup(&l->f->arena, "") : plain;
    return lk_arena_strndup(&l->f->arena, buf, len);
}

/* "clarify": the texts that ask back. "answers": [{"words": [...], "say": "..."}]. */
void ld_clarify(ld *l)
{
    static const char *const ckeys[] = {"which", "confirm", "unit", "two_numbers", "stale", "media", NULL};
    static const char *const akeys[] = {"words", "say", NULL};
    const cJSON *root = l->files[0].root, *c, *a, *v;
    lk_flow *f = l->f;
    size_t mark;
    int k = 0;

    if ((c = ld_member(l, root, "clarify", LD_OBJ, 0, "the flow"))) {
        mark = ld_push(l, "clarify");
        ld_check_keys(l, c, "clarify", ckeys);
        if ((v = ld_member(l, c, "which", LD_STR, 0, "clarify")))
            f->which = ld_template(l, v);
        if ((v = ld_member(l, c, "confirm", LD_STR, 0, "clarify")))
            f->confirm = ld_template(l, v);
        if ((v = ld_member(l, c, "unit", LD_STR, 0, "clarify")))
            f->unit_refused = ld_template(l, v);
        if ((v = ld_member(l, c, "two_numbers", LD_STR, 0, "clarify")))
            f->two_numbers = ld_template(l, v);
        if ((v = ld_member(l, c, "stale", LD_STR, 0, "clarify")))
            f->stale = ld_template(l, v);
        if ((v = ld_member(l, c, "media", LD_STR, 0, "clarify")))
            f->media = ld_template(l, v);
        ld_pop(l, mark);
    }
    if (!(a = ld_member(l, root, "answers", LD_ARR, 0, "the flow")))
        return;
    mark = ld_push(l, "answers");
    f->answers = ld_alloc(l, ((size_t)cJSON_GetArraySize(a) + 1) * sizeof *f->answers);
    for (c = a->child; c && f->answers; c = c->next, k++) {
        size_t m2 = ld_push_i(l, k);
        lk_answer *ans = &f->answers[f->nanswers];
        const cJSON *w, *e;
        int j = 0;
        if (!cJSON_IsObject(c)) {
            ld_want(l, c, LD_OBJ);
            ld_pop(l, m2);
            continue;
        }
        ld_check_keys(l, c, "an answer", akeys);
        w = ld_member(l, c, "words", LD_ARR, 1, "an answer");
        v = ld_member(l, c, "say", LD_STR, 1, "an answer");
        if (w) {
            size_t m3 = ld_push(l, "words");
            ans->words = ld_alloc(l, ((size_t)cJSON_GetArraySize(w) + 1) * sizeof *ans->words);
            for (e = w->child; e && ans->words; e = e->next, j++) {
                size_t m4 = ld_push_i(l, j);
                const char *cw;
                if (!cJSON_IsString(e))
                    ld_want(l, e, LD_STR);
                else if ((cw = ld_canon(l, e->valuestring, 1)) && !*cw)
                    ld_err(l, e, "empty word");
                else if (cw)
                    ans->words[ans->nwords++] = cw;
                ld_pop(l, m4);
            }
            if (!w->child)
                ld_err(l, w, "an answer needs at least one word");
            ld_pop(l, m3);
        }
        if (v) {
            size_t m3 = ld_push(l, "say");
            ans->say = ld_template(l, v);
            ld_pop(l, m3);
        }
        f->nanswers++;
        ld_pop(l, m2);
    }
    ld_pop(l, mark);
}

/* A state's own yes and no words, its idle time and its resume text. */
void ld_state_words(ld *l, lk_state *s, const cJSON *st, const char *what)
{
    static const char *const keys[2] = {"yes", "no"};
    const cJSON *v, *c;
    int k, j;

    for (k = 0; k < 2; k++) {
        const char **w;
        int n = 0;
        size_t mark;
        if (!(v = ld_member(l, st, keys[k], LD_ARR, 0, what)))
            continue;
        mark = ld_push(l, keys[k]);
        if (s->kind != LK_S_INPUT || s->input.kind != LK_V_YESNO)
            ld_err_key(l, v, "only a yesno input has its own \"%s\" words", keys[k]);
        w = ld_alloc(l, ((size_t)cJSON_GetArraySize(v) + 1) * sizeof *w);
        for (c = v->child, j = 0; c && w; c = c->next, j++) {
            size_t m2 = ld_push_i(l, j);
            if (!cJSON_IsString(c))
                ld_want(l, c, LD_STR);
            else if ((w[n] = ld_canon(l, c->valuestring, 0)) && *w[n])
                n++;
            else
                ld_err(l, c, "empty word");
            ld_pop(l, m2);
        }
        if (k == 0) {
            s->yes = w;
            s->nyes = n;
        } else {
            s->no = w;
            s->nno = n;
        }
        ld_pop(l, mark);
    }
    if ((v = ld_member(l, st, "expire_after", LD_STR, 0, what))) {
        size_t mark = ld_push(l, "expire_after");
        if (lk_duration_parse(v->valuestring, &s->expire_ms) != 0 || s->expire_ms <= 0)
            ld_err(l, v, "'%s' is not a duration (90s, 30m, 2h, 1d)", v->valuestring);
        ld_pop(l, mark);
    }
    if ((v = ld_member(l, st, "resume", LD_STR, 0, what))) {
        size_t mark = ld_push(l, "resume");
        if (s->kind == LK_S_PASS || s->kind == LK_S_END)
            ld_err_key(l, v, "state '%s' takes no input, so nobody can come back to it", s->name);
        s->resume = ld_template(l, v);
        ld_pop(l, mark);
    }
}
