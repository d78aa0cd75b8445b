#!/usr/bin/env python3
"""Behind a trusted proxy every websocket comes from the proxy's address, so the budget of
new websocket sessions (ws_new_sessions) belongs to the client X-Forwarded-For names:
one client spending its budget leaves the others theirs; an untrusted header is ignored."""

import lkt
from lkt import check

PER_MIN = 3
srv = lkt.Server("ws-proxy-budget", config={"ws_new_sessions": PER_MIN,
                                            "trusted_proxies": "127.0.0.1"}).start()
P = srv.port


def new_session(xff):
    c = lkt.WS(P, headers={"X-Forwarded-For": xff} if xff else None)
    c.send_json({"type": "hello"})
    m = c.recv_json()
    c.close()
    return m


# One client behind the proxy spends its budget (the bucket may refill by one meanwhile).
refused = None
for i in range(PER_MIN + 3):
    m = new_session("203.0.113.7")
    if m["type"] == "error":
        check("too many new conversations" in m["error"], "error: %r" % m)
        refused = i
        break
check(refused is not None and PER_MIN <= refused <= PER_MIN + 1,
      "the first client was refused after %r sessions, expected %d" % (refused, PER_MIN))
# Another client behind the same proxy still gets new sessions.
for i in range(PER_MIN):
    m = new_session("198.51.100.9, 127.0.0.1")
    check(m["type"] == "welcome", "another client behind the proxy was refused: %r" % m)
srv.check_clean_exit(srv.stop())

# Without trust, the header names nobody: every connection spends 127.0.0.1's budget.
srv = lkt.Server("ws-proxy-untrusted", config={"ws_new_sessions": PER_MIN,
                                               "trusted_proxies": "none"}).start()
P = srv.port
got = [new_session("203.0.113.%d" % i)["type"] for i in range(PER_MIN + 3)]
check("error" in got, "an untrusted X-Forwarded-For gave each connection a budget: %r" % got)
srv.check_clean_exit(srv.stop())
print("ok")
