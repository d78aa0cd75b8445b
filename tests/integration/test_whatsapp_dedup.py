#!/usr/bin/env python3
"""Exactly once: the same wamid delivered three times (in three notifications, and twice
inside one) is processed once: one inbound log row, one reply at the mock, the repeats
acknowledged with 200 and counted as duplicates."""

import time

import lkt
from lkt import check

srv = lkt.shared_server()
mock = lkt.MockClient(srv.mock_port)
pnid = lkt.unique_pnid()
user = "627%09d" % int(pnid[-9:])
wamid = "wamid.dup-" + pnid
before = lkt.metrics(srv.port).get('loket_duplicates_total{channel="whatsapp"}', 0)

msg = lkt.wa_text(user, "Hi Chika", wamid)
for i in range(3):
    st, _, body = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [msg]))
    check(st == 200, "delivery %d answered %d %r" % (i + 1, st, body))
st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [msg, msg]))
check(st == 200, "a notification holding the message twice answered %d" % st)

lkt.wait_for(lambda: mock.delivered(pnid), what="the reply")
lkt.wait_for(lambda: srv.db_query("SELECT count(*) FROM outbox WHERE user = ? AND sent_ms IS NULL",
                                  (user,))[0][0] == 0, what="an empty outbox for the user")
time.sleep(0.5)  # the sender polls every 100 ms: a second copy would be here by now
check(len(mock.requests(pnid)) == 1, "the mock got %d requests" % len(mock.requests(pnid)))
rows = srv.db_query("SELECT dir FROM log WHERE user = ?", (user,))
check(rows.count(("in",)) == 1, "%d inbound rows for one wamid" % rows.count(("in",)))
check(srv.db_query("SELECT count(*) FROM log WHERE ext_id = ?", (wamid,))[0][0] == 1, "log rows")
check(srv.db_query("SELECT count(*) FROM outbox WHERE user = ?", (user,))[0][0] == 1, "outbox rows")
after = lkt.metrics(srv.port).get('loket_duplicates_total{channel="whatsapp"}', 0)
check(after - before >= 4, "duplicates counted: %d" % (after - before))
print("ok")
