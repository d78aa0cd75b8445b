#!/usr/bin/env python3
"""A \\u0000 or a lone surrogate refuses only the message that holds it.

WhatsApp: a NUL in one contact's name used to drop every message of the body (answered
200), and one lone surrogate anywhere made the whole batch a 400, which Meta retries
forever. Now the body is answered 200, its clean messages are processed, and only a
message whose own text holds a NUL or a lone surrogate is refused (counted as bad input).
The generic webhook likewise looks at its text and sender only."""

import json

import lkt
from lkt import check

srv = lkt.shared_server()
pnid = lkt.unique_pnid()
base = int(pnid[-8:])
named, clean, nul_text, lone_text, after = ["6285%08d" % (base + i) for i in range(5)]


def bad_input():
    return lkt.metrics(srv.port).get('loket_errors_total{kind="bad_input"}', 0)


def post(notification):
    # json.dumps writes "\x00" as \u0000 and a lone "\ud800" as \ud800, as a peer would
    body = json.dumps(notification).encode()
    return lkt.http(srv.port, "POST", "/webhook/whatsapp", body,
                    {"Content-Type": "application/json", "X-Hub-Signature-256": lkt.wa_sign(body)})


before = bad_input()
note = lkt.wa_notification(pnid, [lkt.wa_text(named, "Hi Chika"), lkt.wa_text(clean, "Hi Chika"),
                                  lkt.wa_text(nul_text, "Hi\x00Chika")])
note["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = "Budi\x00"
st, _, body = post(note)
check(st == 200, "a body with a NUL in a contact's name answered %d %r" % (st, body))
for u in (named, clean):
    check(lkt.outbox_rows_to(srv, u) >= 1, "the message of %s was dropped with the body" % u)
check(lkt.outbox_rows_to(srv, nul_text) == 0, "a text holding \\u0000 was processed")

note = lkt.wa_notification(pnid, [lkt.wa_text(lone_text, "Hi \ud800 Chika"),
                                  lkt.wa_text(after, "Hi Chika")])
note["entry"][0]["changes"][0]["value"]["contacts"][1]["profile"]["name"] = "Sari \udc00"
st, _, body = post(note)
check(st == 200, "a body with a lone surrogate answered %d %r (Meta would retry it forever)"
      % (st, body))
check(lkt.outbox_rows_to(srv, after) >= 1, "the message beside the lone surrogate was dropped")
check(lkt.outbox_rows_to(srv, lone_text) == 0, "a text holding a lone surrogate was processed")
check(bad_input() >= before + 2, "the two refused texts are not counted as bad input")

# a surrogate pair is one character, not a lone surrogate
pair = "6285%08d" % (base + 7)
st, _, _ = post(lkt.wa_notification(pnid, [lkt.wa_text(pair, "Hi Chika \U0001F600")]))
check(st == 200 and lkt.outbox_rows_to(srv, pair) >= 1, "an emoji (a surrogate pair) was refused")

# the generic webhook: only its text and sender count
g = lkt.unique("gen")
st, res = lkt.http_json(srv.port, "POST", "/v1/messages",
                        json.dumps({"from": g, "text": "Hi Chika", "note": "x\x00y\ud800"}))
check(st == 200 and res.get("replies"), "generic: a NUL in another field refused it: %d %r"
      % (st, res))
st, res = lkt.http_json(srv.port, "POST", "/v1/messages",
                        json.dumps({"from": g, "text": "Hi \ud800"}))
check(st == 400 and "UTF-8" in res.get("error", ""),
      "generic: a lone surrogate in the text: %d %r (expected 400 about UTF-8)" % (st, res))
st, res = lkt.http_json(srv.port, "POST", "/v1/messages",
                        json.dumps({"from": g, "text": "Hi\x00"}))
check(st == 400 and "NUL" in res.get("error", "").upper(),
      "generic: a NUL in the text: %d %r" % (st, res))
print("ok: only the messages holding a NUL or a lone surrogate were refused")
