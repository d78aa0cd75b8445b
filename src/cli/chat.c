/* `loket chat`: talk to a flow in the terminal. Sessions live in the
 * database like a server's, so quitting and coming back resumes the
 * conversation where it was. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "loket/runtime.h"
#include "loket/term.h"

static void chat_usage(FILE *fp)
{
    fprintf(
        fp,
        "usage: loket chat [--flow FLOW] [--db PATH] [--user ID]\n\n"
        "Talk to FLOW (default " LK_DEFAULT_FLOW ") in this terminal. The session of\n"
        "user ID (default 'terminal') is kept in the SQLite database PATH (default\n" LK_DEFAULT_DB
        "), so quitting and coming back resumes the conversation.\n"
        "Ctrl-D or /quit leaves.\n");
}

int cmd_chat(int argc, char **argv)
{
    static const struct option opts[] = {{"flow", required_argument, NULL, 'f'},
                                         {"db", required_argument, NULL, 'd'},
                                         {"user", required_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *flow_path = lk_default_flow(), *db_path = LK_DEFAULT_DB, *user = "terminal";
    lk_flow *flow = NULL;
    lk_store *store = NULL;
    lk_runtime *rt = NULL;
    lk_out *out = NULL;
    lk_store_opts so;
    lk_diag diag = {0};
    char *line = NULL;
    int c, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "f:d:u:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': flow_path = optarg; break;
        case 'd': db_path = optarg; break;
        case 'u': user = optarg; break;
        case 'h': chat_usage(stdout); return 0;
        default: chat_usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        chat_usage(stderr);
        return 2;
    }
    if (!(flow = cli_load_flow(flow_path)))
        return 1;
    lk_store_opts_default(&so);
    if (lk_store_open(db_path, &so, &store, &diag) != LK_OK) {
        lk_diag_print(&diag, stderr);
        goto done;
    }
    if (!(rt = lk_runtime_new(flow, store)) || !(out = lk_out_new())) {
        fprintf(stderr, "loket chat: out of memory\n");
        goto done;
    }
    if (lk_term_interactive())
        printf("loket chat: flow %s, user %s, database %s. Ctrl-D leaves.\n", lk_flow_name(flow),
               user, db_path);
    for (;;) {
        lk_inbound in = {0};
        lk_err err;
        int i;

        free(line);
        if (!(line = lk_term_read("> ")))
            break;
        if (!strcmp(line, "/quit"))
            break;
        in.channel = "chat";
        in.user = user;
        in.text = line;
        in.len = strlen(line);
        in.now_ms = cli_now_ms();
        err = lk_runtime_handle(rt, &in, out, NULL, NULL);
        if (err != LK_OK) {
            const char *why = lk_strerror(err);
            if (err == LK_EINVAL)
                lk_inbound_check(&in, &why);
            else if (err == LK_ESTORE)
                why = lk_store_errmsg(store);
            printf("(not handled: %s)\n", why);
            continue;
        }
        for (i = 0; i < lk_out_count(out); i++) {
            lk_reply r;
            lk_out_get(out, i, &r);
            printf("%s\n\n", r.text);
        }
        fflush(stdout);
    }
    rc = 0;
done:
    free(line);
    lk_out_free(out);
    lk_runtime_free(rt);
    lk_store_close(store);
    lk_flow_free(flow);
    lk_diag_clear(&diag);
    return rc;
}
