#!/usr/bin/env python3
"""Sync behind (SQLite at synchronous FULL): the store worker commits at NORMAL and a
syncer thread fdatasyncs the WAL before anything of those commits is answered. With the
syncer held before its fdatasync (LOKET_TEST_HOLD_SYNC, a setting for tests only) the
messages' rows are committed (a read-only look at the database sees them) and still
nothing leaves: the websocket client has no reply and no done, the generic POST no
answer, the WhatsApp webhook no 200 and the Graph API mock no request. Released, every
answer arrives once, the reply reaches the mock once, and loket_store_syncs_total
counts the syncs (batch_max 1 there: one commit per message). SIGTERM then exits cleanly
(the syncer drained).

With batches of more than one, a worker keeps its transaction open while the syncer
still has batches to sync: messages sent while the syncer is held are stepped (taken from
the queue) and not committed (the read-only look sees none of their rows), nothing of
them is answered, and once released they are committed together in one commit and each
answered once."""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check
from pipeline_hold import HeldServer, frames


def in_thread(fn, *args):
    out = []
    t = threading.Thread(target=lambda: out.append(fn(*args)))
    t.start()
    return t, out


mport = lkt.free_port()
_, state = mock_graph.serve(mport)
# the sender is woken only by the syncer (no read receipts, no early poll): what the
# mock gets while the syncer is held would have left before its fdatasync
h = HeldServer("pipe-sync", hold="LOKET_TEST_HOLD_SYNC",
               config={"sync": "full", "wa_read_receipts": False, "sender_poll": "1h",
                       "batch_max": 1},
               env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}).start()
P = h.port
check("sync_behind=1" in h.srv.log_text(), "the server does not sync behind at FULL:\n"
      + h.srv.log_text()[-2000:])

ws = lkt.WS(P)
replies, done = ws.step("Hi Chika")
check(done["type"] == "done" and replies, "the first message was not answered: %r" % done)
user = [u for u in lkt.TOKENS][-1]
syncs = h.metric("loket_store_syncs_total")
check(syncs >= 1, "no WAL sync counted for an answered message")

h.on()
ws.send_json({"type": "message", "text": "6"})
check(h.wait_held() >= 1, "no batch held before its sync")
generic = "pipe-sync-generic"
t, answers = in_thread(lkt.http_json, P, "POST", "/v1/messages",
                       {"from": generic, "text": "Hi Chika"})
pnid = lkt.unique_pnid()
wa_user = "6281%08d" % (os.getpid() % 10 ** 8)
twa, wa_answers = in_thread(lkt.wa_post, P, lkt.wa_notification(pnid, [lkt.wa_text(
    wa_user, "Hi Chika")]))

# committed: a read-only connection sees every row while the syncer holds
lkt.wait_for(lambda: h.srv.db_query("SELECT count(*) FROM log WHERE user = ? AND dir = 'in'",
                                    (user,))[0][0] == 2, what="the held message committed")
lkt.wait_for(lambda: h.srv.db_query("SELECT count(*) FROM sessions WHERE user = ?",
                                    (generic,))[0][0] == 1, what="the POST committed")
lkt.wait_for(lambda: lkt.outbox_rows_to(h.srv, wa_user) > 0, what="the webhook's replies "
             "committed to the outbox")
# (frames(ws, t) reads what the socket has; with t = 0 it would look at its buffer only)
seen = [f for f in frames(ws, 0.1) if f.get("type") in ("reply", "done", "error")]
check(not seen, "frames left before their sync: %r" % seen)
check(not answers and not wa_answers, "answered before the sync: %r %r" % (answers, wa_answers))
with state.lock:
    sent = list(state.requests.get(pnid, []))
check(not sent, "the Graph API got a reply before its sync: %r" % sent)

os.unlink(h.hold)
replies, done = ws.collect()
check(done["type"] == "done" and "PANDAWA" in lkt.text_of(replies).upper(),
      "the held message's answer: %r %r" % (replies, done))
t.join(30)
twa.join(30)
check(answers and answers[0][0] == 200 and answers[0][1]["replies"]
      and not answers[0][1].get("duplicate"), "the POST after the sync: %r" % answers)
check(wa_answers and wa_answers[0][0] == 200, "the webhook after the sync: %r" % wa_answers)
n_out = lkt.outbox_rows_to(h.srv, wa_user)
got = lkt.wait_for(lambda: (lambda d: d if len(d) >= n_out else None)(
    [r for r in state.requests.get(pnid, []) if 200 <= r["status"] < 300]),
    what="the webhook's replies at the Graph API mock")
check(len(got) == n_out and all(r["payload"]["to"] == wa_user for r in got),
      "the mock got %d requests for %d outbox rows" % (len(got), n_out))
check(not [f for f in frames(ws, 0.1) if f.get("type") in ("reply", "done")],
      "the websocket got an answer twice")
check(h.metric("loket_store_syncs_total") > syncs, "the syncs after the release were not counted")
check(h.metric("loket_store_commits_total") >= 2, "no commits counted")

ws.close()
check(h.srv.stop() == 0, "the server did not stop cleanly")
h.srv.check_clean_exit(0)

# batches grow while the syncer is busy
h = HeldServer("pipe-grow", hold="LOKET_TEST_HOLD_SYNC", config={"sync": "full"}).start()
first = lkt.WS(h.port)
replies, done = first.step("Hi Chika")
check(done["type"] == "done" and replies, "the first message was not answered: %r" % done)
h.on()
first.send_json({"type": "message", "text": "6"})
check(h.wait_held() == 1, "the held batch is not the one message")
others = [lkt.WS(h.port) for _ in range(3)]
stepped = h.metric("loket_store_queue_seconds_count")
commits = h.metric("loket_store_commits_total")
for w in others:
    w.send_json({"type": "message", "text": "Hi Chika"})
lkt.wait_for(lambda: h.metric("loket_store_queue_seconds_count") == stepped + 3,
             what="the three messages taken by the worker")
check(h.srv.db_query("SELECT count(*) FROM log WHERE dir = 'in'")[0][0] == 2,
      "messages committed while the syncer was busy: %r"
      % h.srv.db_query("SELECT user, text FROM log WHERE dir = 'in'"))
check(not [f for w in others for f in frames(w, 0.1) if f.get("type") in ("reply", "done")],
      "a message of the open batch was answered before its commit")
check(h.metric("loket_store_commits_total") == commits, "a commit while the syncer was held")
os.unlink(h.hold)
replies, done = first.collect()
check(done["type"] == "done" and "PANDAWA" in lkt.text_of(replies).upper(),
      "the held message's answer: %r %r" % (replies, done))
for w in others:
    replies, done = w.collect()
    check(done["type"] == "done" and replies, "a message of the grown batch: %r" % done)
check(h.metric("loket_store_commits_total") == commits + 1,
      "the three messages were not one commit: %d commits"
      % (h.metric("loket_store_commits_total") - commits))
check(not [f for w in others for f in frames(w, 0.1) if f.get("type") in ("reply", "done")],
      "a message of the grown batch was answered twice")
for w in [first] + others:
    w.close()
check(h.srv.stop() == 0, "the grow server did not stop cleanly")
h.srv.check_clean_exit(0)

# NORMAL: nothing to sync behind
h2 = HeldServer("pipe-sync-normal", hold="LOKET_TEST_HOLD_SYNC",
                config={"sync": "normal"}).start()
ws = lkt.WS(h2.port)
h2.on()  # never held: there is no syncer
replies, done = ws.step("Hi Chika")
check(done["type"] == "done" and replies, "NORMAL: %r" % done)
check("sync_behind=0" in h2.srv.log_text(), "a syncer at synchronous NORMAL")
check(h2.metric("loket_store_syncs_total") == 0, "WAL syncs counted at NORMAL")
ws.close()
os.unlink(h2.hold)
check(h2.srv.stop() == 0, "the NORMAL server did not stop cleanly")
h2.srv.check_clean_exit(0)
print("ok")
