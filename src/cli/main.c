/* The `loket` binary: one program, one subcommand per task. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "loket/core.h"
#include "loket/store.h"
#ifdef LOKET_HAVE_GATEWAY
#include "loket/gateway.h"
#endif

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
#ifdef LOKET_HAVE_GATEWAY
    {"serve", lk_serve_main, "run the server: websocket chat, webhooks, web console"},
    {"console", lk_console_main, "talk to a running server over its websocket"},
#endif
    {"chat", cmd_chat, "talk to a flow in this terminal (sessions kept in a database)"},
    {"replay", cmd_replay, "run conversation transcripts against a flow or a server"},
    {"check", cmd_check, "load a flow and report every problem found"},
    {"backup", cmd_backup, "copy the database consistently, also while a server runs"},
    {"misses", cmd_misses, "what users typed that the flow did not understand, from the log"},
    {"forget", cmd_forget, "erase everything stored about users (sessions, log, outbox)"},
    {"export", cmd_export, "print everything stored about a user as JSON"},
};

static void usage(FILE *fp)
{
    size_t i;
    fprintf(fp, "usage: loket COMMAND [OPTIONS]\n\ncommands:\n");
    for (i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(fp, "  %-8s %s\n", commands[i].name, commands[i].help);
    fprintf(fp, "\n`loket COMMAND --help` tells more about each; `loket --version` says\n"
                "which build this is and the database schema it writes.\n");
}

static int version(void)
{
    const char *git = lk_version_git();

    printf("loket %s%s%s%s, database schema %d\n", lk_version(), *git ? " (git " : "", git,
           *git ? ")" : "", lk_store_schema_version());
    return 0;
}

lk_flow *cli_load_flow(const char *path)
{
    lk_flow *flow = NULL;
    lk_diag diag = {0};
    lk_err err = lk_flow_load(path, &flow, &diag);

    lk_diag_print(&diag, stderr);
    if (err != LK_OK && diag.n == 0)
        fprintf(stderr, "%s: %s\n", path, lk_strerror(err));
    lk_diag_clear(&diag);
    return flow;
}

int64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    size_t i;

    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))
        return version();
    for (i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "loket: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
