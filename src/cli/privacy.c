/* `loket forget` and `loket export`: a user's right to erasure and to access
 * (UU PDP No. 27/2022), on a SQLite file or a PostgreSQL database, also
 * while `loket serve` runs on it. Neither takes the server's lock file
 * (PATH.lock): they open the database as any other connection does and wait
 * for the server's transactions up to the busy timeout.
 *
 * A USER is CHANNEL:ID (whatsapp:628111, ws:3f2a...) when the part before
 * the first ':' names a channel of loket, else an ID meaning every channel.
 * A Twilio sender keeps its own prefix: twilio:whatsapp:+62811. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "loket/core.h"
#include "loket/store.h"

/* How long these commands wait for the server's write transaction. */
#define CLI_BUSY_MS 30000

/* The channel names loket stores (the gateway's channels, the terminal
 * chat, replay, and sessions older than schema 4). */
static const char *const channels[] = {"whatsapp", "twilio", "generic", "ws",
                                       "chat",     "replay", "legacy",  NULL};

/* Splits arg into u; channel and user point into buf. */
static int parse_user(const char *arg, char *buf, size_t cap, lk_user_ref *u)
{
    const char *colon = strchr(arg, ':');
    int i;

    if (!*arg || strlen(arg) >= cap)
        return -1;
    snprintf(buf, cap, "%s", arg);
    u->channel = NULL;
    u->user = buf;
    if (!colon)
        return 0;
    for (i = 0; channels[i]; i++)
        if ((size_t)(colon - arg) == strlen(channels[i]) &&
            !strncmp(arg, channels[i], (size_t)(colon - arg))) {
            buf[colon - arg] = '\0';
            u->channel = buf;
            u->user = buf + (colon - arg) + 1;
            return *u->user ? 0 : -1;
        }
    return 0;
}

lk_store *cli_open_existing(const char *cmd, const char *db)
{
    lk_store_opts opts;
    lk_store *st = NULL;
    lk_diag diag = {0};
    char shown[512];
    struct stat sb;
    lk_err err;

    /* a mistyped path must not become a new, empty database of which
     * "nothing was stored" would be true */
    if (strncmp(db, "postgresql://", 13) && strncmp(db, "postgres://", 11) &&
        strcmp(db, ":memory:") && stat(db, &sb) != 0) {
        fprintf(stderr, "loket %s: %s: no database there (%s)\n", cmd, db, strerror(errno));
        return NULL;
    }
    lk_store_opts_default(&opts);
    opts.busy_timeout_ms = CLI_BUSY_MS;
    if ((err = lk_store_open(db, &opts, &st, &diag)) != LK_OK) {
        lk_diag_print(&diag, stderr);
        if (diag.n == 0)
            fprintf(stderr, "loket %s: %s: %s\n", cmd, lk_store_redact(db, shown, sizeof shown),
                    lk_strerror(err));
        lk_diag_clear(&diag);
    }
    return st;
}

/* ---- forget ---------------------------------------------------------------------- */

static void forget_usage(FILE *fp)
{
    fprintf(fp, "usage: loket forget [--db PATH] USER...\n\n"
                "Erases everything stored about each USER: sessions, the message log,\n"
                "the outbox and processed message ids, all users in one transaction,\n"
                "and prints what it removed. USER is CHANNEL:ID (whatsapp:628111,\n"
                "twilio:whatsapp:+62811) or a bare ID, meaning that ID on every channel.\n"
                "Safe while a server runs on the database. PATH (default " LK_DEFAULT_DB ")\n"
                "may be a postgresql:// URI. Exit 0 done, 1 failed, 2 bad usage.\n");
}

int cmd_forget(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"db", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *db = LK_DEFAULT_DB;
    lk_user_ref *users = NULL;
    lk_user_counts *counts = NULL;
    char(*bufs)[512] = NULL;
    lk_store *st = NULL;
    int c, i, n, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "d:h", lopts, NULL)) != -1) {
        if (c == 'd')
            db = optarg;
        else if (c == 'h')
            return forget_usage(stdout), 0;
        else
            return forget_usage(stderr), 2;
    }
    n = argc - optind;
    if (n <= 0)
        return forget_usage(stderr), 2;
    users = calloc((size_t)n, sizeof *users);
    counts = calloc((size_t)n, sizeof *counts);
    bufs = calloc((size_t)n, sizeof *bufs);
    if (!users || !counts || !bufs) {
        fprintf(stderr, "loket forget: out of memory\n");
        goto out;
    }
    for (i = 0; i < n; i++)
        if (parse_user(argv[optind + i], bufs[i], sizeof bufs[i], &users[i]) != 0) {
            fprintf(stderr, "loket forget: '%s' is not a user (CHANNEL:ID or ID)\n",
                    argv[optind + i]);
            rc = 2;
            goto out;
        }
    if (!(st = cli_open_existing("forget", db)))
        goto out;
    if (lk_store_forget(st, users, n, counts) != LK_OK) {
        fprintf(stderr, "loket forget: nothing was erased: %s\n", lk_store_errmsg(st));
        goto out;
    }
    for (i = 0; i < n; i++) {
        const lk_user_counts *k = &counts[i];

        printf("%s%s%s (%s): sessions %lld, log %lld, outbox %lld, processed ids %lld%s\n",
               users[i].channel ? users[i].channel : "", users[i].channel ? ":" : "", users[i].user,
               users[i].channel ? "this channel" : "every channel", (long long)k->sessions,
               (long long)k->log, (long long)k->outbox, (long long)k->seen,
               k->sessions + k->log + k->outbox + k->seen ? "" : " (nothing was stored)");
    }
    rc = 0;
out:
    lk_store_close(st);
    free(users);
    free(counts);
    free(bufs);
    return rc;
}

/* ---- export ---------------------------------------------------------------------- */

/* A JSON string: quotes, backslashes and control characters escaped, valid
 * UTF-8 as it is, any other byte as U+FFFD. */
static void json_str(FILE *fp, const char *s, size_t n)
{
    size_t i = 0;

    fputc('"', fp);
    while (i < n) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            fprintf(fp, "\\%c", c);
            i++;
        } else if (c == '\n') {
            fputs("\\n", fp);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(fp, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            fputc(c, fp);
            i++;
        } else {
            size_t k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

            if (k > 1 && i + k <= n && lk_utf8_valid(s + i, k, NULL)) {
                fwrite(s + i, 1, k, fp);
                i += k;
            } else {
                fputs("\\ufffd", fp);
                i++;
            }
        }
    }
    fputc('"', fp);
}

typedef struct export_out {
    FILE *fp;
    int table; /* index of the open array, -1 before the first */
    int rows;  /* rows in it so far */
} export_out;

/* Opens the arrays up to the one of table (tables without rows get []). */
static void open_table(export_out *o, const char *table)
{
    const char *name;

    while ((name = lk_store_user_table(o->table + 1)) != NULL) {
        if (o->table >= 0)
            fprintf(o->fp, "%s],\n", o->rows ? "\n  " : "");
        o->table++;
        o->rows = 0;
        fprintf(o->fp, "  \"%s\": [", name);
        if (table && !strcmp(name, table))
            return;
    }
}

static int export_row(void *ctx, const char *table, const lk_store_row *r)
{
    export_out *o = ctx;
    const char *cur = lk_store_user_table(o->table);
    int i;

    if (!cur || strcmp(cur, table))
        open_table(o, table);
    fprintf(o->fp, "%s\n    {", o->rows++ ? "," : "");
    for (i = 0; i < r->ncols; i++) {
        fprintf(o->fp, "%s", i ? ", " : "");
        json_str(o->fp, r->names[i], strlen(r->names[i]));
        fputs(": ", o->fp);
        if (r->kinds[i] == 'n')
            fputs("null", o->fp);
        else if (r->kinds[i] == 'i')
            fputs(r->vals[i], o->fp);
        else
            json_str(o->fp, r->vals[i], r->lens[i]);
    }
    fputc('}', o->fp);
    return ferror(o->fp) ? -1 : 0;
}

static void export_usage(FILE *fp)
{
    fprintf(fp,
            "usage: loket export [--db PATH] USER\n\n"
            "Prints everything stored about USER as one JSON object: its sessions,\n"
            "message log, outbox and processed message ids, every column, read in\n"
            "one snapshot. USER is CHANNEL:ID or a bare ID (every channel), as for\n"
            "loket forget. Safe while a server runs on the database. PATH (default\n" LK_DEFAULT_DB
            ") may be a postgresql:// URI. Exit 0 done, 1 failed, 2 bad usage.\n");
}

int cmd_export(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"db", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *db = LK_DEFAULT_DB;
    export_out o = {NULL, -1, 0};
    char buf[512], *doc = NULL;
    size_t doclen = 0;
    lk_user_ref u;
    lk_store *st;
    lk_civil t;
    int c, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "d:h", lopts, NULL)) != -1) {
        if (c == 'd')
            db = optarg;
        else if (c == 'h')
            return export_usage(stdout), 0;
        else
            return export_usage(stderr), 2;
    }
    if (optind != argc - 1)
        return export_usage(stderr), 2;
    if (parse_user(argv[optind], buf, sizeof buf, &u) != 0) {
        fprintf(stderr, "loket export: '%s' is not a user (CHANNEL:ID or ID)\n", argv[optind]);
        return 2;
    }
    if (!(st = cli_open_existing("export", db)))
        return 1;
    lk_civil_from_ms(cli_now_ms(), 0, &t);
    /* in memory, never in a file: the document is printed only once the
     * whole snapshot was read, so a failure prints no half of it */
    if (!(o.fp = open_memstream(&doc, &doclen))) {
        fprintf(stderr, "loket export: out of memory\n");
        goto out;
    }
    fputs("{\n  \"user\": ", o.fp);
    json_str(o.fp, u.user, strlen(u.user));
    fputs(",\n  \"channel\": ", o.fp);
    if (u.channel)
        json_str(o.fp, u.channel, strlen(u.channel));
    else
        fputs("null", o.fp);
    fprintf(o.fp, ",\n  \"exported_at\": \"%04d-%02d-%02dT%02d:%02d:%02dZ\",\n", t.year, t.month,
            t.day, t.hour, t.min, t.sec);
    if (lk_store_export(st, u.channel, u.user, export_row, &o) != LK_OK) {
        fprintf(stderr, "loket export: %s\n", lk_store_errmsg(st));
        goto out;
    }
    open_table(&o, NULL);
    fprintf(o.fp, "%s]\n}\n", o.rows ? "\n  " : "");
    if (fclose(o.fp) != 0) {
        o.fp = NULL;
        fprintf(stderr, "loket export: out of memory\n");
        goto out;
    }
    o.fp = NULL;
    rc = fwrite(doc, 1, doclen, stdout) == doclen && fflush(stdout) == 0 ? 0 : 1;
out:
    if (o.fp)
        fclose(o.fp);
    free(doc);
    lk_store_close(st);
    return rc;
}
