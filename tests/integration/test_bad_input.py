#!/usr/bin/env python3
"""Bounded input: each bad input is answered with its error and the session stays where
it was (the conversation continues from the province question afterwards).

HTTP: a body over 1 MiB (413 from Content-Length, before reading it), no Content-Length
(411), a body longer than announced (cut off at Content-Length and refused), text over
4096 characters, a NUL, invalid UTF-8, JSON nested deeper than 32, malformed JSON.
Websocket: a message over 64 KiB (close 1009, also when split in fragments), and the
same text, JSON and UTF-8 errors as error frames. The limits themselves pass."""

import json

import lkt
from lkt import check, text_of

srv = lkt.shared_server()
P = srv.port


def post(obj_or_raw):
    body = obj_or_raw if isinstance(obj_or_raw, bytes) else json.dumps(obj_or_raw).encode()
    return lkt.http_json(P, "POST", "/v1/messages", body, {"Content-Type": "application/json"})


def status_line(raw):
    return raw.split(b"\r\n", 1)[0].decode(errors="replace")


def to_province(user):
    st, r = post({"from": user, "text": "Hi Chika"})
    check(st == 200, "Hi Chika answered %d %r" % (st, r))
    st, r = post({"from": user, "text": "6"})
    check(st == 200 and "provinsi" in r["replies"][-1]["text"].lower(), "6 answered %d %r" % (st, r))


def still_at_province(user):
    st, r = post({"from": user, "text": "Jawa Barat"})
    t = "\n".join(x["text"] for x in r["replies"]).lower() if st == 200 else ""
    check(st == 200 and ("kabupaten" in t or "kota" in t),
          "the session of %s did not continue from the province question: %d %r" % (user, st, r))


user = lkt.unique("bad")
to_province(user)

# ---- HTTP ----
raw = lkt.raw_request(P, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 2000000\r\n\r\n")
check(status_line(raw).startswith("HTTP/1.1 413"), "2 MB announced: %r" % status_line(raw))
raw = lkt.raw_request(P, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n")
check(status_line(raw).startswith("HTTP/1.1 413"), "1 MiB + 1 announced: %r" % status_line(raw))
raw = lkt.raw_request(P, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\n\r\n"
                         + json.dumps({"from": user, "text": "menu"}).encode())
check(status_line(raw).startswith("HTTP/1.1 411"), "no Content-Length: %r" % status_line(raw))
body = json.dumps({"from": user, "text": "menu"}).encode()
raw = lkt.raw_request(P, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n" + body)
check(status_line(raw).startswith("HTTP/1.1 400") and b"malformed JSON" in raw,
      "a body longer than announced: %r" % raw[:200])

cases = [
    ({"from": user, "text": "a" * 4097}, "4096"),
    ({"from": user, "text": "\u00e9" * 4097}, "4096"),   # characters, not bytes
    (b'{"from": "%s", "text": "Jawa\\u0000Barat"}' % user.encode(), "NUL"),
    (b'{"from": "%s", "text": "Jawa \xff\xfe Barat"}' % user.encode(), "UTF-8"),
    (b'{"from": "%s", "text": "x", "deep": %s%s}' % (user.encode(), b"[" * 32, b"]" * 32), "deeper than 32"),
    (b'{"from": "%s", "text": "Jawa Barat"' % user.encode(), "malformed JSON"),
    (b'{"from": "%s" "text": "Jawa Barat"}' % user.encode(), "malformed JSON"),
    (b'', "malformed JSON"),
    (b'["Jawa Barat"]', "object"),
    ({"from": user}, "text"),
    ({"from": user, "text": 5}, "text"),
    ({"from": "", "text": "Jawa Barat"}, "sender"),
]
for body, want in cases:
    st, r = post(body)
    check(st == 400 and isinstance(r, dict) and want in r.get("error", ""),
          "%r: expected 400 with an error about %r, got %d %r" % (str(body)[:80], want, st, r))

# the limits themselves are accepted (by another user, so the first stays where it is)
other = lkt.unique("limits")
st, r = post({"from": other, "text": "\u00e9" * 4096})
check(st == 200, "4096 characters were refused: %d %r" % (st, r))
st, r = post(b'{"from": "%s", "text": "x", "deep": %s%s}' % (other.encode(), b"[" * 31, b"]" * 31))
check(st == 200, "JSON nested 32 deep was refused: %d %r" % (st, r))
still_at_province(user)

# ---- websocket ----
wuser = lkt.unique("badws")
ws = lkt.WS(P)
ws.hello(wuser)
ws.step("Hi Chika")
replies, done = ws.step("6")
check("provinsi" in text_of(replies).lower(), "ws: 6 did not ask for the province")
for frame, want in [
    (json.dumps({"type": "message", "text": "a" * 4097}), "4096"),
    ('{"type": "message", "text": "Jawa\\u0000Barat"}', "NUL"),
    (b'{"type": "message", "text": "Jawa \xc3\x28 Barat"}', "UTF-8"),
    ('{"type": "message", "text": "x", "d": %s%s}' % ("[" * 32, "]" * 32), "deeper than 32"),
    ('{"type": "message", "text": ', "malformed JSON"),
]:
    ws.send_text(frame)
    m = ws.recv_json()
    check(m["type"] == "error" and want in m["error"], "ws %r: expected an error about %r, got %r"
          % (frame[:60], want, m))
# exactly 64 KiB is read (and refused for its text length, not closed)
pad = 65536 - len(json.dumps({"type": "message", "text": ""}))
ws.send_text(json.dumps({"type": "message", "text": "b" * pad}))
m = ws.recv_json()
check(m["type"] == "error" and "4096" in m["error"], "64 KiB message: %r" % m)
replies, done = ws.step("Jawa Barat")
t = text_of(replies).lower()
check("kabupaten" in t or "kota" in t, "ws: the session did not continue: %r" % t)
ws.close()

for fragments in ([b"x" * 65537], [b"y" * 30000, b"y" * 30000, b"y" * 30000]):
    ws = lkt.WS(P)
    ws.hello(wuser)
    for i, f in enumerate(fragments):
        ws.send_frame(1 if i == 0 else 0, f, fin=(i == len(fragments) - 1))
    try:
        ws.recv()
        lkt.fail("a message over 64 KiB was not closed")
    except lkt.WSClosed as e:
        check(e.code == 1009, "closed with %r, expected 1009" % e.code)
    ws.sock.close()

ws = lkt.WS(P)
ws.hello(wuser)
replies, done = ws.step("menu")
check(done["type"] == "done" and "Chika" in text_of(replies), "ws: the session after 1009: %r" % done)
ws.close()
print("ok")
