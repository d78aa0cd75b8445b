#!/usr/bin/env python3
"""A 2xx answer without messages[0].id is a message the Graph API took: it used to be
retried (15 attempts for 6 rows), which would deliver every reply several times. Any 2xx
is now sent: one request per reply, the row marked sent with no remote id."""

import lkt
from lkt import check

srv = lkt.shared_server()
mock = lkt.MockClient(srv.mock_port)
pnid = lkt.unique_pnid()
users = ["6284%08d" % (int(pnid[-8:]) + i) for i in range(3)]
mock.noid(pnid)
for u in users:
    lkt.wa_hi_then_pandawa(srv.port, pnid, u)  # two replies each: six rows


def marked():
    r = [x for u in users for x in srv.db_query(
        "SELECT sent_ms IS NOT NULL, remote_id, attempts FROM outbox WHERE payload LIKE ?",
        ('%%"to":"%s"%%' % u,))]
    return r if len(r) == 2 * len(users) and all(x[0] for x in r) else None


ob = lkt.wait_for(marked, timeout=30, what="the six rows marked sent after a 200 without an id")
reqs = mock.requests(pnid)
check(len(reqs) == 2 * len(users), "%d requests for %d replies: a 2xx was retried"
      % (len(reqs), 2 * len(users)))
check(all(r["status"] == 200 for r in reqs), "statuses %r" % [r["status"] for r in reqs])
check(all(x[1] is None and x[2] == 0 for x in ob), "rows %r (no remote id, no failed attempt)" % ob)
print("ok: %d replies answered 200 without an id, each sent once" % len(reqs))
