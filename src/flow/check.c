/* lk_flow_check: the deeper analysis behind `loket check`, on a flow that
 * already loaded without errors. Everything here is a warning: the flow
 * runs, but part of it is never used, can get stuck, reads a variable no
 * path sets, or will not look as intended on WhatsApp. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow_model.h"

typedef struct ck {
    const lk_flow *f;
    lk_diag *diag;
    size_t count;
    int nw;        /* 64-bit words per variable set */
    uint64_t *in;  /* per state: variables some path may have set on entry */
    uint64_t *gen; /* per state: variables the state itself sets */
    char *reach;   /* reachable from the start or a command */
} ck;

static void warn(ck *c, const lk_state *s, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void warn(ck *c, const lk_state *s, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lk_diag_vadd(c->diag, 1, s ? s->file : c->f->path, s ? s->line : 0, s ? s->col : 0, path, fmt,
                 ap);
    va_end(ap);
    c->count++;
}

#define SETBIT(b, i) ((b)[(i) / 64] |= (uint64_t)1 << ((i) % 64))
#define HASBIT(b, i) (((b)[(i) / 64] >> ((i) % 64)) & 1)

/* Successors of state s: next targets and option targets (-1 skipped). */
static int succ(const lk_state *s, int k, int *t)
{
    if (k < s->nnext) {
        *t = s->next[k].target;
        return 1;
    }
    k -= s->nnext;
    if (s->kind == LK_S_MENU && k < s->noptions) {
        *t = s->options[k].edge.target;
        return 1;
    }
    return 0;
}

static void reachable(ck *c)
{
    const lk_flow *f = c->f;
    int *queue = malloc(((size_t)f->nstates + 1) * sizeof *queue), head = 0, tail = 0, i, k, t;

    if (!queue)
        return;
    if (f->start >= 0 && f->start < f->nstates) {
        c->reach[f->start] = 1;
        queue[tail++] = f->start;
    }
    for (i = 0; i < f->ncommands; i++) {
        t = f->commands[i].target;
        if (f->commands[i].action == LK_CMD_GOTO && t >= 0 && !c->reach[t]) {
            c->reach[t] = 1;
            queue[tail++] = t;
        }
    }
    while (head < tail) {
        const lk_state *s = &f->states[queue[head++]];
        for (k = 0; succ(s, k, &t); k++) {
            if (t >= 0 && !c->reach[t]) {
                c->reach[t] = 1;
                queue[tail++] = t;
            }
        }
    }
    free(queue);
    for (i = 0; i < f->nstates; i++)
        if (!c->reach[i])
            warn(c, &f->states[i], NULL,
                 "state '%s' is never reached from the start '%s' or a "
                 "command",
                 f->states[i].name, f->states[f->start].name);
}

static void dead_ends(ck *c)
{
    const lk_flow *f = c->f;
    char *ok = calloc((size_t)f->nstates + 1, 1);
    int i, k, t, changed = 1;

    if (!ok)
        return;
    for (i = 0; i < f->nstates; i++)
        ok[i] = f->states[i].kind != LK_S_PASS;
    while (changed) {
        changed = 0;
        for (i = 0; i < f->nstates; i++)
            for (k = 0; !ok[i] && succ(&f->states[i], k, &t); k++)
                if (t >= 0 && ok[t])
                    ok[i] = changed = 1;
    }
    for (i = 0; i < f->nstates; i++) {
        const lk_state *s = &f->states[i];
        char path[300];
        if (!ok[i])
            warn(c, s, NULL,
                 "no way out of state '%s': no state it leads to waits for input or "
                 "ends the session",
                 s->name);
        snprintf(path, sizeof path, "states.%s.next", s->name);
        if (s->nnext && s->next[s->nnext - 1].cond)
            warn(c, s, path,
                 "every entry of next has an \"if\": when none holds, the session "
                 "is stuck in '%s' (end with an entry without \"if\")",
                 s->name);
    }
    free(ok);
}

/* ---- variables no path sets --------------------------------------------------- */

static void gen_of(ck *c, int i)
{
    const lk_state *s = &c->f->states[i];
    uint64_t *g = c->gen + (size_t)i * (size_t)c->nw;
    int k, j;

    for (k = 0; k < s->nset; k++)
        SETBIT(g, s->set[k].slot);
    if (s->kind == LK_S_MENU)
        for (k = 0; k < s->noptions; k++)
            for (j = 0; j < s->options[k].nset; j++)
                SETBIT(g, s->options[k].set[j].slot);
    if (s->kind == LK_S_INPUT && s->var >= 0)
        SETBIT(g, s->var);
    for (k = 0; s->kind == LK_S_INPUT && s->input.kind == LK_V_MEDIA && k < 3; k++)
        if (s->input.media_slots[k] >= 0)
            SETBIT(g, s->input.media_slots[k]);
    if (s->kind == LK_S_CHOICE) {
        const lk_choice *ch = &s->choice;
        if (ch->var >= 0)
            SETBIT(g, ch->var);
        if (ch->id_slot >= 0)
            SETBIT(g, ch->id_slot);
        for (k = 0; ch->field_slots && ch->dataset >= 0 && k < c->f->datasets[ch->dataset].nfields;
             k++)
            if (ch->field_slots[k] >= 0)
                SETBIT(g, ch->field_slots[k]);
    }
}

static int or_into(uint64_t *dst, const uint64_t *src, int nw)
{
    int k, changed = 0;
    for (k = 0; k < nw; k++) {
        uint64_t v = dst[k] | src[k];
        changed |= v != dst[k];
        dst[k] = v;
    }
    return changed;
}

/* A forward "may be set" analysis over the state graph. Commands may fire
 * anywhere, so their targets see what any state may have set; `back`
 * returns to a waiting state with whatever was set after it. */
static void may_set(ck *c)
{
    const lk_flow *f = c->f;
    size_t nw = (size_t)c->nw;
    uint64_t *all = calloc(nw, sizeof *all), *out = calloc(nw, sizeof *out);
    char *from = calloc((size_t)f->nstates + 1, 1);
    int *queue = malloc(((size_t)f->nstates + 1) * sizeof *queue);
    int i, k, t, w, changed = 1, back = 0;

    if (!all || !out || !from || !queue)
        goto done;
    for (i = 0; i < f->nstates; i++)
        gen_of(c, i);
    for (i = 0; i < f->ncommands; i++)
        back |= f->commands[i].action == LK_CMD_BACK;
    while (changed) {
        changed = 0;
        memset(all, 0, nw * sizeof *all);
        for (i = 0; i < f->nstates; i++) {
            const lk_state *s = &f->states[i];
            if (!c->reach[i])
                continue;
            for (k = 0; k < (int)nw; k++)
                out[k] = c->in[(size_t)i * nw + (size_t)k] | c->gen[(size_t)i * nw + (size_t)k];
            or_into(all, out, (int)nw);
            for (k = 0; succ(s, k, &t); k++)
                if (t >= 0)
                    changed |= or_into(c->in + (size_t)t * nw, out, (int)nw);
        }
        for (i = 0; i < f->ncommands; i++)
            if (f->commands[i].action == LK_CMD_GOTO && f->commands[i].target >= 0)
                changed |= or_into(c->in + (size_t)f->commands[i].target * nw, all, (int)nw);
        if (!back)
            continue;
        for (w = 0; w < f->nstates; w++) {
            int head = 0, tail = 0;
            if (!c->reach[w] || f->states[w].kind == LK_S_PASS || f->states[w].kind == LK_S_END)
                continue;
            memset(from, 0, (size_t)f->nstates);
            from[w] = 1;
            queue[tail++] = w;
            while (head < tail) {
                const lk_state *s = &f->states[queue[head]];
                i = queue[head++];
                for (k = 0; k < (int)nw; k++)
                    out[k] = c->in[(size_t)i * nw + (size_t)k] | c->gen[(size_t)i * nw + (size_t)k];
                changed |= or_into(c->in + (size_t)w * nw, out, (int)nw);
                for (k = 0; succ(s, k, &t); k++)
                    if (t >= 0 && !from[t]) {
                        from[t] = 1;
                        queue[tail++] = t;
                    }
            }
        }
    }
done:
    free(all);
    free(out);
    free(from);
    free(queue);
}

static void reads(ck *c, const lk_state *s, const lk_expr *e, const uint64_t *avail,
                  uint64_t *warned, const char *path)
{
    int k;
    if (!e)
        return;
    if (e->op == LK_X_VAR && e->slot >= LK_SLOT__RESERVED && !HASBIT(avail, e->slot) &&
        !HASBIT(warned, e->slot)) {
        SETBIT(warned, e->slot);
        warn(c, s, path, "state '%s' reads '%s', but no path from the start sets it first", s->name,
             c->f->vars[e->slot]);
    }
    if (e->op == LK_X_FUNC)
        reads(c, s, c->f->funcs[e->slot].body, avail, warned, path);
    for (k = 0; k < e->nargs; k++)
        reads(c, s, e->args[k], avail, warned, path);
}

static void reads_t(ck *c, const lk_state *s, const lk_template *t, const uint64_t *avail,
                    uint64_t *warned, const char *path)
{
    int k;
    for (k = 0; t && k < t->nsegs; k++)
        reads(c, s, t->segs[k].expr, avail, warned, path);
}

static void unset_reads(ck *c)
{
    const lk_flow *f = c->f;
    size_t nw = (size_t)c->nw;
    uint64_t *avail = calloc(nw, sizeof *avail), *warned = calloc(nw, sizeof *warned);
    char path[400];
    int i, k, j;

    if (!avail || !warned)
        goto done;
    for (i = 0; i < f->nstates; i++) {
        const lk_state *s = &f->states[i];
        const lk_template *ts[4];
        static const char *const tn[] = {"confirm", "ambiguous", "elsewhere", "more"};
        if (!c->reach[i])
            continue;
        memcpy(avail, c->in + (size_t)i * nw, nw * sizeof *avail);
        memset(warned, 0, nw * sizeof *warned);
        for (k = 0; k < s->nset; k++) {
            snprintf(path, sizeof path, "states.%s.set.%s", s->name, f->vars[s->set[k].slot]);
            reads(c, s, s->set[k].expr, avail, warned, path);
            SETBIT(avail, s->set[k].slot);
        }
        for (k = 0; k < s->nsay; k++) {
            snprintf(path, sizeof path, "states.%s.say[%d]", s->name, k);
            reads_t(c, s, s->say[k], avail, warned, path);
        }
        snprintf(path, sizeof path, "states.%s.invalid", s->name);
        reads_t(c, s, s->invalid, avail, warned, path);
        ts[0] = s->choice.confirm;
        ts[1] = s->choice.ambiguous;
        ts[2] = s->choice.elsewhere;
        ts[3] = s->choice.more;
        for (k = 0; s->kind == LK_S_CHOICE && k < 4; k++) {
            snprintf(path, sizeof path, "states.%s.choice.%s", s->name, tn[k]);
            reads_t(c, s, ts[k], avail, warned, path);
        }
        for (k = 0; s->kind == LK_S_MENU && k < s->noptions; k++)
            for (j = 0; j < s->options[k].nset; j++) {
                snprintf(path, sizeof path, "states.%s.menu[%d].set", s->name, k);
                reads(c, s, s->options[k].set[j].expr, avail, warned, path);
            }
        or_into(avail, c->gen + (size_t)i * nw, (int)nw);
        for (k = 0; k < s->nnext; k++) {
            snprintf(path, sizeof path, "states.%s.next[%d].if", s->name, k);
            reads(c, s, s->next[k].cond, avail, warned, path);
        }
    }
done:
    free(avail);
    free(warned);
}

/* ---- menus and lists --------------------------------------------------------------- */

static int is_data_word(const lk_state *s, const char *w)
{
    int k;
    for (k = 0; k < s->ndata_words; k++)
        if (strcmp(s->data_words[k], w) == 0)
            return 1;
    return 0;
}

static void menus(ck *c)
{
    const lk_flow *f = c->f;
    char path[300];
    int i, k, j, m, n;

    for (i = 0; i < f->nstates; i++) {
        const lk_state *s = &f->states[i];
        if (s->kind == LK_S_CHOICE && s->choice.page > 10) {
            snprintf(path, sizeof path, "states.%s.choice.page", s->name);
            warn(c, s, path,
                 "a page of %d rows cannot be a WhatsApp list (at most 10 rows); "
                 "shown as text",
                 s->choice.page);
        }
        if (s->kind != LK_S_MENU)
            continue;
        if (s->noptions > 10) {
            snprintf(path, sizeof path, "states.%s.menu", s->name);
            warn(c, s, path,
                 "%d options: more than 10 options cannot be a WhatsApp list; shown "
                 "as text",
                 s->noptions);
        }
        for (k = 0; k < s->noptions; k++) {
            const lk_option *o = &s->options[k];
            int same_title = 0;
            const char *shown = o->short_title ? o->short_title : o->title;
            size_t len = shown ? lk_utf8_len(shown, strlen(shown)) : 0;
            snprintf(path, sizeof path, "states.%s.menu[%d]", s->name, k);
            if (s->noptions <= 3 && len > 20)
                warn(c, s, path,
                     "the title of option %d has %zu characters; WhatsApp buttons "
                     "show at most 20 (give it a \"short\" title)",
                     k + 1, len);
            else if (s->noptions > 3 && s->noptions <= 10 && len > 24)
                warn(c, s, path,
                     "the title of option %d has %zu characters; WhatsApp list rows "
                     "show at most 24 (give it a \"short\" title)",
                     k + 1, len);
            for (m = 0; m < k && o->nwords; m++) {
                if (s->options[m].nwords && !strcmp(s->options[m].words[0], o->words[0])) {
                    warn(c, s, path, "options %d and %d have the same title", m + 1, k + 1);
                    same_title = 1;
                    break;
                }
            }
            for (j = 0; j < o->nwords; j++) {
                const char *w = o->words[j];
                int taken = 0;
                for (m = 0; m < f->ncommands && !taken && !is_data_word(s, w); m++)
                    for (n = 0; n < f->commands[m].nwords && !taken; n++)
                        if (!strcmp(f->commands[m].words[n], w)) {
                            warn(c, s, path, "word '%s' of option %d is taken by command '%s'", w,
                                 k + 1, f->commands[m].name);
                            taken = 1;
                        }
                for (m = 0; m < k && !taken && !(j == 0 && same_title); m++)
                    for (n = 0; n < s->options[m].nwords && !taken; n++)
                        if (!strcmp(s->options[m].words[n], w)) {
                            warn(c, s, path, "word '%s' of option %d is taken by option %d", w,
                                 k + 1, m + 1);
                            taken = 1;
                        }
                if (!taken && w[0] >= '1' && w[0] <= '9' && strspn(w, "0123456789") == strlen(w) &&
                    strlen(w) < 4 && atoi(w) <= s->noptions && atoi(w) != k + 1)
                    warn(c, s, path, "word '%s' of option %d is the number of option %d", w, k + 1,
                         atoi(w));
            }
        }
    }
    for (m = 1; m < f->ncommands; m++)
        for (n = 0; n < f->commands[m].nwords; n++)
            for (k = 0; k < m; k++)
                for (j = 0; j < f->commands[k].nwords; j++)
                    if (!strcmp(f->commands[k].words[j], f->commands[m].words[n])) {
                        snprintf(path, sizeof path, "commands[%d].words", m);
                        warn(c, NULL, path, "word '%s' of command '%s' is taken by command '%s'",
                             f->commands[m].words[n], f->commands[m].name, f->commands[k].name);
                    }
}

/* 1 when the one word w is among the words of phrase p. */
static int word_in(const char *p, const char *w)
{
    size_t wn = strlen(w);
    while (*p) {
        size_t k = strcspn(p, " ");
        if (k == wn && !memcmp(p, w, wn))
            return 1;
        p += k;
        p += strspn(p, " ");
    }
    return 0;
}

/* After normalisation and the lexicon, a word that selects one option on its
 * own but is also a word of another option of the same menu: "iuran" for
 * "Cek Tagihan Iuran" beside "Info Program JKN / Iuran". And the lexicon
 * mapping a word the flow itself uses. */
static void shared_words(ck *c)
{
    const lk_flow *f = c->f;
    char path[300];
    int i, k, j, m, n;

    for (i = 0; i < f->nstates; i++) {
        const lk_state *s = &f->states[i];
        for (k = 0; s->kind == LK_S_MENU && k < s->noptions; k++) {
            const lk_option *o = &s->options[k];
            for (j = o->key ? 2 : 1; j < o->nwords; j++) {
                const char *w = o->words[j];
                int done = strchr(w, ' ') != NULL;
                for (m = 0; m < s->noptions && !done; m++)
                    for (n = 0; m != k && n < s->options[m].nwords && !done; n++) {
                        const char *p = s->options[m].words[n];
                        if (strcmp(p, w) != 0 && word_in(p, w)) {
                            snprintf(path, sizeof path, "states.%s.menu[%d].words", s->name, k);
                            warn(c, s, path,
                                 "word '%s' of option %d is also a word of option %d ('%s'); "
                                 "alone it selects option %d",
                                 w, k + 1, m + 1, p, k + 1);
                            done = 1;
                        }
                    }
            }
        }
    }
    for (i = 0; i < f->nlexwarn; i++)
        warn(c, NULL, "lexicon.words",
             "the lexicon maps %s, a word the flow itself uses: it never matches as written",
             f->lexwarn[i]);
}

/* A sensitive answer no state clears stays in the session until the
 * conversation ends or its session is pruned (session_keep). */
static void sensitive_kept(ck *c)
{
    const lk_flow *f = c->f;
    int i, k, j, cleared;

    for (i = 0; i < f->nstates; i++) {
        const lk_state *s = &f->states[i];

        if (s->kind != LK_S_INPUT || !s->input.sensitive || s->var < 0)
            continue;
        for (cleared = 0, k = 0; k < f->nstates && !cleared; k++)
            for (j = 0; j < f->states[k].nclear; j++)
                cleared |= f->states[k].clear[j] == s->var;
        if (!cleared)
            warn(c, s, NULL,
                 "the answer to state '%s' is sensitive, but no state clears '%s': the session "
                 "keeps it until the conversation ends (name it in a \"clear\" list where the "
                 "flow no longer needs it)",
                 s->name, f->vars[s->var]);
    }
}

size_t lk_flow_check(const lk_flow *flow, lk_diag *diag)
{
    ck c;

    if (!flow || flow->nstates == 0)
        return 0;
    memset(&c, 0, sizeof c);
    c.f = flow;
    c.diag = diag;
    c.nw = (flow->nvars + 63) / 64;
    c.in = calloc((size_t)flow->nstates * (size_t)c.nw + 1, sizeof *c.in);
    c.gen = calloc((size_t)flow->nstates * (size_t)c.nw + 1, sizeof *c.gen);
    c.reach = calloc((size_t)flow->nstates + 1, 1);
    if (c.in && c.gen && c.reach) {
        reachable(&c);
        dead_ends(&c);
        may_set(&c);
        unset_reads(&c);
        menus(&c);
        shared_words(&c);
        sensitive_kept(&c);
    }
    free(c.in);
    free(c.gen);
    free(c.reach);
    return c.count;
}
