#!/usr/bin/env python3
"""The 24-hour customer service window. Replies that waited in the outbox (the Graph API
failing) while the server was down for a day would leave more than 24 hours after the
user's last message, which Meta refuses. The test makes that day pass in the database
(its rows and the session a day older, the server stopped) and starts the server again:

- Chika names an outside_window template: the user's first waiting reply goes as that
  template (type template, name, language, body parameters), the later one of the same
  silence is kept unsent instead of a second template; once the user writes again the
  window is open and the reply goes as an ordinary message;
- a flow that names none (tests/integration/flows/tiny.json): the replies are kept unsent
  with an error that says why, and /metrics counts them."""

import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check

DAY_MS = 25 * 3600 * 1000
mport = lkt.free_port()
_, state = mock_graph.serve(mport)
mock = lkt.MockClient(mport)
api = {"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}
fast = {"retry_base": "100ms", "retry_cap": "300ms", "sender_poll": "100ms", "sync": "normal"}


def a_day_passes(srv, pnid, texts, user):
    """The user's messages get replies the API refuses until the server stops; then the
    rows and the session are made a day older."""
    mock.fail(pnid, -1, status=500, code=131000)
    for t in texts:
        st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [lkt.wa_text(user, t)]))
        check(st == 200, "a message answered %d" % st)
    lkt.wait_for(lambda: srv.db_query("SELECT max(attempts) FROM outbox WHERE user = ?", (user,))[0][0],
                 what="the first reply failing")
    code = srv.stop()
    srv.check_clean_exit(code)
    con = sqlite3.connect(srv.db)
    con.execute("UPDATE outbox SET created_ms = created_ms - ?, next_at_ms = 0 WHERE user = ?",
                (DAY_MS, user))
    con.execute("UPDATE sessions SET updated_ms = updated_ms - ? WHERE user = ?", (DAY_MS, user))
    con.commit()
    con.close()
    mock.fail(pnid, 0)
    srv.start()


def rows(srv, user):
    return srv.db_query("SELECT sent_ms IS NOT NULL, remote_id, last_error FROM outbox "
                        "WHERE user = ? ORDER BY id", (user,))


# ---- Chika: the template, once per silence ----
srv = lkt.Server("window", config=fast, env=api).start()
pnid = lkt.unique_pnid()
user = "6287%08d" % int(pnid[-8:])
a_day_passes(srv, pnid, ["Hi Chika", "6"], user)
lkt.wait_for(lambda: all(r[0] for r in rows(srv, user)) and len(rows(srv, user)) == 2,
             what="both waiting replies out of the queue")
ok = mock.delivered(pnid)
check(len(ok) == 1, "after the restart %d messages went, want the template only" % len(ok))
t = ok[0]["payload"]
check(t["type"] == "template" and t["to"] == user and t["template"]["name"] == "chika_lanjut"
      and t["template"]["language"]["code"] == "id", "not the template: %r" % t)
check(t["template"]["components"][0]["parameters"] == [{"type": "text", "text": "Sobat JKN"}],
      "template parameters: %r" % t["template"])
r = rows(srv, user)
check(r[0][1] and r[0][1].startswith("wamid."), "the template's row has no remote id: %r" % r)
check(r[1][1] is None and "template went already" in (r[1][2] or ""),
      "the second reply of the silence: %r" % (r[1],))
check(lkt.metric(srv.port, 'loket_whatsapp_outside_window_total{outcome="template"}') == 1 and
      lkt.metric(srv.port, 'loket_whatsapp_outside_window_total{outcome="skipped"}') == 1,
      "outside-window outcomes not counted")
# the user answers the template: the window is open again, the reply is an ordinary one
st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [lkt.wa_text(user, "Hi Chika")]))
check(st == 200, "the answer to the template answered %d" % st)
lkt.wait_for(lambda: len(mock.delivered(pnid)) == 2, what="the reply after the user wrote again")
check(mock.delivered(pnid)[1]["payload"]["type"] != "template", "the reply after the user "
      "wrote again went as a template")
code = srv.stop()
srv.check_clean_exit(code)

# ---- a flow without outside_window: kept unsent, with the reason ----
srv = lkt.Server("window-none", flow=os.path.join(lkt.SRC, "tests/integration/flows/tiny.json"),
                 config=fast, env=api).start()
pnid = lkt.unique_pnid()
user = "6287%08d" % (int(pnid[-8:]) + 1)
a_day_passes(srv, pnid, ["halo", "1"], user)
lkt.wait_for(lambda: all(r[0] for r in rows(srv, user)) and len(rows(srv, user)) >= 2,
             what="the waiting replies out of the queue")
check(mock.delivered(pnid) == [], "a reply went outside the window without a template")
for r in rows(srv, user):
    check(r[1] is None and "names no outside_window template" in (r[2] or ""),
          "an unsent reply's row: %r" % (r,))
check(lkt.metric(srv.port, 'loket_whatsapp_outside_window_total{outcome="unsent"}') >= 2,
      "unsent replies not counted")
check("kept unsent: outside the 24-hour window" in srv.log_text(), "no log line says why")
code = srv.stop()
srv.check_clean_exit(code)
print("ok: outside the window the template went once; without one the replies were kept unsent")
