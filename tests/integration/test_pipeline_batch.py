#!/usr/bin/env python3
"""Many messages, one commit: the store worker runs each message of a batch in its own
savepoint. To make the batch certain, the worker is held before the commit of a first
message (LOKET_TEST_HOLD_COMMIT, for tests only) while the others queue up behind it;
released, it takes them all as one batch, which /metrics shows as one commit.

1. Order per user under concurrent clients: 20 websocket clients each send a whole
   conversation without waiting (pipelined) into one batch; every client gets the answers
   a lone client gets, in order.
2. A failing message inside a batch (a choice whose step runs into the flow's step bound)
   gets an error; its neighbours in the same commit are answered and committed, and the
   failed one left nothing (not even its id).
3. A duplicate inside a batch: the same generic message id twice in one commit is
   processed once and acknowledged as a duplicate once."""

import threading

import lkt
from lkt import check
from pipeline_hold import HeldServer

CONVERSATION = ["Hi Chika", "6", "menu", "9"]


def steps(ws, n):
    return [ws.collect() for _ in range(n)]


def commits(h):
    return h.metric("loket_store_commits_total")

# Read while a batch is held: after the release it commits (one), then the queued
# messages (one more, when they are one batch).


# ---- 1. order per user ------------------------------------------------------------------------
h = HeldServer("pipe-order").start()
P = h.port
ref = lkt.WS(P)
expected = [lkt.text_of(ref.step(t)[0]) for t in CONVERSATION]  # a lone client, one by one
check(all(expected) and len(set(expected)) > 1, "the reference conversation: %r" % expected)

h.on()
ref.send_json({"type": "message", "text": "menu"})
h.wait_held()
clients = [lkt.WS(P) for _ in range(20)]
for c in clients:
    for t in CONVERSATION:
        c.send_json({"type": "message", "text": t})
h.wait_queued(len(clients) * len(CONVERSATION))
c0 = commits(h)
h.off()
for i, c in enumerate(clients):
    got = steps(c, len(CONVERSATION))
    for k, (replies, done) in enumerate(got):
        check(done["type"] == "done", "client %d message %d: %r" % (i, k, done))
        check(lkt.text_of(replies) == expected[k],
              "client %d message %d (%r) out of order:\n%s\nexpected:\n%s"
              % (i, k, CONVERSATION[k], lkt.text_of(replies), expected[k]))
    c.close()
check(commits(h) == c0 + 2, "the queued messages were not one commit: %d commits"
      % (commits(h) - c0 - 1))
m = lkt.metrics(P)
check(m['loket_store_batch_messages_bucket{le="50"}'] < m["loket_store_batch_messages_count"],
      "no batch of more than 50 messages in the histogram: %r"
      % {k: v for k, v in m.items() if "batch" in k})
ref.collect()
ref.close()
check(h.srv.stop() == 0, "the server did not stop cleanly")

# ---- 2. a failing message among committed neighbours ---------------------------------------------
h = HeldServer("pipe-fail", flow="pipe").start()
P = h.port
first, a, f, c = lkt.WS(P), lkt.WS(P), lkt.WS(P), lkt.WS(P)
h.on()
first.send_json({"type": "message", "text": "1"})
h.wait_held()
a.send_json({"type": "message", "text": "1", "id": "pipe-a-1"})
f.send_json({"type": "message", "text": "2", "id": "pipe-f-1"})  # runs into the step bound
c.send_json({"type": "message", "text": "1", "id": "pipe-c-1"})
h.wait_queued(3)
c0 = commits(h)
h.off()
ra, da = a.collect()
rf, df = f.collect()
rc, dc = c.collect()
check(commits(h) == c0 + 2, "the three messages were not one commit")
check(da["type"] == "done" and lkt.text_of(ra).startswith("n=1"), "a: %r %r" % (ra, da))
check(dc["type"] == "done" and lkt.text_of(rc).startswith("n=1"), "c: %r %r" % (rc, dc))
check(df["type"] == "error" and "internal" in df["error"] and not rf,
      "the failing message was not refused: %r %r" % (rf, df))
users = dict(h.srv.db_query("SELECT user, count(*) FROM log WHERE dir = 'in' GROUP BY user"))
f_user = [u for u in lkt.TOKENS][-2]  # the welcomes came in the order a, f, c
check(len(users) == 3 and f_user not in users,
      "the failed message left rows, or its neighbours' are missing: %r (f=%s)"
      % (users, f_user))
check(h.srv.db_query("SELECT count(*) FROM seen WHERE ext_id = 'pipe-f-1'")[0][0] == 0,
      "the failed message's id was recorded")
replies, done = f.step("1")  # the failed user's session is intact: it starts counting
check(done["type"] == "done" and lkt.text_of(replies).startswith("n=1"), "f after: %r" % replies)
for w in (first, a, f, c):
    w.close()
check(h.srv.stop() == 0, "the server did not stop cleanly")

# ---- 3. a duplicate inside one batch ---------------------------------------------------------------
h = HeldServer("pipe-dedup").start()
P = h.port
h.on()
lone = lkt.WS(P)
lone.send_json({"type": "message", "text": "Hi Chika"})
h.wait_held()
answers = []


def post():
    answers.append(lkt.http_json(P, "POST", "/v1/messages",
                                 {"from": "628555", "text": "Hi Chika", "id": "dup-in-batch"}))


ts = [threading.Thread(target=post) for _ in range(2)]
for t in ts:
    t.start()
h.wait_queued(2)
c0 = commits(h)
h.off()
for t in ts:
    t.join(30)
check(commits(h) == c0 + 2, "the two POSTs were not one commit")
check(len(answers) == 2 and all(st == 200 for st, _ in answers), "answers: %r" % answers)
dups = [r for _, r in answers if r.get("duplicate")]
fresh = [r for _, r in answers if not r.get("duplicate")]
check(len(dups) == 1 and len(fresh) == 1 and fresh[0]["replies"] and not dups[0]["replies"],
      "one of the two should be a duplicate: %r" % answers)
check(h.srv.db_query("SELECT count(*) FROM log WHERE user = '628555' AND dir = 'in'")[0][0] == 1,
      "the message was logged twice")
lone.close()
check(h.srv.stop() == 0, "the server did not stop cleanly")
print("ok")
