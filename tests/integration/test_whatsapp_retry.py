#!/usr/bin/env python3
"""The Graph API failing for a while: replies are retried with backoff and delivered once
it recovers, once each and in order (the second reply of a user waits for the first)."""

import lkt
from lkt import check

srv = lkt.shared_server()
mock = lkt.MockClient(srv.mock_port)
pnid = lkt.unique_pnid()
user = "626%09d" % int(pnid[-9:])
mock.fail(pnid, 3)

lkt.wa_hi_then_pandawa(srv.port, pnid, user)

lkt.wait_for(lambda: len(mock.delivered(pnid)) >= 2, timeout=30, what="both replies after the failures")
reqs = mock.requests(pnid)
statuses = [r["status"] for r in reqs]
check(statuses == [500, 500, 500, 200, 200], "requests at the mock: %r" % statuses)
bodies = [r["payload"]["interactive"]["body"]["text"] for r in reqs]
check(all("Chika" in b for b in bodies[:4]), "the second reply overtook the first while it failed")
check("provinsi" in bodies[4].lower(), "the second reply is not the province question")
ob = lkt.wait_for(lambda: (lambda o: o if all(x[1] for x in o) else None)(srv.db_query(
    "SELECT attempts, remote_id, last_error FROM outbox WHERE user = ? ORDER BY id", (user,))),
    what="the outbox rows marked sent")
check(ob[0][0] == 3 and ob[0][1] and ob[1][0] == 0 and ob[1][1], "outbox rows %r" % ob)
check("500" in (ob[0][2] or ""), "the last error was not kept: %r" % (ob[0][2],))
print("ok: delivered after %d failures, in order" % statuses.count(500))
