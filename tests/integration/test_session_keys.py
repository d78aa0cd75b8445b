#!/usr/bin/env python3
"""Sessions belong to a channel and a user: the generic webhook posting as a WhatsApp
user's number neither moves nor reads that user's conversation, two websocket users may
send the same message id, and without LOKET_GENERIC_TOKEN the server listens only on a
loopback address unless `generic_open = yes` says otherwise (and the start log warns)."""

import os
import subprocess
import tempfile

import lkt
from lkt import check, text_of

srv = lkt.shared_server()
P = srv.port


def wa_blob(user):
    rows = srv.db_query("SELECT blob FROM sessions WHERE channel = 'whatsapp' AND user = ?", (user,))
    check(len(rows) == 1, "no WhatsApp session for %s: %r" % (user, rows))
    return rows[0][0]


# ---- a WhatsApp user half-way through PANDAWA, and the generic webhook as that number ----
pnid = lkt.unique_pnid()
number = "62811%07d" % (int(pnid) % 10 ** 7)
lkt.wa_hi_then_pandawa(P, pnid, number)
lkt.wait_for(lambda: srv.db_query("SELECT count(*) FROM log WHERE channel = 'whatsapp' AND "
                                  "user = ? AND dir = 'in'", (number,))[0][0] == 2,
             what="both WhatsApp messages in the log")
before = wa_blob(number)

st, r = lkt.http_json(P, "POST", "/v1/messages", {"from": number, "text": "Riau"})
check(st == 200, "generic answered %d %r" % (st, r))
t = text_of(r["replies"]).lower()
check("kabupaten" not in t and "kota" not in t,
      "the generic webhook answered the WhatsApp user's province question: %r" % t)
check(wa_blob(number) == before, "the generic webhook changed the WhatsApp user's session")
check(srv.db_query("SELECT count(*) FROM sessions WHERE channel = 'generic' AND user = ?",
                   (number,))[0][0] == 1, "the generic sender has no session of its own")

# The WhatsApp user carries on where they were.
st, _, _ = lkt.wa_post(P, lkt.wa_notification(pnid, [lkt.wa_text(number, "Jawa Barat")]))
check(st == 200, "WhatsApp answered %d" % st)
lkt.wait_for(lambda: wa_blob(number) != before, what="the WhatsApp session to move on")
out = srv.db_query("SELECT text FROM log WHERE channel = 'whatsapp' AND user = ? AND dir = 'out' "
                   "ORDER BY id DESC LIMIT 3", (number,))
t = " ".join(row[0] for row in out).lower()
check("kabupaten" in t or "kota" in t, "the WhatsApp user did not get the kabupaten question: %r" % t)

# ---- two websocket users, one message id ----
a, b = lkt.WS(P), lkt.WS(P)
a.hello()
b.hello()
a.send_json({"type": "message", "text": "Hi Chika", "id": "client-msg-1"})
ra, da = a.collect()
b.send_json({"type": "message", "text": "Hi Chika", "id": "client-msg-1"})
rb, db = b.collect()
check(da.get("replies", 0) > 0 and not da.get("duplicate"), "the first user: %r" % da)
check(db.get("replies", 0) > 0 and not db.get("duplicate"),
      "the second user's message was taken for the first user's: %r" % db)
# ... while the same user sending it again is a duplicate
b.send_json({"type": "message", "text": "Hi Chika", "id": "client-msg-1"})
_, db2 = b.collect()
check(db2.get("duplicate") is True, "a repeated id of one user was processed again: %r" % db2)
a.close()
b.close()

# ---- what listens without a secret ----
# 192.0.2.1 (TEST-NET-1) is on no interface of this machine: nothing is ever reachable
# from outside, and a server that gets past the check fails to bind.
tmp = tempfile.mkdtemp(prefix="generic-open-", dir=lkt.RUN)


def serve(host, extra_env=None, config=""):
    conf = os.path.join(tmp, "loket.conf")
    with open(conf, "w") as f:
        f.write(config)
    env = {k: v for k, v in os.environ.items() if k != "LOKET_GENERIC_TOKEN"}
    env.update(extra_env or {})
    return subprocess.run([lkt.BIN, "serve", "--config", conf, "--flow", lkt.FLOW, "--db",
                           os.path.join(tmp, "loket.db"), "--host", host, "--port",
                           str(lkt.free_port())], cwd=lkt.SRC, env=env, capture_output=True,
                          text=True, timeout=60)


p = serve("192.0.2.1")
check(p.returncode != 0, "the server started on a non-loopback address with the generic "
      "webhook open")
check("refusing to listen" in p.stderr and "LOKET_GENERIC_TOKEN" in p.stderr
      and "generic_open" in p.stderr, "no clear refusal: %r" % p.stderr[-800:])
check("cannot listen" not in p.stderr, "it tried to listen first: %r" % p.stderr[-800:])
for host in ("0.0.0.0", "::"):
    p = serve(host)
    check(p.returncode != 0 and "refusing to listen" in p.stderr, "%s: %r" % (host, p.stderr[-400:]))

p = serve("192.0.2.1", config="generic_open = yes\n")
check("refusing" not in p.stderr and "POST /v1/messages is open" in p.stderr
      and "level=warn" in p.stderr, "generic_open gave no warning: %r" % p.stderr[-800:])
p = serve("192.0.2.1", extra_env={"LOKET_GENERIC_TOKEN": "s3cret-token"})
check("refusing" not in p.stderr and "is open" not in p.stderr,
      "a token was not enough: %r" % p.stderr[-800:])
print("ok")
