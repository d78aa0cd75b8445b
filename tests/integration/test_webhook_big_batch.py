#!/usr/bin/env python3
"""10,000 messages in one WhatsApp body used to be handled in one callback, stalling every
other connection for seconds. A body is now taken batch_per_turn messages per turn of the
loop: while a big body is being handled, other requests are answered (here /metrics, seen
half-way through the body), and the body's 200 comes only after its last message
committed. Without LOKET_WA_TOKEN the replies wait in the outbox untouched."""

import threading

import lkt
from lkt import check

N = 3000
srv = lkt.Server("big-batch", config={"sync": "normal", "rate": 1000, "burst": 1000,
                                      "batch_per_turn": 16, "retry_base": "1h", "retry_cap": "1h"},
                 env={"LOKET_WA_TOKEN": ""})  # replies stay queued: no sends competing here
srv.start()
pnid = lkt.unique_pnid()
note = lkt.wa_notification(pnid, [lkt.wa_text("6283%08d" % i, "Hi Chika") for i in range(N)])


def handled():
    return lkt.metrics(srv.port).get('loket_messages_in_total{channel="whatsapp"}', 0)


before = handled()
result = {}


def post():
    result["answer"] = lkt.wa_post(srv.port, note)
    result["after"] = handled()


t = threading.Thread(target=post)
t.start()
seen = []
while t.is_alive() and not any(before < n < before + N for n in seen):
    seen.append(handled())
t.join(120)
check("answer" in result, "the big body was not answered")
st, _, body = result["answer"]
check(st == 200, "the big body answered %d %r" % (st, body))
check(result["after"] == before + N, "answered before every message was handled: %d of %d"
      % (result["after"] - before, N))
mid = [n - before for n in seen if before < n < before + N]
check(mid, "no other request was answered while the body was handled (saw %r)"
      % sorted(set(n - before for n in seen))[:10])
st, _, _ = lkt.http(srv.port, "GET", "/healthz")
check(st == 200, "/healthz answered %d" % st)
# without a token the replies wait as they were (no attempt, no retry written), said once
pending, tried = srv.db_query("SELECT count(*), coalesce(sum(attempts), 0) FROM outbox "
                              "WHERE sent_ms IS NULL")[0]
check(pending >= N and tried == 0, "%d replies waiting, %d attempts made" % (pending, tried))
srv.check_clean_exit(srv.stop())
log = srv.log_text()
check(log.count("LOKET_WA_TOKEN is not set") == 1 and "will retry" not in log,
      "the missing token was logged %d times" % log.count("LOKET_WA_TOKEN is not set"))
print("ok: %d messages in one body; /metrics answered %d times while it was handled (first at %d)"
      % (N, len(mid), mid[0]))
