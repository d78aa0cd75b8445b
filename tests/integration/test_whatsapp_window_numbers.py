#!/usr/bin/env python3
"""Several numbers, several flows: the outside_window template is the one the number's own
flow names. The server's flow (Chika) names chika_lanjut; a second number runs
tests/integration/flows/tiny.json (wa_numbers), which names none. A reply Meta refuses with
131047 goes as Chika's template on Chika's number, and is kept unsent on the other: never
another flow's template."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check

mport = lkt.free_port()
mock_graph.serve(mport)
mock = lkt.MockClient(mport)
chika, tiny = lkt.unique_pnid(), lkt.unique_pnid()
srv = lkt.Server("window-numbers", config={
    "sender_poll": "100ms", "retry_base": "100ms", "retry_cap": "300ms", "sync": "normal",
    "wa_numbers": "%s=tests/integration/flows/tiny.json" % tiny},
    env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}).start()

for pnid, user, text in ((chika, "6284100000001", "Hi Chika"), (tiny, "6284100000002", "halo")):
    mock.fail(pnid, 1, status=400, code=131047)
    lkt.wa_say(srv.port, pnid, user, text)

lkt.wait_for(lambda: len(mock.delivered(chika)) == 1, what="Chika's template")
t = mock.delivered(chika)[0]["payload"]
check(t["type"] == "template" and t["template"]["name"] == "chika_lanjut", "not Chika's template: %r" % t)
row = lkt.wait_for(lambda: (lambda r: r if r and r[0][0] else None)(srv.db_query(
    "SELECT sent_ms IS NOT NULL, remote_id, last_error FROM outbox WHERE user = ?",
    ("6284100000002",))), what="the other number's reply out of the queue")
check(row[0][1] is None and "names no outside_window template" in (row[0][2] or ""),
      "the reply on the number without a template: %r" % (row,))
check(mock.delivered(tiny) == [] and len(mock.requests(tiny)) == 1,
      "the number without a template sent: %r" % mock.requests(tiny))
code = srv.stop()
srv.check_clean_exit(code)
print("ok: each number's flow decides its outside_window template")
