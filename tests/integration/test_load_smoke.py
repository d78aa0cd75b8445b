#!/usr/bin/env python3
"""build/loket-load against real servers, briefly: 4 websocket clients and 4 signed
WhatsApp senders for 2 seconds each go through with no error and no wrong reply, and the
server's own counters saw at least the messages it reports; its checks fail when they
should: a server on another flow, or on the bundled flow with a wrong kelas III fee, gets
wrong replies, a wrong app secret gets no acknowledged message, and a non-loopback address
is refused before anything is sent. Not a speed test: the figures are not asserted."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import lkt
from lkt import check

LOAD = os.path.join(os.path.dirname(os.path.abspath(lkt.BIN)), "loket-load")
if not os.access(LOAD, os.X_OK):
    print("SKIP: %s not built (LOKET_GATEWAY off?)" % LOAD)
    sys.exit(lkt.SKIP)

# The defaults allow one message a second per sender: far below a closed loop.
CONFIG = {"rate": 1000000, "burst": 1000000, "max_conns_per_peer": 1000}


def load(port, *args, expect_rc=None):
    cmd = [LOAD, "--port", str(port), "--clients", "4", "--duration", "2"] + list(args)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    out = p.stdout
    if expect_rc is not None:
        check(p.returncode == expect_rc, "%s exited %d, not %d:\n%s\n%s"
              % (" ".join(cmd), p.returncode, expect_rc, out, p.stderr[-3000:]))

    def num(key):
        m = re.search(r"^%s:\s+(\d+)" % re.escape(key), out, re.M)
        check(m is not None, "no '%s:' line in the report:\n%s" % (key, out))
        return int(m.group(1))

    rep = {"out": out, "err": p.stderr, "messages": num("messages"), "errors": num("errors")}
    if "--mode" not in args or "ws" in args:
        rep["wrong"] = num("wrong replies")
    return rep


def ws_in(port, channel):
    return lkt.metrics(port).get('loket_messages_in_total{channel="%s"}' % channel, 0)


# ---- the bundled flow: everything right ----------------------------------------------------
srv = lkt.Server("load-smoke", config=CONFIG, test_clock=False).start()
P = srv.port

before = ws_in(P, "ws")
r = load(P, "--mode", "ws", "--pid", str(srv.proc.pid), "--metrics", expect_rc=0)
check(r["messages"] > 0, "no websocket message went through:\n" + r["out"])
check(r["wrong"] == 0 and r["errors"] == 0, "wrong replies or errors:\n%s\n%s" % (r["out"], r["err"]))
check(ws_in(P, "ws") - before >= r["messages"],
      "the server counted fewer websocket messages than loket-load reports")
check(re.search(r"^server:\s+pid %d, CPU [0-9.]+%%, RSS max [0-9.]+ MiB" % srv.proc.pid,
                r["out"], re.M), "no server CPU and RSS line:\n" + r["out"])
check(re.search(r"^per commit:\s+(n/a \(/metrics has no commits counter|[0-9.]+ messages)",
                r["out"], re.M), "no messages-per-commit line:\n" + r["out"])

before = ws_in(P, "whatsapp")
depth0 = lkt.metrics(P)["loket_outbox_depth"]
r = load(P, "--mode", "whatsapp", "--secret", lkt.WA_SECRET, "--metrics", expect_rc=0)
check(r["messages"] > 0 and r["errors"] == 0, "webhooks not acknowledged:\n" + r["out"])
check(ws_in(P, "whatsapp") - before >= r["messages"],
      "the server processed fewer WhatsApp messages than loket-load saw acknowledged")
check(lkt.metrics(P)["loket_outbox_depth"] > depth0, "no reply reached the outbox")

# A wrong app secret: every notification refused (401), so the run fails.
r = load(P, "--mode", "whatsapp", "--secret", "not-the-secret", expect_rc=1)
check(r["messages"] == 0 and r["errors"] > 0, "unsigned notifications counted:\n" + r["out"])

# Only this machine.
p = subprocess.run([LOAD, "--host", "192.0.2.10", "--duration", "1"], capture_output=True, text=True,
                   timeout=30)
check(p.returncode == 2 and "loopback" in p.stderr, "a non-loopback host was not refused: %r"
      % p.stderr)
srv.check_clean_exit(srv.stop())

# ---- another flow: every reply is wrong ---------------------------------------------------
tiny = lkt.Server("load-tiny", flow=os.path.join(lkt.SRC, "tests", "integration", "flows", "tiny.json"),
                  config=CONFIG, test_clock=False).start()
r = load(tiny.port, "--mode", "ws", expect_rc=1)
check(r["messages"] > 0 and r["wrong"] == r["messages"],
      "replies of another flow passed the checks:\n" + r["out"])
check("wrong reply" in r["err"], "the wrong replies were not described:\n" + r["err"])
tiny.check_clean_exit(tiny.stop())

# ---- the bundled flow with a wrong tariff: the kelas III conversation fails --------------------
fdir = tempfile.mkdtemp(prefix="load-flow-", dir=lkt.RUN)
shutil.copytree(os.path.join(lkt.SRC, "flows"), fdir, dirs_exist_ok=True)
path = os.path.join(fdir, "chika.json")
with open(path) as f:
    text = f.read()
wrong_fee = text.replace('"fee": { "1": 150000, "2": 100000, "3": 35000 }',
                         '"fee": { "1": 150000, "2": 100000, "3": 36000 }')
check(wrong_fee != text, "the fee table of flows/chika.json was not found")
with open(path, "w") as f:
    f.write(wrong_fee)
bad = lkt.Server("load-fee", flow=path, config=CONFIG, test_clock=False).start()
r = load(bad.port, "--mode", "ws", expect_rc=1)
check(0 < r["wrong"] < r["messages"], "a wrong kelas III fee was not caught:\n" + r["out"])
check("Rp35.000" in r["err"], "the wrong fee was not named:\n" + r["err"])
bad.check_clean_exit(bad.stop())
shutil.rmtree(fdir, ignore_errors=True)
print("ok")
