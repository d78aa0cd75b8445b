#!/usr/bin/env python3
"""Delivery statuses, as Meta's statuses webhook sends them: the outbox row of a sent reply
keeps the message id the Graph API gave it, and each status names that id. The row moves
forward only (sent, delivered, read; a "delivered" that arrives after "read" leaves it
read), a failed status keeps its error code, a status of an unknown id changes nothing,
and /metrics counts the statuses by status."""

import time

import lkt
from lkt import check

srv = lkt.shared_server()
mock = lkt.MockClient(srv.mock_port)
pnid = lkt.unique_pnid()
user = "6281%09d" % int(pnid[-9:])
user2 = "6281%09d" % (int(pnid[-9:]) + 1)


def status(wamid, st, recipient, errors=None):
    s = {"id": wamid, "status": st, "timestamp": str(int(time.time())), "recipient_id": recipient,
         "conversation": {"id": "CONV-" + wamid[-6:], "origin": {"type": "service"}},
         "pricing": {"billable": False, "pricing_model": "PMP", "category": "service",
                     "type": "free_customer_service"}}
    if errors:
        s["errors"] = errors
        del s["conversation"], s["pricing"]
    return s


def row_of(u):
    r = srv.db_query("SELECT remote_id, status, error_code FROM outbox WHERE user = ?", (u,))
    return r[0] if r else None


before = {k: lkt.metric(srv.port, 'loket_whatsapp_statuses_total{status="%s"}' % k)
          for k in ("sent", "delivered", "read", "failed")}
unmatched = lkt.metric(srv.port, "loket_whatsapp_statuses_unmatched_total")
for u in (user, user2):
    lkt.wa_say(srv.port, pnid, u, "Hi Chika")
# the rows know their message ids once the sends are answered
rid = lkt.wait_for(lambda: (row_of(user) or [None])[0], what="the first reply's remote id")
rid2 = lkt.wait_for(lambda: (row_of(user2) or [None])[0], what="the second reply's remote id")
check(rid.startswith("wamid.mock-") and rid2.startswith("wamid.mock-") and rid != rid2,
      "the remote ids are not the Graph API's: %r %r" % (rid, rid2))

st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(pnid, statuses=[
    status(rid, "sent", user), status(rid, "read", user), status(rid, "delivered", user)]))
check(st == 200, "the statuses answered %d" % st)
lkt.wait_for(lambda: row_of(user)[1] == "read", what="the row read")
# the late "delivered" came in the same body, after "read": stored in the same turn
lkt.wait_for(lambda: lkt.metric(srv.port, 'loket_whatsapp_statuses_total{status="delivered"}') > before["delivered"],
             what="the late delivered counted")

failed = [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
           "error_data": {"details": "Message Undeliverable."}}]
st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(pnid, statuses=[
    status(rid2, "failed", user2, failed), status("wamid.unknown-" + pnid, "delivered", user)]))
check(st == 200, "the failed status answered %d" % st)
r2 = lkt.wait_for(lambda: (lambda r: r if r[1] == "failed" else None)(row_of(user2)),
                  what="the row failed")
check(r2[2] == 131026, "the failure's error code is not kept: %r" % (r2,))
lkt.wait_for(lambda: lkt.metric(srv.port, 'loket_whatsapp_statuses_total{status="failed"}') >= before["failed"] + 1,
             what="the failed status counted")
# the late delivered and the unknown id found no row to move (tried again for a few
# seconds, in case a status overtakes its own send): counted as unmatched
lkt.wait_for(lambda: lkt.metric(srv.port, "loket_whatsapp_statuses_unmatched_total") >= unmatched + 2,
             what="the two statuses that moved no row")
check(row_of(user)[1] == "read", "a late delivered moved the row back: %r" % (row_of(user),))
for k, n in (("sent", 1), ("read", 1), ("delivered", 2)):
    check(lkt.metric(srv.port, 'loket_whatsapp_statuses_total{status="%s"}' % k) >= before[k] + n,
          "status %s not counted" % k)
print("ok: statuses stored on the rows by remote id, forward only, failures with their code")
