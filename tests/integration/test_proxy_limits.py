#!/usr/bin/env python3
"""Behind a reverse proxy (a server of its own that trusts 127.0.0.1 as its proxy, 4
connections per client, 24 in all of which 4 are kept for the webhooks): every
connection comes from 127.0.0.1, and once that made the per-address cap a global cap.

- clients are told apart by X-Forwarded-For: a fifth websocket of one client is refused,
  another client's is accepted;
- half-sent request heads from the proxy's address do not lock the webhooks out;
- when idle websockets of many clients take every general place, the signed WhatsApp
  and Twilio webhooks are still answered (their own share), /healthz gets 503, and
  connections that sent no head within a second give their places up;
- the webhooks' share is bounded too: one address takes at most half of it, webhook
  requests that hold their connections get 503 beyond it and take no general place."""

import select
import socket
import time

import lkt
from lkt import check

# the new settings through the environment (LOKET_<KEY>), the older ones through the file
srv = lkt.Server("proxy", config={"max_conns_per_peer": 4, "request_timeout": "10s"},
                 env={"LOKET_TRUSTED_PROXIES": "127.0.0.1, ::1", "LOKET_MAX_WEBHOOK_CONNS": "4",
                      "LOKET_MAX_CONNS": "24"}).start()
P = srv.port
META = {"X-Forwarded-For": "173.252.127.10"}  # one of Meta's webhook addresses


def ws_for(client):
    try:
        c = lkt.WS(P, timeout=5, headers={"X-Forwarded-For": "198.51.100.99, " + client})
        c.hello()
        return c
    except (lkt.WSClosed, OSError):
        return None


def webhooks_answer(tag):
    user = "6281%07d" % (hash(tag) % 10 ** 7)
    st, _, _ = lkt.wa_post(P, lkt.wa_notification("1234567", [lkt.wa_text(user, "Hi Chika")]),
                           headers=META)
    check(st == 200, "%s: the WhatsApp webhook answered %d" % (tag, st))
    st, _, _ = lkt.twilio_post(P, {"From": "whatsapp:+" + user, "Body": "Hi Chika",
                                   "MessageSid": "SM" + lkt.unique("x").replace("-", "")},
                               headers={"X-Forwarded-For": "54.172.60.1"})
    check(st == 200, "%s: the Twilio webhook answered %d" % (tag, st))


# ---- clients behind the proxy ----
mine = [ws_for("203.0.113.5") for _ in range(4)]
check(all(mine), "four websockets of one client were not all accepted")
check(ws_for("203.0.113.5") is None, "a fifth websocket of one client was accepted")
other = ws_for("203.0.113.6")
check(other is not None, "another client behind the proxy was refused")

# ---- half-sent heads from the proxy's address ----
half = []
for _ in range(8):
    s = socket.create_connection(("127.0.0.1", P))
    s.sendall(b"GET /chat HTTP/1.1\r\nHost: x\r\n")
    half.append(s)
webhooks_answer("half-sent heads")

# ---- every general place taken ----
time.sleep(1.2)  # the half-sent heads are now older than the one second a head may take
crowd = []
for i in range(40):
    c = ws_for("203.0.113.%d" % (20 + i))
    if c is None:
        break
    crowd.append(c)
check(len(crowd) == 20 - 5, "%d more websockets were accepted, expected 15" % len(crowd))
webhooks_answer("general places full")
st = None
try:
    st, _, _ = lkt.http(P, "GET", "/healthz", timeout=5)
except OSError:
    pass
check(st in (503, None), "/healthz with every general place taken answered %r" % st)


def closed(s):
    s.settimeout(0.05)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


evicted = lkt.wait_for(lambda: sum(closed(s) for s in half) >= 4 or None, timeout=5,
                       what="half-sent heads giving their places up")
for c in mine + [other] + crowd:
    c.close()
for s in half:
    s.close()
lkt.wait_for(lambda: lkt.http(P, "GET", "/healthz")[0] == 200, timeout=10,
             what="/healthz once the crowd left")

# ---- the webhooks' share is bounded: webhook requests whose bodies never come ----
def hold(addr):
    s = socket.create_connection(("127.0.0.1", P))
    s.sendall(b"POST /webhook/whatsapp HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: %s\r\n"
              b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{" % addr.encode())
    return s


def answered(s):
    r, _, _ = select.select([s], [], [], 0)
    return bool(r)


# one address takes at most half of the share of 4: of three, one is refused at once
three = [hold("173.252.127.20") for _ in range(3)]
lkt.wait_for(lambda: any(answered(s) for s in three), timeout=5, what="a refusal")
refused = [s for s in three if answered(s)]
check(len(refused) == 1 and refused[0].recv(100).startswith(b"HTTP/1.1 503"),
      "one address did not get exactly half the share")
held = [s for s in three if s not in refused]
refused[0].close()
addrs = ["173.252.127.20", "173.252.127.20", "173.252.127.21", "173.252.127.22"]
held += [hold(a) for a in addrs[2:]]


def share_full():
    for i, s in enumerate(held):
        if answered(s):  # the probe took the place first and this one got 503: again
            s.close()
            held[i] = hold(addrs[i])
    st, _, _ = lkt.twilio_post(P, {"From": "whatsapp:+6281", "Body": "x"}, signature="wrong",
                               headers={"X-Forwarded-For": "54.172.60.9"})
    return st == 503


lkt.wait_for(share_full, timeout=5, what="the webhooks' share in use")
st, _, _ = lkt.wa_post(P, lkt.wa_notification("1234567", [lkt.wa_text("6281299", "Hi")]),
                       headers=META)
check(st == 503, "a webhook request beyond the share answered %d" % st)
check(lkt.http(P, "GET", "/healthz")[0] == 200, "the webhooks' share took a general place")
for s in held:
    s.close()
held = []
lkt.wait_for(lambda: not share_full(), timeout=5, what="the webhooks' share free again")

code = srv.stop()
srv.check_clean_exit(code)
print("ok")
