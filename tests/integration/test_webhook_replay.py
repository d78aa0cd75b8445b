#!/usr/bin/env python3
"""A captured, correctly signed WhatsApp body sent again after the dedup window (its ids
pruned) used to be processed again. A message whose timestamp is older than the window
(dedup_keep, 8 days on the shared server) is now acknowledged and ignored: counted as
loket_errors_total{kind="stale"} and logged. Its neighbours in the body still count, and a
message without a timestamp (which Meta always sends) is refused too."""

import time

import lkt
from lkt import check

srv = lkt.shared_server()
pnid = lkt.unique_pnid()
base = int(pnid[-8:])
old_user, fresh_user, no_ts = ["6286%08d" % (base + i) for i in range(3)]


def stale():
    return lkt.metrics(srv.port).get('loket_errors_total{kind="stale"}', 0)


before = stale()
replayed = lkt.wa_text(old_user, "Hi Chika")
replayed["timestamp"] = str(int(time.time()) - 9 * 86400)  # captured nine days ago
missing = lkt.wa_text(no_ts, "Hi Chika")
del missing["timestamp"]
st, _, body = lkt.wa_post(srv.port, lkt.wa_notification(
    pnid, [replayed, lkt.wa_text(fresh_user, "Hi Chika"), missing]))
check(st == 200, "the body answered %d %r (a replay is acknowledged, not retried)" % (st, body))
check(lkt.outbox_rows_to(srv, old_user) == 0, "a message nine days old was processed (a replay)")
check(lkt.outbox_rows_to(srv, no_ts) == 0, "a message without a timestamp was processed")
check(lkt.outbox_rows_to(srv, fresh_user) >= 1, "the fresh message beside the replay was dropped")
check(stale() == before + 1, "the replay is not counted as stale in /metrics")
log = lkt.wait_for(lambda: (lambda t: t if "older than the dedup window" in t else None)(
    open(srv.log, errors="replace").read()), what="the replay in the server log")
check(old_user not in log, "the user's phone number is in the log")

# a message a minute old (Meta delivering late) is processed
late = lkt.wa_text(old_user, "Hi Chika")
late["timestamp"] = str(int(time.time()) - 60)
st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [late]))
check(st == 200 and lkt.outbox_rows_to(srv, old_user) >= 1, "a message a minute old was refused")
print("ok: a replayed message refused and counted; its neighbours processed")
