/* Reading the transcript format of transcript.h. */
#include "transcript.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loket/core.h"

static char *unescape(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        if (*s == '\\' && s[1] == 'n') {
            *o++ = '\n';
            s++;
        } else if (*s == '\\' && s[1] == '\\') {
            *o++ = '\\';
            s++;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

char *transcript_escape(const char *s)
{
    lk_buf b = {0};
    for (; *s; s++) {
        if (*s == '\n')
            lk_buf_puts(&b, "\\n");
        else if (*s == '\\')
            lk_buf_puts(&b, "\\\\");
        else
            lk_buf_putc(&b, *s);
    }
    if (!b.p)
        return strdup("");
    return b.p;
}

char *transcript_fold(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    int space = 0;
    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isspace(c)) {
            space = o > out;
            continue;
        }
        if (space)
            *o++ = ' ';
        space = 0;
        *o++ = (char)tolower(c);
    }
    *o = '\0';
    return out;
}

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static int parse_line(tr_line *l, const char *path, FILE *err)
{
    const char *s = l->raw, *arg = NULL;

    if (*skip_space(s) == '\0' || *s == '#')
        return 0;
    if (!strncmp(s, "<!", 2)) {
        l->kind = TR_HASNT;
        arg = s + 2;
    } else if (!strncmp(s, "<~", 2)) {
        l->kind = TR_REGEX;
        arg = s + 2;
    } else if (!strncmp(s, "<=", 2)) {
        l->kind = TR_EQUALS;
        arg = s + 2;
    } else if (*s == '<') {
        l->kind = TR_HAS;
        arg = s + 1;
    } else if (*s == '>') {
        l->kind = TR_SEND;
        arg = s + 1;
    } else if (!strncmp(s, "@user", 5) && (s[5] == ' ' || s[5] == '\t')) {
        l->kind = TR_USER;
        arg = s + 5;
    } else if (!strncmp(s, "@at", 3) && (s[3] == ' ' || s[3] == '\t')) {
        l->kind = TR_AT;
        arg = s + 3;
    } else if (!strncmp(s, "@after", 6) && (s[6] == ' ' || s[6] == '\t')) {
        l->kind = TR_AFTER;
        arg = s + 6;
    } else {
        fprintf(err, "%s:%d: unknown directive: %s\n", path, l->lineno, s);
        return -1;
    }
    /* One space after the marker belongs to the syntax; more is text. */
    if (*arg == ' ')
        arg++;
    if (l->kind == TR_USER || l->kind == TR_AT || l->kind == TR_AFTER) {
        arg = skip_space(arg);
        if (!*arg) {
            fprintf(err, "%s:%d: %s needs an argument\n", path, l->lineno, s);
            return -1;
        }
    }
    l->arg = l->kind == TR_EQUALS ? unescape(arg) : strdup(arg);
    if (!l->arg)
        return -1;
    if (l->kind == TR_AT && lk_time_parse_iso(l->arg, &l->ms) != 0) {
        fprintf(err, "%s:%d: @at wants a time such as " LK_REPLAY_EPOCH_TEXT ", not '%s'\n", path,
                l->lineno, l->arg);
        return -1;
    }
    if (l->kind == TR_AFTER && lk_duration_parse(l->arg, &l->ms) != 0) {
        fprintf(err, "%s:%d: @after wants a duration such as 30s, 31m, 2h or 1d, not '%s'\n", path,
                l->lineno, l->arg);
        return -1;
    }
    if (l->kind == TR_USER && strlen(l->arg) > 128) {
        fprintf(err, "%s:%d: @user id longer than 128 bytes\n", path, l->lineno);
        return -1;
    }
    return 0;
}

transcript *transcript_read(const char *path, FILE *err)
{
    FILE *fp = fopen(path, "r");
    transcript *t;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, ncap = 0, bad = 0;

    if (!fp) {
        fprintf(err, "%s: cannot open: %s\n", path, strerror(errno));
        return NULL;
    }
    t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(path)))
        goto oom;
    while ((n = getline(&line, &cap, fp)) >= 0) {
        tr_line *l;
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (t->n == ncap) {
            int nc = ncap ? ncap * 2 : 64;
            tr_line *p = realloc(t->lines, (size_t)nc * sizeof *p);
            if (!p)
                goto oom;
            t->lines = p;
            ncap = nc;
        }
        l = &t->lines[t->n++];
        memset(l, 0, sizeof *l);
        l->lineno = lineno;
        if (!(l->raw = strdup(line)))
            goto oom;
        if (parse_line(l, path, err) != 0)
            bad = 1;
        if (l->kind == TR_AT || l->kind == TR_AFTER)
            t->has_clock = 1;
    }
    free(line);
    fclose(fp);
    if (bad) {
        transcript_free(t);
        return NULL;
    }
    return t;
oom:
    fprintf(err, "%s: out of memory\n", path);
    free(line);
    fclose(fp);
    transcript_free(t);
    return NULL;
}

void transcript_free(transcript *t)
{
    int i;
    if (!t)
        return;
    for (i = 0; i < t->n; i++) {
        free(t->lines[i].raw);
        free(t->lines[i].arg);
    }
    free(t->lines);
    free(t->path);
    free(t);
}
