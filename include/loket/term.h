/* loket term: reading lines from a person at a terminal, for `loket chat`
 * and `loket console`. With a terminal it edits the line and keeps a history
 * (libedit); with a pipe it reads plain lines, so scripts and tests can drive
 * both commands. */
#ifndef LOKET_TERM_H
#define LOKET_TERM_H

/* Reads one line, showing prompt first when stdin is a terminal. Returns the
 * line without its newline (malloc'd: the caller frees it), or NULL at the
 * end of input. */
char *lk_term_read(const char *prompt);

/* 1 when stdin is a terminal. */
int lk_term_interactive(void);

#endif
