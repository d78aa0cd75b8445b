#!/usr/bin/env python3
"""A websocket hello with another user's id does not take over that user's session:
resuming needs the token the welcome gave; without it (or with a forged one) the hello
gets a new id. A connection may take ws_sessions_per_conn ids and an address
ws_new_sessions new ones a minute; resuming with a valid token is not charged."""

import lkt
from lkt import check, text_of

PER_CONN, PER_MIN = 3, 12
srv = lkt.Server("ws-resume", config={"rate": 1000, "burst": 100000,
                                      "ws_sessions_per_conn": PER_CONN,
                                      "ws_new_sessions": PER_MIN}).start()
P = srv.port
spent = 0  # new sessions charged to 127.0.0.1 so far


def blob(user):
    rows = srv.db_query("SELECT blob FROM sessions WHERE channel = 'ws' AND user = ?", (user,))
    return rows[0][0] if rows else None


# The victim, at the province question of PANDAWA.
victim = lkt.WS(P)
vid = victim.hello()
spent += 1
vtok = lkt.TOKENS[vid]
check(len(vtok) == 64 and vtok != vid, "the welcome gave no token: %r" % vtok)
victim.step("Hi Chika")
replies, _ = victim.step("6")
check("provinsi" in text_of(replies).lower(), "6 did not ask for the province")
victim.close()
before = blob(vid)

# An attacker who knows the id: no token, an empty one, a forged one, the token of
# another id. Each hello gets a new id, and the answer never continues the victim's talk.
mallory = lkt.WS(P)
other = mallory.hello()
spent += 1
forged = ("0" if vtok[0] != "0" else "1") + vtok[1:]
for tok in (False, "", forged, lkt.TOKENS[other]):
    att = lkt.WS(P)
    got = att.hello(vid, token=tok)
    spent += 1
    check(got != vid, "a hello with token %r took over the victim's session" % (tok,))
    replies, done = att.step("Jawa Barat")
    t = text_of(replies).lower()
    check("kabupaten" not in t and "kota" not in t, "the attacker continued the victim's "
          "conversation: %r" % t)
    att.close()
mallory.close()
check(blob(vid) == before, "the victim's session changed")

# The victim comes back with the token and carries on.
back = lkt.WS(P)
check(back.hello(vid, token=vtok) == vid, "the token did not resume the session")
replies, _ = back.step("Jawa Barat")
t = text_of(replies).lower()
check("kabupaten" in t or "kota" in t, "the resumed session did not continue: %r" % t)
back.close()

# An id nobody has yet may be chosen (loket replay does); it gets its token.
fresh = lkt.unique("chosen")
c = lkt.WS(P)
check(c.hello(fresh, token=False) == fresh, "a new chosen id was refused")
spent += 1
check(len(lkt.TOKENS[fresh]) == 64, "no token for a chosen id")
c.close()

# One connection, a new id before every message: the cap per connection.
c = lkt.WS(P)
for i in range(PER_CONN):
    c.hello()
    spent += 1
    _, done = c.step("Hi Chika")
    check(done["type"] == "done", "message %d: %r" % (i, done))
c.send_json({"type": "hello"})
m = c.recv_json()
check(m["type"] == "error" and "too many conversations" in m["error"],
      "a new id past ws_sessions_per_conn was given: %r" % m)
_, done = c.step("menu")  # the connection goes on with the id it had
check(done["type"] == "done", "the connection stopped working after the cap: %r" % done)
c.close()

# New connections from one address: the cap per address (the bucket refills at
# PER_MIN a minute, so this run may gain one session at most).
left = PER_MIN - spent
check(left > 0, "the test spent the whole budget before this part")
refused = None
for i in range(left + 3):
    c = lkt.WS(P)
    c.send_json({"type": "hello"})
    m = c.recv_json()
    c.close()
    if m["type"] == "error":
        refused = i
        check("too many new conversations from this address" in m["error"], "error: %r" % m)
        break
check(refused is not None and left <= refused <= left + 1,
      "new sessions from one address: refused after %r, expected after %d" % (refused, left))
# ... while resuming with a token costs nothing
c = lkt.WS(P)
check(c.hello(vid, token=vtok) == vid, "a resume was refused by the address's budget")
c.close()
n = srv.db_query("SELECT count(*) FROM sessions WHERE channel = 'ws'")[0][0]
check(n <= PER_MIN + 1, "%d websocket sessions were stored, more than the budget" % n)
srv.check_clean_exit(srv.stop())
print("ok")
