/* Reading a menu answer and a yes or no (flows/README.md, "Menus" and
 * "Yes and no"). Both read the message in its canonical form (lk_canon).
 *
 * A menu option is selected by its number, its key or one of its words
 * (the title among them) as the whole message. Otherwise every option is
 * scored on word stems: a phrase of the option whose every word is in the
 * message scores 2 per word plus 1; a phrase of which at least half the
 * words are in the message scores 1 per word (and is confirmed when it
 * decides). The one best option is selected;
 * options tied at the best score are asked about; with no score, a word
 * within a few typos of an option's word (1 for 5 letters, 2 from 8) is
 * confirmed. A number among other words selects only when nothing else in
 * the message points anywhere and no unit stands beside it ("2 bulan" is no
 * option). Pure; nothing allocates. */
#include "engine_int.h"

#include <string.h>

#define STEM 40
#define QTOK 32

typedef struct qtoks {
    int n;
    char stem[QTOK][STEM];
    const char *w[QTOK]; /* into the canonical text */
    size_t wn[QTOK];
} qtoks;

static void split(const lk_lexicon *x, const char *q, size_t qn, qtoks *t)
{
    size_t i = 0;

    t->n = 0;
    while (i < qn && t->n < QTOK) {
        size_t j = i;
        while (j < qn && q[j] != ' ')
            j++;
        t->w[t->n] = q + i;
        t->wn[t->n] = j - i;
        lk_lex_stem(x, q + i, j - i, t->stem[t->n], STEM);
        t->n++;
        i = j + 1;
    }
}

static int is_number(const char *w, size_t n);

/* 1 when a word of the message has stem s. A number beside a unit word
 * ("2 orang") counts only for a phrase that has that unit too: "kelas 2"
 * is no answer to "2 orang". */
static int has_stem(const lk_lexicon *x, const qtoks *t, const char *s, const char *phrase)
{
    int i, k;
    for (i = 0; i < t->n; i++) {
        if (strcmp(t->stem[i], s) != 0)
            continue;
        if (!is_number(t->w[i], t->wn[i]))
            return 1;
        for (k = i - 1; k <= i + 1; k += 2) {
            char u[STEM];
            if (k < 0 || k >= t->n || lk_lex_find(x->unit, x->nunit, t->w[k], t->wn[k]) < 0)
                continue;
            if (t->wn[k] >= sizeof u)
                return 0;
            memcpy(u, t->w[k], t->wn[k]);
            u[t->wn[k]] = '\0';
            if (!strstr(phrase, u))
                return 0;
        }
        return 1;
    }
    return 0;
}

/* Score of one phrase of an option against the message: 2 per word plus 1
 * when all its words are there; 1 per word when half of them are (*partial
 * is set), a negation not counting. */
static int phrase_score(const lk_lexicon *x, const char *p, const qtoks *t, int *partial)
{
    int words = 0, found = 0, neg = 0;
    const char *phrase = p;
    char st[STEM];

    while (*p) {
        size_t k = 0;
        while (p[k] && p[k] != ' ')
            k++;
        words++;
        lk_lex_stem(x, p, k, st, sizeof st);
        if (has_stem(x, t, st, phrase)) {
            found++;
            neg += lk_lex_find(x->neg, x->nneg, p, k) >= 0;
        }
        p += k;
        while (*p == ' ')
            p++;
    }
    *partial = 0;
    if (words == 0 || found == 0)
        return 0;
    if (found == words)
        return 2 * words + 1;
    if (words >= 2 && 2 * found >= words && found > neg) {
        *partial = 1;
        return found - neg;
    }
    return 0;
}

int lk_stems_have(const lk_lexicon *x, const char *q, size_t qn, const char *phrase)
{
    qtoks t;
    int partial;
    size_t n = strlen(phrase);
    split(x, q, qn, &t);
    return n && phrase_score(x, phrase, &t, &partial) > 0 && !partial;
}

static int is_number(const char *w, size_t n)
{
    size_t i;
    if (n == 0 || n > 9)
        return 0;
    for (i = 0; i < n; i++)
        if (w[i] < '0' || w[i] > '9')
            return 0;
    return 1;
}

static int typo_max(size_t n)
{
    return n >= 8 ? 2 : n >= 5 ? 1 : 0;
}

/* The option with a word within a few typos of one of the message's, if
 * exactly one option has one. */
static int fuzzy(const lk_lexicon *x, const lk_state *st, const qtoks *t)
{
    int i, j, k, found = -1;

    for (i = 0; i < st->noptions; i++) {
        const lk_option *o = &st->options[i];
        int hit = 0;
        for (j = 0; j < o->nwords && !hit; j++) {
            const char *p = o->words[j];
            while (*p && !hit) {
                size_t n = 0;
                while (p[n] && p[n] != ' ')
                    n++;
                for (k = 0; k < t->n && !hit; k++) {
                    int max = typo_max(n < t->wn[k] ? n : t->wn[k]), d;
                    if (max == 0 || lk_lex_find(x->neg, x->nneg, t->w[k], t->wn[k]) >= 0)
                        continue; /* "tidak" is no typo of anything */
                    d = lk_text_edit(p, n, t->w[k], t->wn[k], max);
                    if (d >= 1 && d <= max)
                        hit = 1;
                }
                p += n;
                while (*p == ' ')
                    p++;
            }
        }
        if (hit) {
            if (found >= 0)
                return -1;
            found = i;
        }
    }
    return found;
}

void lk_match_menu(const lk_flow *flow, const lk_state *st, const lk_canon *c, lk_mmatch *m)
{
    const lk_lexicon *x = &flow->lex;
    const char *q = c->bare;
    size_t qn = c->baren;
    qtoks t;
    int i, j, best = 0, best_part = 0, nnum = 0, numtok = -1, v;
    int64_t nv;

    m->res = LK_M_NONE;
    m->n = 0;
    if (qn == 0)
        return;
    for (i = 0; i < st->noptions; i++)
        for (j = 0; j < st->options[i].nwords; j++)
            if (st->options[i].words[j][0] == q[0] &&
                strncmp(st->options[i].words[j], q, qn) == 0 && st->options[i].words[j][qn] == 0) {
                m->res = LK_M_CHOSEN;
                m->opt = i;
                return;
            }
    v = lk_small_number(q, qn);
    if (v < 0 && lk_lex_num(x->num, x->nnum, q, qn, &nv) >= 0 && nv < 1000)
        v = (int)nv; /* "enam" */
    if (v >= 0) {
        if (v >= 1 && v <= st->noptions) {
            m->res = LK_M_CHOSEN;
            m->opt = v - 1;
        }
        return;
    }
    /* "pandawa itu apa?" asks about an option; it does not choose it */
    if (c->qword)
        return;
    split(x, q, qn, &t);
    for (i = 0; i < st->noptions; i++) {
        const lk_option *o = &st->options[i];
        int score = 0, s, part, score_part = 0;
        for (j = 0; j < o->nwords; j++) {
            /* the key ("j") counts only as the whole message */
            if (o->key && j == 1)
                continue;
            s = phrase_score(x, o->words[j], &t, &part);
            if (s > score) {
                score = s;
                score_part = part;
            }
        }
        if (score > best) {
            best = score;
            best_part = score_part;
            m->n = 0;
        }
        if (score == best && score > 0 && m->n < LK_MAX_CAND)
            m->cand[m->n++] = i;
    }
    if (best > 0) {
        if (m->n == 1) {
            /* half a title ("berhenti") is confirmed, never acted on */
            m->res = best_part ? LK_M_CONFIRM : LK_M_CHOSEN;
            m->opt = m->cand[0];
        } else {
            m->res = LK_M_WHICH;
        }
        return;
    }
    m->n = 0;
    /* a lone option number among words that say nothing: "menu 6" */
    for (i = 0; i < t.n; i++) {
        if (!is_number(t.w[i], t.wn[i]))
            continue;
        nnum++;
        numtok = i;
    }
    if (nnum == 1) {
        int unit =
            (numtok + 1 < t.n &&
             lk_lex_find(x->unit, x->nunit, t.w[numtok + 1], t.wn[numtok + 1]) >= 0) ||
            (numtok > 0 && lk_lex_find(x->unit, x->nunit, t.w[numtok - 1], t.wn[numtok - 1]) >= 0);
        v = lk_small_number(t.w[numtok], t.wn[numtok]);
        if (!unit && v >= 1 && v <= st->noptions && t.n <= 3) {
            m->res = LK_M_CHOSEN;
            m->opt = v - 1;
            return;
        }
        if (unit)
            return;
    }
    if ((i = fuzzy(x, st, &t)) >= 0) {
        m->res = LK_M_CONFIRM;
        m->opt = i;
    }
}

/* ---- yes and no ---- */

/* 1 yes, 0 no, 2 neither, for the word at q[i..]; *len gets the length of
 * the (possibly multi-word) entry. A state's own words first. */
static int word_says(const lk_flow *flow, const lk_state *st, const char *q, size_t qn, size_t i,
                     size_t *len, int *own)
{
    const char *const *lists[4];
    int ns[4], vals[4] = {1, 0, 1, 0}, k, j;

    lists[0] = st ? st->yes : NULL;
    ns[0] = st ? st->nyes : 0;
    lists[1] = st ? st->no : NULL;
    ns[1] = st ? st->nno : 0;
    lists[2] = flow->yes;
    ns[2] = flow->nyes;
    lists[3] = flow->no;
    ns[3] = flow->nno;
    for (k = 0; k < 4; k++) {
        size_t best = 0;
        for (j = 0; j < ns[k]; j++) {
            size_t wn = strlen(lists[k][j]);
            if (wn > best && i + wn <= qn && memcmp(q + i, lists[k][j], wn) == 0 &&
                (i + wn == qn || q[i + wn] == ' '))
                best = wn;
        }
        if (best) {
            *len = best;
            *own = k < 2;
            return vals[k];
        }
    }
    return 2;
}

int lk_match_yesno(const lk_flow *flow, const lk_state *st, const char *q, size_t qn)
{
    const lk_lexicon *x = &flow->lex;
    size_t i = 0;
    int yes = 0, no = 0, own_yes = 0, own_no = 0, negated = 0;

    if (qn == 0)
        return -1;
    while (i < qn) {
        size_t j = i, len = 0;
        int own = 0, says;
        while (j < qn && q[j] != ' ')
            j++;
        says = word_says(flow, st, q, qn, i, &len, &own);
        if (negated && says != 2 && !(says == 0 && !own)) {
            /* "belum lulus" is a yes, "tidak masih" a no */
            says = !says;
            negated = 0;
        } else if (lk_lex_find(x->neg, x->nneg, q + i, j - i) >= 0) {
            int next_says = 2;
            size_t k = j + 1, l2 = 0, e;
            int own2 = 0;
            /* the next word that is not a filler */
            while (k < qn) {
                for (e = k; e < qn && q[e] != ' '; e++)
                    ;
                if (lk_lex_find(x->fill, x->nfill, q + k, e - k) < 0)
                    break;
                k = e + 1;
            }
            if (k < qn)
                next_says = word_says(flow, st, q, qn, k, &l2, &own2);
            if (next_says != 2 && !(next_says == 0 && !own2)) {
                negated = 1; /* the next word decides */
                i = j + 1;
                continue;
            }
            if (k < qn && next_says == 2 && lk_lex_find(x->neg, x->nneg, q + k, e - k) < 0) {
                /* "tidak tahu": the negation is of something else */
                i = j;
                while (i < qn && q[i] == ' ')
                    i++;
                continue;
            }
        }
        if (says == 1) {
            yes++;
            own_yes += own;
        } else if (says == 0) {
            no++;
            own_no += own;
        }
        if (!len)
            len = j - i;
        i += len;
        while (i < qn && q[i] == ' ')
            i++;
    }
    /* the question's own words say more than the flow's ("sudah lulus") */
    if (own_yes || own_no) {
        yes = own_yes;
        no = own_no;
    }
    if (yes && !no)
        return 1;
    if (no && !yes)
        return 0;
    return -1;
}
