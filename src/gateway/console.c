/* `loket console`: a terminal chat with a running server over its websocket.
 * One line in, the bot's replies out (menus are numbered in the text, so the
 * number or the title answers them). Turn by turn: the bot only ever answers
 * a message, so the console waits for the step's done frame before reading
 * the next line. */
#include "gw.h"

#include "loket/term.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
    fprintf(fp, "usage: loket console [--url ws://127.0.0.1:8080/chat] [--user ID]\n\n"
                "Talks to a running `loket serve` over its websocket. Without --user the\n"
                "server gives a new user id; --user ID resumes that user's conversation.\n"
                "Lines starting with / are commands: /user shows the user id, /quit leaves.\n");
}

static void print_reply(void *ctx, const char *text, const cJSON *choices)
{
    const char *p = text, *nl;
    (void)ctx;
    (void)choices; /* the numbered options are part of the text */
    do {
        nl = strchr(p, '\n');
        printf("  bot | %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
        p = nl ? nl + 1 : NULL;
    } while (p);
    printf("\n");
}

int lk_console_main(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"user", required_argument, NULL, 'U'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *url = "ws://127.0.0.1:8080/chat", *user = NULL;
    char *line = NULL, err[256];
    lk_wsclient *c = NULL;
    int ch, tty = lk_term_interactive(), rc = 0;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "u:U:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'u': url = optarg; break;
        case 'U': user = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (lk_wsclient_open(url, user, &c, err, sizeof err) != LK_OK) {
        fprintf(stderr, "loket console: %s\n", err);
        return 1;
    }
    printf("connected to %s as %s (/quit to leave)\n\n", url, gw_wsclient_user(c));
    for (;;) {
        free(line);
        if (!(line = lk_term_read("> ")))
            break;
        if (!*line)
            continue;
        if (!strcmp(line, "/quit") || !strcmp(line, "/exit"))
            break;
        if (!strcmp(line, "/user")) {
            printf("user: %s\n", gw_wsclient_user(c));
            continue;
        }
        if (!tty)
            printf("> %s\n", line);
        if (gw_wsclient_exchange(c, line, print_reply, NULL, err, sizeof err) != LK_OK) {
            fprintf(stderr, "loket console: %s\n", err);
            if (strstr(err, "closed") || strstr(err, "connect")) {
                rc = 1;
                break;
            }
        }
        fflush(stdout);
    }
    free(line);
    lk_wsclient_close(c);
    return rc;
}
