#!/usr/bin/env python3
"""How the shared server frames HTTP requests: HEAD /healthz answers 200 without a body
(load balancers probe with HEAD); a Transfer-Encoding is refused (400 together with a
Content-Length, 411 alone: bodies are never read chunked); a repeated or malformed
Content-Length is refused with 400, and so is a GET with a body; every answer closes
its connection."""

import json

import lkt
from lkt import check

srv = lkt.shared_server()
P = srv.port


def answer(data):
    raw = lkt.raw_request(P, data)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    hdrs = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip()
            for l in lines[1:] if ":" in l}
    return lines[0], hdrs, body


gstatus, _, gbody = answer(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
check(gstatus.startswith("HTTP/1.1 200 ") and b'"status":"ok"' in gbody,
      "GET /healthz: %r %r" % (gstatus, gbody))
status, hdrs, body = answer(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
check(status.startswith("HTTP/1.1 200 "), "HEAD /healthz: %r" % status)
check(body == b"", "HEAD /healthz sent a body: %r" % body)
check(hdrs.get("content-length") == str(len(gbody)),
      "HEAD /healthz: content-length %r" % hdrs.get("content-length"))
check(hdrs.get("connection") == "close", "HEAD /healthz: connection %r" % hdrs.get("connection"))

st, h, data = lkt.http(P, "GET", "/healthz")
check(st == 200 and json.loads(data)["status"] == "ok", "GET /healthz: %d %r" % (st, data))
check(h.get("connection") == "close", "GET /healthz: connection %r" % h.get("connection"))

status, _, _ = answer(b"HEAD /v1/messages HTTP/1.1\r\nHost: x\r\n\r\n")
check(status.startswith("HTTP/1.1 405 "), "HEAD on a POST route: %r" % status)

body = json.dumps({"from": "framing-user", "text": "Hi Chika"}).encode()
cases = [
    ("CL and TE", b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(body), body, 400,
     b"Transfer-Encoding"),
    ("TE and CL", b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n" % len(body), body, 400,
     b"Transfer-Encoding"),
    ("TE alone", b"Transfer-Encoding: chunked\r\n", b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n",
     411, b"chunked"),
    ("two lengths", b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(body), len(body)), body,
     400, b"Content-Length"),
    ("signed length", b"Content-Length: +%d\r\n" % len(body), body, 400, b"Content-Length"),
    ("hex length", b"Content-Length: 0x%x\r\n" % len(body), body, 400, b"Content-Length"),
]
for name, hdr, payload, want, why in cases:
    raw = lkt.raw_request(P, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          + hdr + b"\r\n" + payload)
    check(raw.startswith(b"HTTP/1.1 %d " % want) and why in raw,
          "%s: expected %d, got %r" % (name, want, raw[:300]))
n = srv.db_query("SELECT count(*) FROM log WHERE user LIKE '%framing-user'")[0][0]
check(n == 0, "a refused request was processed")

status, _, _ = answer(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd")
check(status.startswith("HTTP/1.1 400 "), "GET with a body: %r" % status)
status, _, _ = answer(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
check(status.startswith("HTTP/1.1 200 "), "GET with Content-Length: 0: %r" % status)

# a well-formed POST still works
st, h, data = lkt.http(P, "POST", "/v1/messages", body, {"Content-Type": "application/json"})
check(st == 200 and json.loads(data).get("replies"), "POST /v1/messages: %d %r" % (st, data[:200]))
print("ok")
