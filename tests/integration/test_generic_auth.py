#!/usr/bin/env python3
"""POST /v1/messages with LOKET_GENERIC_TOKEN set: a request without the bearer token, or
with a wrong one, is refused with 401 and touches no session; the right one is answered.
The token never appears in the server's log."""

import lkt
from lkt import check

TOKEN = "generic-token-7f3a9c"
srv = lkt.Server("generic-auth", env={"LOKET_GENERIC_TOKEN": TOKEN}).start()
P = srv.port
msg = {"from": "628777", "text": "Hi Chika", "id": "g-1"}

st, _, body = lkt.http(P, "POST", "/v1/messages", msg)
check(st == 401, "no token: answered %d %r" % (st, body))
st, _, body = lkt.http(P, "POST", "/v1/messages", msg, {"Authorization": "Bearer wrong"})
check(st == 401, "wrong token: answered %d %r" % (st, body))
st, _, body = lkt.http(P, "POST", "/v1/messages", msg, {"Authorization": TOKEN})
check(st == 401, "token without Bearer: answered %d %r" % (st, body))
check(srv.db_query("SELECT count(*) FROM sessions WHERE user = '628777'")[0][0] == 0,
      "a refused request touched a session")

st, _, body = lkt.http(P, "POST", "/v1/messages", msg, {"Authorization": "Bearer " + TOKEN})
check(st == 200 and b"Chika" in body, "right token: answered %d %r" % (st, body))
# the id refused before was not recorded: the accepted request was processed, not a duplicate
check(b"duplicate" not in body, "the refused requests recorded the message id")
srv.stop()
with open(srv.log) as f:
    check(TOKEN not in f.read(), "the token appears in the log")
print("ok: /v1/messages wants its bearer token when LOKET_GENERIC_TOKEN is set")
