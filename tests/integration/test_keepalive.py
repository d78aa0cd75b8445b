#!/usr/bin/env python3
"""HTTP keep-alive on one server of its own (keepalive_idle 2 s, request_timeout 2 s), the
way Meta and Twilio send webhooks: one request on a persistent HTTP/1.1 connection, its
answer awaited, then the next.

- 50 signed WhatsApp notifications on one connection are all answered on it, none with
  "Connection: close", each processed once, and the connection is still open after them;
- a webhook POST followed by GET /healthz on the same connection: both answered, the GET
  with "Connection: close" (after a GET libwebsockets cannot show that nothing is
  buffered behind it), then the server closes;
- pipelining after a keep-alive round trip (the second request in the same write as the
  first): one answer with "Connection: close", what followed never processed, while
  another client is answered and a third request still gets its 408 (timers run);
- an idle kept-alive connection is closed after keepalive_idle, and one that dribbles
  its next head byte by byte is closed within request_timeout of its first byte;
- HTTP/1.0, "Connection: close", a refused request (401) and a request of another
  kind than the connection's first (a webhook connection posting to /v1/messages, or
  upgrading to a websocket) are answered and closed.
At the end SIGTERM stops the server cleanly. Then, on a server with max_conns 2 filled by
two idle kept-alive connections, a third connection is accepted by closing one of them."""

import json
import socket
import time

import lkt
from lkt import check

srv = lkt.Server("keepalive", config={"keepalive_idle": "2s", "request_timeout": "2s"}).start()
P = srv.port
PNID = lkt.unique_pnid()


def uid(tag):
    """A WhatsApp user of this run: 62, nine digits of the phone number id, then tag."""
    return "62" + PNID[-9:] + tag


def wa_request(user, text, version=b"HTTP/1.1", extra=b"", signature=True):
    body = json.dumps(lkt.wa_notification(PNID, [lkt.wa_text(user, text)])).encode()
    sig = lkt.wa_sign(body) if signature else "sha256=" + "0" * 64
    return (b"POST /webhook/whatsapp " + version + b"\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Hub-Signature-256: " + sig.encode() + b"\r\n" + extra +
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


def generic_request(user, text):
    body = json.dumps({"from": user, "text": text}).encode()
    return (b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


GET = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


class Conn:
    """One client connection that reads answers by their Content-Length."""

    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", P), timeout=10)
        self.buf = b""
        self.eof = False

    def _fill(self, deadline):
        self.s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            b = self.s.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            b = b""
        if not b:
            self.eof = True
            return False
        self.buf += b
        return True

    def answer(self, timeout=5):
        """(status, headers, body) of the next answer, or None when none came."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if self.eof or time.monotonic() > deadline or not self._fill(deadline):
                return None
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode(errors="replace").split("\r\n")
        hdrs = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip()
                for l in lines[1:] if ":" in l}
        n = int(hdrs.get("content-length", "0"))
        while len(rest) < n:
            if self.eof or time.monotonic() > deadline or not self._fill(deadline):
                return None
            rest = self.buf.split(b"\r\n\r\n", 1)[1]
        self.buf = rest[n:]
        return int(lines[0].split()[1]), hdrs, rest[:n]

    def closed_within(self, seconds):
        """True when the server closes the connection within seconds (nothing else sent)."""
        deadline = time.monotonic() + seconds
        while not self.eof and time.monotonic() < deadline:
            self._fill(deadline)
        return self.eof

    def open_after(self, seconds):
        return not self.closed_within(seconds)

    def send(self, data):
        self.s.sendall(data)

    def close(self):
        self.s.close()


def inbound(user):
    return srv.db_query("SELECT count(*) FROM log WHERE user = ? AND dir = 'in'", (user,))[0][0]


def kept(c, user, what):
    """A webhook POST on c, answered 200 and kept alive."""
    c.send(wa_request(user, "Hi Chika"))
    a = c.answer()
    check(a is not None, "%s: no answer" % what)
    check(a[0] == 200, "%s: answered %r" % (what, a))
    check(a[1].get("connection", "") != "close", "%s: answered with Connection: close" % what)


# ---- 50 messages on one connection ------------------------------------------------------------
users = [uid("1%02d" % i) for i in range(50)]
c = Conn()
for i, user in enumerate(users):
    kept(c, user, "message %d of 50" % (i + 1))
check(c.open_after(0.3), "the connection closed after 50 kept-alive answers")
for user in users:
    check(inbound(user) == 1, "user %s: %d inbound rows" % (user, inbound(user)))
# the same user's next message on the same connection goes on with the conversation
c.send(wa_request(users[0], "6"))
a = c.answer()
check(a is not None and a[0] == 200, "a second message of one user: %r" % (a,))
lkt.wait_for(lambda: inbound(users[0]) == 2, what="the second message of one user")

# ---- a webhook POST, then GET /healthz on the same connection ------------------------------------
c.send(GET)
a = c.answer()
check(a is not None and a[0] == 200 and b'"status":"ok"' in a[2],
      "GET /healthz after kept-alive POSTs: %r" % (a,))
check(a[1].get("connection") == "close", "GET /healthz kept the connection: %r" % (a[1],))
check(c.closed_within(3), "the connection stayed open after GET /healthz")
c.close()

# ---- pipelining after a keep-alive round trip ----------------------------------------------------
variants = [
    ("POST+POST", lambda u: wa_request(u + "1", "Hi Chika") + wa_request(u + "2", "Hi Chika")),
    ("POST+GET", lambda u: wa_request(u + "1", "Hi Chika") + GET),
    ("POST+generic POST", lambda u: wa_request(u + "1", "Hi Chika") + generic_request(u + "2", "Hi")),
    ("POST+half a head", lambda u: wa_request(u + "1", "Hi Chika") + b"POST /webhook/whatsapp HT"),
]
for k, (name, data) in enumerate(variants):
    u = uid("2%d" % k)
    waiting = socket.create_connection(("127.0.0.1", P), timeout=10)
    waiting.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
    c = Conn()
    kept(c, u + "0", name + ": the first round trip")
    c.send(data(u))
    a = c.answer()
    check(lkt.healthz_ok(P), "%s: the server no longer answers other clients" % name)
    check(a is not None and a[0] == 200, "%s: the first pipelined request got %r" % (name, a))
    check(a[1].get("connection") == "close", "%s: no Connection: close in %r" % (name, a[1]))
    check(c.closed_within(5), "%s: the connection stayed open" % name)
    check(c.buf == b"", "%s: more than one answer: %r" % (name, c.buf[:200]))
    c.close()
    w = Conn.__new__(Conn)
    w.s, w.buf, w.eof = waiting, b"", False
    late = w.answer(6)
    check(late is not None and late[0] == 408, "%s: the waiting request got %r" % (name, late))
    w.close()
    check(inbound(u + "1") == 1, "%s: the first pipelined request was processed %d times"
          % (name, inbound(u + "1")))
    check(inbound(u + "2") == 0, "%s: what followed the first request was processed" % name)

# ---- idle and slow kept-alive connections ---------------------------------------------------------
c = Conn()
kept(c, uid("30"), "idle")
t0 = time.monotonic()
check(c.closed_within(6), "an idle kept-alive connection was still open after 6 s")
check(time.monotonic() - t0 > 1, "the idle connection closed after %.2f s, before keepalive_idle"
      % (time.monotonic() - t0))
c.close()

c = Conn()
kept(c, uid("40"), "slow head")
t0 = time.monotonic()
head = wa_request(uid("40"), "6")
closed = False
for i in range(40):  # a byte every 0.25 s: 10 s for 40 bytes, far over the 2 s deadline
    try:
        c.send(head[i:i + 1])
    except OSError:
        closed = True
        break
    if c.closed_within(0.25):
        closed = True
        break
check(closed, "a head sent a byte at a time kept its kept-alive connection for %.1f s"
      % (time.monotonic() - t0))
check(time.monotonic() - t0 < 7, "the slow head was dropped after %.1f s" % (time.monotonic() - t0))
c.close()

# ---- answers that close ---------------------------------------------------------------------------
closing = [
    ("HTTP/1.0", lambda u: wa_request(u, "Hi Chika", version=b"HTTP/1.0"), 200),
    ("Connection: close", lambda u: wa_request(u, "Hi Chika", extra=b"Connection: close\r\n"), 200),
    ("a wrong signature", lambda u: wa_request(u, "Hi Chika", signature=False), 401),
]
for k, (name, data, want) in enumerate(closing):
    c = Conn()
    c.send(data(uid("5%d" % k)))
    a = c.answer()
    check(a is not None and a[0] == want, "%s: answered %r" % (name, a))
    check(a[1].get("connection") == "close", "%s: no Connection: close in %r" % (name, a[1]))
    check(c.closed_within(3), "%s: the connection stayed open" % name)
    c.close()

# a webhook's connection keeps a webhook's place: another kind of request closes it
c = Conn()
kept(c, uid("60"), "then /v1/messages")
c.send(generic_request("keepalive-generic", "Hi Chika"))
a = c.answer()
check(a is not None and a[0] == 200, "/v1/messages on a webhook's connection: %r" % (a,))
check(a[1].get("connection") == "close", "/v1/messages kept a webhook's connection: %r" % (a[1],))
check(c.closed_within(3), "the webhook's connection stayed open after /v1/messages")
c.close()

c = Conn()
kept(c, uid("70"), "then an upgrade")
c.send(b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
       b"Sec-WebSocket-Protocol: loket-chat\r\n\r\n")
a = c.answer()
check(a is not None and a[0] == 400, "a websocket upgrade on a webhook's connection: %r" % (a,))
check(c.closed_within(3), "the connection stayed open after the refused upgrade")
c.close()

t0 = time.monotonic()
code = srv.stop(timeout=10)
check(time.monotonic() - t0 < 8, "SIGTERM took %.1f s" % (time.monotonic() - t0))
srv.check_clean_exit(code)

# ---- a full server evicts an idle kept-alive connection for a new one ------------------------------
# max_conns 2: one webhook connection and one /v1/messages connection, both kept alive and
# idle, fill it; a third connection is accepted by closing the one idle last (its place in
# the general pool is then free for the newcomer's GET /healthz)
srv = lkt.Server("keepalive-full", config={"keepalive_idle": "30s", "max_conns": "2"}).start()
P = srv.port
hook = Conn()
kept(hook, uid("80"), "the webhook connection")
gen = Conn()
gen.send(generic_request("keepalive-full", "Hi Chika"))
a = gen.answer()
check(a is not None and a[0] == 200 and a[1].get("connection", "") != "close",
      "/v1/messages on a new connection: %r" % (a,))
newcomer = Conn()
check(gen.closed_within(5), "the idle kept-alive connection was not evicted for a new one")
check(hook.open_after(0.2), "the webhook's connection was evicted, not the one idle last")
newcomer.send(GET)
a = newcomer.answer()
check(a is not None and a[0] == 200, "the connection accepted at the cap got %r" % (a,))
for c in (hook, gen, newcomer):
    c.close()
code = srv.stop(timeout=10)
srv.check_clean_exit(code)
print("ok")
