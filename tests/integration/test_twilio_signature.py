#!/usr/bin/env python3
"""The URL a Twilio signature covers is the one Twilio requested: its query string
included, and with or without the port (Twilio's helper libraries accept both, :443 and
:80 being the defaults). Signatures are made after Twilio's documentation and, when
python3-twilio is installed, checked against its RequestValidator."""

import xml.etree.ElementTree as ET

import lkt
from lkt import check
import twilio_ref
from twilio_ref import post, sign, valid

REF = twilio_ref.RequestValidator is not None
print("reference: Twilio's RequestValidator" if REF else
      "reference: the documented computation only (python3-twilio is not installed)")

srv = lkt.shared_server()
P = srv.port
n = [0]


def params(text="menu"):
    n[0] += 1
    frm = "whatsapp:+62813" + lkt.unique_pnid()[:8]
    return {"From": frm, "To": "whatsapp:+14155238886", "Body": text, "NumMedia": "0",
            "MessageSid": "SM%032x" % (hash(frm) & (2 ** 128 - 1)), "AccountSid": "AC" + "0" * 32,
            "ProfileName": "Siti", "WaId": frm[10:], "SmsStatus": "received", "NumSegments": "1",
            "ApiVersion": "2010-04-01"}


def answered(port, target, signed_url, what, want=200, p=None):
    p = p or params()
    sig = sign(signed_url, p)
    st, h, body = post(port, target, p, signed_url, signature=sig)
    check(st == want, "%s: answered %d (%r), not %d" % (what, st, body[:200], want))
    if want == 200:
        root = ET.fromstring(body)
        check(root.tag == "Response" and root.findall("Message"), "%s: TwiML %r" % (what, body[:200]))
    return sig, p


base = "http://127.0.0.1:%d/webhook/twilio" % P
# Twilio calls the URL configured in its console, query string and all
for q in ("?tenant=chika", "?tenant=chika&flow=pandawa", "?label=Chika%20BPJS&id=a%2Fb%3Dc",
          "?label=Chika+BPJS", "?next=/a:b,c@d", "?a=1&a=2&empty=&flag", "?nama=Sit%C3%AC"):
    sig, p = answered(P, "/webhook/twilio" + q, base + q, "query %r" % q)
    if REF:
        check(valid(base + q, p, sig), "the reference refuses its own signature for %r" % q)
    # the query is signed: without it, or with another one, the signature is wrong
    st, _, _ = post(P, "/webhook/twilio" + q, params(), base)
    check(st == 401, "query %r: a signature without the query was taken (%d)" % (q, st))
    st, _, _ = post(P, "/webhook/twilio" + q + "x", p, base + q, signature=sig)
    check(st == 401, "query %r: a signature of another query was taken (%d)" % (q, st))

# the port: Twilio may sign http://host/... for http://host:port/...; the reference takes
# both, and so does loket
noport = "http://127.0.0.1/webhook/twilio?tenant=chika"
sig, p = answered(P, "/webhook/twilio?tenant=chika", noport, "no port in the signed URL")
if REF:
    check(valid("http://127.0.0.1:%d/webhook/twilio?tenant=chika" % P, p, sig),
          "the reference refuses the URL without its port")
st, _, _ = post(P, "/webhook/twilio", params(), "http://127.0.0.1:%d/webhook/twilio" % (P + 1))
check(st == 401, "a signature of another port was taken")

# behind a proxy: the public URL with an explicit :443, and without it
for public, signed in (("https://bot.example.org:443", "https://bot.example.org:443"),
                       ("https://bot.example.org:443", "https://bot.example.org"),
                       ("https://bot.example.org", "https://bot.example.org:443"),
                       ("https://bot.example.org/loket", "https://bot.example.org:443/loket")):
    s = lkt.Server("twsig", env={"LOKET_PUBLIC_URL": public}).start()
    try:
        url = signed + "/webhook/twilio?tenant=chika&x=%C3%A9+y"
        sig, p = answered(s.port, "/webhook/twilio?tenant=chika&x=%C3%A9+y", url,
                          "LOKET_PUBLIC_URL=%s signed as %s" % (public, signed))
        if REF:
            check(valid(public + "/webhook/twilio?tenant=chika&x=%C3%A9+y", p, sig),
                  "the reference refuses %s for %s" % (signed, public))
        st, _, _ = post(s.port, "/webhook/twilio?tenant=chika", params(),
                        "https://bot.example.org:8443/webhook/twilio?tenant=chika")
        check(st == 401, "%s: a signature of port 8443 was taken" % public)
        st, _, _ = post(s.port, "/webhook/twilio", params(), "http://127.0.0.1:%d/webhook/twilio" % s.port)
        check(st == 401, "%s: the Host-based URL was taken" % public)
    finally:
        s.stop()

# the query's arguments fit in 1024 bytes (each with its terminating NUL): at the limit the
# signature is checked, past it the request is refused with a clear error, never half-checked
q = "?pad=" + "a" * 1019
answered(P, "/webhook/twilio" + q, base + q, "a query at the limit")
q = "?pad=" + "a" * 1020
st, _, body = post(P, "/webhook/twilio" + q, params(), base + q)
check(st == 401 and b"query string is too long" in body, "a query past the limit: %d %r" % (st, body[:200]))
print("ok")
