/* Which global command a message is, and which answer a question inside a
 * flow gets (flows/README.md, "Global commands" and "Answers"). Pure. */
#include "engine_int.h"

#include <string.h>

static int all_digits(const char *w)
{
    if (!*w)
        return 0;
    for (; *w; w++)
        if (*w < '0' || *w > '9')
            return 0;
    return 1;
}

int lk_is_data(const lk_state *st, const char *w)
{
    int i;
    for (i = 0; i < st->ndata_words; i++)
        if (!strcmp(st->data_words[i], w))
            return 1;
    return st->numbers_are_data && all_digits(w);
}

/* The first command one of whose words is the whole message, as typed or
 * in its canonical form without fillers and correction cues ("batal aja",
 * "eh salah, kembali"). A message that normalises to nothing ("?") is
 * compared as typed. */
const lk_command *lk_find_command(const lk_flow *flow, const lk_state *st, const char *q, size_t qn,
                                  const char *raw, size_t rn, const lk_canon *c)
{
    const char *key = qn ? q : raw;
    size_t kn = qn ? qn : rn;
    int i, j;

    if (kn == 0)
        return NULL;
    for (i = 0; i < flow->ncommands; i++) {
        const lk_command *cmd = &flow->commands[i];
        for (j = 0; j < cmd->nwords; j++) {
            const char *w = cmd->words[j];
            if (w[0] == key[0] && strncmp(w, key, kn) == 0 && w[kn] == '\0' && !lk_is_data(st, w))
                return cmd;
        }
    }
    /* the canonical form, when the lexicon changed the message */
    for (i = 0; i < flow->ncommands && c->baren && (c->baren != qn || memcmp(c->bare, q, qn));
         i++) {
        const lk_command *cmd = &flow->commands[i];
        for (j = 0; cmd->cwords && j < cmd->nwords; j++) {
            const char *w = cmd->cwords[j];
            if (w[0] == c->bare[0] && strncmp(w, c->bare, c->baren) == 0 && w[c->baren] == '\0' &&
                !lk_is_data(st, w) && !lk_is_data(st, cmd->words[j]))
                return cmd;
        }
    }
    /* A whole-message match anywhere wins over a word inside a longer one. */
    for (i = 0; i < flow->ncommands && qn; i++) {
        const lk_command *cmd = &flow->commands[i];
        for (j = 0; cmd->anywhere && j < cmd->nwords; j++) {
            const char *w = cmd->words[j];
            if (lk_text_has_word(q, qn, w, strlen(w)) && !lk_is_data(st, w))
                return cmd;
        }
    }
    return NULL;
}

/* A question asked in the middle of the flow ("iuran kelas 3 berapa?"):
 * the first answer one of whose words is in the message, when the message
 * asks something. */
const lk_answer *lk_find_answer(const lk_flow *flow, const lk_canon *c)
{
    int i, j;

    if (!c->question || !c->baren)
        return NULL;
    for (i = 0; i < flow->nanswers; i++)
        for (j = 0; j < flow->answers[i].nwords; j++) {
            const char *w = flow->answers[i].words[j];
            if (lk_stems_have(&flow->lex, c->bare, c->baren, w))
                return &flow->answers[i];
        }
    return NULL;
}
