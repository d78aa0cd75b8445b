#!/usr/bin/env python3
"""A signed WhatsApp text and an interactive list reply produce the right Graph API
requests at the mock: POST {api}/{phone_number_id}/messages with the bearer token, the
main menu (7 options) as an interactive list with the flow's button label "Pilih", and
tapping row 6 (its id names the question and the choice: q:main:6) giving the province question as a list of 10 rows whose titles
are cut to 24 characters. Both are logged, deduplicated by wamid and marked sent."""

import lkt
from lkt import check

srv = lkt.shared_server()
mock = lkt.MockClient(srv.mock_port)
pnid = lkt.unique_pnid()
user = "628%09d" % int(pnid[-9:])

w1 = "wamid.out-" + pnid + "-1"
st, _, body = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [lkt.wa_text(user, "Hi Chika", w1)]))
check(st == 200, "the signed notification answered %d %r" % (st, body))

got = lkt.wait_for(lambda: mock.delivered(pnid), what="the menu at the Graph API mock")
r = got[0]
check(r["path"] == "/%s/messages" % pnid, "wrong path %r" % r["path"])
check(r["authorization"] == "Bearer " + lkt.WA_TOKEN, "wrong Authorization header")
check((r["content_type"] or "").startswith("application/json"), "wrong Content-Type")
p = r["payload"]
check(p["messaging_product"] == "whatsapp" and p["to"] == user and p["type"] == "interactive",
      "not an interactive message to the sender: %r" % p)
inter = p["interactive"]
check(inter["type"] == "list", "7 options should be a list: %r" % inter["type"])
check("Chika" in inter["body"]["text"] and len(inter["body"]["text"]) <= 1024, "body %r" % inter["body"])
check(inter["action"]["button"] == "Pilih", "the list button is %r" % inter["action"]["button"])
rows = inter["action"]["sections"][0]["rows"]
check([x["id"] for x in rows] == ["q:main:%d" % i for i in range(1, 8)], "row ids %r" % rows)
check(rows[5]["title"] == "PANDAWA", "row 6 is %r" % rows[5])
check(all(len(x["title"]) <= 24 for x in rows), "a row title is over 24 characters")

# Tap PANDAWA in the list: the row's id names the question and the choice.
w2 = "wamid.out-" + pnid + "-2"
st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [lkt.wa_list_reply(user, rows[5]["id"], "PANDAWA", w2)]))
check(st == 200, "the list reply answered %d" % st)
got = lkt.wait_for(lambda: (lambda d: d if len(d) >= 2 else None)(mock.delivered(pnid)),
                   what="the province question")
p = got[1]["payload"]
check(p["type"] == "interactive" and p["interactive"]["type"] == "list", "province page: %r" % p)
check("provinsi" in p["interactive"]["body"]["text"].lower(), "no province question: %r" % p)
rows = p["interactive"]["action"]["sections"][0]["rows"]
check(len(rows) == 10 and rows[0]["id"] == "q:pandawa_province:1", "10 rows expected: %r" % rows)
check(all(len(x["title"]) <= 24 for x in rows), "row titles over 24 characters: %r" % rows)
long_rows = [x for x in rows if "description" in x]
for x in long_rows:  # a cut title keeps the whole title in the description
    check(x["title"].endswith("\u2026") and x["description"].startswith(x["title"][:-1]),
          "cut row %r" % x)

# The store: inbound rows with their wamids, outbox rows sent with the mock's ids.
rows = srv.db_query("SELECT dir, ext_id, channel FROM log WHERE user = ? ORDER BY id", (user,))
check([r for r in rows if r[0] == "in"] == [("in", w1, "whatsapp"), ("in", w2, "whatsapp")],
      "log rows %r" % rows)
ob = lkt.wait_for(lambda: (lambda o: o if all(x[1] for x in o) else None)(
    srv.db_query("SELECT channel, remote_id FROM outbox WHERE user = ? ORDER BY id", (user,))),
    what="outbox rows marked sent")
check(len(ob) == 2 and all(c == "whatsapp:" + pnid and rid.startswith("wamid.mock-") for c, rid in ob),
      "outbox rows %r" % ob)
print("ok")
