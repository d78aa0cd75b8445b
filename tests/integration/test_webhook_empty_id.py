#!/usr/bin/env python3
"""A message with an empty id cannot be deduplicated, so sending it twice processed it
twice. An empty id is now refused on every channel rather than treated as "no id":
WhatsApp (whose messages always carry a wamid) skips the message and counts it as a bad
request while acknowledging the body; the generic webhook and Twilio answer 400. Leaving
the id out of a generic message still means "no deduplication" (documented)."""

import json

import lkt
from lkt import check

srv = lkt.shared_server()
pnid = lkt.unique_pnid()
wa_user = "6287%08d" % int(pnid[-8:])


def bad_requests():
    return lkt.metrics(srv.port).get('loket_errors_total{kind="bad_request"}', 0)


before = bad_requests()
for _ in range(2):
    m = lkt.wa_text(wa_user, "Hi Chika")
    m["id"] = ""
    st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [m]))
    check(st == 200, "whatsapp: a message with an empty id answered %d" % st)
check(lkt.outbox_rows_to(srv, wa_user) == 0,
      "whatsapp: a message with an empty id was processed (%d replies)"
      % lkt.outbox_rows_to(srv, wa_user))
check(bad_requests() >= before + 2, "whatsapp: the skipped messages are not counted")

g = lkt.unique("gen")
for _ in range(2):
    st, res = lkt.http_json(srv.port, "POST", "/v1/messages",
                            json.dumps({"from": g, "text": "Hi Chika", "id": ""}))
    check(st == 400 and "id" in res.get("error", ""),
          "generic: an empty id answered %d %r (expected 400)" % (st, res))
st, res = lkt.http_json(srv.port, "POST", "/v1/messages", json.dumps({"from": g, "text": "Hi Chika"}))
check(st == 200 and res.get("replies"), "generic: a message without an id: %d %r" % (st, res))

tw_user = "whatsapp:+6288%08d" % int(pnid[-8:])
st, _, body = lkt.twilio_post(srv.port, {"From": tw_user, "Body": "Hi Chika", "MessageSid": ""})
check(st == 400 and b"MessageSid" in body, "twilio: an empty MessageSid answered %d %r" % (st, body))
print("ok: an empty id is refused on every channel")
