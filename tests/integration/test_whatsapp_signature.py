#!/usr/bin/env python3
"""The WhatsApp webhook's gates: the verification handshake (the challenge echoed for the
right token; a wrong token, a wrong mode or a challenge that is not 1-64 letters and
digits refused with 403), and notifications without X-Hub-Signature-256 or with a wrong
one refused with 401 and not processed."""

import json
import urllib.parse

import lkt
from lkt import check

srv = lkt.shared_server()
mock = lkt.MockClient(srv.mock_port)


def verify(mode="subscribe", token=lkt.WA_VERIFY, challenge="1158201444"):
    q = {}
    if mode is not None:
        q["hub.mode"] = mode
    if token is not None:
        q["hub.verify_token"] = token
    if challenge is not None:
        q["hub.challenge"] = challenge
    return lkt.http(srv.port, "GET", "/webhook/whatsapp?" + urllib.parse.urlencode(q))


st, _, body = verify()
check(st == 200 and body == b"1158201444", "the handshake answered %d %r" % (st, body))
st, _, body = verify(challenge="a" * 64)
check(st == 200 and body == b"a" * 64, "a 64-character challenge was not echoed")
for kw in [dict(token="wrong"), dict(token=lkt.WA_VERIFY + "x"), dict(token=""), dict(token=None),
           dict(mode="unsubscribe"), dict(mode=None), dict(challenge="abc-def"),
           dict(challenge="<script>"), dict(challenge="a" * 65), dict(challenge=""),
           dict(challenge=None)]:
    st, _, body = verify(**kw)
    check(st == 403, "%r answered %d, expected 403" % (kw, st))
    check(b"script" not in body and b"abc-def" not in body, "a refused challenge was echoed")

pnid = lkt.unique_pnid()
user = "629%09d" % int(pnid[-9:])
note = lkt.wa_notification(pnid, [lkt.wa_text(user, "Hi Chika")])
raw = json.dumps(note).encode()
for sig in [None, "", "sha256=" + "0" * 64, lkt.wa_sign(raw, "another-secret"), "sha1=abc",
            lkt.wa_sign(raw)[:-2], "sha256=" + "z" * 64]:
    headers = {"Content-Type": "application/json"}
    if sig is not None:
        headers["X-Hub-Signature-256"] = sig
    st, _, body = lkt.http(srv.port, "POST", "/webhook/whatsapp", raw, headers)
    check(st == 401, "signature %r answered %d, expected 401" % (sig, st))
# the signature covers the raw bytes: the same JSON re-encoded does not pass
st, _, _ = lkt.http(srv.port, "POST", "/webhook/whatsapp", json.dumps(note, indent=1).encode(),
                    {"X-Hub-Signature-256": lkt.wa_sign(raw)})
check(st == 401, "a signature of other bytes was accepted")
check(srv.db_query("SELECT count(*) FROM log WHERE user = ?", (user,))[0][0] == 0,
      "an unsigned notification was processed")

# Upper-case hex is the same signature.
st, _, _ = lkt.http(srv.port, "POST", "/webhook/whatsapp", raw,
                    {"X-Hub-Signature-256": "sha256=" + lkt.wa_sign(raw)[7:].upper()})
check(st == 200, "the correctly signed notification answered %d" % st)
lkt.wait_for(lambda: mock.delivered(pnid), what="the reply to the signed message")
print("ok")
