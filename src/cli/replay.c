/* `loket replay`: runs transcripts against a flow in process (each on a fresh
 * in-memory database unless --db is given) or against a live server over its
 * websocket (--url). Its last line is "N passed, N failed" (", N skipped" when
 * some could not run), and it exits 0 only when every transcript passed. */
#include <dirent.h>
#include <getopt.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "loket/runtime.h"
#include "transcript.h"
#ifdef LOKET_HAVE_GATEWAY
#include "loket/gateway.h"
#endif

typedef struct replay_opts {
    const char *flow_path;
    const char *db_path;
    const char *url;
    const char *record;
    int coverage;
} replay_opts;

/* Where the messages go: the engine in this process, or a server. */
typedef struct target {
    /* in process */
    lk_flow *flow;
    lk_store *store;
    lk_runtime *rt;
    lk_out *out;
    /* remote: one client per user */
    int nclients;
    struct client {
        char *user;
        void *ws;
    } * clients;
    int no_clock; /* the server refused a clock frame (no --test-clock) */
    int run;      /* transcripts run so far: part of remote user ids */
    /* coverage */
    unsigned char *state_seen, *edge_seen;
} target;

enum { RESULT_PASS, RESULT_FAIL, RESULT_SKIP };

static void replay_usage(FILE *fp)
{
    fprintf(fp, "usage: loket replay [--flow FLOW] [--db PATH] [--coverage] FILE|DIR...\n"
                "       loket replay --url ws://HOST:PORT/chat FILE...\n"
                "       loket replay [--flow FLOW] --record FILE\n\n"
                "Runs conversation transcripts (a DIR stands for its *.txt files). In process (the "
                "default) each FILE runs on a\n"
                "fresh in-memory database unless --db PATH is given; the clock starts "
                "at\n" LK_REPLAY_EPOCH_TEXT " unless the transcript sets it with @at.\n"
                "--url runs them against a live server; transcripts with @at or @after are\n"
                "skipped unless the server was started with --test-clock.\n"
                "--coverage prints the states and transitions no transcript visited.\n"
                "--record FILE runs FILE and writes the bot's replies into it as <= lines.\n\n"
                "Format: '> text' sends, '< text' the reply contains, '<! text' does not\n"
                "contain, '<~ regex' matches, '<= text' equals, '@user ID', '@at TIME',\n"
                "'@after 31m'; '#' starts a comment.\n");
}

static lk_err send_local(target *t, const char *user, const char *text, int64_t now_ms,
                         lk_buf *reply, char *err, size_t errlen)
{
    lk_inbound in = {0};
    const int *ids;
    int i, n;
    lk_err e;

    in.channel = "replay";
    in.user = user;
    in.text = text;
    in.len = strlen(text);
    in.now_ms = now_ms;
    e = lk_runtime_handle(t->rt, &in, t->out, NULL, NULL);
    if (e != LK_OK) {
        const char *why = lk_strerror(e);
        if (e == LK_EINVAL)
            lk_inbound_check(&in, &why);
        else if (e == LK_ESTORE)
            why = lk_store_errmsg(t->store);
        snprintf(err, errlen, "the message was not handled: %s", why);
        return e;
    }
    lk_buf_reset(reply);
    lk_buf_puts(reply, lk_out_joined(t->out));
    if (t->state_seen) {
        n = lk_out_states(t->out, &ids);
        for (i = 0; i < n; i++)
            t->state_seen[ids[i]] = 1;
        n = lk_out_edges(t->out, &ids);
        for (i = 0; i < n; i++)
            t->edge_seen[ids[i]] = 1;
    }
    return LK_OK;
}

#ifdef LOKET_HAVE_GATEWAY
static lk_wsclient *client_for(target *t, const char *url, const char *user, char *err,
                               size_t errlen)
{
    struct client *p;
    lk_wsclient *c;
    int i;

    for (i = 0; i < t->nclients; i++)
        if (!strcmp(t->clients[i].user, user))
            return t->clients[i].ws;
    if (lk_wsclient_open(url, user, &c, err, errlen) != LK_OK)
        return NULL;
    p = realloc(t->clients, (size_t)(t->nclients + 1) * sizeof *p);
    if (!p) {
        lk_wsclient_close(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->clients = p;
    p[t->nclients].user = strdup(user);
    p[t->nclients].ws = c;
    t->nclients++;
    return c;
}
#endif

/* Sends to the server as a user of this run only ("replay-user.<pid>.<n>"), so
 * transcripts never meet sessions of earlier runs. The clock is set whenever
 * the server allows it; a transcript that needs it (need_clock) fails with
 * LK_EPROTO where it does not. */
static lk_err send_remote(target *t, const char *url, const char *user, const char *text,
                          int64_t now_ms, int need_clock, lk_buf *reply, char *err, size_t errlen)
{
#ifdef LOKET_HAVE_GATEWAY
    char id[200];
    lk_wsclient *c;
    lk_err e;

    snprintf(id, sizeof id, "%s.%ld.%d", user, (long)getpid(), t->run);
    if (!(c = client_for(t, url, id, err, errlen)))
        return LK_EIO;
    if ((need_clock || !t->no_clock) && (e = lk_wsclient_clock(c, now_ms)) != LK_OK) {
        if (e != LK_EPROTO || need_clock) {
            snprintf(err, errlen, "the server does not let clients set the clock (--test-clock)");
            return e;
        }
        t->no_clock = 1;
    }
    return lk_wsclient_send(c, text, reply, err, errlen);
#else
    (void)t, (void)url, (void)user, (void)text, (void)now_ms, (void)need_clock, (void)reply;
    snprintf(err, errlen, "this loket was built without the gateway: --url is not available");
    return LK_EINVAL;
#endif
}

static void target_close_clients(target *t)
{
    int i;
    for (i = 0; i < t->nclients; i++) {
#ifdef LOKET_HAVE_GATEWAY
        lk_wsclient_close(t->clients[i].ws);
#endif
        free(t->clients[i].user);
    }
    free(t->clients);
    t->clients = NULL;
    t->nclients = 0;
}

static void print_reply(const char *reply)
{
    const char *p = reply, *nl;
    if (!*p) {
        printf("    | (no reply)\n");
        return;
    }
    while (p) {
        nl = strchr(p, '\n');
        printf("    | %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
        p = nl ? nl + 1 : NULL;
    }
}

/* Checks one expectation line against the reply; prints and returns 0 on a
 * mismatch. */
static int expect(const transcript *tr, const tr_line *l, const tr_line *sent, const char *reply)
{
    int ok = 1;
    const char *what = "";

    if (!sent) {
        printf("%s:%d: an expectation before any '>' line\n", tr->path, l->lineno);
        return 0;
    }
    if (l->kind == TR_HAS || l->kind == TR_HASNT) {
        char *fr = transcript_fold(reply), *fw = transcript_fold(l->arg);
        int has = fr && fw && strstr(fr, fw) != NULL;
        ok = l->kind == TR_HAS ? has : !has;
        what = l->kind == TR_HAS ? "to contain" : "not to contain";
        free(fr);
        free(fw);
    } else if (l->kind == TR_REGEX) {
        regex_t re;
        int rc = regcomp(&re, l->arg, REG_EXTENDED | REG_ICASE | REG_NOSUB);
        if (rc != 0) {
            printf("%s:%d: bad regular expression: %s\n", tr->path, l->lineno, l->arg);
            return 0;
        }
        ok = regexec(&re, reply, 0, NULL, 0) == 0;
        regfree(&re);
        what = "to match";
    } else if (l->kind == TR_EQUALS) {
        ok = strcmp(reply, l->arg) == 0;
        what = "to equal";
    }
    if (!ok) {
        printf("%s:%d: expected the reply %s: %s\n", tr->path, l->lineno, what, l->arg);
        printf("  reply to '%s' (line %d):\n", sent->raw, sent->lineno);
        print_reply(reply);
    }
    return ok;
}

static int run_one(target *t, const replay_opts *o, const transcript *tr, FILE *record)
{
    const char *user = LK_REPLAY_USER;
    const tr_line *sent = NULL;
    int64_t now = LK_REPLAY_EPOCH_MS;
    lk_buf reply = {0};
    char err[256];
    int i, ok = 1;

    for (i = 0; i < tr->n; i++) {
        const tr_line *l = &tr->lines[i];
        switch (l->kind) {
        case TR_NONE: break;
        case TR_USER: user = l->arg; break;
        case TR_AT: now = l->ms; break;
        case TR_AFTER: now += l->ms; break;
        case TR_SEND: {
            lk_err e = o->url ? send_remote(t, o->url, user, l->arg, now, tr->has_clock, &reply,
                                            err, sizeof err)
                              : send_local(t, user, l->arg, now, &reply, err, sizeof err);
            if (e != LK_OK) {
                if (o->url && tr->has_clock && e == LK_EPROTO) {
                    lk_buf_free(&reply);
                    return RESULT_SKIP;
                }
                printf("%s:%d: %s\n", tr->path, l->lineno, err);
                lk_buf_free(&reply);
                return RESULT_FAIL;
            }
            sent = l;
            if (record) {
                char *esc = transcript_escape(lk_buf_str(&reply));
                fprintf(record, "%s\n<= %s\n", l->raw, esc ? esc : "");
                free(esc);
                continue;
            }
            break;
        }
        default:
            if (record)
                continue; /* replaced by the recorded reply */
            ok &= expect(tr, l, sent, lk_buf_str(&reply));
            break;
        }
        if (record)
            fprintf(record, "%s\n", l->raw);
    }
    lk_buf_free(&reply);
    return ok ? RESULT_PASS : RESULT_FAIL;
}

static int target_open_local(target *t, const replay_opts *o)
{
    lk_store_opts so;
    lk_diag diag = {0};

    lk_store_opts_default(&so);
    so.sync = LK_SYNC_OFF;
    if (lk_store_open(o->db_path ? o->db_path : ":memory:", &so, &t->store, &diag) != LK_OK) {
        lk_diag_print(&diag, stdout);
        lk_diag_clear(&diag);
        return -1;
    }
    if (!(t->rt = lk_runtime_new(t->flow, t->store))) {
        printf("out of memory\n");
        return -1;
    }
    return 0;
}

static void target_close_local(target *t)
{
    lk_runtime_free(t->rt);
    lk_store_close(t->store);
    t->rt = NULL;
    t->store = NULL;
}

static void print_coverage(const target *t)
{
    int i, ns = lk_flow_state_count(t->flow), ne = lk_flow_edge_count(t->flow);
    int vs = 0, ve = 0;

    for (i = 0; i < ns; i++)
        vs += t->state_seen[i];
    for (i = 0; i < ne; i++)
        ve += t->edge_seen[i];
    for (i = 0; i < ns; i++)
        if (!t->state_seen[i])
            printf("not visited: state %s\n", lk_flow_state_name(t->flow, i));
    for (i = 0; i < ne; i++) {
        int from, to;
        const char *what;
        if (t->edge_seen[i])
            continue;
        lk_flow_edge(t->flow, i, &from, &to, &what);
        printf("not taken: %s -> %s (%s)\n", from >= 0 ? lk_flow_state_name(t->flow, from) : "*",
               to >= 0 ? lk_flow_state_name(t->flow, to) : "(next)", what ? what : "");
    }
    printf("coverage: states %d/%d (%.1f%%), transitions %d/%d (%.1f%%)\n", vs, ns,
           ns ? 100.0 * vs / ns : 100.0, ve, ne, ne ? 100.0 * ve / ne : 100.0);
}

static int record_file(target *t, const replay_opts *o)
{
    transcript *tr = transcript_read(o->record, stdout);
    char tmp[4096];
    FILE *fp;
    int r;

    if (!tr)
        return 1;
    snprintf(tmp, sizeof tmp, "%s.tmp", o->record);
    if (!(fp = fopen(tmp, "w"))) {
        printf("%s: cannot write\n", tmp);
        transcript_free(tr);
        return 1;
    }
    r = run_one(t, o, tr, fp);
    if (fclose(fp) != 0 || r != RESULT_PASS || rename(tmp, o->record) != 0) {
        printf("%s: not recorded\n", o->record);
        remove(tmp);
        transcript_free(tr);
        return 1;
    }
    printf("%s: recorded\n", o->record);
    transcript_free(tr);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The transcript files named by args: a file as it is, a directory as its
 * *.txt files in name order. The list and its strings are malloc'd. */
static char **expand_args(char **args, int nargs, int *nout)
{
    char **out = NULL;
    int n = 0, cap = 0, i;

    for (i = 0; i < nargs; i++) {
        struct stat st;
        DIR *d;
        struct dirent *e;
        int first = n;

        if (stat(args[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
            if (n == cap) {
                char **p = realloc(out, (size_t)(cap = cap ? cap * 2 : 64) * sizeof *p);
                if (!p)
                    goto oom;
                out = p;
            }
            if (!(out[n++] = strdup(args[i])))
                goto oom;
            continue;
        }
        if (!(d = opendir(args[i])))
            continue;
        while ((e = readdir(d))) {
            size_t len = strlen(e->d_name);
            if (len < 5 || strcmp(e->d_name + len - 4, ".txt") != 0)
                continue;
            if (n == cap) {
                char **p = realloc(out, (size_t)(cap = cap ? cap * 2 : 64) * sizeof *p);
                if (!p) {
                    closedir(d);
                    goto oom;
                }
                out = p;
            }
            if (!(out[n] = malloc(strlen(args[i]) + len + 2))) {
                closedir(d);
                goto oom;
            }
            sprintf(out[n++], "%s/%s", args[i], e->d_name);
        }
        closedir(d);
        qsort(out + first, (size_t)(n - first), sizeof *out, cmp_str);
    }
    *nout = n;
    return out;
oom:
    while (n > 0)
        free(out[--n]);
    free(out);
    *nout = -1;
    return NULL;
}

int cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {{"flow", required_argument, NULL, 'f'},
                                         {"db", required_argument, NULL, 'd'},
                                         {"url", required_argument, NULL, 'u'},
                                         {"record", required_argument, NULL, 'r'},
                                         {"coverage", no_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    replay_opts o = {lk_default_flow(), NULL, NULL, NULL, 0};
    target t = {0};
    char **files = NULL;
    int c, i, nfiles = 0, passed = 0, failed = 0, skipped = 0, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "f:d:u:r:ch", opts, NULL)) != -1) {
        switch (c) {
        case 'f': o.flow_path = optarg; break;
        case 'd': o.db_path = optarg; break;
        case 'u': o.url = optarg; break;
        case 'r': o.record = optarg; break;
        case 'c': o.coverage = 1; break;
        case 'h': replay_usage(stdout); return 0;
        default: replay_usage(stderr); return 2;
        }
    }
    if ((o.record && (optind != argc || o.url)) || (!o.record && optind == argc) ||
        (o.url && o.coverage)) {
        replay_usage(stderr);
        return 2;
    }
    if (!o.url) {
        if (!(t.flow = cli_load_flow(o.flow_path)))
            return 1;
        if (!(t.out = lk_out_new()))
            goto done;
    }
    if (o.record) {
        if (target_open_local(&t, &o) == 0)
            rc = record_file(&t, &o);
        target_close_local(&t);
        goto done;
    }
    if (o.coverage) {
        t.state_seen = calloc((size_t)lk_flow_state_count(t.flow) + 1, 1);
        t.edge_seen = calloc((size_t)lk_flow_edge_count(t.flow) + 1, 1);
        if (!t.state_seen || !t.edge_seen)
            goto done;
    }
    if (!(files = expand_args(argv + optind, argc - optind, &nfiles)) && nfiles < 0) {
        printf("out of memory\n");
        goto done;
    }
    for (i = 0; i < nfiles; i++) {
        transcript *tr = transcript_read(files[i], stdout);
        int r = RESULT_FAIL;

        if (tr) {
            t.run++;
            if (o.url || target_open_local(&t, &o) == 0)
                r = run_one(&t, &o, tr, NULL);
            if (!o.url)
                target_close_local(&t);
            target_close_clients(&t);
        }
        if (r == RESULT_PASS)
            passed++;
        else if (r == RESULT_SKIP)
            skipped++, printf("skipped: %s (sets the clock)\n", files[i]);
        else
            failed++, printf("FAILED: %s\n", files[i]);
        transcript_free(tr);
    }
    if (o.coverage)
        print_coverage(&t);
    if (skipped)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    rc = failed ? 1 : 0;
done:
    for (i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    free(t.state_seen);
    free(t.edge_seen);
    lk_out_free(t.out);
    lk_flow_free(t.flow);
    return rc;
}
