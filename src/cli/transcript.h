/* Conversation transcripts: the plain-text format `loket replay` runs.
 *
 *   > TEXT     the user sends TEXT
 *   < TEXT     the reply to the last > contains TEXT (case-insensitive,
 *              runs of white space folded)
 *   <! TEXT    the reply does not contain TEXT
 *   <~ REGEX   the reply matches the POSIX extended REGEX (case-insensitive)
 *   <= TEXT    the reply equals TEXT exactly (\n is a newline, \\ a backslash)
 *   @user ID   the sender of the following > lines (default replay-user)
 *   @at ISO    sets the clock, e.g. 2026-11-24T09:00:00+07:00
 *   @after D   moves the clock forward: 30s, 31m, 2h, 1d
 * Blank lines and lines starting with # are ignored. */
#ifndef LOKET_TRANSCRIPT_H
#define LOKET_TRANSCRIPT_H

#include <stdint.h>
#include <stdio.h>

/* Without @at the clock starts here: Tuesday 2026-11-24 09:00 WIB. */
#define LK_REPLAY_EPOCH_MS INT64_C(1795485600000)
#define LK_REPLAY_EPOCH_TEXT "2026-11-24T09:00:00+07:00"
#define LK_REPLAY_USER "replay-user"

typedef enum tr_kind {
    TR_NONE = 0, /* blank or comment */
    TR_SEND,
    TR_HAS,
    TR_HASNT,
    TR_REGEX,
    TR_EQUALS,
    TR_USER,
    TR_AT,
    TR_AFTER,
} tr_kind;

typedef struct tr_line {
    tr_kind kind;
    int lineno;
    char *raw;  /* the line as written, without its newline */
    char *arg;  /* the directive's argument (unescaped for <=) */
    int64_t ms; /* TR_AT: the instant; TR_AFTER: the duration */
} tr_line;

typedef struct transcript {
    char *path;
    int n;
    tr_line *lines;
    int has_clock; /* any @at or @after */
} transcript;

/* Reads and parses path. On a syntax error prints file:line: why to err and
 * returns NULL. */
transcript *transcript_read(const char *path, FILE *err);
void transcript_free(transcript *t);

/* Folds text for a `<` comparison into out (malloc'd): ASCII lowercase, runs
 * of white space to one space, trimmed. */
char *transcript_fold(const char *s);
/* Escapes a reply for a <= line: newline -> \n, backslash -> \\. malloc'd. */
char *transcript_escape(const char *s);

#endif
