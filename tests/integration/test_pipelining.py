#!/usr/bin/env python3
"""Pipelined requests on one server of its own (a 2 s request deadline): two requests in
one TCP write, the second with a body, once made libwebsockets 4.1.6 raise
LWS_CALLBACK_HTTP_BODY_COMPLETION in an endless loop (100% CPU, nobody answered again,
timers stopped, SIGTERM ignored). loket answers one request per connection: the first
request is answered with "Connection: close", what follows it is never parsed, and a
request with both Content-Length and Transfer-Encoding is refused with 400.

Each variant is sent over a raw socket while another connection waits for its request
deadline (a timer); then a second client must be answered, the waiting one must get its
408, and nothing of what followed the first request may have been processed. At the end
SIGTERM must stop the server cleanly."""

import json
import socket
import time

import lkt
from lkt import check

srv = lkt.Server("pipelining", config={"request_timeout": "2s"}).start()
P = srv.port


def post(user, text, method=b"POST"):
    body = json.dumps({"from": user, "text": text}).encode()
    return (method + b" /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


GET = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
SMUGGLED = post(b"pipe-smuggled".decode(), "Hi Chika")
VARIANTS = [
    # (name, bytes in one write, status of the first answer, users that must not be processed)
    ("GET+POST", GET + b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
     200, []),
    ("GET+POST with a message", GET + post("pipe-get-post", "Hi Chika"), 200, ["pipe-get-post"]),
    ("POST+POST", post("pipe-first", "Hi Chika") + post("pipe-second", "Hi Chika"), 200,
     ["pipe-second"]),
    ("GET+PUT", GET + post("pipe-put", "Hi Chika", b"PUT"), 200, ["pipe-put"]),
    ("Content-Length: 0 then POST",
     b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" + post("pipe-cl0", "Hi"),
     400, ["pipe-cl0"]),
    ("CL+TE smuggle",
     b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
     400, ["pipe-smuggled"]),
    ("TE+CL smuggle",
     b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
     b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n%x\r\n" % (len(SMUGGLED) + 7, len(SMUGGLED))
     + SMUGGLED + b"\r\n0\r\n\r\n", 400, ["pipe-smuggled"]),
    ("GET+GET+POST", GET + GET + post("pipe-third", "Hi Chika"), 200, ["pipe-third"]),
]


def read_all(s, timeout):
    """Reads until the server closes (True) or the timeout passes (False)."""
    end = time.monotonic() + timeout
    out = b""
    while time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            return out, True
        if not b:
            return out, True
        out += b
    return out, False


for name, data, want, not_processed in VARIANTS:
    # a request that waits for its deadline: its 408 shows that timers still run
    waiting = socket.create_connection(("127.0.0.1", P), timeout=10)
    waiting.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", P), timeout=10)
    s.sendall(data)
    answer, closed = read_all(s, 5)
    s.close()
    check(lkt.healthz_ok(P), "%s: the server no longer answers other clients" % name)
    check(closed, "%s: the connection was not closed after the first answer: %r" % (name, answer[:300]))
    check(answer.startswith(b"HTTP/1.1 %d " % want),
          "%s: expected %d first, got %r" % (name, want, answer[:200]))
    check(answer.count(b"HTTP/1.1 ") == 1, "%s: more than one answer: %r" % (name, answer))
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    check(b"connection: close" in head, "%s: no Connection: close in %r" % (name, head))
    late, closed = read_all(waiting, 6)
    waiting.close()
    check(late.startswith(b"HTTP/1.1 408"), "%s: the waiting request got %r after %.1f s"
          % (name, late[:80], time.monotonic() - t0))
    for user in not_processed:
        n = srv.db_query("SELECT count(*) FROM log WHERE user LIKE ?", ("%" + user,))[0][0]
        check(n == 0, "%s: what followed the first request was processed (%s)" % (name, user))

# the first request of POST+POST was processed, once
n = srv.db_query("SELECT count(*) FROM log WHERE user LIKE '%pipe-first' AND dir = 'in'")[0][0]
check(n == 1, "POST+POST: the first request was processed %d times" % n)

t0 = time.monotonic()
code = srv.stop(timeout=10)
check(time.monotonic() - t0 < 8, "SIGTERM took %.1f s" % (time.monotonic() - t0))
srv.check_clean_exit(code)
print("ok")
