#!/usr/bin/env python3
"""An expired access token (HTTP 401, Graph code 190) or a missing permission (403, code
10) is not the reply's fault: it used to be dropped like a refused message. Now the reply
is kept however long it takes (here past retry_give_up, which drops an ordinary failing
reply), every request waits while the token is refused, /metrics raises
loket_whatsapp_auth_failing and counts class auth, the log has an ERROR line an operator
sees, and the token itself appears nowhere in the log. Once the API takes the token again
the reply goes and the gauge falls back to 0."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check

mport = lkt.free_port()
_, state = mock_graph.serve(mport)
mock = lkt.MockClient(mport)
srv = lkt.Server("send-auth", config={"retry_base": "100ms", "retry_cap": "400ms",
                                      "retry_give_up": "1s", "sender_poll": "100ms",
                                      "sync": "normal", "log": "info"},
                 env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport})
srv.start()


pnid = lkt.unique_pnid()
user = "6282%08d" % int(pnid[-8:])
mock.fail(pnid, 6, status=401, code=190)
lkt.wa_say(srv.port, pnid, user, "Hi Chika")
lkt.wait_for(lambda: lkt.metric(srv.port, "loket_whatsapp_auth_failing") == 1, what="the auth gauge at 1")
lkt.wait_for(lambda: len(mock.delivered(pnid)) == 1, timeout=30, what="the reply once the token works")
statuses = [r["status"] for r in mock.requests(pnid)]
check(statuses == [401] * 6 + [200], "requests at the mock: %r" % statuses)
row = srv.db_query("SELECT remote_id, attempts FROM outbox WHERE user = ?", (user,))
check(row and row[0][0] and row[0][1] == 6, "the kept reply's row: %r" % row)
check(lkt.metric(srv.port, "loket_whatsapp_auth_failing") == 0, "the auth gauge stayed up after a success")
check(lkt.metric(srv.port, 'loket_whatsapp_send_errors_total{class="auth"}') >= 6, "auth errors not counted")

# a missing permission is the same case
pnid2 = lkt.unique_pnid()
user2 = "6282%08d" % (int(pnid2[-8:]) + 1)
mock.fail(pnid2, 2, status=403, code=10)
lkt.wa_say(srv.port, pnid2, user2, "Hi Chika")
lkt.wait_for(lambda: len(mock.delivered(pnid2)) == 1, timeout=30, what="the reply after permission errors")
check([r["status"] for r in mock.requests(pnid2)] == [403, 403, 200], "permission requests: %r"
      % [r["status"] for r in mock.requests(pnid2)])
check(all(r["authorization"] == "Bearer " + lkt.WA_TOKEN for r in mock.requests(pnid)),
      "the requests did not carry the token")

code = srv.stop()
srv.check_clean_exit(code)
log = srv.log_text()
check(any("level=error" in l and "access token" in l for l in log.splitlines()),
      "no ERROR line about the access token in the log")
check(lkt.WA_TOKEN not in log, "the access token is in the log")
print("ok: replies kept through token and permission errors, delivered after; gauge and log")
