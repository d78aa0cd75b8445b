/* `loket backup [--db PATH] DEST`: a consistent copy of the database, safe
 * while a server runs on it (lk_store_backup). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "loket/store.h"

static void backup_usage(FILE *fp)
{
    fprintf(fp,
            "usage: loket backup [--db PATH] DEST\n\n"
            "Copies the SQLite database PATH (default " LK_DEFAULT_DB ") to the new file DEST:\n"
            "a consistent snapshot of every message committed before the copy began,\n"
            "taken while a server keeps serving. The copy is checked (quick_check)\n"
            "and appears at DEST only when complete; DEST must not exist.\n"
            "To restore: stop the server, remove PATH-wal and PATH-shm, copy DEST\n"
            "to PATH, start the server. Exit 0 done, 1 failed, 2 bad usage.\n");
}

int cmd_backup(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *db = LK_DEFAULT_DB;
    lk_diag diag = {0};
    int64_t pages = 0;
    int c, psize = 0;
    lk_err err;

    optind = 1;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        if (c == 'd')
            db = optarg;
        else if (c == 'h')
            return backup_usage(stdout), 0;
        else
            return backup_usage(stderr), 2;
    }
    if (optind != argc - 1)
        return backup_usage(stderr), 2;
    err = lk_store_backup(db, argv[optind], &pages, &psize, &diag);
    lk_diag_print(&diag, stderr);
    lk_diag_clear(&diag);
    if (err != LK_OK)
        return 1;
    printf("%s: copied to %s, %lld pages of %d bytes (%.1f MiB)\n", db, argv[optind],
           (long long)pages, psize, (double)pages * psize / (1024.0 * 1024.0));
    return 0;
}
