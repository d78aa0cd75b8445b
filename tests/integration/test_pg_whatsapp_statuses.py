#!/usr/bin/env python3
"""Delivery statuses and the 24-hour window on PostgreSQL: two servers on one database;
a reply sent by one of them is found by its message id when Meta posts the statuses to
the other (sent, then read; a failed status of another reply keeps its code), and a reply
refused with 131047 goes as the flow's template from whichever server claimed it."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check

mport = lkt.free_port()
mock_graph.serve(mport)
mock = lkt.MockClient(mport)
db = lkt.pg_database("wastatus")
conf = {"rate": 100000, "burst": 100000, "sender_poll": "100ms", "retry_base": "100ms"}
env = {"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}
a = lkt.Server("pg-st-a", db=db, config=conf, env=env).start()
b = lkt.Server("pg-st-b", db=db, config=conf, env=env).start()
pnid = lkt.unique_pnid()
u1, u2 = "6281300000001", "6281300000002"

for u in (u1, u2):
    st, _, _ = lkt.wa_post(a.port, lkt.wa_notification(pnid, [lkt.wa_text(u, "Hi Chika")]))
    check(st == 200, "a message answered %d" % st)


def remote(u):
    r = lkt.psql(db, "SELECT coalesce(remote_id, '') FROM outbox WHERE \"user\" = '%s'" % u)
    return r[0][0] if r and r[0][0] else None


r1 = lkt.wait_for(lambda: remote(u1), what="the first reply's remote id")
r2 = lkt.wait_for(lambda: remote(u2), what="the second reply's remote id")
now = str(int(time.time()))
statuses = [{"id": r1, "status": "sent", "timestamp": now, "recipient_id": u1},
            {"id": r1, "status": "read", "timestamp": now, "recipient_id": u1},
            {"id": r2, "status": "failed", "timestamp": now, "recipient_id": u2,
             "errors": [{"code": 131026, "title": "Message undeliverable"}]}]
st, _, _ = lkt.wa_post(b.port, lkt.wa_notification(pnid, statuses=statuses))
check(st == 200, "the statuses answered %d" % st)
row = lkt.wait_for(lambda: (lambda r: r if r == [["read", ""], ["failed", "131026"]] else None)(
    lkt.psql(db, "SELECT status, coalesce(error_code::text, '') FROM outbox WHERE \"user\" IN "
                 "('%s', '%s') ORDER BY \"user\"" % (u1, u2))), what="the statuses on the rows")

# the window: a 131047 sends the template
pnid2 = lkt.unique_pnid()
mock.fail(pnid2, 1, status=400, code=131047)
lkt.wa_say(b.port, pnid2, "6281300000003", "Hi Chika")
lkt.wait_for(lambda: mock.delivered(pnid2), what="the template")
check(mock.delivered(pnid2)[0]["payload"]["type"] == "template", "not the template")
for s in (a, b):
    s.check_clean_exit(s.stop())
print("ok: statuses stored across two servers on PostgreSQL; the template went on 131047")
