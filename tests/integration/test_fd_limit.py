#!/usr/bin/env python3
"""Out of file descriptors (a server of its own started with RLIMIT_NOFILE 256): 384 idle
connections once made libwebsockets retry accept() in a busy loop and log each failure
(951,172 lines in 15 s). The server reads the limit at start and keeps its connection cap
below it, so accept() never fails: the connections over the cap are refused, their log
line is summed up instead of repeated, the loop stays idle, and a new request is still
answered (an idle connection that never sent a head gives its place up)."""

import os
import re
import socket
import time

import lkt
from lkt import check

srv = lkt.Server("fdlimit", nofile=256, config={"max_conns_per_peer": 1000}).start()
P = srv.port


def cpu_seconds():
    with open("/proc/%d/stat" % srv.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


lines_before = len(srv.log_text().splitlines())
conns = []
for _ in range(384):
    try:
        conns.append(socket.create_connection(("127.0.0.1", P), timeout=5))
    except OSError:
        pass
check(len(conns) >= 200, "only %d connections were made" % len(conns))
# the server has seen the connections over its cap once its log refuses them
lkt.wait_for(lambda: re.search(r"refused|accept", srv.log_text()), what="the refusals in the log")

t0 = cpu_seconds()
time.sleep(2)  # measuring the loop's idleness needs a span of time; no event to await
used = cpu_seconds() - t0
check(used < 0.5, "the server used %.2f s of CPU in 2 s holding %d connections" % (used, len(conns)))

st, _, _ = lkt.http(P, "GET", "/healthz", timeout=5)
check(st == 200, "/healthz at the connection cap answered %d" % st)

lkt.wait_for(lambda: "repeated=" in srv.log_text(), what="the summary of the repeated refusals")
lines = len(srv.log_text().splitlines()) - lines_before
check(lines < 100, "%d log lines for %d connections" % (lines, len(conns)))
m = re.search(r"fd_limit=(\d+) max_conns=(\d+)", srv.log_text())
check(m and m.group(1) == "256", "the start log does not name the limit: %r" % srv.log_text()[:600])
check(0 < int(m.group(2)) <= 256 - 32, "max_conns %s is not clear of the limit" % m.group(2))
for c in conns:
    c.close()
code = srv.stop()
srv.check_clean_exit(code)
print("ok")
