#!/usr/bin/env python3
"""Limits on one server of its own (rate 1/s with a burst of 3, 4 connections per peer,
websocket ping after 1 s and hang-up after 2 s, a 2 s request deadline, no --test-clock):

- the per-sender token bucket: the excess is refused (429 on /v1/messages, an error frame
  on the websocket) and acknowledged with 200 but not processed on the WhatsApp webhook;
- a fifth connection from the same address is refused, and accepted again once one closes;
- an idle websocket that does not answer pings is dropped, one that answers stays;
- a request whose body trickles in is answered 408 at its deadline, however steadily the
  bytes come (the deadline is not re-armed per chunk), one whose body never begins too,
  and of several trickling requests each at its own deadline, one of them leaving early;
- the clock frame is refused without --test-clock."""

import select
import socket
import time

import lkt
from lkt import check

srv = lkt.Server("limits", test_clock=False,
                 config={"rate": 1, "burst": 3, "max_conns_per_peer": 4, "ws_ping": "1s",
                         "ws_idle": "2s", "request_timeout": "2s"}).start()
P = srv.port

# ---- rate ----
codes = [lkt.http_json(P, "POST", "/v1/messages", {"from": "rate-gen", "text": "Hi Chika"})[0]
         for _ in range(5)]
check(codes[:3] == [200, 200, 200] and codes[3:] == [429, 429], "generic: %r" % codes)
time.sleep(1.2)
check(lkt.http_json(P, "POST", "/v1/messages", {"from": "rate-gen", "text": "menu"})[0] == 200,
      "the bucket did not refill")
check(lkt.http_json(P, "POST", "/v1/messages", {"from": "rate-other", "text": "menu"})[0] == 200,
      "another sender was limited")

ws = lkt.WS(P)
ws.hello("rate-ws")
kinds = []
for _ in range(4):
    ws.send_json({"type": "message", "text": "Hi Chika"})
    kinds.append(ws.collect()[1])
check([k["type"] for k in kinds] == ["done", "done", "done", "error"]
      and "too many" in kinds[3]["error"], "ws: %r" % kinds)
ws.send_json({"type": "clock", "now": "2026-11-24T09:00:00+07:00"})
m = ws.recv_json()
check(m["type"] == "error" and "test-clock" in m["error"], "the clock was not refused: %r" % m)
ws.close()

msgs = [lkt.wa_text("628999", "Hi Chika") for _ in range(5)]
st, _, _ = lkt.wa_post(P, lkt.wa_notification("5555", msgs))
check(st == 200, "the WhatsApp excess was not acknowledged with 200: %d" % st)
n = srv.db_query("SELECT count(*) FROM log WHERE user = '628999' AND dir = 'in'")[0][0]
check(n == 3, "%d of 5 WhatsApp messages were processed, expected 3" % n)
check(lkt.metrics(P)['loket_errors_total{kind="rate_limited"}'] == 2 + 2 + 1 + 0,
      "rate_limited errors miscounted")

# ---- connections per peer ----
time.sleep(0.2)
conns = [lkt.WS(P) for _ in range(4)]
for c in conns:
    c.hello()
try:
    extra = lkt.WS(P, timeout=3)
    extra.hello()
    lkt.fail("a fifth connection from one address was accepted")
except (lkt.WSClosed, OSError):
    pass
conns.pop().close()
time.sleep(0.3)


def try_ws():
    try:
        c = lkt.WS(P, timeout=3)
        c.hello()
        return c
    except (lkt.WSClosed, OSError):
        return None


again = lkt.wait_for(try_ws, timeout=5, what="a connection accepted after one closed")
for c in conns + [again]:
    c.close()
time.sleep(0.3)
check(lkt.metrics(P)['loket_errors_total{kind="peer_limit"}'] >= 1, "peer_limit not counted")

# ---- idle websockets ----
quiet, lively = lkt.WS(P), lkt.WS(P)
quiet.hello()
lively.hello()
lively.pump(4.5)  # answers the pings meanwhile
time.sleep(0.1)
try:
    quiet.pump(0.5)
    lkt.fail("a websocket that answered no ping for 4.5 s was not dropped")
except (lkt.WSClosed, OSError):
    pass
r, d = lively.step("menu")
check(d["type"] == "done", "the websocket that answered pings was dropped")
lively.close()
quiet.sock.close()

# ---- the request deadline ----
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", P))
s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: 1000\r\n\r\n")
t0 = time.monotonic()
answer = b""
while time.monotonic() - t0 < 8:
    try:
        s.sendall(b" ")
    except OSError:
        break
    r, _, _ = select.select([s], [], [], 0.25)
    if r:
        b = s.recv(4096)
        if not b:
            break
        answer += b
elapsed = time.monotonic() - t0
s.close()
check(answer.startswith(b"HTTP/1.1 408"), "a trickling body got %r" % answer[:60])
check(elapsed < 4, "the deadline took %.1f s for a 2 s limit" % elapsed)

# several trickling requests, one of them leaving early: each of the others gets its 408
# at its own deadline, not at the first one's
def trickling():
    c = socket.create_connection(("127.0.0.1", P))
    c.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 1000\r\n\r\n")
    return c, time.monotonic()


def trickle(socks, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for c in socks:
            if c not in answers:
                try:
                    c.sendall(b" ")
                except OSError:
                    pass
        ready, _, _ = select.select([c for c in socks if c not in answers], [], [], 0.2)
        for c in ready:
            answers[c] = (c.recv(4096), time.monotonic())
        if len(answers) == len(socks):
            return


# a body that never begins gets its 408 too (lws's own wait for it ends later)
answers = {}
silent, t_silent = trickling()
ready, _, _ = select.select([silent], [], [], 6)
got = silent.recv(4096) if ready else b""
waited = time.monotonic() - t_silent
silent.close()
check(got.startswith(b"HTTP/1.1 408") and 1.8 <= waited < 4,
      "a request whose body never came got %r after %.1f s" % (got[:60], waited))

first, t_first = trickling()
trickle([first], 0.4)
middle, _ = trickling()
trickle([first, middle], 0.4)
last, t_last = trickling()
middle.close()
trickle([first, last], 8)
for c, t_start, name in ((first, t_first, "first"), (last, t_last, "last")):
    got, at = answers.get(c, (b"", None))
    check(got.startswith(b"HTTP/1.1 408"), "the %s waiting request got %r" % (name, got[:60]))
    check(at is not None and 1.8 <= at - t_start < 4,
          "the %s waiting request was answered %s s after it began, for a 2 s limit"
          % (name, None if at is None else round(at - t_start, 2)))
    c.close()

code = srv.stop()
srv.check_clean_exit(code)
print("ok")
