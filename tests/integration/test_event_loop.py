#!/usr/bin/env python3
"""The event loop: `loket serve` runs epoll (lws on a libev loop) unless event_loop = poll.

Checked from outside, without timing anything: the "listening" line names the loop, and
the kernel's own record of the server's epoll instances (/proc/PID/fdinfo of each
anon_inode:[eventpoll] descriptor) holds the server-side socket of every one of a
thousand idle websockets, found through /proc/net/tcp; with event_loop = poll none of
them is there. With them all open a conversation and /healthz are answered, SIGHUP
reloads the flow, and SIGTERM exits 0 (no sanitizer report: the loop is destroyed after
the lws context). When lws's libev plugin cannot be
loaded (here: bind-mounted over by an empty file in a private mount namespace, root
only) the server says why in a WARN and serves with poll."""

import os
import resource
import signal
import stat
import subprocess

import lkt
from lkt import check, text_of



def plugin_path():
    """Where lws looks for its libev plugin: LWS_INSTALL_LIBDIR of its lws_config.h."""
    try:
        with open("/usr/include/lws_config.h") as f:
            for line in f:
                if line.startswith("#define LWS_INSTALL_LIBDIR"):
                    return line.split('"')[1] + "/libwebsockets-evlib_ev.so"
    except (OSError, IndexError):
        pass
    return None


PLUGIN = plugin_path()

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
IDLE = 1000 if want >= 2048 else max(50, want // 2 - 100)
CONFIG = {"max_conns_per_peer": IDLE + 100}


def listening_line(srv):
    for line in srv.log_text().splitlines():
        if 'msg="listening"' in line:
            return line
    return ""


def server_socket_fds(pid, port, client_ports):
    """The server's descriptors of the connections whose client ends have these ports."""
    inodes = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            col = line.split()
            local, remote, inode = col[1], col[2], col[9]
            if int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) in client_ports:
                inodes.add(inode)
    fds = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            fds[int(fd)] = link
    return fds


def epoll_targets(pid):
    """Every descriptor registered with one of the process's epoll instances."""
    out = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != "anon_inode:[eventpoll]":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    if line.startswith("tfd:"):
                        out.add(int(line.split()[1]))
        except OSError:
            continue
    return out


def conversation(port):
    ws = lkt.WS(port)
    ws.send_json({"type": "message", "text": "Hi Chika"})
    check(ws.recv_json()["type"] == "welcome", "no welcome")
    replies, done = ws.collect()
    check(done["type"] == "done" and "Chika" in text_of(replies),
          "the main menu did not come: %r %r" % (text_of(replies), done))
    replies, done = ws.step("6")
    check("provinsi" in text_of(replies).lower(), "6 did not ask for the province: %r" % text_of(replies))
    ws.close()
    st, _, body = lkt.http(port, "GET", "/healthz")
    check(st == 200 and b'"ok"' in body, "/healthz answered %d %r" % (st, body))


def open_idle(port, n):
    conns = [lkt.WS(port) for _ in range(n)]
    return conns, {c.sock.getsockname()[1] for c in conns}


# ---- epoll, the default ----------------------------------------------------------------
srv = lkt.Server("evloop", config=CONFIG, nofile=want).start()
line = listening_line(srv)
check("event_loop=epoll" in line, "the server does not say it runs epoll: %r" % line)
check("epoll event loop unavailable" not in srv.log_text(), "a WARN about the loop:\n" + srv.log_text())
idle, ports = open_idle(srv.port, IDLE)
pid = srv.proc.pid
lkt.wait_for(lambda: len(server_socket_fds(pid, srv.port, ports)) == IDLE, what="the server's sockets")
fds = server_socket_fds(pid, srv.port, ports)
watched = epoll_targets(pid)
missing = [fd for fd in fds if fd not in watched]
check(not missing, "%d of %d idle websockets are not in any epoll set of the server (%d targets)"
      % (len(missing), IDLE, len(watched)))
conversation(srv.port)

# SIGHUP under the new loop: the flow is reloaded and the idle connections stay.
srv.signal(signal.SIGHUP)
lkt.wait_for(lambda: "flow reloaded" in srv.log_text(), what="the flow reload")
conversation(srv.port)
check(len(server_socket_fds(pid, srv.port, ports)) == IDLE, "idle websockets were lost on SIGHUP")

# SIGTERM with them all open: a clean exit (the context, then the loop, destroyed).
code = srv.stop()
srv.check_clean_exit(code)
check('msg="stopped"' in srv.log_text(), "no stopped line")
for c in idle:
    c.sock.close()
print("ok: epoll watches all %d idle websockets; conversation, SIGHUP and SIGTERM fine" % IDLE)

# ---- event_loop = poll -----------------------------------------------------------------
srv = lkt.Server("evloop-poll", config=dict(CONFIG, event_loop="poll")).start()
line = listening_line(srv)
check("event_loop=poll" in line, "event_loop = poll does not run poll: %r" % line)
idle, ports = open_idle(srv.port, 50)
pid = srv.proc.pid
lkt.wait_for(lambda: len(server_socket_fds(pid, srv.port, ports)) == 50, what="the server's sockets")
fds = server_socket_fds(pid, srv.port, ports)
check(not set(fds) & epoll_targets(pid), "event_loop = poll registered connections with epoll")
conversation(srv.port)
srv.check_clean_exit(srv.stop())
for c in idle:
    c.sock.close()
print("ok: event_loop = poll serves with poll()")

# ---- the plugin cannot be loaded: a WARN, and poll -------------------------------------
if (os.geteuid() != 0 or not PLUGIN or not os.path.exists(PLUGIN)
        or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0):
    print("skip: the missing-plugin fallback needs root, unshare -m and lws's plugin")
else:
    srv = lkt.Server("evloop-noplugin", config=CONFIG)
    wrapper = os.path.join(srv.dir, "noplugin.sh")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec unshare -m sh -c \'mount --bind /dev/null "$0" && exec "$@"\' '
                '"%s" "%s" "$@"\n' % (PLUGIN, lkt.BIN))
    os.chmod(wrapper, stat.S_IRWXU)
    real, lkt.BIN = lkt.BIN, wrapper
    try:
        srv.start()
    finally:
        lkt.BIN = real
    log = srv.log_text()
    check("epoll event loop unavailable: going on with poll" in log and "file too short" in log,
          "no WARN with the reason:\n" + log)
    check("event_loop=poll" in listening_line(srv), "without the plugin the server does not run poll")
    conversation(srv.port)
    srv.check_clean_exit(srv.stop())
    print("ok: without the libev plugin the server warns and serves with poll()")
