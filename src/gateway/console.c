/* `loket console`: a terminal chat with a running server over its websocket.
 * One line in, the bot's replies out (menus are numbered in the text, so the
 * number or the title answers them). Turn by turn: the bot only ever answers
 * a message, so the console waits for the step's done frame before reading
 * the next line.
 *
 * The resume token each welcome gives is kept in a file (LOKET_CONSOLE_TOKENS,
 * default ~/.loket-console-tokens, 0600; lines "URL USER TOKEN"), so that
 * `--user ID` resumes a conversation this console had with that server. */
#include "gw.h"

#include "loket/term.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_LINE 1024

static void usage(FILE *fp)
{
    fprintf(fp, "usage: loket console [--url ws://127.0.0.1:8080/chat] [--user ID [--token T]]\n\n"
                "Talks to a running `loket serve` over its websocket. Without --user the\n"
                "server gives a new user id; --user ID resumes that user's conversation with\n"
                "the resume token kept from an earlier welcome (in LOKET_CONSOLE_TOKENS,\n"
                "default ~/.loket-console-tokens) or given with --token.\n"
                "Lines starting with / are commands, answered here: /help lists them.\n");
}

static void help(void)
{
    printf("commands (answered here, not sent to the bot):\n"
           "  /help   this list\n"
           "  /user   the user id of this conversation (--user ID resumes it)\n"
           "  /quit   leave (/exit as well; the conversation stays on the server)\n"
           "anything else is a message to the bot\n\n");
}

/* The text's width after the prefix: the terminal's, COLUMNS, or 80. */
static int text_width(void)
{
    struct winsize ws;
    const char *env = getenv("COLUMNS");
    int cols = 80;

    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        cols = ws.ws_col;
    else if (env && atoi(env) > 0)
        cols = atoi(env);
    return cols > 28 ? cols - 8 : 20; /* 8: "  bot | " */
}

/* One line of a reply, wrapped at spaces to width, each piece with the prefix
 * (a word longer than the width is cut at a character boundary). */
static void print_wrapped(const char *p, size_t n, int width)
{
    do {
        size_t cut = n, i, sp = 0;
        int w = 0;
        for (i = 0; i < n; i++) {
            if (((unsigned char)p[i] & 0xC0) != 0x80 && ++w > width)
                break;
            if (p[i] == ' ')
                sp = i;
        }
        if (i < n)
            cut = sp ? sp : i;
        printf("  bot | %.*s\n", (int)cut, p);
        while (cut < n && p[cut] == ' ')
            cut++;
        p += cut;
        n -= cut;
    } while (n > 0);
}

static int tokens_path(char *out, size_t len)
{
    const char *env = getenv("LOKET_CONSOLE_TOKENS"), *home = getenv("HOME");

    if (env && *env)
        return snprintf(out, len, "%s", env) < (int)len ? 0 : -1;
    if (!home || !*home)
        return -1;
    return snprintf(out, len, "%s/.loket-console-tokens", home) < (int)len ? 0 : -1;
}

/* Splits "URL USER TOKEN" in place; 0 when the line has the three fields. */
static int split(char *line, char **url, char **user, char **token)
{
    line[strcspn(line, "\n")] = '\0';
    *url = strtok(line, " ");
    *user = strtok(NULL, " ");
    *token = strtok(NULL, " ");
    return *url && *user && *token ? 0 : -1;
}

/* The kept token of (url, user) into out; 0 when found. */
static int token_find(const char *url, const char *user, char *out, size_t len)
{
    char path[1024], line[TOKEN_LINE], *u, *id, *t;
    FILE *fp;
    int rc = -1;

    if (tokens_path(path, sizeof path) < 0 || !(fp = fopen(path, "r")))
        return -1;
    while (rc < 0 && fgets(line, sizeof line, fp))
        if (!split(line, &u, &id, &t) && !strcmp(u, url) && !strcmp(id, user))
            rc = snprintf(out, len, "%s", t) < (int)len ? 0 : -1;
    fclose(fp);
    return rc;
}

/* Keeps the token of (url, user), replacing an older one: the file is
 * written anew beside the old one and renamed over it. */
static void token_keep(const char *url, const char *user, const char *token)
{
    char path[1024], tmp[1100], line[TOKEN_LINE], copy[TOKEN_LINE], *u, *id, *t;
    FILE *in, *out;
    int fd;

    if (!*token || strchr(url, ' ') || strchr(user, ' ') || tokens_path(path, sizeof path) < 0)
        return;
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return;
    if (!(out = fdopen(fd, "w"))) {
        close(fd);
        return;
    }
    if ((in = fopen(path, "r"))) {
        while (fgets(line, sizeof line, in)) {
            memcpy(copy, line, sizeof line);
            if (!split(copy, &u, &id, &t) && !(strcmp(u, url) == 0 && strcmp(id, user) == 0))
                fputs(line, out);
        }
        fclose(in);
    }
    fprintf(out, "%s %s %s\n", url, user, token);
    if (fclose(out) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "loket console: cannot keep the resume token in %s\n", path);
        unlink(tmp);
    }
}

static void print_reply(void *ctx, const char *text, const cJSON *choices)
{
    const char *p = text, *nl;
    int width = text_width();
    (void)ctx;
    (void)choices; /* the numbered options are part of the text */
    do {
        nl = strchr(p, '\n');
        print_wrapped(p, nl ? (size_t)(nl - p) : strlen(p), width);
        p = nl ? nl + 1 : NULL;
    } while (p);
    printf("\n");
}

int lk_console_main(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"user", required_argument, NULL, 'U'},
                                         {"token", required_argument, NULL, 'T'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *url = "ws://127.0.0.1:8080/chat", *user = NULL, *token = NULL;
    char *line = NULL, err[256], kept[128];
    lk_wsclient *c = NULL;
    const char *state;
    int ch, tty = lk_term_interactive(), rc = 0, ended = 0;
    lk_err e;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "u:U:T:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'u': url = optarg; break;
        case 'U': user = optarg; break;
        case 'T': token = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (user && !token && token_find(url, user, kept, sizeof kept) == 0)
        token = kept;
    if (gw_wsclient_open(url, user, token, &c, err, sizeof err) != LK_OK) {
        fprintf(stderr, "loket console: %s\n", err);
        return 1;
    }
    if (user && strcmp(user, gw_wsclient_user(c)) != 0)
        printf("%s has a conversation this console holds no valid token for: a new one "
               "starts\n",
               user);
    token_keep(url, gw_wsclient_user(c), gw_wsclient_token(c));
    printf("connected to %s as %s (/help for commands, /quit to leave)\n", url,
           gw_wsclient_user(c));
    if ((state = gw_wsclient_state(c, &ended)) && ended)
        printf("resumed: the conversation had ended; your next message starts it again\n");
    else if (state)
        printf("resumed: the conversation waits at \"%s\"; your next message answers its "
               "question\n",
               state);
    printf("\n");
    for (;;) {
        free(line);
        if (!(line = lk_term_read("> ")))
            break;
        if (!*line)
            continue;
        if (!strcmp(line, "/quit") || !strcmp(line, "/exit"))
            break;
        if (!tty)
            printf("> %s\n", line);
        if (!strcmp(line, "/user")) {
            printf("user: %s\n\n", gw_wsclient_user(c));
            continue;
        }
        if (!strcmp(line, "/help") || !strcmp(line, "/?")) {
            help();
            continue;
        }
        /* LK_EPROTO: the server answered this message with an error and
         * stays; anything else lost the connection (or its answer). */
        if ((e = gw_wsclient_exchange(c, line, print_reply, NULL, err, sizeof err)) != LK_OK) {
            fprintf(stderr, "loket console: %s\n", err);
            if (e != LK_EPROTO) {
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
