#!/usr/bin/env python3
"""A Graph API that hangs on one request holds up only that user's replies.

The sender used to make one request at a time: a request that hung stalled every user's
replies until send_timeout. Now up to send_inflight requests are in flight: while one
phone number's request hangs, other users' replies are delivered, each user's in order and
never two of one user at once, never more than send_inflight at once. Then a second server
with a short send_timeout shows the hung request timed out and retried, and that SIGTERM
with a request hanging still stops cleanly."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check

mport = lkt.free_port()
_, state = mock_graph.serve(mport)
mock = lkt.MockClient(mport)
api = {"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}
fast = {"retry_base": "100ms", "retry_cap": "500ms", "sender_poll": "100ms", "rate": 1000,
        "burst": 1000, "sync": "normal"}

srv = lkt.Server("sender-hang", config=dict(fast, send_timeout="120s", send_inflight=4), env=api)
srv.start()
hung_pnid, pnid = lkt.unique_pnid(), lkt.unique_pnid()
hung_user = "6281999%05d" % 1
users = ["6281888%05d" % i for i in range(6)]
mock.hang(hung_pnid)
with state.lock:
    state.delay[pnid] = 0.2  # slow enough for several requests to be in flight at once

st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(hung_pnid, [lkt.wa_text(hung_user, "Hi Chika")]))
check(st == 200, "the hung user's message answered %d" % st)
lkt.wait_for(lambda: state.arrived.get(hung_pnid, 0) == 1, what="the request that hangs")
for u in users:  # two replies each: the greeting, then the province question
    lkt.wa_hi_then_pandawa(srv.port, pnid, u)

lkt.wait_for(lambda: len(mock.delivered(pnid)) == 2 * len(users), timeout=60,
             what="the other users' replies while one request hangs")
check(state.arrived.get(hung_pnid, 0) == 1 and not mock.requests(hung_pnid),
      "the hung request did not stay in flight")
lkt.wait_for(lambda: lkt.metrics(srv.port).get("loket_sender_inflight") == 1,
             what="/metrics showing the hung request in flight")
got = {}
for r in mock.delivered(pnid):
    got.setdefault(r["payload"]["to"], []).append(r["payload"])
for u in users:
    want = [json.loads(p) for (p,) in srv.db_query(
        "SELECT payload FROM outbox WHERE payload LIKE ? ORDER BY id", ('%%"to":"%s"%%' % u,))]
    check(got.get(u) == want, "user %s: replies out of order or missing" % u)
with state.lock:
    most, per_user = state.max_total, state.max_per_user
check(per_user == 1, "two requests of one user were in flight at once (%d)" % per_user)
check(2 < most <= 4, "requests in flight at once: %d (want more than 2, at most send_inflight 4)"
      % most)
mock.hang(hung_pnid, False)
lkt.wait_for(lambda: len(mock.delivered(hung_pnid)) == 1, what="the hung reply once released")
srv.check_clean_exit(srv.stop())
print("ok: %d replies delivered while one request hung; at most %d in flight, one per user"
      % (2 * len(users), most))

# the per-request timeout: the hung request is given up after send_timeout and retried
srv2 = lkt.Server("sender-timeout", config=dict(fast, send_timeout="1s"), env=api)
srv2.start()
pnid2 = lkt.unique_pnid()
mock.hang(pnid2)
st, _, _ = lkt.wa_post(srv2.port, lkt.wa_notification(pnid2, [lkt.wa_text(hung_user, "Hi Chika")]))
check(st == 200, "answered %d" % st)
lkt.wait_for(lambda: state.arrived.get(pnid2, 0) >= 2, timeout=30,
             what="the request retried after its timeout")
check("reply not sent, will retry" in srv2.log_text(), "the timeout was not logged as a retry")
srv2.check_clean_exit(srv2.stop())  # a request still hangs: the stop waits at most send_timeout
mock.hang(pnid2, False)
print("ok: a hung request timed out after send_timeout and was retried; SIGTERM stopped cleanly")
