/* Unit tests of the flow loader (src/flow): the compiled model of a good
 * flow, each kind of check warning, a list's pages and the console texts.
 * Inline flows are written with ' for " (flow_test.h). Runs from the
 * repository root (CTest sets it). */
#include "flow_test.h"

static int var(const lk_flow *f, const char *name)
{
    int i;
    for (i = 0; i < f->nvars; i++)
        if (!strcmp(f->vars[i], name))
            return i;
    return -1;
}

static void test_good_flow(void)
{
    lk_flow *f = NULL;
    const lk_state *s;
    const lk_dataset *prov, *reg;
    const lk_expr *e;
    const char *what;
    int i, from, to, main_, ask, bye, total;

    lk_diag_clear(&diag);
    CHECK_INT(lk_flow_load("tests/unit/flows/good.json", &f, &diag), LK_OK);
    if (!f) {
        lk_diag_print(&diag, stderr);
        return;
    }
    CHECK_INT(diag.n, 0);
    CHECK_STR(lk_flow_name(f), "test");
    CHECK_STR(lk_flow_path(f), "tests/unit/flows/good.json");
    CHECK_INT(lk_flow_state_count(f), 8);
    for (i = 0; i < f->nstates; i++)
        CHECK_INT(lk_flow_state_find(f, lk_flow_state_name(f, i)), i);
    CHECK_INT(lk_flow_state_find(f, "nope"), -1);
    CHECK(lk_flow_state_name(f, 8) == NULL);
    main_ = lk_flow_state_find(f, "main");
    ask = lk_flow_state_find(f, "ask_class");
    bye = lk_flow_state_find(f, "bye");
    CHECK_INT(f->start, main_);

    /* Slots: the reserved ones first, then in the order first assigned. */
    CHECK_STR(f->vars[LK_SLOT_INPUT], "input");
    CHECK_STR(f->vars[LK_SLOT_MATCH], "match");
    CHECK_STR(f->vars[LK_SLOT_MATCH_PARENT], "match_parent");
    CHECK_STR(f->vars[3], "done");
    CHECK_INT(f->nvars, 15);
    CHECK(var(f, "prov_id") > 0 && var(f, "prov_capital") > 0 && var(f, "prov_code") > 0);
    CHECK(var(f, "kab_id") > 0);

    /* The menu: numbered options, normalised words with the title first. */
    s = &f->states[main_];
    CHECK_INT(s->kind, LK_S_MENU);
    CHECK_INT(s->noptions, 3);
    CHECK_STR(s->options[0].title, "Cek Tagihan");
    CHECK_INT(s->options[0].nwords, 3);
    CHECK_STR(s->options[0].words[0], "cek tagihan");
    CHECK_STR(s->options[0].words[1], "tagihan");
    CHECK_STR(s->options[0].words[2], "bayar");
    CHECK_INT(s->options[0].edge.target, ask);
    CHECK_INT(s->options[2].edge.target, -1); /* no goto: the state's next */
    CHECK_INT(s->options[2].nset, 1);
    CHECK_INT(s->options[2].set[0].slot, var(f, "done"));
    CHECK_INT(s->nnext, 1);
    CHECK_INT(s->next[0].target, bye);
    CHECK(!s->no_history);
    CHECK_STR(s->file, "tests/unit/flows/good.json");
    CHECK_INT(s->line, 27);
    CHECK_INT(s->col, 5);

    /* Edges: next, then options, per state; then commands. */
    CHECK_INT(lk_flow_edge_count(f), 14);
    lk_flow_edge(f, s->options[1].edge.id, &from, &to, &what);
    CHECK_INT(from, main_);
    CHECK_INT(to, lk_flow_state_find(f, "province"));
    CHECK_STR(what, "menu 2");
    lk_flow_edge(f, s->next[0].id, &from, &to, &what);
    CHECK_STR(what, "next");
    lk_flow_edge(f, f->commands[0].edge, &from, &to, &what);
    CHECK_INT(from, -1);
    CHECK_INT(to, main_);
    CHECK_STR(what, "command menu");
    lk_flow_edge(f, 99, &from, &to, &what);
    CHECK(from == -1 && to == -1 && what == NULL);

    /* Inputs. */
    s = &f->states[ask];
    CHECK_INT(s->kind, LK_S_INPUT);
    CHECK_INT(s->input.kind, LK_V_NUMBER);
    CHECK_INT(s->input.min, 1);
    CHECK_INT(s->input.max, 3);
    CHECK_INT(s->var, var(f, "kelas"));
    CHECK_INT(s->nsay, 2);
    CHECK(s->invalid != NULL);
    CHECK(s->numbers_are_data);
    CHECK_INT(s->ndata_words, 1);
    CHECK_STR(s->data_words[0], "0");
    s = &f->states[lk_flow_state_find(f, "ask_months")];
    CHECK_INT(s->input.kind, LK_V_DIGITS);
    CHECK_INT(s->input.nlens, 2);
    CHECK_INT(s->input.lens[1], 2);
    s = &f->states[lk_flow_state_find(f, "confirm")];
    CHECK_INT(s->input.kind, LK_V_YESNO);
    CHECK_STR(s->file, "tests/unit/flows/good-more.json");
    CHECK_INT(s->line, 10);

    /* A pass state: set, say with filters, conditional next. */
    s = &f->states[lk_flow_state_find(f, "show_total")];
    CHECK_INT(s->kind, LK_S_PASS);
    CHECK(s->no_history);
    CHECK_INT(s->nset, 2);
    total = s->set[0].slot;
    CHECK_INT(total, var(f, "sum"));
    e = s->set[0].expr;
    CHECK_INT(e->op, LK_X_FUNC);
    CHECK_INT(e->nargs, 2);
    CHECK_STR(f->funcs[e->slot].name, "total");
    CHECK_INT(e->args[0]->op, LK_X_VAR);
    CHECK_INT(e->args[0]->slot, var(f, "kelas"));
    e = s->set[1].expr;
    CHECK(e->op == LK_X_CONST && e->v.type == LK_VT_STR && !strcmp(e->v.s, "Rp"));
    CHECK_INT(s->say[0]->nsegs, 7);
    CHECK_STR(s->say[0]->segs[0].lit, "Total {{ sum | money }} untuk kelas {{kelas}} "
                                      "({{ settings.fee[kelas] | number }}).");
    CHECK_INT(s->say[0]->segs[0].n, 6);
    CHECK_INT(s->say[0]->segs[1].filter, LK_F_MONEY);
    CHECK_INT(s->say[0]->segs[1].expr->slot, total);
    CHECK_INT(s->say[0]->segs[5].filter, LK_F_NUMBER);
    CHECK_INT(s->say[0]->segs[5].expr->op, LK_X_INDEX);
    CHECK_INT(s->nnext, 2);
    e = s->next[0].cond; /* sum > 1000000 and not done */
    CHECK_INT(e->op, LK_X_AND);
    CHECK_INT(e->args[0]->op, LK_X_GT);
    CHECK_INT(e->args[0]->args[1]->v.i, 1000000);
    CHECK_INT(e->args[1]->op, LK_X_NOT);
    CHECK(s->next[1].cond == NULL);
    lk_flow_edge(f, s->next[1].id, NULL, NULL, &what);
    CHECK_STR(what, "next[1]");

    /* Functions: params, settings folded, tables. */
    CHECK_INT(f->nfuncs, 2);
    e = f->funcs[0].body; /* min(n, settings.cap) + 1 */
    CHECK_INT(f->funcs[0].nparams, 1);
    CHECK_INT(e->op, LK_X_ADD);
    CHECK_INT(e->args[0]->op, LK_X_BUILTIN);
    CHECK_INT(e->args[0]->slot, LK_FN_MIN);
    CHECK_INT(e->args[0]->args[0]->op, LK_X_PARAM);
    CHECK_INT(e->args[0]->args[0]->slot, 0);
    CHECK(e->args[0]->args[1]->op == LK_X_CONST && e->args[0]->args[1]->v.i == 24);
    e = f->funcs[1].body; /* settings.fee[k] * months(n) */
    CHECK_INT(e->op, LK_X_MUL);
    CHECK_INT(e->args[0]->op, LK_X_INDEX);
    CHECK_INT(e->args[0]->args[0]->op, LK_X_PARAM);
    CHECK_INT(e->args[1]->op, LK_X_FUNC);
    CHECK_INT(e->args[1]->slot, 0);
    CHECK_INT(f->ntables, 1); /* fee, used twice, built once */
    CHECK_STR(f->tables[0].name, "fee");
    CHECK_INT(f->tables[0].n, 3);
    CHECK_STR(f->tables[0].keys[1], "2");
    CHECK(f->tables[0].vals[1].type == LK_VT_INT && f->tables[0].vals[1].i == 100000);

    /* Commands, yes/no, session, invalid. */
    CHECK_INT(f->ncommands, 4);
    CHECK_STR(f->commands[0].words[0], "menu");
    CHECK_INT(f->commands[0].action, LK_CMD_GOTO);
    CHECK_INT(f->commands[1].action, LK_CMD_BACK);
    CHECK_INT(f->commands[1].edge, -1);
    CHECK_INT(f->commands[2].action, LK_CMD_END);
    CHECK(f->commands[2].say != NULL && f->commands[2].edge >= 0);
    CHECK_INT(f->commands[3].action, LK_CMD_SAY);
    CHECK_STR(f->commands[3].words[1], "?"); /* all punctuation: kept as written */
    CHECK(f->nyes == 3 && !strcmp(f->yes[0], "ya") && f->nno == 2 && !strcmp(f->no[0], "tidak"));
    CHECK_INT(f->expire_ms, 30 * 60 * 1000);
    CHECK(f->expired != NULL);
    CHECK_INT(f->history, 8);
    CHECK_INT(f->max_steps, 32);
    CHECK_INT(f->invalid_limit, 2);
    CHECK(f->invalid != NULL && f->escape != NULL);
    CHECK(f->escape->nsegs == 3 && f->escape->segs[1].expr->op == LK_X_CONST &&
          !strcmp(f->escape->segs[1].expr->v.s, "165"));

    /* Data sets: fields, normalised names, prefixes, parent ranges. */
    CHECK_INT(f->ndatasets, 2);
    prov = &f->datasets[0];
    reg = &f->datasets[1];
    CHECK_STR(prov->name, "provinces");
    CHECK_STR(prov->file, "tests/unit/flows/data/provinces.json");
    CHECK_INT(prov->parent, -1);
    CHECK_INT(prov->nrows, 3);
    CHECK_INT(prov->nfields, 2);
    CHECK_STR(prov->field_names[0], "capital");
    CHECK_STR(prov->field_names[1], "code");
    CHECK(prov->rows[1].fields[1].type == LK_VT_INT && prov->rows[1].fields[1].i == 31);
    CHECK(prov->rows[0].fields[1].type == LK_VT_NULL);
    CHECK_STR(prov->rows[1].norm, "dki jakarta");
    CHECK_INT(prov->rows[1].naliases, 2);
    CHECK_STR(prov->rows[1].aliases[1], "dki");
    CHECK(prov->nstrip == 2 && !strcmp(prov->strip[0], "provinsi"));
    CHECK(prov->nreplace == 1 && !strcmp(prov->replace_to[0], "sumatera"));
    CHECK_INT(prov->fuzzy, 2);
    CHECK_INT(reg->fuzzy, 1);
    CHECK_INT(reg->parent, 0);
    CHECK_INT(reg->nclasses, 2);
    CHECK_STR(reg->classes[1], "kabupaten");
    CHECK_STR(reg->prefixes[0].word, "kota administrasi");
    CHECK_INT(reg->prefixes[0].klass, 0);
    CHECK_INT(reg->nprefixes, 7);
    /* Rows sorted by parent, file order kept within a parent. */
    CHECK_INT(reg->child_first[0], 0); /* Jawa Barat: 3273, 3204, 3201 */
    CHECK_INT(reg->child_count[0], 3);
    CHECK_INT(reg->child_first[1], 3); /* DKI: 3171, 3172 */
    CHECK_INT(reg->child_count[1], 2);
    CHECK_INT(reg->child_first[2], 5);
    CHECK_INT(reg->child_count[2], 1);
    CHECK_STR(reg->rows[0].id, "3273");
    CHECK_STR(reg->rows[1].id, "3204");
    CHECK_STR(reg->rows[2].id, "3201");
    CHECK_STR(reg->rows[3].id, "3171");
    CHECK_INT(reg->rows[3].parent, 1);
    CHECK_STR(reg->rows[0].bare, "bandung");
    CHECK_INT(reg->rows[0].klass, 0);
    CHECK_STR(reg->rows[1].bare, "bandung");
    CHECK_INT(reg->rows[1].klass, 1);
    CHECK_STR(reg->rows[2].bare, "bogor");         /* "Kab. Bogor" */
    CHECK_STR(reg->rows[3].bare, "jakarta pusat"); /* longest prefix wins */
    CHECK_STR(reg->rows[4].bare, "jakarta utara"); /* "Kota Adm." */
    CHECK_STR(reg->rows[4].name, "Kota Adm. Jakarta Utara");

    /* Choices. */
    s = &f->states[lk_flow_state_find(f, "province")];
    CHECK_INT(s->kind, LK_S_CHOICE);
    CHECK_INT(s->choice.dataset, 0);
    CHECK_INT(s->choice.var, var(f, "prov"));
    CHECK_INT(s->choice.id_slot, var(f, "prov_id"));
    CHECK_INT(s->choice.field_slots[1], var(f, "prov_code"));
    CHECK_INT(s->choice.parent_var, -1);
    CHECK_INT(s->choice.page, 10);
    CHECK(s->choice.confirm != NULL && s->choice.more == NULL);
    s = &f->states[lk_flow_state_find(f, "regency")];
    CHECK_INT(s->choice.parent_var, var(f, "prov_id"));
    CHECK_INT(s->choice.page, 5);
    CHECK_STR(s->choice.more_word, "lagi");
    CHECK(s->choice.elsewhere->nsegs == 4 &&
          s->choice.elsewhere->segs[2].expr->slot == LK_SLOT_MATCH_PARENT);
    s = &f->states[bye];
    CHECK_INT(s->kind, LK_S_END);
    CHECK(s->no_history);
    CHECK_INT(s->say[0]->segs[1].filter, LK_F_UPPER);

    CHECK_INT(lk_flow_check(f, &diag), 0);
    lk_flow_free(f);
}

/* ---- check warnings --------------------------------------------------------------------- */

/* Loads src (which must load) and checks it; want is a substring of the
 * warning expected at line:col. */
static void expect_warning(const char *test, const char *src, int line, int col, const char *path,
                           const char *want)
{
    lk_flow *f = NULL;
    size_t i, n;
    int found = 0;

    CHECK_INT(load_q(src, &f), LK_OK);
    if (!f) {
        fprintf(stderr, "  in %s:\n", test);
        lk_diag_print(&diag, stderr);
        return;
    }
    n = lk_flow_check(f, &diag);
    CHECK_INT(n, diag.n);
    for (i = 0; i < diag.n; i++) {
        const lk_diag_item *it = &diag.items[i];
        if (it->warning && it->line == line && it->col == col && strstr(it->msg, want) &&
            (!path || (it->path && !strcmp(it->path, path))))
            found = 1;
    }
    CHECK(found);
    if (!found) {
        fprintf(stderr, "  in %s: want %d:%d %s; got:\n", test, line, col, want);
        lk_diag_print(&diag, stderr);
    }
    lk_flow_free(f);
}

static void test_check(void)
{
    expect_warning("unreachable", H "'states': {'a': {'end': true},\n 'b': {'end': true}}}", 3, 2,
                   NULL, "state 'b' is never reached from the start 'a'");
    expect_warning("no way out",
                   H "'states': {'a': {'set': {'x': 1}, 'next': [{'if': 'x', 'goto': 'b'}]},\n"
                     " 'b': {'next': [{'if': 'x', 'goto': 'a'}]}}}",
                   2, 12, NULL, "no way out of state 'a'");
    expect_warning("all conditional",
                   H "'states': {'a': {'set': {'x': 1}, 'next': [{'if': 'x', 'goto': 'b'}]},\n"
                     " 'b': {'end': true}}}",
                   2, 12, "states.a.next", "every entry of next has an \"if\"");
    expect_warning("unset variable",
                   H "'invalid': {'message': 'no'},\n"
                     "'states': {'a': {'say': 'Hi {{ nama }}', 'next': 'b'},\n"
                     " 'b': {'input': {'var': 'nama', 'type': 'text'}, 'next': 'c'},\n"
                     " 'c': {'say': 'Bye {{ nama }}', 'end': true}}}",
                   3, 12, "states.a.say[0]",
                   "state 'a' reads 'nama', but no path from the start sets it first");
    expect_warning("unset in a function",
                   H "'functions': {'f': {'expr': 'y + 1'}},\n"
                     "'states': {'a': {'set': {'x': 'f()'}, 'next': 'b'},\n"
                     " 'b': {'set': {'y': 1}, 'end': true}}}",
                   3, 12, "states.a.set.x", "reads 'y'");
    expect_warning("word taken by command",
                   H "'commands': [{'name': 'menu', 'words': ['menu'], 'goto': 'a'}],\n"
                     "'states': {'a': {'menu': [{'title': 'Menu', 'goto': 'a'}], 'invalid': 'x'}}}",
                   3, 12, "states.a.menu[0]", "word 'menu' of option 1 is taken by command 'menu'");
    expect_warning("word taken by option",
                   H "'states': {'a': {'menu': [{'title': 'Satu', 'words': ['x'], 'goto': 'a'},\n"
                     " {'title': 'Dua', 'words': ['X'], 'goto': 'a'}], 'invalid': 'x'}}}",
                   2, 12, "states.a.menu[1]", "word 'x' of option 2 is taken by option 1");
    expect_warning("word is a number",
                   H "'states': {'a': {'menu': [{'title': 'Satu', 'words': ['2'], 'goto': 'a'},\n"
                     " {'title': 'Dua', 'goto': 'a'}], 'invalid': 'x'}}}",
                   2, 12, "states.a.menu[0]", "word '2' of option 1 is the number of option 2");
    expect_warning("same title",
                   H "'states': {'a': {'menu': [{'title': 'Satu', 'goto': 'a'},\n"
                     " {'title': 'satu!', 'goto': 'a'}], 'invalid': 'x'}}}",
                   2, 12, "states.a.menu[1]", "options 1 and 2 have the same title");
    expect_warning("button title",
                   H "'states': {'a': {'menu': [{'title': 'Cek Status Kepesertaan', 'goto': 'a'}"
                     "], 'invalid': 'x'}}}",
                   2, 12, "states.a.menu[0]",
                   "the title of option 1 has 22 characters; WhatsApp buttons show at most 20");
    expect_warning("list title",
                   H "'states': {'a': {'menu': [{'title': '1', 'goto': 'a'}, {'title': '2', "
                     "'goto': 'a'}, {'title': '3', 'goto': 'a'}, {'title': "
                     "'Pendaftaran Peserta Baru JKN', 'goto': 'a'}], 'invalid': 'x'}}}",
                   2, 12, "states.a.menu[3]",
                   "the title of option 4 has 28 characters; WhatsApp list rows show at most 24");
    expect_warning("too many options",
                   H "'states': {'a': {'menu': [{'title': 'a', 'goto': 'a'}, {'title': 'b', "
                     "'goto': 'a'}, {'title': 'c', 'goto': 'a'}, {'title': 'd', 'goto': 'a'}, "
                     "{'title': 'e', 'goto': 'a'}, {'title': 'f', 'goto': 'a'}, {'title': 'g', "
                     "'goto': 'a'}, {'title': 'h', 'goto': 'a'}, {'title': 'i', 'goto': 'a'}, "
                     "{'title': 'j', 'goto': 'a'}, {'title': 'k', 'goto': 'a'}], 'invalid': 'x'}}}",
                   2, 12, "states.a.menu",
                   "11 options: more than 10 options cannot be a WhatsApp list; shown as text");
    expect_warning("command word taken",
                   H "'commands': [{'name': 'menu', 'words': ['menu'], 'goto': 'a'},\n"
                     " {'name': 'home', 'words': ['Menu'], 'goto': 'a'}],\n"
                     "'states': {'a': {'end': true}}}",
                   0, 0, "commands[1].words",
                   "word 'menu' of command 'home' is taken by command 'menu'");
}

static void test_choice_page(void)
{
    lk_flow *f = NULL;
    size_t i;
    int found = 0;

    lk_diag_clear(&diag);
    CHECK_INT(lk_flow_load("tests/unit/flows/good.json", &f, &diag), LK_OK);
    if (!f)
        return;
    /* A flow is immutable once loaded; this test bends that rule to reach
     * a warning without another data set file. */
    f->states[lk_flow_state_find(f, "regency")].choice.page = 12;
    CHECK_INT(lk_flow_check(f, &diag), 1);
    for (i = 0; i < diag.n; i++)
        if (diag.items[i].warning && diag.items[i].line == 20 &&
            strstr(diag.items[i].msg, "a page of 12 rows cannot be a WhatsApp list"))
            found = 1;
    CHECK(found);
    lk_flow_free(f);
}

/* "console": plain texts for a chat client, each key checked, handed out in the order of
 * the format's list of keys. */
static void test_console_texts(void)
{
    lk_flow *f = NULL;
    const char *k, *t;

    expect_error("unknown console key",
                 H "'console': {'connecting': 'Connecting', 'conecting': 'x'},\n"
                   "'states': {'a': {'end': true}}}",
                 1, 2, 41, "console.conecting", "unknown key 'conecting'");
    expect_error("console text not a string",
                 H "'console': {'more': 3},\n'states': {'a': {'end': true}}}", 1, 2, 21,
                 "console.more", "expected a string");
    expect_error("empty console text",
                 H "'console': {'error': ''},\n'states': {'a': {'end': true}}}", 1, 2, 22,
                 "console.error", "an empty text");
    CHECK_INT(load_q(H "'console': {'more': 'Next page', 'lang': 'en'},\n"
                       "'states': {'a': {'end': true}}}",
                     &f),
              LK_OK);
    if (!f)
        return;
    CHECK(lk_flow_console_text(f, 0, &k, &t) && !strcmp(k, "lang") && !strcmp(t, "en"));
    CHECK(lk_flow_console_text(f, 1, &k, &t) && !strcmp(k, "more") && !strcmp(t, "Next page"));
    CHECK(!lk_flow_console_text(f, 2, &k, &t));
    lk_flow_free(f);
}

int main(void)
{
    test_good_flow();
    test_check();
    test_choice_page();
    test_console_texts();
    lk_diag_clear(&diag);
    return test_done("test_flow_model");
}
