/* The event loop of `loket serve`: epoll through libev, which libwebsockets
 * runs on as a foreign loop. lws's own loop is poll(), which hands every
 * socket to the kernel at every turn: with thousands of idle websockets that
 * is most of the server's time. Debian's lws 4.1.6 keeps its libev support in
 * a plugin (libwebsockets-evlib_ev.so, loaded when the context is created
 * with LWS_SERVER_OPTION_LIBEV); loket creates the loop itself and hands it
 * over in info.foreign_loops, so that the loop keeps its shape (server.c
 * run()): one turn of the loop, then gw_pipeline_poll and the reload and stop
 * checks. (lws_service would run a libev loop until it stops.)
 *
 * What lws 4.1.6 does with a foreign libev loop, and what loket relies on:
 * - Sockets: one ev_io watcher per direction and connection, started and
 *   stopped as lws changes what it waits for; the listener's watcher is
 *   stopped when lws stops accepting at its descriptor limit, as in poll.
 * - Signals: no SIGINT watcher on a foreign loop, and libev is told to leave
 *   the signal mask alone (EVFLAG_NOSIGMASK): server.c's handlers stay the
 *   only ones, and the loop thread the only one with the signals unblocked.
 * - Wake-ups: lws_cancel_service writes lws's eventfd, which is one of the
 *   loop's watchers, so the store workers, the syncer and the signal
 *   handlers wake the loop as they did poll().
 * - Timers (lws_sul: request deadlines, websocket pings and idle hang-ups,
 *   the log tick): one ev_timer for the earliest, re-armed from an idle
 *   watcher that lws starts after every socket event. That idle watcher sets
 *   the timer while it is still running, which libev ignores: the timer
 *   keeps its older expiry, so a timer that became the earliest meanwhile
 *   waits for that expiry (a socket event runs only the timers already due).
 *   The pulse in server.c (a timer every GW_EVLOOP_PULSE_US) bounds that
 *   wait.
 * - Destroy: the libev plugin closes nothing asynchronously, so with a
 *   foreign loop lws_context_destroy finishes in one call (its two-stage
 *   destroy is for lws's internal loops) and leaves the loop to its owner:
 *   gw_evloop_free after the context is gone.
 * Why libev and not lws's libuv plugin: in 4.1.6 that one stops its idle
 * watcher after one pass even when a connection still has buffered input to
 * handle, allocates a handle per connection and closes handles
 * asynchronously, so a foreign libuv loop must run on after the context is
 * destroyed. */
#include "gw.h"

#include <dlfcn.h>
#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <string.h>

#define EVLIB_PLUGIN LWS_INSTALL_LIBDIR "/libwebsockets-evlib_ev.so"

void *gw_evloop_new(char *why, size_t n)
{
    struct ev_loop *loop;
    void *dl;

    /* lws's own dlopen() of its plugin, to tell why it cannot be had; lws
     * would only fail to create its context */
    if (!(dl = dlopen(EVLIB_PLUGIN, RTLD_NOW | RTLD_LOCAL))) {
        const char *e = dlerror();
        snprintf(why, n, "%s", e ? e : "the libev plugin of libwebsockets does not load");
        return NULL;
    }
    dlclose(dl);
    if (!(ev_supported_backends() & EVBACKEND_EPOLL)) {
        snprintf(why, n, "libev was built without epoll");
        return NULL;
    }
    loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
    if (!loop)
        snprintf(why, n, "libev could not create an epoll loop: %s", strerror(errno));
    return loop;
}

void gw_evloop_turn(void *loop)
{
    ev_run((struct ev_loop *)loop, EVRUN_ONCE);
}

void gw_evloop_free(void *loop)
{
    if (loop)
        ev_loop_destroy((struct ev_loop *)loop);
}
