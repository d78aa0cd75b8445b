#!/usr/bin/env python3
"""What Twilio sends besides plain text, with the payloads of Twilio's messaging webhook
documentation: delivery status callbacks (acknowledged with an empty Response and counted
by status, never 400, which Twilio would log as error 11200), media and location messages
(a state that takes media keeps its URL, type, MIME type and caption; elsewhere a caption
is text, and media alone gets the flow's text for what it cannot read), a quick-reply tap
(ButtonPayload says which button), and control characters a user typed, echoed into TwiML
that a real XML parser must still read."""

import json
import os
import xml.etree.ElementTree as ET

import lkt
from lkt import check
from twilio_ref import post

FLOW = os.path.join(lkt.SRC, "tests", "integration", "flows", "echo.json")
with open(FLOW) as f:
    CANNOT_READ = json.load(f)["clarify"]["media"]

srv = lkt.Server("twmsg", flow=FLOW).start()
P = srv.port
URL = "http://127.0.0.1:%d/webhook/twilio" % P
ACCOUNT = "AC" + "1" * 32
seq = [0]


def sid():
    seq[0] += 1
    return "SM%032d" % seq[0]


def message(frm, **fields):
    p = {"From": frm, "To": "whatsapp:+14155238886", "MessageSid": sid(), "AccountSid": ACCOUNT,
         "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01",
         "ProfileName": "Budi", "WaId": frm.split("+")[-1], "Body": ""}
    p["SmsMessageSid"] = p["SmsSid"] = p["MessageSid"]
    p.update(fields)
    return p


def replies(params, what):
    st, h, body = post(P, "/webhook/twilio", params, URL)
    check(st == 200, "%s: answered %d %r" % (what, st, body[:200]))
    check(h.get("content-type", "").startswith("text/xml"), "%s: content type %r" % (what, h))
    root = ET.fromstring(body)  # expat: a document it cannot read raises here
    check(root.tag == "Response", "%s: %r" % (what, body[:200]))
    return [m.text or "" for m in root.findall("Message")]


def status_count(status):
    return lkt.metrics(P).get('loket_statuses_total{channel="twilio",status="%s"}' % status, 0)


try:
    frm = "whatsapp:+6281234500001"

    # a delivery status callback: no Body; 200 with an empty Response, counted
    for status, extra in (("sent", {}), ("delivered", {}), ("read", {}),
                          ("failed", {"ErrorCode": "63016",
                                      "ErrorMessage": "Failed to send freeform message"})):
        before = status_count(status)
        p = {"MessageSid": sid(), "MessageStatus": status, "SmsStatus": status, "AccountSid": ACCOUNT,
             "From": "whatsapp:+14155238886", "To": frm, "ApiVersion": "2010-04-01",
             "ChannelToAddress": "+62812345XXXX", "ChannelPrefix": "whatsapp",
             "ChannelInstallSid": "XE" + "2" * 32, "StructuredMessage": "false"}
        p.update(extra)
        check(replies(p, "status " + status) == [], "status %s was answered with a message" % status)
        lkt.wait_for(lambda: status_count(status) == before + 1, what="the %s status counted" % status)

    # an image without a caption, as the first message: the flow's text for what it cannot read
    img = message(frm, NumMedia="1", MessageType="image", MediaContentType0="image/jpeg",
                  MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/%s/Messages/MM1/Media/ME1" % ACCOUNT)
    got = replies(img, "an image")
    check(got == [CANNOT_READ], "an image without a caption got %r" % got)
    # the same MessageSid again: a retry, acknowledged and not answered twice
    check(replies(img, "the image again") == [], "a repeated image was answered again")

    # a location pin
    got = replies(message(frm, MessageType="location", Latitude="-6.2297", Longitude="106.8295",
                          Address="Jl. Letjen Suprapto, Jakarta", Label="Kantor BPJS"), "a location")
    check(got == [CANNOT_READ], "a location got %r" % got)

    # a photo with a caption: the caption is the text
    got = replies(message(frm, Body="foto kartu saya", NumMedia="1", MessageType="image",
                          MediaContentType0="image/jpeg", MediaUrl0="https://api.twilio.com/x/ME2"),
                  "an image with a caption")
    check(got and got[0] == "Anda menulis: foto kartu saya", "a caption was not read as text: %r" % got)

    # a quick-reply tap: Body and ButtonText are the title, ButtonPayload says which button
    got = replies(message(frm, Body="Ulangi", ButtonText="Ulangi", ButtonPayload="3",
                          MessageType="button"), "a tap")
    check(got == ["Kirim foto KTP Anda."], "ButtonPayload 3 (Kirim foto KTP) was not taken: %r" % got)
    # where the flow asks for a photo, a text is not one, and the photo is kept
    got = replies(message(frm, Body="ini ktp saya"), "a text where a photo is asked")
    check(got == ["Mohon kirim foto atau dokumen KTP."], "a text for a photo got %r" % got)
    url = "https://api.twilio.com/2010-04-01/Accounts/%s/Messages/MM3/Media/ME3" % ACCOUNT
    got = replies(message(frm, Body="ktp saya", NumMedia="1", MessageType="image",
                          MediaContentType0="image/jpeg", MediaUrl0=url), "the photo asked for")
    check(got and got[0] == "Diterima: image image/jpeg %s [ktp saya]" % url,
          "the photo was not kept: %r" % got)
    got = replies(message(frm, Body="Selesai", ButtonText="Selesai", ButtonPayload="2",
                          MessageType="button"), "a tap")
    check(got == ["Terima kasih."], "ButtonPayload 2 (Selesai) was not taken: %r" % got)

    # control characters and code points XML 1.0 forbids, echoed back: still a document
    frm2 = "whatsapp:+6281234500002"
    typed = "a\x01b\x08c\x0bd\x0ce\x1ff\x7fg\ufffeh\uffffi\tj\r\nk <&> \"'"
    got = replies(message(frm2, Body=typed), "control characters")
    check(got and got[0].startswith("Anda menulis: "), "control characters: %r" % got)
    echoed = got[0][len("Anda menulis: "):]
    check(echoed == "abcdef\x7fghi\tj\r\nk <&> \"'", "echoed as %r" % echoed)

    # a request that is neither a message nor a status callback is still refused
    st, _, body = post(P, "/webhook/twilio", {"AccountSid": ACCOUNT, "MessageSid": sid()}, URL)
    check(st == 400, "a form with neither Body nor MessageStatus answered %d" % st)
finally:
    srv.stop()
print("ok")
