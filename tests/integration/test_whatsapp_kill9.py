#!/usr/bin/env python3
"""kill -9 with replies pending: the Graph API mock fails while several users talk (and
holds one more request, of another phone number, in flight), the server is killed with
SIGKILL, started again on the same database, and the mock recovers. Every reply
committed before the kill is delivered, in order per user, and none twice except the one
that was in flight at the kill: the API took it but the server died before marking it
sent, so it goes again (at-least-once at that one point); the test counts exactly one."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check

mport = lkt.free_port()
_, state = mock_graph.serve(mport)
srv = lkt.Server("kill9", config={"retry_base": "100ms", "retry_cap": "500ms", "sender_poll": "100ms",
                                  "rate": 1000, "burst": 1000},
                 env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport})
pnid, slow_pnid = lkt.unique_pnid(), lkt.unique_pnid()
users = ["6281%08d" % i for i in range(4)]
slow_user = "6289999999"
with state.lock:
    state.failing[pnid] = [-1, 503]  # failing until told otherwise
    state.delay[slow_pnid] = 3.0     # answers (200) only after the kill
srv.start()

for u in users:
    for m in (lkt.wa_text(u, "Hi Chika"), lkt.wa_list_reply(u, "6", "PANDAWA"),
              lkt.wa_text(u, "menu")):
        st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [m]))
        check(st == 200, "a message answered %d" % st)


def attempts():
    with state.lock:
        return len(state.requests.get(pnid, []))


lkt.wait_for(lambda: attempts() >= 2 * len(users), what="failed send attempts before the kill")
st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(slow_pnid, [lkt.wa_text(slow_user, "Hi Chika")]))
check(st == 200, "the slow user's message answered %d" % st)
lkt.wait_for(lambda: state.arrived.get(slow_pnid, 0) == 1, what="a request in flight")
pending = srv.db_query("SELECT count(*) FROM outbox WHERE sent_ms IS NULL")[0][0]
total = srv.db_query("SELECT count(*) FROM outbox")[0][0]
check(pending == total and total >= 3 * len(users) + 1, "outbox before the kill: %d/%d" % (pending, total))
srv.kill9()
print("killed with %d replies pending after %d failed attempts" % (pending, attempts()))

srv.start()
with state.lock:
    state.failing[pnid] = [0, 200]  # recovered
    state.delay[slow_pnid] = 0
lkt.wait_for(lambda: srv.db_query("SELECT count(*) FROM outbox WHERE sent_ms IS NULL")[0][0] == 0,
             timeout=60, what="every pending reply delivered")
time.sleep(0.5)  # a duplicate send would arrive within the sender's poll interval


def slow_delivered():
    with state.lock:
        return [r for r in state.requests.get(slow_pnid, []) if r["status"] == 200]


lkt.wait_for(lambda: len(slow_delivered()) == 2, timeout=10,
             what="the in-flight reply answered by the mock and then sent again")
rows = srv.db_query("SELECT id, user, payload, remote_id FROM outbox ORDER BY id")
with state.lock:
    ok = [r for r in state.requests.get(pnid, []) + state.requests.get(slow_pnid, [])
          if r["status"] == 200]
dups = 0
for u in users + [slow_user]:
    want = [r[2] for r in rows if r[1] == u]
    got = [r["payload"] for r in ok if r["payload"]["to"] == u]
    want = [json.loads(p) for p in want]
    # allow one repeat of a reply that was in flight at the kill, right after itself
    dedup = [p for i, p in enumerate(got) if i == 0 or p != got[i - 1]]
    dups += len(got) - len(dedup)
    check(dedup == want, "user %s: delivered %d replies, %d committed, or out of order"
          % (u, len(dedup), len(want)))
check(dups == 1, "%d replies were sent twice; only the one in flight at the kill may be" % dups)
check(len({r[3] for r in rows}) == len(rows), "remote ids are not unique")
code = srv.stop()
srv.check_clean_exit(code)
print("ok: %d replies delivered after the restart, %d sent twice (in flight at the kill)"
      % (len(rows), dups))
