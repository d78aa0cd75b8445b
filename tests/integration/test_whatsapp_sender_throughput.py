#!/usr/bin/env python3
"""Meta answers its throughput and pair-rate limits (codes 130429, 131056) with HTTP 400.
Such a reply was dropped like a refused one, losing it; it is now retried with backoff and
delivered once the limit passes, while a 400 with another code is still dropped at once."""

import lkt
from lkt import check

srv = lkt.shared_server()
mock = lkt.MockClient(srv.mock_port)
pnid = lkt.unique_pnid()
user = "6289%08d" % int(pnid[-8:])
mock.fail(pnid, 2, status=400, code=131056)  # (#131056) pair rate limit hit, twice
lkt.wa_say(srv.port, pnid, user, "Hi Chika")
lkt.wait_for(lambda: len(mock.delivered(pnid)) == 1, timeout=30,
             what="the reply delivered after the pair rate limit")
statuses = [r["status"] for r in mock.requests(pnid)]
check(statuses == [400, 400, 200], "requests at the mock: %r" % statuses)

pnid2 = lkt.unique_pnid()
user2 = "6289%08d" % (int(pnid2[-8:]) + 1)
mock.fail(pnid2, 1, status=400, code=131026)  # message undeliverable: refused for good
lkt.wa_say(srv.port, pnid2, user2, "Hi Chika")
row = lkt.wait_for(lambda: (lambda r: r if r and r[0][0] else None)(srv.db_query(
    "SELECT sent_ms IS NOT NULL, remote_id, attempts FROM outbox WHERE payload LIKE ?",
    ('%%"to":"%s"%%' % user2,))), what="the undeliverable reply out of the queue")
check(row[0][1] is None and len(mock.requests(pnid2)) == 1,
      "an undeliverable reply was retried: %r" % (row,))
print("ok: a rate-limited reply retried and delivered; an undeliverable one dropped at once")
