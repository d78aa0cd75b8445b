#!/usr/bin/env python3
"""How replies become Graph API payloads (a server of its own on the small test flow
tests/integration/flows/tiny.json): a menu of 3 as interactive reply buttons, a button
reply's id taken as the input, a reply without choices as plain text, two replies of one
step sent in order, and a menu whose titles collide once cut to WhatsApp's 20 characters
sent as a list with the flow's button label (row titles cut to 24 with the whole title in
the description). Row and button ids name the question: q:<state>:<choice>."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check

mport = lkt.free_port()
_, state = mock_graph.serve(mport)
tiny = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flows", "tiny.json")
srv = lkt.Server("render", flow=tiny, config={"sender_poll": "100ms"},
                 env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}).start()
pnid, user = "777000111", "628123000111"


def sent(n):
    def ready():
        with state.lock:
            got = [r["payload"] for r in state.requests.get(pnid, []) if r["status"] == 200]
        return got if len(got) >= n else None
    return lkt.wait_for(ready, what="%d payloads at the mock" % n)


lkt.wa_post(srv.port, lkt.wa_notification(pnid, [lkt.wa_text(user, "hai")]))
p = sent(1)[0]
check(p["type"] == "interactive" and p["interactive"]["type"] == "button", "3 options: %r" % p)
btns = p["interactive"]["action"]["buttons"]
check([(b["type"], b["reply"]["id"], b["reply"]["title"]) for b in btns] ==
      [("reply", "q:main:1", "Satu"), ("reply", "q:main:2", "Dua"), ("reply", "q:main:3", "Lainnya")],
      "buttons %r" % btns)
check(p["interactive"]["body"]["text"].startswith("Halo dari flow uji"), "body %r" % p)

lkt.wa_post(srv.port, lkt.wa_notification(pnid, [lkt.wa_button_reply(user, "q:main:1", "Satu")]))
got = sent(3)
check(got[1] == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": user,
                 "type": "text", "text": {"preview_url": False, "body": "Anda memilih satu."}},
      "a reply without choices: %r" % got[1])
check(got[2]["type"] == "interactive" and got[2]["interactive"]["type"] == "button",
      "the menu after it came in the wrong order: %r" % got[2])

lkt.wa_post(srv.port, lkt.wa_notification(pnid, [lkt.wa_button_reply(user, "q:main:3", "Lainnya")]))
p = sent(4)[3]
check(p["interactive"]["type"] == "list", "colliding button titles should give a list: %r" % p)
rows = p["interactive"]["action"]["sections"][0]["rows"]
check([r["id"] for r in rows] == ["q:more:1", "q:more:2"], "row ids %r" % rows)
check(p["interactive"]["action"]["button"] == "Pilih", "the flow's list button: %r" % p)
for r, full in zip(rows, ["Pilihan tambahan yang judulnya panjang", "Pilihan tambahan yang judulnya pendek"]):
    check(len(r["title"]) == 24 and r["title"].endswith("\u2026") and r["description"] == full,
          "row %r" % r)
code = srv.stop()
srv.check_clean_exit(code)
print("ok")
