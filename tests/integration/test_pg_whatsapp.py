#!/usr/bin/env python3
"""Two `loket serve` processes on one PostgreSQL database, WhatsApp webhooks:

- one message id delivered to both servers at once (as Meta does when it retries on
  another address) is processed once: one inbound log row, one step's replies;
- a user whose messages alternate between the servers is answered in order: the log
  holds them in the order sent, the replies are those one server gives, and the Graph
  API mock receives them in the outbox's order."""

import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check

mport = lkt.free_port()
_, state = mock_graph.serve(mport)
db = lkt.pg_database("whatsapp")
conf = {"rate": 100000, "burst": 100000, "sender_poll": "100ms"}
env = {"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}
a = lkt.Server("pg-wa-a", db=db, config=conf, env=env).start()
b = lkt.Server("pg-wa-b", db=db, config=conf, env=env).start()
pnid = lkt.unique_pnid()


def post(srv, msg):
    st, _, body = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [msg]))
    check(st == 200, "a webhook answered %d %r" % (st, body))


# ---- one id, both servers at once --------------------------------------------------------
N = 20
for i in range(N):
    user = "62812%07d" % i
    msg = lkt.wa_text(user, "Hi Chika", wamid="wamid.both-%d" % i)
    ts = [threading.Thread(target=post, args=(s, msg)) for s in (a, b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
ins = lkt.pg_count(db, "SELECT count(*) FROM log WHERE dir = 'in' AND ext_id LIKE 'wamid.both-%'")
check(ins == N, "%d inbound log rows for %d message ids sent to both servers" % (ins, N))
seen = lkt.pg_count(db, "SELECT count(*) FROM seen WHERE ext_id LIKE 'wamid.both-%'")
check(seen == N, "%d processed ids for %d" % (seen, N))
per_user = lkt.psql(db, "SELECT \"user\", count(*) FROM outbox WHERE \"user\" LIKE '62812%' "
                        "GROUP BY \"user\"")
counts = {int(c) for _, c in per_user}
check(len(per_user) == N and len(counts) == 1,
      "replies per user differ (a message stepped twice?): %r" % per_user)

# ---- one user, alternating servers -------------------------------------------------------
TALK = [lkt.wa_text("X", "Hi Chika"), lkt.wa_list_reply("X", "6", "PANDAWA"),
        lkt.wa_text("X", "jabar"), lkt.wa_text("X", "bekasi"), lkt.wa_text("X", "1"),
        lkt.wa_text("X", "menu"), lkt.wa_text("X", "2"), lkt.wa_text("X", "menu")]


def talk(user, servers):
    for i, m in enumerate(TALK):
        m = json.loads(json.dumps(m).replace('"X"', '"%s"' % user))
        m["id"] = "wamid.%s-%d" % (user, i)
        post(servers[i % len(servers)], m)


talk("6281300000001", [a])       # the reference: one server
talk("6281300000002", [a, b])    # the same, alternating
talk("6281300000003", [b, a])


def texts(user):
    rows = lkt.psql(db, "SELECT payload FROM outbox WHERE \"user\" = '%s' ORDER BY id" % user)
    out = []
    for (p,) in rows:
        d = json.loads(p)
        d.pop("to", None)
        out.append(d)
    return out


want = texts("6281300000001")
check(len(want) >= len(TALK), "the reference conversation got %d replies" % len(want))
for u in ("6281300000002", "6281300000003"):
    got_in = [r[0] for r in lkt.psql(db, "SELECT text FROM log WHERE \"user\" = '%s' AND dir = 'in' "
                                        "ORDER BY id" % u)]
    check(len(got_in) == len(TALK), "%s: %d inbound rows" % (u, len(got_in)))
    check(texts(u) == want, "%s: the replies differ from one server's:\n%r\n%r" % (u, texts(u), want))

# every reply delivered, once, in the outbox's order per user
lkt.wait_for(lambda: lkt.pg_count(db, "SELECT count(*) FROM outbox WHERE sent_ms IS NULL") == 0,
             timeout=60, what="every reply delivered")
rows = lkt.psql(db, "SELECT \"user\", payload FROM outbox ORDER BY id")
with state.lock:
    got = [r["payload"] for r in state.requests.get(pnid, []) if r["status"] == 200]
for u in {r[0] for r in rows}:
    w = [json.loads(p) for usr, p in rows if usr == u]
    g = [p for p in got if p.get("to") == u]
    check(g == w, "user %s: %d delivered for %d committed, or out of order" % (u, len(g), len(w)))
for s in (a, b):
    s.check_clean_exit(s.stop())
print("ok: %d ids sent to both servers processed once; alternating users answered in order "
      "like one server; %d replies delivered once each" % (N, len(rows)))
