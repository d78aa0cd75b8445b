#!/usr/bin/env python3
"""The rate per phone number: with wa_rate = 5 messages per second, 20 replies of one number
(20 users writing at once) take at least three seconds to leave (one second's worth at
once, then five a second), and /metrics counts the replies held back; meanwhile another
number, with its own budget, is not held up by the first one's queue."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check

mport = lkt.free_port()
_, state = mock_graph.serve(mport)
mock = lkt.MockClient(mport)
srv = lkt.Server("wa-rate", config={"wa_rate": 5, "sender_poll": "100ms", "sync": "normal",
                                    "rate": 1000, "burst": 1000, "wa_read_receipts": "no"},
                 env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}).start()


busy, other = lkt.unique_pnid(), lkt.unique_pnid()
users = ["6288%08d" % i for i in range(20)]
msgs = [lkt.wa_text(u, "Hi Chika") for u in users]
st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(busy, msgs))
check(st == 200, "the batch answered %d" % st)
st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(other, [lkt.wa_text("628899990000", "Hi Chika")]))
check(st == 200, "the other number's message answered %d" % st)

lkt.wait_for(lambda: len(mock.delivered(other)) == 1, timeout=5,
             what="the other number's reply, while the first number is paced")
check(len(mock.delivered(busy)) < 20, "the first number sent all 20 replies at once")
lkt.wait_for(lambda: len(mock.delivered(busy)) == 20, timeout=30, what="the 20 paced replies")
at = sorted(r["at"] for r in mock.delivered(busy))
span = at[-1] - at[0]
check(span >= 2.8, "20 replies at wa_rate 5 left within %.2fs (want at least 3s)" % span)
for i in range(len(at)):
    inside = [t for t in at if at[i] <= t < at[i] + 1.0]
    check(len(inside) <= 11, "%d replies within one second at wa_rate 5" % len(inside))
check(lkt.metric(srv.port, "loket_whatsapp_paced_total") > 0, "the held-back replies are not counted")
check(sorted(r["payload"]["to"] for r in mock.delivered(busy)) == sorted(users),
      "not every user got one reply")
code = srv.stop()
srv.check_clean_exit(code)
print("ok: 20 replies at wa_rate 5 took %.1fs; the other number was not held up" % span)
