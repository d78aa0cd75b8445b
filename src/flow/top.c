/* The flow-wide parts of the format: global commands, session and invalid
 * settings, yes/no words, what states need from them, and the load-time
 * check that pass states cannot loop forever. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

/* ---- commands, session, invalid, yes/no -------------------------------------------- */

static const char **word_list(ld *l, const cJSON *arr, int *n, int required, const char *what,
                              int canon)
{
    const cJSON *c;
    const char **w;
    int k = 0;

    *n = 0;
    if (!arr)
        return NULL;
    if (required && !arr->child)
        ld_err(l, arr, "%s needs at least one word", what);
    w = ld_alloc(l, (size_t)(cJSON_GetArraySize(arr) + 1) * sizeof *w);
    if (!w)
        return NULL;
    for (c = arr->child; c; c = c->next, k++) {
        size_t mark = ld_push_i(l, k);
        if (!cJSON_IsString(c))
            ld_want(l, c, LD_STR);
        else if (!(w[*n] = canon ? ld_canon(l, c->valuestring, 0) : ld_word(l, c->valuestring)))
            l->oom = 1;
        else if (canon && !*w[*n] && !(w[*n] = ld_word(l, c->valuestring)))
            l->oom = 1;
        else if (!*w[*n])
            ld_err(l, c, "empty word");
        else
            (*n)++;
        ld_pop(l, mark);
    }
    return w;
}

void ld_commands(ld *l)
{
    static const char *const keys[] = {"name", "words", "anywhere", "goto",
                                       "back", "end",   "say",      NULL};
    const cJSON *arr = ld_member(l, l->files[0].root, "commands", LD_ARR, 0, "the flow"), *c;
    lk_flow *f = l->f;
    int i = 0, k;

    if (!arr)
        return;
    f->commands = ld_alloc(l, (size_t)(cJSON_GetArraySize(arr) + 1) * sizeof *f->commands);
    if (!f->commands)
        return;
    for (c = arr->child; c; c = c->next, i++) {
        size_t mark = ld_push(l, "commands");
        lk_command *cmd = &f->commands[f->ncommands];
        const cJSON *name, *words, *go, *back, *end, *say, *anywhere;
        char what[160];

        ld_push_i(l, i);
        if (!cJSON_IsObject(c)) {
            ld_want(l, c, LD_OBJ);
            ld_pop(l, mark);
            continue;
        }
        ld_check_keys(l, c, "a command", keys);
        name = ld_member(l, c, "name", LD_STR, 1, "a command");
        words = ld_member(l, c, "words", LD_ARR, 1, "a command");
        go = ld_member(l, c, "goto", LD_STR, 0, "a command");
        back = ld_member(l, c, "back", LD_BOOL, 0, "a command");
        end = ld_member(l, c, "end", LD_STR, 0, "a command");
        say = ld_member(l, c, "say", LD_STR, 0, "a command");
        anywhere = ld_member(l, c, "anywhere", LD_BOOL, 0, "a command");
        cmd->anywhere = anywhere && cJSON_IsTrue(anywhere);
        cmd->name = name ? ld_strdup(l, name->valuestring) : "";
        cmd->edge = -1;
        for (k = 0; name && k < f->ncommands; k++)
            if (strcmp(f->commands[k].name, name->valuestring) == 0)
                ld_err(l, name, "command '%s' is defined twice", name->valuestring);
        if (words) {
            size_t m2 = ld_push(l, "words");
            cmd->words = word_list(l, words, &cmd->nwords, 1, "a command", 0);
            cmd->cwords = ld_alloc(l, ((size_t)cmd->nwords + 1) * sizeof *cmd->cwords);
            for (k = 0; cmd->cwords && k < cmd->nwords; k++)
                cmd->cwords[k] = ld_canon(l, cmd->words[k], 1);
            ld_pop(l, m2);
        }
        if (back && !cJSON_IsTrue(back)) {
            size_t m2 = ld_push(l, "back");
            ld_err(l, back, "back is true or left out");
            ld_pop(l, m2);
            back = NULL;
        }
        if ((go != NULL) + (back != NULL) + (end != NULL) > 1)
            ld_err(l, c, "a command does one of goto, back and end");
        else if (end && say)
            ld_err(l, c, "an end command says its text in \"end\"; leave out \"say\"");
        else if (!go && !back && !end && !say)
            ld_err(l, c, "a command needs goto, back, end or say");
        snprintf(what, sizeof what, "command %s", cmd->name);
        if (go) {
            size_t m2 = ld_push(l, "goto");
            cmd->action = LK_CMD_GOTO;
            cmd->target = ld_target(l, go);
            cmd->edge = ld_edge(l, -1, cmd->target, what);
            ld_pop(l, m2);
        } else if (back) {
            cmd->action = LK_CMD_BACK;
        } else if (end) {
            cmd->action = LK_CMD_END;
            cmd->target = -1;
            cmd->edge = ld_edge(l, -1, -1, what);
        } else {
            cmd->action = LK_CMD_SAY;
        }
        if (end || say) {
            size_t m2 = ld_push(l, end ? "end" : "say");
            cmd->say = ld_template(l, end ? end : say);
            ld_pop(l, m2);
        }
        f->ncommands++;
        ld_pop(l, mark);
    }
}

/* obj.key as a template, or NULL when absent. */
static lk_template *text_member(ld *l, const cJSON *obj, const char *key, int required,
                                const char *what)
{
    const cJSON *v = ld_member(l, obj, key, LD_STR, required, what);
    lk_template *t = NULL;

    if (v) {
        size_t mark = ld_push(l, key);
        t = ld_template(l, v);
        ld_pop(l, mark);
    }
    return t;
}

void ld_settings_blocks(ld *l)
{
    static const char *const skeys[] = {"expire_after", "expired", "history", "max_steps", NULL};
    static const char *const ikeys[] = {"message", "limit", "escape", NULL};
    const cJSON *root = l->files[0].root, *ses, *inv, *v;
    lk_flow *f = l->f;
    size_t mark;

    f->invalid_limit = 3;
    f->history = 16;
    f->max_steps = 64;
    if ((ses = ld_member(l, root, "session", LD_OBJ, 0, "the flow"))) {
        mark = ld_push(l, "session");
        ld_check_keys(l, ses, "session", skeys);
        if ((v = ld_member(l, ses, "expire_after", LD_STR, 0, "session"))) {
            size_t m2 = ld_push(l, "expire_after");
            if (lk_duration_parse(v->valuestring, &f->expire_ms) != 0)
                ld_err(l, v, "'%s' is not a duration (90s, 30m, 2h, 1d)", v->valuestring);
            ld_pop(l, m2);
        }
        f->expired = text_member(l, ses, "expired", 0, "session");
        ld_int_member(l, ses, "history", "session", 1, 1000, &f->history, NULL);
        ld_int_member(l, ses, "max_steps", "session", 1, 10000, &f->max_steps, NULL);
        ld_pop(l, mark);
    }
    if ((inv = ld_member(l, root, "invalid", LD_OBJ, 0, "the flow"))) {
        mark = ld_push(l, "invalid");
        ld_check_keys(l, inv, "invalid", ikeys);
        f->invalid = text_member(l, inv, "message", 1, "invalid");
        f->escape = text_member(l, inv, "escape", 0, "invalid");
        ld_int_member(l, inv, "limit", "invalid", 1, 100, &f->invalid_limit, NULL);
        ld_pop(l, mark);
    }
    if ((v = ld_member(l, root, "yes", LD_ARR, 0, "the flow"))) {
        mark = ld_push(l, "yes");
        f->yes = word_list(l, v, &f->nyes, 1, "yes", 1);
        ld_pop(l, mark);
    }
    if ((v = ld_member(l, root, "no", LD_ARR, 0, "the flow"))) {
        mark = ld_push(l, "no");
        f->no = word_list(l, v, &f->nno, 1, "no", 1);
        ld_pop(l, mark);
    }
}

/* What the states need from the top level: yes/no words, a default invalid text. */
void ld_state_needs(ld *l)
{
    lk_flow *f = l->f;
    int i, yesno = -1;

    for (i = 0; i < f->nstates; i++) {
        const lk_state *s = &f->states[i];
        size_t mark;
        if (yesno < 0 &&
            (s->kind == LK_S_CHOICE || (s->kind == LK_S_INPUT && s->input.kind == LK_V_YESNO)))
            yesno = i;
        if (f->invalid || s->invalid || s->kind == LK_S_PASS || s->kind == LK_S_END)
            continue;
        mark = ld_push(l, "states");
        ld_push(l, s->name);
        ld_err_key(l, l->states[i].node,
                   "state '%s' takes input but has no \"invalid\" text, and "
                   "the flow has no invalid.message to fall back on",
                   s->name);
        ld_pop(l, mark);
    }
    if (yesno >= 0 && (!f->nyes || !f->nno)) {
        size_t mark = ld_push(l, f->nyes ? "no" : "yes");
        ld_err(l, l->files[0].root, "the flow needs \"yes\" and \"no\" words: state '%s' %s",
               f->states[yesno].name,
               f->states[yesno].kind == LK_S_CHOICE ? "is a choice (typos are confirmed)"
                                                    : "asks a yes/no question");
        ld_pop(l, mark);
    }
}

/* States without input that always follow their first `next` cannot form a
 * cycle: a message would loop through them forever. Conditional cycles are
 * left to the engine's step bound. */
void ld_pass_loops(ld *l)
{
    lk_flow *f = l->f;
    int *mark = calloc((size_t)f->nstates + 1, sizeof *mark), i;

    if (!mark) {
        l->oom = 1;
        return;
    }
    for (i = 0; i < f->nstates; i++) {
        int s = i;
        /* mark: 0 unseen, i+1 on the walk from i, -1 done */
        while (s >= 0 && mark[s] == 0) {
            const lk_state *st = &f->states[s];
            mark[s] = i + 1;
            s = st->kind == LK_S_PASS && st->nnext && !st->next[0].cond ? st->next[0].target : -1;
        }
        if (s >= 0 && mark[s] == i + 1) {
            char msg[512];
            size_t len = 0, m2;
            int k = s;
            do {
                len += (size_t)snprintf(msg + len, sizeof msg - len, "%s -> ", f->states[k].name);
                if (len >= sizeof msg)
                    len = sizeof msg - 1;
                k = f->states[k].next[0].target;
            } while (k != s);
            snprintf(msg + len, sizeof msg - len, "%s", f->states[s].name);
            m2 = ld_push(l, "states");
            ld_push(l, f->states[s].name);
            ld_push(l, "next");
            ld_err(l, cJSON_GetObjectItemCaseSensitive(l->states[s].node, "next"),
                   "these states loop forever: %s (none waits for input and every step is "
                   "unconditional)",
                   msg);
            ld_pop(l, m2);
        }
        for (s = i; s >= 0 && mark[s] == i + 1;) {
            const lk_state *st = &f->states[s];
            mark[s] = -1;
            s = st->kind == LK_S_PASS && st->nnext && !st->next[0].cond ? st->next[0].target : -1;
        }
    }
    free(mark);
}

/* ---- console --------------------------------------------------------------------------- */

/* "console": plain texts (not templates) that a chat client shows around the
 * conversation, in the flow's language. A client fills in "{bot}" itself. */
void ld_console(ld *l)
{
    static const char *const keys[] = {"lang",     "connecting", "connected",   "reconnecting",
                                       "not_sent", "typing",     "start",       "restarted",
                                       "reset",    "reset_hint", "placeholder", "send",
                                       "user",     "more",       "error",       NULL};
    const cJSON *c = ld_member(l, l->files[0].root, "console", LD_OBJ, 0, "the flow"), *v;
    lk_flow *f = l->f;
    size_t mark;
    int n = 0, i;

    if (!c)
        return;
    mark = ld_push(l, "console");
    ld_check_keys(l, c, "console", keys);
    f->console_keys = ld_alloc(l, sizeof keys);
    f->console_texts = ld_alloc(l, sizeof keys);
    for (i = 0; f->console_keys && f->console_texts && keys[i]; i++) {
        if (!(v = ld_member(l, c, keys[i], LD_STR, 0, "console")))
            continue;
        if (!*v->valuestring) {
            size_t m2 = ld_push(l, keys[i]);
            ld_err(l, v, "an empty text: leave the key out instead");
            ld_pop(l, m2);
            continue;
        }
        f->console_keys[n] = keys[i];
        f->console_texts[n++] = ld_strdup(l, v->valuestring);
    }
    f->nconsole = n;
    ld_pop(l, mark);
}
