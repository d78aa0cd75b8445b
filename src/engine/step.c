/* lk_engine_step: one inbound message through the flow.
 *
 *   1. expiry: an ended session starts over silently; one idle longer than
 *      session.expire_after starts over after the `expired` text
 *   2. `input` = the message, trimmed
 *   3. global commands (whole normalised message = a command word), unless
 *      the word is data in this state
 *   4. the state's own input: menu option, validated input or data set row;
 *      valid input moves on, invalid input is answered and counted
 *   5. entering states: set, say, the menu or list, and on through pass
 *      states, at most flow->max_steps of them per message
 *   6. the session remembers the message's time
 *
 * Nothing here reads a clock, does I/O or keeps global state: time is now_ms
 * and everything else is in the flow, the session and the output. */
#include "engine_int.h"

#include <string.h>

typedef struct run {
    const lk_flow *flow;
    lk_session *s;
    lk_out *out;
    lk_ctx ctx;
    int steps;           /* states entered for this message */
    int pre_ds, pre_row; /* a row already named for the next choice of data set pre_ds */
} run;

static void valid(run *r, const lk_state *st);
static lk_err choose(run *r, const lk_choice *ch, const lk_dataset *d, int row);

static void reply(run *r, const lk_template *t)
{
    if (!t)
        return;
    lk_out_begin(r->out);
    lk_render(&r->ctx, t, lk_out_buf(r->out));
    lk_out_end(r->out);
}

static lk_err assign(run *r, const lk_assign *a, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (lk_var_set(r->s, a[i].slot, lk_eval(&r->ctx, a[i].expr)) < 0)
            return LK_ENOMEM;
    return LK_OK;
}

/* ---- lists: menu options, a page of rows, "which one?" ---- */

/* Opens the reply a list goes into: the state's last say text when there is
 * one, else a reply of its own. Returns the offset after which a line needs a
 * newline before it. */
static size_t open_for_list(run *r, int last)
{
    if (last >= 0 && lk_out_reopen(r->out, last) == 0)
        return 0;
    lk_out_begin(r->out);
    return lk_out_buf(r->out)->len;
}

/* "3. Title"; a menu option with a key shows it instead ("J. Title"). The
 * choice a channel shows as a button or list row may have a shorter title. */
static void list_line_key(run *r, size_t mark, int num, const char *key, const char *title,
                          const char *short_title)
{
    lk_buf *b = lk_out_buf(r->out);

    if (b->len > mark)
        lk_buf_putc(b, '\n');
    if (key)
        lk_buf_puts(b, key);
    else
        lk_buf_put_int(b, num);
    lk_buf_put(b, ". ", 2);
    lk_buf_puts(b, title);
    lk_out_choice(r->out, key, num, short_title ? short_title : title);
}

static void list_line(run *r, size_t mark, int num, const char *title)
{
    list_line_key(r, mark, num, NULL, title, NULL);
}

static void show_page(run *r, const lk_state *st, int last)
{
    const lk_choice *ch = &st->choice;
    const lk_dataset *d = &r->flow->datasets[ch->dataset];
    int first, count, size = ch->page > 0 ? ch->page : 10, start, end, i;
    size_t mark;

    lk_choice_rows(r->flow, r->s, ch, &first, &count);
    if (count <= 0)
        return;
    if (r->s->page < 0 || (int64_t)r->s->page * size >= count)
        r->s->page = 0; /* past the last page: start again */
    start = r->s->page * size;
    end = count - start > size ? start + size : count;
    mark = open_for_list(r, last);
    lk_out_question(r->out, st->name, 0, r->flow->list_button);
    for (i = start; i < end; i++)
        list_line(r, mark, i + 1, d->rows[first + i].name);
    if (end < count && ch->more) {
        lk_buf_putc(lk_out_buf(r->out), '\n');
        lk_render(&r->ctx, ch->more, lk_out_buf(r->out));
    }
    if (end < count && ch->more_word)
        lk_out_more(r->out, ch->more_word);
    lk_out_end(r->out);
}

/* The state's texts, with its menu or its list page appended to the last. */
static void prompt(run *r, const lk_state *st)
{
    int i, last = -1;

    for (i = 0; i < st->nsay; i++) {
        int k;
        lk_out_begin(r->out);
        lk_render(&r->ctx, st->say[i], lk_out_buf(r->out));
        if ((k = lk_out_end(r->out)) >= 0)
            last = k;
    }
    if (st->kind == LK_S_MENU && st->noptions > 0) {
        size_t mark = open_for_list(r, last);
        lk_out_question(r->out, st->name, 0, r->flow->list_button);
        for (i = 0; i < st->noptions; i++) {
            const lk_option *o = &st->options[i];
            list_line_key(r, mark, i + 1, o->key, o->title, o->short_title);
        }
        lk_out_end(r->out);
    } else if (st->kind == LK_S_CHOICE) {
        show_page(r, st, last);
    }
}

/* ---- moving ---- */

static const lk_edge *next_edge(run *r, const lk_state *st)
{
    int i;
    for (i = 0; i < st->nnext; i++)
        if (!st->next[i].cond || lk_truthy(lk_eval(&r->ctx, st->next[i].cond)))
            return &st->next[i];
    return NULL;
}

static void end_session(run *r)
{
    lk_session *s = r->s;

    lk_sensitive_clear_all(r->flow, s, r->out);
    s->ended = 1;
    s->nhist = 0;
    s->pending = LK_PEND_NONE;
    s->ncand = 0;
}

static lk_err enter(run *r, int target)
{
    const lk_flow *flow = r->flow;
    int max = flow->max_steps > 0 ? flow->max_steps : 64;

    for (;;) {
        const lk_state *st;
        const lk_edge *e;
        lk_err err;

        if (target < 0 || target >= flow->nstates)
            return LK_EINVAL; /* the loader resolves every target; never here */
        if (++r->steps > max)
            return LK_ELIMIT;
        st = &flow->states[target];
        r->s->state = target;
        r->s->pending = LK_PEND_NONE;
        r->s->ncand = 0;
        r->s->page = 0;
        r->s->invalid = 0;
        r->s->child = -1;
        /* match and match_parent belong to the question that was asked */
        lk_var_clear(r->s, LK_SLOT_MATCH);
        lk_var_clear(r->s, LK_SLOT_MATCH_PARENT);
        lk_out_state(r->out, target);
        if ((err = assign(r, st->set, st->nset)) != LK_OK)
            return err;
        /* the city named at the province question answers the city question */
        if (st->kind == LK_S_CHOICE && r->pre_row >= 0 && st->choice.dataset == r->pre_ds) {
            int row = r->pre_row, first, count;
            r->pre_row = -1;
            lk_choice_rows(flow, r->s, &st->choice, &first, &count);
            if (row >= first && row < first + count) {
                valid(r, st);
                if ((err = choose(r, &st->choice, &flow->datasets[st->choice.dataset], row)) !=
                    LK_OK)
                    return err;
                if ((e = next_edge(r, st))) {
                    lk_out_edge(r->out, e->id);
                    target = e->target;
                    continue;
                }
            }
        }
        prompt(r, st);
        lk_sensitive_clear_state(flow, st, r->s, r->out);
        if (st->kind == LK_S_END) {
            end_session(r);
            return LK_OK;
        }
        if (st->kind != LK_S_PASS)
            return LK_OK;
        if (!(e = next_edge(r, st)))
            return LK_OK; /* a dead end: stay (lk_flow_check warns) */
        lk_out_edge(r->out, e->id);
        target = e->target;
    }
}

/* Valid input goes on along the state's next; with no edge that holds, the
 * session stays. */
static lk_err follow(run *r, const lk_state *st)
{
    const lk_edge *e = next_edge(r, st);

    if (!e)
        return LK_OK;
    lk_out_edge(r->out, e->id);
    return enter(r, e->target);
}

static void valid(run *r, const lk_state *st)
{
    r->s->invalid = 0;
    if (!st->no_history)
        lk_hist_push(r->s, r->flow, r->s->state);
}

/* The invalid.limit-th invalid reply in a row is the escape text instead. */
static lk_err invalid(run *r, const lk_state *st, const lk_template *text)
{
    const lk_flow *flow = r->flow;

    lk_out_miss(r->out, r->s->state);
    if (++r->s->invalid >= flow->invalid_limit && flow->invalid_limit > 0) {
        r->s->invalid = 0;
        if (flow->escape) {
            reply(r, flow->escape);
            return LK_OK;
        }
    }
    reply(r, text ? text : st->invalid ? st->invalid : flow->invalid);
    return LK_OK;
}

/* ---- commands ---- */

static int has_prompt(const lk_state *st)
{
    return st->nsay > 0 || st->kind == LK_S_MENU || st->kind == LK_S_CHOICE;
}

/* Runs a global command. *as_input is set when the command has nothing to
 * do here and the message is the state's input instead (`kembali` in a start
 * state that asks nothing). */
static lk_err command(run *r, const lk_command *c, int *as_input)
{
    lk_session *s = r->s;
    int prev;

    switch (c->action) {
    case LK_CMD_GOTO:
        /* `kembali` after `menu` returns to the question that was left */
        if (!r->flow->states[s->state].no_history)
            lk_hist_push(s, r->flow, s->state);
        reply(r, c->say);
        lk_out_edge(r->out, c->edge);
        return enter(r, c->target);
    case LK_CMD_BACK:
        /* a state with nothing to ask (a start state that takes any text)
         * cannot "ask again": skip it */
        while ((prev = lk_hist_pop(s, s->state)) >= 0 && !has_prompt(&r->flow->states[prev]))
            ;
        if (prev >= 0)
            return enter(r, prev);
        if (!has_prompt(&r->flow->states[s->state])) {
            *as_input = 1;
            return LK_OK;
        }
        s->pending = LK_PEND_NONE; /* nowhere to go back to: ask again */
        prompt(r, &r->flow->states[s->state]);
        return LK_OK;
    case LK_CMD_SAY: reply(r, c->say); return LK_OK;
    case LK_CMD_END:
        reply(r, c->say);
        lk_out_edge(r->out, c->edge);
        end_session(r);
        return LK_OK;
    }
    return LK_OK;
}

/* ---- the state's own input ---- */

static lk_err set_match(run *r, const lk_dataset *d, int row)
{
    const lk_flow *flow = r->flow;
    const lk_row *rw = &d->rows[row];

    if (lk_var_set_str(r->s, LK_SLOT_MATCH, rw->name, strlen(rw->name)) < 0)
        return LK_ENOMEM;
    if (d->parent >= 0 && d->parent < flow->ndatasets && rw->parent >= 0) {
        const char *pn = flow->datasets[d->parent].rows[rw->parent].name;
        if (lk_var_set_str(r->s, LK_SLOT_MATCH_PARENT, pn, strlen(pn)) < 0)
            return LK_ENOMEM;
    } else {
        lk_var_clear(r->s, LK_SLOT_MATCH_PARENT);
    }
    return LK_OK;
}

static lk_err choose(run *r, const lk_choice *ch, const lk_dataset *d, int row)
{
    const lk_row *rw = &d->rows[row];
    int k;

    if (lk_var_set_str(r->s, ch->var, rw->name, strlen(rw->name)) < 0 ||
        lk_var_set_str(r->s, ch->id_slot, rw->id, strlen(rw->id)) < 0)
        return LK_ENOMEM;
    for (k = 0; k < d->nfields && ch->field_slots; k++) {
        lk_value v = rw->fields ? rw->fields[k] : (lk_value){LK_VT_NULL, 0, NULL, 0};
        if (lk_var_set(r->s, ch->field_slots[k], v) < 0)
            return LK_ENOMEM;
    }
    return LK_OK;
}

static void show_which(run *r, const lk_template *head, const lk_dataset *d, const int *rows, int n)
{
    size_t mark;
    int i;

    lk_out_begin(r->out);
    lk_out_question(r->out, r->flow->states[r->s->state].name, 1, r->flow->list_button);
    mark = lk_out_buf(r->out)->len;
    lk_render(&r->ctx, head, lk_out_buf(r->out));
    for (i = 0; i < n; i++)
        list_line(r, mark, i + 1, d->rows[rows[i]].name);
    lk_out_end(r->out);
}

/* The previous question, when it is a choice of the data set that is the
 * parent of this one's: the state, or -1. */
static int parent_question(run *r, const lk_choice *ch)
{
    const lk_flow *f = r->flow;
    const lk_session *s = r->s;
    int k;

    for (k = s->nhist - 1; k >= 0; k--) {
        const lk_state *p = &f->states[s->hist[k]];
        if (s->hist[k] == s->state)
            continue;
        if (p->kind == LK_S_CHOICE && f->datasets[ch->dataset].parent == p->choice.dataset)
            return s->hist[k];
        return -1;
    }
    return -1;
}

/* "eh salah, jawa tengah" where the city is asked: the province is taken
 * again, and its cities are asked. */
static int correct_parent(run *r, const lk_choice *ch, const lk_canon *c, lk_err *err)
{
    const lk_flow *f = r->flow;
    int ps = parent_question(r, ch), row, prev;
    const lk_state *pst;

    if (ps < 0)
        return 0;
    pst = &f->states[ps];
    row = lk_choice_named(&f->datasets[pst->choice.dataset], c->bare, c->baren);
    if (row < 0)
        return 0;
    while ((prev = lk_hist_pop(r->s, r->s->state)) >= 0 && prev != ps)
        ;
    r->s->state = ps;
    valid(r, pst);
    if ((*err = choose(r, &pst->choice, &f->datasets[pst->choice.dataset], row)) == LK_OK)
        *err = follow(r, pst);
    return 1;
}

static lk_err handle_choice(run *r, const lk_state *st, const char *q, size_t qn,
                            const lk_canon *cn)
{
    int was = r->s->pending, keep_n = r->s->ncand, keep[LK_MAX_CAND];
    const lk_choice *ch = &st->choice;
    const lk_dataset *d = &r->flow->datasets[ch->dataset];
    lk_session *s = r->s;
    lk_cmatch m;
    lk_err err = LK_OK;

    int child = s->pending == LK_PEND_CONFIRM ? s->child : -1;

    memcpy(keep, s->cand, sizeof keep);
    lk_match_choice(r->flow, s, ch, q, qn, cn, &m);
    if ((m.res == LK_C_INVALID || m.res == LK_C_CONFIRM) && was == LK_PEND_NONE &&
        correct_parent(r, ch, cn, &err))
        return err;
    s->pending = LK_PEND_NONE;
    s->ncand = 0;
    s->child = -1;
    switch (m.res) {
    case LK_C_CHOSEN:
        if (child >= 0 && ch->children >= 0) { /* "ya" to "Surabaya is in Jawa Timur?" */
            r->pre_ds = ch->children;
            r->pre_row = child;
        }
        valid(r, st);
        if ((err = choose(r, ch, d, m.row)) != LK_OK)
            return err;
        return follow(r, st);
    case LK_C_MORE:
        s->page++;
        show_page(r, st, -1);
        return LK_OK;
    case LK_C_CONFIRM:
        if (!ch->confirm)
            return invalid(r, st, NULL);
        if ((err = set_match(r, d, m.row)) != LK_OK)
            return err;
        s->pending = LK_PEND_CONFIRM;
        s->cand[0] = m.row;
        s->ncand = 1;
        reply(r, ch->confirm);
        return LK_OK;
    case LK_C_DISAMBIG:
        s->pending = LK_PEND_DISAMBIG;
        s->ncand = m.n;
        memcpy(s->cand, m.cand, (size_t)m.n * sizeof *m.cand);
        show_which(r, ch->ambiguous, d, m.cand, m.n);
        return LK_OK;
    case LK_C_ELSEWHERE:
        if ((err = set_match(r, d, m.row)) != LK_OK)
            return err;
        return invalid(r, st, ch->elsewhere);
    case LK_C_CHILD: /* "bandung" for the province: confirm Jawa Barat */
        if ((err = set_match(r, &r->flow->datasets[ch->children], m.cand[0])) != LK_OK)
            return err;
        s->pending = LK_PEND_CONFIRM;
        s->cand[0] = m.row;
        s->ncand = 1;
        s->child = m.n == 1 ? m.cand[0] : -1; /* one city is carried over, two are asked */
        reply(r, ch->child);
        return LK_OK;
    case LK_C_DECLINED: /* a fair answer, not an invalid one: not counted */
        reply(r, st->invalid ? st->invalid : r->flow->invalid);
        return LK_OK;
    default:
        if (was == LK_PEND_DISAMBIG && keep_n > 0) {
            /* the list stays: a number typed next is one of it */
            s->pending = LK_PEND_DISAMBIG;
            s->ncand = keep_n;
            memcpy(s->cand, keep, sizeof keep);
            if ((err = invalid(r, st, NULL)) == LK_OK)
                show_which(r, ch->ambiguous, d, keep, keep_n);
            return err;
        }
        return invalid(r, st, NULL);
    }
}

static lk_err select_option(run *r, const lk_state *st, int i)
{
    const lk_option *opt = &st->options[i];
    lk_err err;

    valid(r, st);
    if ((err = assign(r, opt->set, opt->nset)) != LK_OK)
        return err;
    lk_out_edge(r->out, opt->edge.id);
    if (opt->edge.target < 0) /* no goto: the state's next */
        return follow(r, st);
    return enter(r, opt->edge.target);
}

static lk_err handle_menu(run *r, const lk_state *st, const lk_canon *c)
{
    lk_session *s = r->s;
    lk_mmatch m;
    size_t mark;
    int i;

    if (s->pending == LK_PEND_CONFIRM && s->ncand == 1) {
        int yn = lk_match_yesno(r->flow, NULL, c->map, c->mapn), opt = s->cand[0];
        s->pending = LK_PEND_NONE;
        s->ncand = 0;
        if (yn == 1 && opt >= 0 && opt < st->noptions)
            return select_option(r, st, opt);
        if (yn == 0) {
            prompt(r, st);
            return LK_OK;
        }
    }
    lk_match_menu(r->flow, st, c, &m);
    switch (m.res) {
    case LK_M_CHOSEN: return select_option(r, st, m.opt);
    case LK_M_WHICH: /* "lokasi": faskes or kantor? */
        if (!r->flow->which)
            return invalid(r, st, NULL);
        lk_out_begin(r->out);
        lk_out_question(r->out, st->name, 0, r->flow->list_button);
        mark = lk_out_buf(r->out)->len;
        lk_render(&r->ctx, r->flow->which, lk_out_buf(r->out));
        for (i = 0; i < m.n; i++) {
            const lk_option *o = &st->options[m.cand[i]];
            list_line_key(r, mark, m.cand[i] + 1, o->key, o->title, o->short_title);
        }
        lk_out_end(r->out);
        return LK_OK;
    case LK_M_CONFIRM: /* "pandwa": PANDAWA? */
        if (!r->flow->confirm)
            return invalid(r, st, NULL);
        if (lk_var_set_str(s, LK_SLOT_MATCH, st->options[m.opt].title,
                           strlen(st->options[m.opt].title)) < 0)
            return LK_ENOMEM;
        s->pending = LK_PEND_CONFIRM;
        s->cand[0] = m.opt;
        s->ncand = 1;
        reply(r, r->flow->confirm);
        return LK_OK;
    default: return invalid(r, st, NULL);
    }
}

/* "eh salah, maksudnya 15 bulan" where the members are asked: the number
 * answers the previous question, whose unit it has; "eh salah, kelas 2"
 * answers the class menu before it. 1 when taken. */
static int correct_previous(run *r, const char *raw, size_t rn, const lk_canon *c, lk_err *err)
{
    const lk_flow *f = r->flow;
    lk_session *s = r->s;
    const lk_state *pst;
    lk_nread nr;
    lk_mmatch m;
    int k, prev = -1;

    for (k = s->nhist - 1; k >= 0 && prev < 0; k--)
        if (s->hist[k] != s->state)
            prev = s->hist[k];
    if (prev < 0 || !c->cue)
        return 0;
    pst = &f->states[prev];
    if (pst->kind == LK_S_MENU) {
        lk_match_menu(f, pst, c, &m);
        if (m.res != LK_M_CHOSEN)
            return 0;
    } else if (pst->kind != LK_S_INPUT || pst->input.kind != LK_V_NUMBER ||
               lk_read_number(f, &pst->input, raw, rn, &nr) != LK_N_OK) {
        return 0;
    }
    while ((k = lk_hist_pop(s, s->state)) >= 0 && k != prev)
        ;
    s->state = prev;
    if (pst->kind == LK_S_MENU) {
        *err = select_option(r, pst, m.opt);
        return 1;
    }
    valid(r, pst);
    if (lk_var_set_int(s, pst->var, nr.val) < 0) {
        *err = LK_ENOMEM;
        return 1;
    }
    *err = follow(r, pst);
    return 1;
}

static lk_err handle_input(run *r, const lk_state *st, const char *raw, size_t rn,
                           const lk_canon *c)
{
    lk_session *s = r->s;
    const lk_template *t;
    char tmp[64];
    lk_value v;
    lk_nread nr;
    lk_nres res;
    lk_err err = LK_OK;

    if (s->pending == LK_PEND_CONFIRM) { /* "24 bulan?" */
        int yn = lk_match_yesno(r->flow, NULL, c->map, c->mapn);
        s->pending = LK_PEND_NONE;
        s->ncand = 0;
        if (yn == 1) {
            valid(r, st);
            if (lk_var_set(s, st->var, lk_var_get(s, LK_SLOT_MATCH)) < 0)
                return LK_ENOMEM;
            lk_var_clear(s, LK_SLOT_MATCH);
            return follow(r, st);
        }
        if (yn == 0) {
            lk_var_clear(s, LK_SLOT_MATCH);
            prompt(r, st);
            return LK_OK;
        }
    }
    res = lk_match_input(r->flow, st, raw, rn, c, r->ctx.now_ms, tmp, sizeof tmp, &v, &nr);
    /* a bare number after a correction cue is confirmed too */
    if (res == LK_N_OK && c->cue && st->input.kind == LK_V_NUMBER)
        res = LK_N_CONFIRM;
    switch (res) {
    case LK_N_OK:
        valid(r, st);
        if (lk_var_set(s, st->var, v) < 0)
            return LK_ENOMEM;
        return follow(r, st);
    case LK_N_CONFIRM:
        t = st->input.confirm ? st->input.confirm : r->flow->confirm;
        if (!t)
            return invalid(r, st, NULL);
        if (lk_var_set(s, LK_SLOT_MATCH, v) < 0)
            return LK_ENOMEM;
        s->pending = LK_PEND_CONFIRM;
        s->cand[0] = 0;
        s->ncand = 1;
        reply(r, t);
        return LK_OK;
    case LK_N_FOREIGN: /* "kelas 2" where months are asked */
        if (correct_previous(r, raw, rn, c, &err))
            return err;
        t = st->input.unit_refused ? st->input.unit_refused : r->flow->unit_refused;
        if (lk_var_set_str(s, LK_SLOT_MATCH, nr.unit, strlen(nr.unit)) < 0)
            return LK_ENOMEM;
        return invalid(r, st, t);
    case LK_N_TWO: return invalid(r, st, r->flow->two_numbers);
    default: return invalid(r, st, NULL);
    }
}

static lk_err handle(run *r, const lk_state *st, const char *raw, size_t rn, const char *q,
                     size_t qn, const lk_canon *c)
{
    switch (st->kind) {
    case LK_S_MENU: return handle_menu(r, st, c);
    case LK_S_INPUT: {
        lk_err err = handle_input(r, st, raw, rn, c);
        lk_sensitive_read(r->flow, st, r->s, r->out);
        return err;
    }
    case LK_S_CHOICE: return handle_choice(r, st, q, qn, c);
    default: /* a pass state that had nowhere to go: try again */ return follow(r, st);
    }
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The idle time after which the session's state expires: its own, else the
 * flow's. */
static int expired(const lk_flow *flow, const lk_session *s, int64_t now_ms)
{
    int64_t limit =
        flow->states[s->state].expire_ms ? flow->states[s->state].expire_ms : flow->expire_ms;
    return limit > 0 && s->last_ms > 0 && now_ms > s->last_ms &&
           (uint64_t)now_ms - (uint64_t)s->last_ms > (uint64_t)limit;
}

lk_err lk_engine_step(const lk_flow *flow, lk_session *s, const char *text, size_t len,
                      int64_t now_ms, lk_out *out)
{
    lk_input in;

    memset(&in, 0, sizeof in);
    in.text = text;
    in.len = len;
    return lk_engine_input(flow, s, &in, now_ms, out);
}

lk_err lk_engine_input(const lk_flow *flow, lk_session *s, const lk_input *in, int64_t now_ms,
                       lk_out *out)
{
    const char *text = in->text;
    size_t len = in->len;
    char q[LK_NORM_MAX], tapid[64];
    int aside, tapped;
    lk_canon c;
    const char *raw;
    size_t qn, rn;
    const lk_command *cmd;
    const lk_answer *ans;
    lk_err err = LK_OK;
    int as_input, resume = 0;
    run r;

    if (lk_session_fit(s, flow) < 0 || s->nvars <= LK_SLOT_INPUT)
        return LK_ENOMEM;
    r.flow = flow;
    r.s = s;
    r.out = out;
    r.ctx.flow = flow;
    r.ctx.s = s;
    r.ctx.now_ms = now_ms;
    r.steps = 0;
    r.pre_ds = r.pre_row = -1;

    /* 1 (a session at an end state is ended even if it was saved without
     * saying so); a state with a resume text offers to go on instead */
    if (s->state < 0 || s->state >= flow->nstates || s->ended ||
        flow->states[s->state].kind == LK_S_END) {
        lk_session_reset(s, flow);
    } else if (expired(flow, s, now_ms)) {
        int at_start = s->state == flow->start;
        if (flow->states[s->state].resume && s->pending != LK_PEND_RESUME) {
            resume = 1;
        } else {
            lk_session_reset(s, flow);
            if (!at_start)
                reply(&r, flow->expired);
        }
    }

    aside = lk_tap_aside(flow, s, in, resume, tapid, sizeof tapid, &text, &len, &tapped);

    /* 2 */
    while (len > 0 && is_space(*text)) {
        text++;
        len--;
    }
    while (len > 0 && is_space(text[len - 1]))
        len--;
    if (lk_var_set_str(s, LK_SLOT_INPUT, text, len) < 0) {
        err = LK_ENOMEM;
        goto done;
    }
    raw = s->vars[LK_SLOT_INPUT].s; /* NUL-terminated, for regexec */
    rn = len;
    qn = lk_text_norm(raw, rn, q, sizeof q);
    lk_canon_read(&flow->lex, raw, rn, &c);

    lk_sensitive_held(flow, s, out);
    lk_out_state(out, s->state);
    if (resume) { /* "Lanjutkan pembayaran? (ya/tidak)" */
        s->pending = LK_PEND_RESUME;
        s->ncand = 0;
        reply(&r, flow->states[s->state].resume);
        goto ok;
    }
    if (aside) { /* a tap on an old list, media where none is read */
        const lk_state *st = &flow->states[s->state];
        if (in->tap) {
            reply(&r, flow->stale ? flow->stale : flow->invalid);
            if (s->pending == LK_PEND_RESUME)
                reply(&r, st->resume);
            else
                prompt(&r, st);
        } else {
            reply(&r, flow->media ? flow->media : flow->invalid);
        }
        goto ok;
    }
    if (in->media_type && lk_media_accepts(&flow->states[s->state], in->media_type)) {
        const lk_state *st = &flow->states[s->state];
        valid(&r, st);
        err = lk_media_store(s, st, in) < 0 ? LK_ENOMEM : follow(&r, st);
        goto ok;
    }
    if (s->pending == LK_PEND_RESUME) {
        int yn = lk_match_yesno(flow, NULL, c.map, c.mapn);
        s->pending = LK_PEND_NONE;
        if (yn == 1) {
            prompt(&r, &flow->states[s->state]);
            goto ok;
        }
        /* anything else starts over, and the message is read there */
        lk_session_reset(s, flow);
        lk_out_state(out, s->state);
    }

    /* 3, 4 and 5; the state that handles the message counts as visited */
    cmd = tapped ? NULL : lk_find_command(flow, &flow->states[s->state], q, qn, raw, rn, &c);
    as_input = !cmd;
    if (cmd) {
        err = command(&r, cmd, &as_input);
    } else if (!tapped && (ans = lk_find_answer(flow, &c)) && has_prompt(&flow->states[s->state])) {
        /* answered, and the pending question asked again */
        reply(&r, ans->say);
        prompt(&r, &flow->states[s->state]);
        as_input = 0;
    }
    if (as_input)
        err = handle(&r, &flow->states[s->state], raw, rn, q, qn, &c);

ok:
    /* 6 */
    if (err == LK_OK)
        s->last_ms = now_ms;
done:
    if (lk_out_finish(out) < 0 && err == LK_OK)
        err = LK_ENOMEM;
    return err;
}
