#!/usr/bin/env python3
"""WhatsApp message types other than text, on a server of its own with the flow
tests/integration/flows/upload.json (a state that takes a photo or PDF of an ID card) and
the Graph API mock. Payloads follow Meta's messages webhook reference:
- image, video, audio (and voice), document, sticker, location and contacts where no input
  takes media get the flow's clarify.media note; a caption is read as text;
- the media state keeps the media id, type, MIME type and caption (the flow reads them
  back) and refuses text and a type it does not accept with its own invalid text;
- reactions, unsupported and unknown types, group messages and errors at the value level
  get no answer and are counted in loket_whatsapp_unanswered_total;
- a message with from_user_id and no from is that business-scoped user's, and its reply
  goes as "recipient" (no "to"); a message with both is answered "to" the phone number."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check

mport = lkt.free_port()
_, state = mock_graph.serve(mport)
flow = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flows", "upload.json")
srv = lkt.Server("media", flow=flow, config={"sender_poll": "100ms"},
                 env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}).start()
pnid, user = "777000222", "628123000222"
NOTE = "Maaf, saya hanya bisa membaca teks. Ketik balasan Anda."
SHA = "81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3"


def payloads():
    with state.lock:
        return [r["payload"] for r in state.requests.get(pnid, []) if r["status"] == 200]


def sent(n):
    return lkt.wait_for(lambda: (lambda p: p if len(p) >= n else None)(payloads()),
                        what="%d payloads at the mock" % n)


def body(p):
    return p["text"]["body"] if p["type"] == "text" else p["interactive"]["body"]["text"]


def post(*msgs, value=None):
    n = lkt.wa_notification(pnid, list(msgs))
    if value:
        n["entry"][0]["changes"][0]["value"].update(value)
    st, _, b = lkt.wa_post(srv.port, n)
    check(st == 200, "the notification answered %d %r" % (st, b))


def image(caption=None, mid="2754859441498128"):
    c = {"mime_type": "image/jpeg", "sha256": SHA, "id": mid}
    if caption is not None:
        c["caption"] = caption
    return lkt.wa_message(user, "image", c)


post(lkt.wa_text(user, "halo"))
check(body(sent(1)[0]).startswith("Layanan unggah dokumen"), "the menu: %r" % payloads())

# No input takes media at the menu: each type without a caption gets the note.
media = [image(),
         lkt.wa_message(user, "sticker", {"mime_type": "image/webp", "sha256": SHA, "id": "101",
                                          "animated": False}),
         lkt.wa_message(user, "audio", {"mime_type": "audio/ogg; codecs=opus", "sha256": SHA,
                                        "id": "102", "voice": True}),
         lkt.wa_message(user, "audio", {"mime_type": "audio/mpeg", "sha256": SHA, "id": "103"}),
         lkt.wa_message(user, "video", {"mime_type": "video/mp4", "sha256": SHA, "id": "104"}),
         lkt.wa_message(user, "document", {"filename": "ktp.pdf", "mime_type": "application/pdf",
                                           "sha256": SHA, "id": "105"}),
         lkt.wa_message(user, "location", {"latitude": -6.9147, "longitude": 107.6098,
                                           "name": "Kantor Cabang", "address": "Jl. Soekarno Hatta"}),
         lkt.wa_message(user, "contacts", [{"name": {"formatted_name": "Budi Santoso",
                                                     "first_name": "Budi"},
                                            "phones": [{"phone": "+62 812 3456 7890",
                                                        "wa_id": "6281234567890", "type": "CELL"}]}])]
for m in media:
    post(m)
got = sent(1 + len(media))
check([body(p) for p in got[1:]] == [NOTE] * len(media), "the notes: %r" % got[1:])

# A caption is text: "Kirim KTP" chooses the first option.
post(image("Kirim KTP", "2754859441498129"))
check(body(sent(10)[9]) == "Kirim foto atau PDF KTP Anda.", "the caption was not read: %r" % payloads()[9:])
post(lkt.wa_text(user, "sudah saya kirim"))
post(lkt.wa_message(user, "audio", {"mime_type": "audio/ogg; codecs=opus", "sha256": SHA,
                                    "id": "106", "voice": True}))
got = sent(12)
check([body(p) for p in got[10:12]] == ["Mohon kirim foto atau PDF KTP."] * 2,
      "text and a voice note where a photo is asked: %r" % got[10:])
doc = lkt.wa_message(user, "document", {"caption": "KTP suami", "filename": "ktp.pdf",
                                        "mime_type": "application/pdf", "sha256": SHA,
                                        "id": "1029384756"})
post(doc)
check(body(sent(13)[12]) == "KTP diterima: document application/pdf #1029384756 KTP suami",
      "the media state: %r" % payloads()[12:])
logged = srv.db_query("SELECT text FROM log WHERE ext_id = ? AND dir = 'in'", (doc["id"],))
check(logged == [("KTP suami",)], "the caption in the message log: %r" % logged)

# Not answered, but counted: a reaction, unsupported and unknown types, a group message and
# an error of the notification itself.
before = lkt.metrics(srv.port)
post(lkt.wa_message(user, "reaction", {"message_id": doc["id"], "emoji": "\U0001F44D"}),
     lkt.wa_message(user, "unsupported", {"type": "edit"},
                    errors=[{"code": 131051, "title": "Message type unknown",
                             "message": "Message type unknown",
                             "error_data": {"details": "Message type is currently not supported."}}]),
     lkt.wa_message(user, "order", {"catalog_id": "1", "product_items": []}),
     lkt.wa_message(user, "text", {"body": "halo semua"}, group_id="120363025246125486@g.us"))
post(value={"errors": [{"code": 131000, "title": "Something went wrong",
                        "message": "Something went wrong",
                        "error_data": {"details": "Unable to process the notification"},
                        "href": "/docs/whatsapp/cloud-api/support/error-codes/"}]})
post(lkt.wa_text(user, "menu"))  # answered: everything before it was handled
got = sent(14)
check(body(got[13]).startswith("Layanan unggah dokumen") and len(payloads()) == 14,
      "an unanswered item got an answer: %r" % payloads()[13:])
after = lkt.metrics(srv.port)
for reason in ("reaction", "unsupported", "unknown_type", "group", "notification_error"):
    k = 'loket_whatsapp_unanswered_total{reason="%s"}' % reason
    check(after.get(k, 0) - before.get(k, 0) == 1, "%s counted %r" % (reason, after.get(k)))
log = srv.log_text()
check("halo semua" not in log and "KTP suami" not in log, "message content in the server log")
check("whatsapp group message not answered" in log and "whatsapp notification error" in log,
      "group and notification error not logged")

# Business-scoped user ids.
bsuid = "ID.13491208655302741918"
m = lkt.wa_message(None, "text", {"body": "halo"}, from_user_id=bsuid)
post(m)
p = sent(15)[14]
check(p.get("recipient") == bsuid and "to" not in p, "a reply to a BSUID: %r" % p)
st = srv.db_query("SELECT user FROM log WHERE ext_id = ?", (m["id"],))
check(st == [(bsuid,)], "the BSUID's message log: %r" % st)
post(lkt.wa_message("628123000333", "text", {"body": "halo"}, from_user_id="ID.99887766554433221100"))
p = sent(16)[15]
check(p.get("to") == "628123000333" and "recipient" not in p, "from and from_user_id: %r" % p)
post(lkt.wa_message(None, "text", {"body": "halo"}, from_user_id="ID.bad id!"))
post(lkt.wa_text(user, "menu"))
sent(17)
check(len(payloads()) == 17, "a malformed from_user_id was answered: %r" % payloads()[16:])

code = srv.stop()
srv.check_clean_exit(code)
print("ok")
