#!/usr/bin/env python3
"""The Twilio webhook: a signed form answered with TwiML (the replies XML-escaped), a
button reply (ButtonText), a repeated MessageSid acknowledged with an empty Response,
and a missing or wrong X-Twilio-Signature refused with 401."""

import xml.etree.ElementTree as ET

import lkt
from lkt import check

srv = lkt.shared_server()
P = srv.port
frm = "whatsapp:+62" + lkt.unique_pnid()[:10]

st, h, body = lkt.twilio_post(P, {"From": frm, "Body": "Hi Chika", "MessageSid": "SM" + frm[-10:] + "a",
                                  "To": "whatsapp:+14155238886", "NumMedia": "0"})
check(st == 200 and h["content-type"].startswith("text/xml"), "answered %d %r" % (st, h))
root = ET.fromstring(body)
msgs = [m.text for m in root.findall("Message")]
check(root.tag == "Response" and msgs and "Chika" in msgs[-1] and "6. PANDAWA" in msgs[-1],
      "TwiML %r" % body[:300])

st, _, body = lkt.twilio_post(P, {"From": frm, "Body": "", "ButtonText": "PANDAWA",
                                  "MessageSid": "SM" + frm[-10:] + "b"})
msgs = [m.text for m in ET.fromstring(body).findall("Message")]
check(st == 200 and any("provinsi" in m.lower() for m in msgs), "ButtonText: %r" % msgs)

st, _, body = lkt.twilio_post(P, {"From": frm, "Body": "Hi Chika", "MessageSid": "SM" + frm[-10:] + "b"})
check(st == 200 and ET.fromstring(body).findall("Message") == [], "a repeated MessageSid: %r" % body)

for sig in (None, "", "bm9wZQ=="):
    st, _, _ = lkt.twilio_post(P, {"From": frm, "Body": "menu", "MessageSid": "SMx"},
                               signature=sig if sig is not None else False)
    check(st == 401, "signature %r answered %d" % (sig, st))
st, _, _ = lkt.twilio_post(P, {"From": frm, "Body": "menu", "MessageSid": "SMy"}, token="other")
check(st == 401, "a signature with another token was accepted")
st, _, _ = lkt.twilio_post(P, {"From": frm, "Body": "menu", "MessageSid": "SMz"},
                           url="https://elsewhere.example/webhook/twilio")
check(st == 401, "a signature of another URL was accepted")
# XML escaping: a reply holding & < > must still parse
st, _, body = lkt.twilio_post(P, {"From": frm, "Body": "<&>", "MessageSid": "SM" + frm[-10:] + "c"})
check(st == 200, "answered %d" % st)
ET.fromstring(body)
print("ok")
