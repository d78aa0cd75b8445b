#!/usr/bin/env python3
"""The store pipeline's promises around the commit, with the worker held between the
step and the commit (LOKET_TEST_HOLD_COMMIT, for tests only):

1. Nothing leaves before its commit: while a batch is held its websocket client has no
   reply and no done, its generic POST no answer, its WhatsApp webhook no 200 and the
   Graph API mock no request. kill -9 then: after a restart, what was acknowledged before
   is there and the held messages left no trace (they were never acknowledged), and
   sending them again processes them (not duplicates).
2. SIGTERM drains: messages queued behind a held batch are all committed before the
   server exits 0.
3. SIGHUP swaps the flow between batches: a batch stepped with the old flow commits and
   answers with it (its replies point into the old flow, which must stay alive: the
   sanitizer build would see it freed), the next batch uses the new one."""

import os
import signal
import threading

import lkt
import pipeline_hold
from lkt import check
from pipeline_hold import HeldServer, frames


def in_thread(fn, *args):
    """Runs fn(*args) in a thread; its answer, or ("no answer", why), lands in out."""
    out = []

    def run():
        try:
            out.append(fn(*args))
        except Exception as e:  # the server was killed: no answer
            out.append(("no answer", repr(e)))
    t = threading.Thread(target=run)
    t.start()
    return t, out


# ---- 1. kill -9 between the step and the commit --------------------------------------------
h = HeldServer("pipe-kill9").start()
P = h.port

ws = lkt.WS(P)
replies, done = ws.step("Hi Chika")  # acknowledged: committed before its done
check(done["type"] == "done" and replies, "the first message was not answered: %r" % done)
user = [u for u in lkt.TOKENS][-1]
before = h.srv.db_query("SELECT count(*) FROM log WHERE user = ?", (user,))[0][0]
check(before >= 2, "the acknowledged message is not in the log")

h.on()
ws.send_json({"type": "message", "text": "6"})
check(h.wait_held() == 1, "the held batch is not the one message")
t, answers = in_thread(lkt.http_json, P, "POST", "/v1/messages",
                       {"from": "pipe-kill9-generic", "text": "Hi Chika"})
pnid = lkt.unique_pnid()
wa_user = "6281%08d" % (os.getpid() % 10 ** 8)
twa, wa_answers = in_thread(lkt.wa_post, P, lkt.wa_notification(pnid, [lkt.wa_text(
    wa_user, "Hi Chika")]))
h.wait_queued(2)  # the POST and the webhook wait behind the held batch
# (frames(ws, t) reads what the socket has; with t = 0 it would look at its buffer only)
seen = [f for f in frames(ws, 0.1) if f.get("type") in ("reply", "done", "error")]
check(not seen, "frames left before their commit: %r" % seen)
check(not answers and not wa_answers, "answered before the commit: %r %r"
      % (answers, wa_answers))
check(h.srv.db_query("SELECT count(*) FROM log WHERE user = ?", (user,))[0][0] == before,
      "the held message is visible in the database before its commit")
h.srv.kill9()
t.join(30)
twa.join(30)
check(answers and answers[0][0] != 200, "the POST got an answer from a killed server: %r"
      % answers)
check(wa_answers and wa_answers[0][0] != 200, "the webhook got a 200 from a killed server: %r"
      % wa_answers)
os.unlink(h.hold)

h.srv.env.pop("LOKET_TEST_HOLD_COMMIT")
h.srv.start()
rows = h.srv.db_query("SELECT dir, text FROM log WHERE user = ? ORDER BY id", (user,))
check(len(rows) == before and rows[0][1] == "Hi Chika",
      "after kill -9 the log of the acknowledged message changed: %r" % rows)
check(h.srv.db_query("SELECT count(*) FROM sessions WHERE user = 'pipe-kill9-generic'")[0][0]
      == 0, "the held POST's session was committed")
check(h.srv.db_query("SELECT count(*) FROM outbox WHERE user = ?", (wa_user,))[0][0] == 0,
      "the held webhook's replies reached the outbox")
ws = lkt.WS(P)
check(ws.hello(user) == user, "the session was not resumed")
replies, done = ws.step("6")
check(done["type"] == "done" and "PANDAWA" in lkt.text_of(replies).upper(),
      "the lost message, sent again, was not processed: %r %r" % (replies, done))
st, r = lkt.http_json(P, "POST", "/v1/messages", {"from": "pipe-kill9-generic",
                                                    "text": "Hi Chika"})
check(st == 200 and r["replies"] and not r.get("duplicate"), "POST again: %d %r" % (st, r))
ws.close()
check(h.srv.stop() == 0, "the restarted server did not stop cleanly")
h.srv.check_clean_exit(0)

# ---- 2. SIGTERM commits what is queued ---------------------------------------------------------
h = HeldServer("pipe-drain").start()
P = h.port
h.on()
first = lkt.WS(P)
first.send_json({"type": "message", "text": "Hi Chika"})
h.wait_held()
clients = [lkt.WS(P) for _ in range(8)]
for c in clients:
    c.send_json({"type": "message", "text": "Hi Chika"})
h.wait_queued(len(clients))
h.srv.signal(signal.SIGTERM)
lkt.wait_for(lambda: "stopping" in h.srv.log_text(), what="the server to see SIGTERM")
os.unlink(h.hold)
code = h.srv.proc.wait(30)
h.srv.check_clean_exit(code)
n = h.srv.db_query("SELECT count(*) FROM sessions WHERE channel = 'ws'")[0][0]
check(n == len(clients) + 1, "SIGTERM lost queued messages: %d sessions of %d"
      % (n, len(clients) + 1))
check(h.srv.db_query("SELECT count(*) FROM log WHERE dir = 'in'")[0][0] == len(clients) + 1,
      "not every queued message was logged before the exit")

# ---- 3. SIGHUP between batches -----------------------------------------------------------------
h = HeldServer("pipe-reload", flow="pipe").start()
P = h.port
a, b = lkt.WS(P), lkt.WS(P)
h.on()
a.send_json({"type": "message", "text": "1"})  # stepped with the old flow, then held
h.wait_held()
pipeline_hold.write_flow(h.srv.flow, say_prefix="m=")
h.srv.signal(signal.SIGHUP)
lkt.wait_for(lambda: "flow reloaded" in h.srv.log_text(), what="the flow reload")
b.send_json({"type": "message", "text": "1"})
h.wait_queued(1)
h.off()
ra, da = a.collect()
rb, db = b.collect()
check(da["type"] == "done" and lkt.text_of(ra).startswith("n=1"),
      "the batch stepped before the reload did not answer with the old flow: %r" % ra)
check(ra and [c["title"] for c in ra[-1].get("choices", [])] == ["count", "loop"],
      "the old flow's choices are not in its replies: %r" % ra)
check(db["type"] == "done" and lkt.text_of(rb).startswith("m=1"),
      "the batch after the reload did not use the new flow: %r" % rb)
a.close()
b.close()
code = h.srv.stop()
h.srv.check_clean_exit(code)
print("ok")
