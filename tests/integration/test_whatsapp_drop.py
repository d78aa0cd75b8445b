#!/usr/bin/env python3
"""A reply the Graph API refuses for good (a 4xx such as an invalid recipient) is dropped
after one attempt instead of being retried forever, so that the user's later replies still
go out; the outbox keeps the error and /metrics counts the drop."""

import lkt
from lkt import check

srv = lkt.shared_server()
mock = lkt.MockClient(srv.mock_port)
pnid = lkt.unique_pnid()
user = "627%09d" % int(pnid[-9:])


def dropped():
    st, _, body = lkt.http(srv.port, "GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith('loket_errors_total{kind="dropped"}'):
            return int(float(line.split()[-1]))
    return 0


before = dropped()
mock.fail(pnid, 1, status=400, code=131026)  # (#131026) message undeliverable
lkt.wa_hi_then_pandawa(srv.port, pnid, user)

lkt.wait_for(lambda: len(mock.delivered(pnid)) >= 1, timeout=30, what="the second reply")
reqs = mock.requests(pnid)
statuses = [r["status"] for r in reqs]
check(statuses == [400, 200], "requests at the mock: %r (the refused one must not be retried)"
      % statuses)
check("provinsi" in reqs[1]["payload"]["interactive"]["body"]["text"].lower(),
      "the reply after the drop is not the province question")
ob = lkt.wait_for(lambda: (lambda o: o if len(o) == 2 and o[1][1] else None)(srv.db_query(
    "SELECT sent_ms IS NOT NULL, remote_id, last_error FROM outbox WHERE user = ? ORDER BY id",
    (user,))), what="both outbox rows out of the queue")
check(ob[0][0] == 1 and ob[0][1] is None and "400" in (ob[0][2] or ""),
      "the dropped row: %r" % (ob[0],))
check(dropped() >= before + 1, "the drop is not counted in /metrics")
print("ok: a refused reply dropped after one attempt; the next one delivered")
