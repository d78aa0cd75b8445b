/* The `loket` subcommands and what they share. */
#ifndef LOKET_CLI_H
#define LOKET_CLI_H

#include "loket/flow.h"

#define LK_DEFAULT_FLOW "flows/chika.json"
#define LK_DEFAULT_DB "loket.db"

int cmd_chat(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_misses(int argc, char **argv);
int cmd_forget(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* Opens the database at db for a tool beside a running server (no server
 * lock, a long busy timeout), refusing a SQLite path where no file is; NULL
 * after printing why. */
struct lk_store;
struct lk_store *cli_open_existing(const char *cmd, const char *db);
/* Loads a flow, printing every diagnostic to stderr. NULL when it is broken. */
lk_flow *cli_load_flow(const char *path);
/* The wall clock in Unix ms: only the commands read it, never the engine. */
int64_t cli_now_ms(void);

#endif
