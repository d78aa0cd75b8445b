/* Line input for the interactive commands: libedit's line editing and
 * history at a terminal, getline() otherwise. */
#include "loket/term.h"

#include <editline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int lk_term_interactive(void)
{
    return isatty(STDIN_FILENO);
}

char *lk_term_read(const char *prompt)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    if (lk_term_interactive()) {
        line = readline(prompt);
        if (line && *line)
            add_history(line);
        return line;
    }
    if ((n = getline(&line, &cap, stdin)) < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}
