#!/usr/bin/env python3
"""Two `loket serve` processes on one PostgreSQL database, each with several store workers
(server A the default for PostgreSQL, four; server B three), WhatsApp webhooks whose bodies
carry the messages of many users at once, so that every batch holds several users:

- users whose messages alternate between the servers, many at a time, are answered in
  order, every message once: the log holds each user's messages in the order sent, and
  the replies are those one server gives;
- the same messages delivered to both servers at once, in opposite orders of their users
  (two batches that would each hold a user the other waits for), are processed once each,
  and no batch meets a lock conflict: a batch locks its users in one order on every server;
- a real deadlock (another connection holding a session row a batch needs, then asking for
  one the batch holds; server C, one worker gathering both messages in one batch) fails the
  batch's statement: the batch is rolled back and run again, and its messages are answered
  once, in order."""

import json
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
import lkt
from lkt import check

db = lkt.pg_database("workers")
conf = {"rate": 100000, "burst": 100000, "batch_wait_us": 2000}
a = lkt.Server("pg-wk-a", db=db, config=conf).start()
b = lkt.Server("pg-wk-b", db=db, config=dict(conf, store_workers=3)).start()
pnid = lkt.unique_pnid()

# each server: its own connection, and one per store worker
conns = lkt.pg_count(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                         "AND application_name = 'loket'")
check(conns >= 4 + 3 + 2, "%d connections of loket: not one per store worker" % conns)


def post(srv, msgs):
    st, _, body = lkt.wa_post(srv.port, lkt.wa_notification(pnid, msgs))
    check(st == 200, "a webhook answered %d %r" % (st, body))


TALK = [("text", "Hi Chika"), ("list", "6"), ("text", "jabar"), ("text", "bekasi"),
        ("text", "1"), ("text", "menu"), ("text", "2"), ("text", "menu")]


def msg(user, i, tag):
    kind, v = TALK[i]
    wamid = "wamid.%s-%s-%d" % (tag, user, i)
    if kind == "list":
        return lkt.wa_list_reply(user, v, "PANDAWA", wamid=wamid)
    return lkt.wa_text(user, v, wamid=wamid)


def texts(user):
    out = []
    for (p,) in lkt.psql(db, "SELECT payload FROM outbox WHERE \"user\" = '%s' ORDER BY id" % user):
        d = json.loads(p)
        d.pop("to", None)
        out.append(d)
    return out


def inbound(user):
    return [r[0] for r in lkt.psql(db, "SELECT ext_id FROM log WHERE \"user\" = '%s' AND "
                                       "dir = 'in' ORDER BY id" % user)]


REF = "6281390000000"
for i in range(len(TALK)):  # the reference: one user, one server, one message at a time
    post(a, [msg(REF, i, "ref")])
want = texts(REF)
check(len(want) >= len(TALK), "the reference conversation got %d replies" % len(want))

# ---- many users at once, each alternating between the servers ----------------------------
# 4 groups of 6 users; a group's users send their i-th message together in one body, to
# server A for even i and B for odd i (the order of the users reversed on B); the groups
# run side by side, so both servers' workers hold several users at a time.
GROUPS = [["62813910%02d%03d" % (g, k) for k in range(6)] for g in range(4)]


def group(users):
    for i in range(len(TALK)):
        srv, order = (a, users) if i % 2 == 0 else (b, users[::-1])
        post(srv, [msg(u, i, "alt") for u in order])


ts = [threading.Thread(target=group, args=(g,)) for g in GROUPS]
for t in ts:
    t.start()
for t in ts:
    t.join()
for g in GROUPS:
    for u in g:
        ids = inbound(u)
        sent = ["wamid.alt-%s-%d" % (u, i) for i in range(len(TALK))]
        check(ids == sent, "%s: the log holds %r, sent %r" % (u, ids, sent))
        check(texts(u) == want, "%s: the replies differ from one server's:\n%r\n%r"
              % (u, texts(u), want))

# ---- the same messages to both servers at once, users in opposite orders ------------------
BOTH = ["62813920%04d" % k for k in range(24)]
for rnd in range(4):
    m = [msg(u, rnd, "both") for u in BOTH]
    ts = [threading.Thread(target=post, args=(a, m)),
          threading.Thread(target=post, args=(b, m[::-1]))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
for u in BOTH:
    ids = inbound(u)
    sent = ["wamid.both-%s-%d" % (u, i) for i in range(4)]
    check(ids == sent, "%s: delivered to both servers, the log holds %r" % (u, ids))
    check(texts(u) and texts(u) == want[:len(texts(u))],
          "%s: the replies of messages sent to both servers are not one server's" % u)
for s in (a, b):
    log = s.log_text()
    check("lock conflict" not in log and "batch failed" not in log,
          "%s: a batch met a lock conflict:\n%s" % (s.log, log[-3000:]))


# ---- a deadlock with another connection: the batch runs again -----------------------------
# server C: one worker that waits for a webhook body's two messages, so that both are in
# one batch (the deadlock needs one transaction holding u1 and waiting for u2)
c = lkt.Server("pg-wk-c", db=db, config=dict(conf, store_workers=1,
                                              batch_wait_us=300000)).start()
u1, u2 = "6281393000001", "6281393000002"
post(c, [msg(u1, 0, "dl"), msg(u2, 0, "dl")])

other = subprocess.Popen(["psql", "-X", "-q", "-d", db], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)


def other_sql(sql):
    other.stdin.write(sql + "\n")
    other.stdin.flush()


def waiting():
    return lkt.pg_count(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND wait_event_type = 'Lock'")


other_sql("BEGIN; SELECT 1 FROM sessions WHERE \"user\" = '%s' FOR UPDATE;" % u2)
lkt.wait_for(lambda: lkt.pg_count(db, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON "
                                      "c.oid = l.relation WHERE c.relname = 'sessions' AND "
                                      "l.mode = 'RowShareLock' AND l.granted") > 0,
             what="the other connection holds a session row")
res = {}
t = threading.Thread(target=lambda: res.update(st=lkt.wa_post(
    c.port, lkt.wa_notification(pnid, [msg(u1, 1, "dl"), msg(u2, 1, "dl")]))[0]))
t.start()
# the batch holds u1's row and waits for u2's; the other connection then asks for u1's
lkt.wait_for(lambda: waiting() == 1, what="the batch waits for the row the other holds")
other_sql("SELECT 1 FROM sessions WHERE \"user\" = '%s' FOR UPDATE;" % u1)
lkt.wait_for(lambda: "run again" in c.log_text(), timeout=30,
             what="the batch rolled back after the deadlock and run again")
other_sql("COMMIT;")
other.stdin.close()
other.wait(timeout=30)
t.join(timeout=60)
check(res.get("st") == 200, "the webhook of the batch that met a deadlock answered %r" % res)
retry = [ln for ln in c.log_text().splitlines() if "run again" in ln]
check(len(retry) == 1 and "messages=2" in retry[0] and "deadlock detected" in retry[0],
      "the batch ran again for another reason than the deadlock: %r" % retry)
for u in (u1, u2):
    ids = inbound(u)
    sent = ["wamid.dl-%s-%d" % (u, i) for i in range(2)]
    check(ids == sent, "%s: after the deadlock the log holds %r, sent %r" % (u, ids, sent))
    check(texts(u) and texts(u) == want[:len(texts(u))],
          "%s: the replies after the deadlock are not one server's: %r" % (u, texts(u)))

for s in (a, b, c):
    s.check_clean_exit(s.stop())
print("ok: %d users alternating between two servers of several store workers answered in "
      "order, once; %d users' messages sent to both servers in opposite orders processed "
      "once without a lock conflict; a batch that met a deadlock ran again"
      % (sum(map(len, GROUPS)), len(BOTH)))
