#!/usr/bin/env python3
"""Meta refuses a reply with 131047 (re-engagement: more than 24 hours since the user's last
message; here the Graph API says so although the row is new). The sender does not drop it:
in the same slot it sends the flow's outside_window template instead (Chika names
chika_lanjut in Indonesian with one body parameter), which is what the user receives; the
outbox row is marked sent with the template's message id and /metrics counts it."""

import lkt
from lkt import check

srv = lkt.shared_server()
mock = lkt.MockClient(srv.mock_port)
pnid = lkt.unique_pnid()
user = "6285%08d" % int(pnid[-8:])


sent_before = lkt.metric(srv.port, 'loket_whatsapp_outside_window_total{outcome="template"}')
win_before = lkt.metric(srv.port, 'loket_whatsapp_send_errors_total{class="window"}')
mock.fail(pnid, 1, status=400, code=131047)
lkt.wa_say(srv.port, pnid, user, "halo chika, saya mau tanya")

lkt.wait_for(lambda: len(mock.delivered(pnid)) == 1, timeout=30, what="the template delivered")
reqs = mock.requests(pnid)
check([r["status"] for r in reqs] == [400, 200], "requests at the mock: %r" % [r["status"] for r in reqs])
check(reqs[0]["payload"]["type"] in ("interactive", "text"), "the first try was not the reply")
t = reqs[1]["payload"]
check(t.get("type") == "template" and t.get("to") == user and t.get("messaging_product") == "whatsapp",
      "the second request is not a template to the user: %r" % t)
check(t["template"]["name"] == "chika_lanjut" and t["template"]["language"] == {"code": "id"},
      "template name or language: %r" % t["template"])
comps = t["template"].get("components")
check(comps == [{"type": "body", "parameters": [{"type": "text", "text": "Sobat JKN"}]}],
      "template body parameters: %r" % comps)
row = lkt.wait_for(lambda: (lambda r: r if r and r[0][0] else None)(srv.db_query(
    "SELECT sent_ms IS NOT NULL, remote_id FROM outbox WHERE user = ? ORDER BY id", (user,))),
    what="the outbox row marked sent")
check(row[0][1] and row[0][1].startswith("wamid.mock-"), "the template's id is not kept: %r" % row)
lkt.wait_for(lambda: lkt.metric(srv.port, 'loket_whatsapp_outside_window_total{outcome="template"}') > sent_before,
             what="the template counted")
check(lkt.metric(srv.port, 'loket_whatsapp_send_errors_total{class="window"}') > win_before,
      "the 131047 answer is not counted as class window")

# two replies of one silence refused with 131047: one template, not two
pnid2 = lkt.unique_pnid()
user2 = "6285%08d" % (int(pnid2[-8:]) + 1)
skipped = lkt.metric(srv.port, 'loket_whatsapp_outside_window_total{outcome="skipped"}')
mock.fail(pnid2, -1, status=400, code=131047, spare="template")
lkt.wa_hi_then_pandawa(srv.port, pnid2, user2)
rows = lkt.wait_for(lambda: (lambda r: r if len(r) == 2 and all(x[0] for x in r) else None)(
    srv.db_query("SELECT sent_ms IS NOT NULL, remote_id, last_error FROM outbox WHERE user = ? "
                 "ORDER BY id", (user2,))), what="both replies out of the queue")
sent = mock.delivered(pnid2)
check(len(sent) == 1 and sent[0]["payload"]["type"] == "template", "delivered: %r" % sent)
check(rows[0][1] and rows[1][1] is None and "template went already" in (rows[1][2] or ""),
      "the second reply of the silence: %r" % (rows,))
check(lkt.metric(srv.port, 'loket_whatsapp_outside_window_total{outcome="skipped"}') > skipped,
      "the skipped reply is not counted")
mock.fail(pnid2, 0)
print("ok: a reply refused with 131047 went as the outside_window template, once per silence")
