/* `loket misses --db PATH [--since 7d] [--state NAME]`: what users typed that
 * the flow did not understand, from the message log: normalised inputs that
 * got an invalid reply, grouped by state, most frequent first, with a count
 * and the last time seen (UTC). Long digit runs (NIKs, card numbers) show as
 * "#". SQLite or PostgreSQL. Exit 0, 1 on a store error, 2 on bad usage. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "loket/core.h"
#include "loket/store.h"

static int usage(FILE *fp, int rc)
{
    fprintf(fp, "usage: loket misses [--db PATH] [--since DURATION] [--state NAME]\n\n"
                "Lists the inputs that got an invalid reply, normalised and grouped by\n"
                "state, most frequent first, with a count and the last time seen (UTC).\n"
                "--db      the database (default " LK_DEFAULT_DB "), or a postgresql:// URI\n"
                "--since   only the last DURATION (90s, 30m, 2h, 7d); default: all\n"
                "--state   only this state\n");
    return rc;
}

int cmd_misses(int argc, char **argv)
{
    const char *db = LK_DEFAULT_DB, *state = NULL;
    int64_t since = 0, dur;
    lk_store *st = NULL;
    lk_miss *m = NULL;
    int n = 0, i, rc = 0;
    lk_err err;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return usage(stdout, 0);
        if (i + 1 >= argc)
            return usage(stderr, 2);
        if (!strcmp(argv[i], "--db")) {
            db = argv[++i];
        } else if (!strcmp(argv[i], "--state")) {
            state = argv[++i];
        } else if (!strcmp(argv[i], "--since")) {
            if (lk_duration_parse(argv[++i], &dur) != 0 || dur <= 0) {
                fprintf(stderr, "loket misses: '%s' is not a duration (90s, 30m, 2h, 7d)\n",
                        argv[i]);
                return 2;
            }
            since = cli_now_ms() - dur;
        } else {
            return usage(stderr, 2);
        }
    }
    if (!(st = cli_open_existing("misses", db)))
        return 1;
    if ((err = lk_store_misses(st, since, state, &m, &n)) != LK_OK) {
        fprintf(stderr, "loket misses: %s\n", lk_store_errmsg(st));
        rc = 1;
    } else if (n == 0) {
        printf("no inputs without an answer%s%s\n", state ? " in state " : "", state ? state : "");
    } else {
        printf("%-22s %6s  %-16s  %s\n", "STATE", "COUNT", "LAST SEEN (UTC)", "INPUT");
        for (i = 0; i < n; i++) {
            lk_civil c;
            lk_civil_from_ms(m[i].last_ms, 0, &c);
            printf("%-22s %6lld  %04d-%02d-%02d %02d:%02d  %s\n", m[i].state, (long long)m[i].count,
                   c.year, c.month, c.day, c.hour, c.min, m[i].text);
        }
    }
    lk_store_misses_free(m, n);
    lk_store_close(st);
    return rc;
}
