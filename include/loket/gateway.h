/* loket gateway: the libwebsockets server (`loket serve`), the terminal
 * console (`loket console`) and a websocket client that `loket replay --url`
 * uses to run transcripts against a live server. Only src/gateway includes
 * libwebsockets; everything else goes through this header. */
#ifndef LOKET_GATEWAY_H
#define LOKET_GATEWAY_H

#include "loket/core.h"

/* The `loket serve` and `loket console` commands; argv[0] is the command
 * name. They return the process exit code. */
int lk_serve_main(int argc, char **argv);
int lk_console_main(int argc, char **argv);

/* A blocking websocket chat client speaking the /chat protocol. */
typedef struct lk_wsclient lk_wsclient;

/* Connects to url (ws://host:port/path) as user (NULL: the server assigns
 * one). On failure *out is NULL and err says why. */
lk_err lk_wsclient_open(const char *url, const char *user, lk_wsclient **out, char *err,
                        size_t errlen);
/* Sets the clock of this client's conversations (servers started with
 * --test-clock only): LK_EPROTO when the server refuses. */
lk_err lk_wsclient_clock(lk_wsclient *c, int64_t now_ms);
/* Sends one message and waits for all its replies, joined with "\n" into
 * replies (reset first). */
lk_err lk_wsclient_send(lk_wsclient *c, const char *text, lk_buf *replies, char *err,
                        size_t errlen);
void lk_wsclient_close(lk_wsclient *c); /* NULL-safe */

#endif
