#!/usr/bin/env python3
"""Sensitive inputs on a real server at log=debug, over the websocket chat, the Twilio
webhook and the generic webhook: members check their status with a NIK (typed as people
type it: inside a sentence, with spaces) and a date of birth.

- the replies show the member what the flow says (the number repeated in the result);
- the message log holds the NIK and the date only masked (3273********8901), in the
  inbound rows and in the result reply that repeats them;
- the sessions hold neither once the result was said (the flow's `clear`);
- the server log, at debug, holds neither, nor any 8 digits of the NIK."""

import xml.etree.ElementTree as ET

import lkt
from lkt import check

NIKS = ["3273012345678901", "3201987654321098", "3578111122223333"]
DOBS = ["1988-12-03", "1975-02-28", "2001-07-09"]

srv = lkt.Server("sensitive", config={"log": "debug", "rate": 1000, "burst": 1000}).start()
P = srv.port

# the websocket chat
ws = lkt.WS(P)
ws.hello()
for t in ("Hi Chika", "1", "nik saya %s kak" % NIKS[0]):
    ws.step(t)
replies, _ = ws.step(DOBS[0])
text = lkt.text_of(replies)
check(NIKS[0] in text and DOBS[0] in text, "the websocket user's result: %r" % text)
ws.close()

# Twilio (WhatsApp through Twilio), the NIK typed in groups of four
frm = "whatsapp:+62" + lkt.unique_pnid()[:10]
spaced = " ".join(NIKS[1][i:i + 4] for i in range(0, 16, 4))
for i, t in enumerate(("Hi Chika", "1", spaced, DOBS[1])):
    st, _, body = lkt.twilio_post(P, {"From": frm, "Body": t, "MessageSid": "SM%s%d" % (frm[-8:], i),
                                      "To": "whatsapp:+14155238886", "NumMedia": "0"})
    check(st == 200, "twilio %r answered %d" % (t, st))
msgs = " ".join(m.text or "" for m in ET.fromstring(body).findall("Message"))
check(NIKS[1] in msgs, "the Twilio user's result: %r" % msgs)

# the generic webhook, the bill question
for t in ("Hi Chika", "2", NIKS[2], DOBS[2]):
    st, r = lkt.http_json(P, "POST", "/v1/messages", {"from": "sens-generic", "text": t})
    check(st == 200 and r.get("replies"), "generic %r: %d %r" % (t, st, r))
check(NIKS[2] in lkt.text_of(r["replies"]), "the generic user's result")

rows = [r[0] for r in srv.db_query("SELECT text FROM log ORDER BY id")]
log = "\n".join(rows)
for nik, dob in zip(NIKS, DOBS):
    check(nik not in log and dob not in log, "%s or %s in clear in the message log" % (nik, dob))
    check(nik[4:12] not in log.replace(" ", ""), "8 middle digits of %s in the message log" % nik)
    check(("nomor %s********%s (lahir **********)" % (nik[:4], nik[-4:])) in log,
          "the result reply of %s is not masked as expected" % nik)
# a message a sensitive input read is masked whole: 29 characters, the first and last 4 kept
check("nik " + "*" * 21 + " kak" in rows,
      "the websocket NIK message: %r" % [r for r in rows if r.startswith("nik")])
check("3201" + "*" * 11 + "1098" in rows, "the NIK typed in groups: %r" % rows)
check("3578********3333" in rows, "the bare NIK is stored as 3578********3333")
check("Hi Chika" in rows, "a message that is not sensitive stays as typed")

blobs = [r[0] for r in srv.db_query("SELECT CAST(blob AS TEXT) FROM sessions")]
for nik, dob in zip(NIKS, DOBS):
    check(not any(nik in b or dob in b for b in blobs), "a session still holds %s or %s" % (nik, dob))

code = srv.stop()
srv.check_clean_exit(code)
server_log = srv.log_text()
check("level=debug" in server_log and 'msg="message"' in server_log,
      "the server did not log at debug")
for nik, dob in zip(NIKS, DOBS):
    check(nik not in server_log and dob not in server_log and nik[4:12] not in server_log,
          "%s or %s in the server log" % (nik, dob))
print("ok")
