#!/usr/bin/env python3
"""The disk does not fill by itself: 60 s of mixed load (websocket conversations, the
generic webhook, signed WhatsApp notifications whose replies the sender delivers to the
Graph API mock, and one websocket that says hello with a new id before every message)
keeps the write-ahead log under 64 MB and the server's memory flat. Both are sampled
once a second from outside: the -wal file's size and VmRSS in /proc/PID/status. The
load is bounded (a deadline, loopback only); the test takes about 70 s."""

import os
import threading
import time

import lkt
from lkt import check

DURATION = 60.0
WAL_LIMIT = 64 * 1024 * 1024
RSS_GROWTH_LIMIT = 16 * 1024 * 1024

mock, mock_port = lkt.start_mock_process(lkt.RUN)
asan = os.environ.get("ASAN_OPTIONS", "")
# wal_max 16M: the file may reach twice that and an eighth (36 MB), well under the limit
srv = lkt.Server("wal-load", config={"rate": 100000, "burst": 1000000, "log": "warn",
                                     "max_conns_per_peer": 256, "wal_max": "16M"},
                 env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mock_port,
                      # a small quarantine, so that ASan's freed-memory pool is not read as growth
                      "ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=8"})
srv.start()
P = srv.port
pid = srv.proc.pid
deadline = time.monotonic() + DURATION
errors = []
counts = {"ws": 0, "generic": 0, "whatsapp": 0, "hello": 0, "hello_refused": 0}
lock = threading.Lock()
TALK = ["Hi Chika", "6", "Jawa Barat", "Kota Bandung", "menu", "1", "Halo", "6", "Riau", "menu"]


def count(kind):
    with lock:
        counts[kind] += 1


def guarded(fn):
    def run(*args):
        try:
            fn(*args)
        except Exception as e:  # a worker that dies must fail the test, not hang it
            errors.append("%s: %r" % (fn.__name__, e))
    return run


@guarded
def ws_talker(ws):
    i = 0
    while time.monotonic() < deadline:
        _, done = ws.step(TALK[i % len(TALK)])
        if done["type"] == "done":
            count("ws")
        i += 1
    ws.close()


@guarded
def generic_poster(n):
    user = "62813%05d" % n
    i = 0
    while time.monotonic() < deadline:
        st, _ = lkt.http_json(P, "POST", "/v1/messages", {"from": user, "text": TALK[i % len(TALK)],
                                                          "id": "g-%d-%d" % (n, i)})
        if st == 200:
            count("generic")
        i += 1


@guarded
def wa_sender(n):
    pnid = lkt.unique_pnid()
    i = 0
    while time.monotonic() < deadline:
        msgs = [lkt.wa_text("62814%03d%02d" % (n, k), TALK[(i + k) % len(TALK)]) for k in range(3)]
        st, _, _ = lkt.wa_post(P, lkt.wa_notification(pnid, msgs))
        if st == 200:
            count("whatsapp")
        i += 1


@guarded
def hello_changer():
    """Before every message, a hello with an id nobody has: a new session each time,
    unless the server caps it. When the connection's cap refuses, it reconnects."""
    ws = lkt.WS(P, timeout=30)
    while time.monotonic() < deadline:
        ws.send_json({"type": "hello", "user": lkt.unique("flood")})
        m = ws.recv_json()
        if m["type"] == "welcome":
            count("hello")
        else:
            count("hello_refused")
            if "connection" in m.get("error", ""):
                ws.close()
                ws = lkt.WS(P, timeout=30)
                continue
        ws.step("Hi Chika")
    ws.close()


def rss_bytes():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def wal_bytes():
    try:
        return os.path.getsize(srv.db + "-wal")
    except OSError:
        return 0


# the talkers say hello before the flood can spend the address's budget of new sessions
talkers = [lkt.WS(P, timeout=30) for _ in range(3)]
for ws in talkers:
    ws.hello()
threads = [threading.Thread(target=ws_talker, args=(ws,)) for ws in talkers]
threads += [threading.Thread(target=generic_poster, args=(i,)) for i in range(2)]
threads += [threading.Thread(target=wa_sender, args=(0,)), threading.Thread(target=hello_changer)]
t0 = time.monotonic()
for t in threads:
    t.daemon = True
    t.start()
samples = []  # (seconds since start, wal bytes, rss bytes)
while time.monotonic() < deadline:
    samples.append((time.monotonic() - t0, wal_bytes(), rss_bytes()))
    time.sleep(1.0)
for t in threads:
    t.join(timeout=30)
samples.append((time.monotonic() - t0, wal_bytes(), rss_bytes()))

check(not errors, "load workers failed: %s" % "; ".join(errors[:5]))
processed = srv.db_query("SELECT count(*) FROM log WHERE dir = 'in'")[0][0]
max_wal = max(s[1] for s in samples)
warm = [s[2] for s in samples if 10 <= s[0] <= 20]
late = [s[2] for s in samples if s[0] >= DURATION - 15]
print("messages processed %d (%r); -wal max %.1f MB; VmRSS %.1f MB at 10-20 s, %.1f MB at the "
      "end" % (processed, counts, max_wal / 2 ** 20, max(warm) / 2 ** 20, max(late) / 2 ** 20))
check(processed >= 1000, "too little load to show anything: %d messages" % processed)
check(max_wal < WAL_LIMIT, "the write-ahead log reached %d bytes: %r"
      % (max_wal, [(round(t), w) for t, w, _ in samples]))
check(max(late) - max(warm) < RSS_GROWTH_LIMIT, "the server's memory grew from %d to %d bytes: %r"
      % (max(warm), max(late), [(round(t), r) for t, _, r in samples]))
# the flood of new ids was capped: a minute's budget of the address, not one per message
flood = srv.db_query("SELECT count(*) FROM sessions WHERE channel = 'ws' AND user LIKE 'flood-%'")[0][0]
check(counts["hello_refused"] > 0 and flood <= 2 * 60 + 10,
      "the new-id flood stored %d sessions (%r)" % (flood, counts))
check(srv.db_query("PRAGMA integrity_check")[0][0] == "ok", "the database is damaged")
srv.check_clean_exit(srv.stop())
check(wal_bytes() == 0, "a clean stop left %d bytes of write-ahead log" % wal_bytes())
mock.kill()
print("ok")
