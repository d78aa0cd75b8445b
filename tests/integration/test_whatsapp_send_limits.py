#!/usr/bin/env python3
"""Meta's rate limits as the sender meets them, written as the Graph API answers them:

- 131056 (pair rate limit: too many messages to one user in a short time) is retried, and
  never sooner than Meta's six seconds per user, whatever retry_base says;
- 130429 (the phone number's throughput) is retried, and pauses that number: counted as
  class throughput;
- 131026 (undeliverable) can never succeed: dropped after one attempt with the code kept
  on the outbox row."""

import lkt
from lkt import check

srv = lkt.shared_server()
mock = lkt.MockClient(srv.mock_port)


# the pair rate limit, once: the retry waits at least six seconds
pnid = lkt.unique_pnid()
user = "6283%08d" % int(pnid[-8:])
pair_before = lkt.metric(srv.port, 'loket_whatsapp_send_errors_total{class="pair"}')
mock.fail(pnid, 1, status=400, code=131056)
lkt.wa_say(srv.port, pnid, user, "Hi Chika")
lkt.wait_for(lambda: len(mock.delivered(pnid)) == 1, timeout=40, what="the reply after the pair limit")
reqs = mock.requests(pnid)
check([r["status"] for r in reqs] == [400, 200], "requests: %r" % [r["status"] for r in reqs])
gap = reqs[1]["at"] - reqs[0]["at"]
check(gap >= 5.9, "the retry after a pair rate limit came after %.2fs (retry_base is 200ms), "
      "not after Meta's 6s" % gap)
check(lkt.metric(srv.port, 'loket_whatsapp_send_errors_total{class="pair"}') > pair_before, "pair not counted")

# throughput: retried, counted
pnid2 = lkt.unique_pnid()
user2 = "6283%08d" % (int(pnid2[-8:]) + 7)
tp_before = lkt.metric(srv.port, 'loket_whatsapp_send_errors_total{class="throughput"}')
mock.fail(pnid2, 2, status=400, code=130429)
lkt.wa_say(srv.port, pnid2, user2, "Hi Chika")
lkt.wait_for(lambda: len(mock.delivered(pnid2)) == 1, timeout=40, what="the reply after throughput errors")
check([r["status"] for r in mock.requests(pnid2)] == [400, 400, 200], "throughput requests: %r"
      % [r["status"] for r in mock.requests(pnid2)])
check(lkt.metric(srv.port, 'loket_whatsapp_send_errors_total{class="throughput"}') >= tp_before + 2,
      "throughput errors not counted")

# undeliverable: dropped once, its code kept
pnid3 = lkt.unique_pnid()
user3 = "6283%08d" % (int(pnid3[-8:]) + 3)
mock.fail(pnid3, 1, status=400, code=131026)
lkt.wa_say(srv.port, pnid3, user3, "Hi Chika")
row = lkt.wait_for(lambda: (lambda r: r if r and r[0][0] else None)(srv.db_query(
    "SELECT sent_ms IS NOT NULL, remote_id, attempts, last_error FROM outbox WHERE user = ?",
    (user3,))), what="the undeliverable reply out of the queue")
check(row[0][1] is None and len(mock.requests(pnid3)) == 1, "retried or sent: %r" % (row,))
check("code 131026" in (row[0][3] or ""), "the error code is not kept: %r" % (row[0][3],))
print("ok: pair limit waited %.1fs; throughput retried; undeliverable dropped with its code" % gap)
