#!/usr/bin/env python3
"""Taps on WhatsApp lists against the shared server (the Chika flow): every row and
button id names the question it answers (q:<state>:<choice>). A tap on the province
list while the kabupaten list is asked ("Riau", row 4 of the old list) is answered with
the flow's note and the kabupaten list again, and never chooses row 4 of the kabupaten
list nor sends its form link; nor does a bare row number from an older message. A tap
whose title exactly fits a row of the question being asked is that row, and a tap on the
current list goes on to the form."""

import lkt
from lkt import check

srv = lkt.shared_server()
mock = lkt.MockClient(srv.mock_port)
pnid = lkt.unique_pnid()
user = "628%09d" % int(pnid[-9:])
STALE = "Pilihan tersebut dari daftar sebelumnya"


def delivered(n):
    return lkt.wait_for(lambda: (lambda d: d if len(d) >= n else None)(mock.delivered(pnid)),
                        what="%d messages at the Graph API mock" % n)


def send(msg):
    st, _, body = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [msg]))
    check(st == 200, "the notification answered %d %r" % (st, body))


def text_of(p):
    if p["type"] == "text":
        return p["text"]["body"]
    return p["interactive"]["body"]["text"]


def rows_of(p):
    check(p["type"] == "interactive" and p["interactive"]["type"] == "list", "not a list: %r" % p)
    return p["interactive"]["action"]["sections"][0]["rows"]


send(lkt.wa_text(user, "Hi Chika"))
main = rows_of(delivered(1)[0]["payload"])
check(main[5]["id"] == "q:main:6" and main[5]["title"] == "PANDAWA", "main menu rows %r" % main)
send(lkt.wa_list_reply(user, main[5]["id"], main[5]["title"]))
prov = rows_of(delivered(2)[1]["payload"])
riau = prov[3]
check(riau == {"id": "q:pandawa_province:4", "title": "Riau"}, "province row 4 is %r" % riau)

send(lkt.wa_text(user, "jawa barat"))
p = delivered(3)[2]["payload"]
kab = rows_of(p)
check("Jawa Barat" in text_of(p), "the kabupaten question: %r" % p)
check(kab[0]["id"] == "q:pandawa_kabkota:1" and kab[3]["title"] == "Kabupaten Bandung",
      "kabupaten rows %r" % kab)

# The old province list: Riau is row 4 there; here row 4 is a kabupaten of Jawa Barat.
send(lkt.wa_list_reply(user, riau["id"], riau["title"]))
got = delivered(5)
note, again = got[3]["payload"], got[4]["payload"]
check(note["type"] == "text" and note["text"]["body"].startswith(STALE), "the note: %r" % note)
check("Jawa Barat" in text_of(again) and rows_of(again) == kab,
      "the kabupaten list was not asked again: %r" % again)
# A bare number from a message older than question ids, with and without a title.
send(lkt.wa_list_reply(user, "4", "Riau"))
send(lkt.wa_button_reply(user, "1", None))
got = delivered(9)
check(all(text_of(got[i]["payload"]).startswith(STALE) for i in (5, 7)),
      "an old id was not refused: %r" % [text_of(g["payload"]) for g in got[5:]])
check(not any("formulir" in text_of(g["payload"]).lower() for g in got),
      "a stale tap sent a form: %r" % [text_of(g["payload"]) for g in got])
sess = srv.db_query("SELECT COUNT(*) FROM log WHERE user = ? AND dir = 'in'", (user,))
check(sess[0][0] == 6, "inbound rows %r" % sess)

# A title that fits one row of the question being asked (on its second page here) is
# that row, whichever list it came from.
send(lkt.wa_list_reply(user, "q:pandawa_province:9", "Kota Bekasi"))
got = lkt.wait_for(lambda: (lambda d: d if any("Kota Bekasi" in text_of(x["payload"])
                                               for x in d[9:]) else None)(mock.delivered(pnid)),
                   what="the form for Kota Bekasi")
check(not any(STALE in text_of(x["payload"]) for x in got[9:]), "Kota Bekasi was refused")
print("ok")
