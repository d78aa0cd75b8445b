#!/usr/bin/env python3
"""A whole conversation over the /chat websocket: the welcome, menus with choices, the
done frame after each step, resuming a session from another connection with hello, the
test clock, and the protocol errors (bad frames, unknown types, another path)."""

import lkt
from lkt import check, text_of

srv = lkt.shared_server()

# A new connection without hello: the first message gets a welcome with a fresh id.
ws = lkt.WS(srv.port)
check(ws.protocol == "loket-chat", "the server did not select the loket-chat subprotocol")
ws.send_json({"type": "message", "text": "Hi Chika"})
welcome = ws.recv_json()
check(welcome["type"] == "welcome" and welcome["user"].startswith("web-"), "no welcome: %r" % welcome)
check(welcome.get("flow") == "chika", "the welcome does not name the flow: %r" % welcome)
user = welcome["user"]
check(len(welcome.get("token", "")) == 64, "the welcome gives no resume token: %r" % welcome)
lkt.TOKENS[user] = welcome["token"]
replies, done = ws.collect()
check(done == {"type": "done", "replies": len(replies)}, "bad done frame %r" % done)
menu = replies[-1]
check("Chika" in text_of(replies), "the main menu does not greet as Chika: %r" % text_of(replies))
ids = {c["id"]: c["title"] for c in menu.get("choices", [])}
check(ids.get("6") == "PANDAWA", "option 6 is not PANDAWA: %r" % menu.get("choices"))

# Tap 6: the province question.
replies, done = ws.step("6")
check(done["type"] == "done" and done["replies"] == len(replies) >= 1, "bad step %r" % done)
check("provinsi" in text_of(replies).lower(), "6 did not ask for the province: %r" % text_of(replies))
ws.close()

# Resume from a second connection with the token: the session is in the store, not in
# the connection.
ws2 = lkt.WS(srv.port)
check(ws2.hello(user) == user, "hello did not resume the same user id")
replies, done = ws2.step("Jawa Barat")
t = text_of(replies).lower()
check("kabupaten" in t or "kota" in t, "the resumed session did not continue at the province: %r" % t)

# Websocket sessions are kept apart from the webhook channels': a phone number said in a
# hello reaches the session ("ws", number), never the WhatsApp session of that number.
check(srv.db_query("SELECT count(*) FROM sessions WHERE channel = 'ws' AND user = ?",
                   (user,))[0][0] == 1, "the websocket session is not stored under (ws, id)")
check(srv.db_query("SELECT count(*) FROM sessions WHERE channel != 'ws' AND user = ?",
                   (user,))[0][0] == 0, "the websocket session is stored under another channel")

# Protocol errors answer with an error frame and keep the connection.
for bad, want in [("not json", "malformed"), ("[1,2]", "object"), ('{"x":1}', "type"),
                  ('{"type":"dance"}', "unknown type"), ('{"type":"message"}', "text")]:
    ws2.send_text(bad)
    m = ws2.recv_json()
    check(m["type"] == "error" and want in m["error"], "frame %r: expected an error about %r, got %r"
          % (bad, want, m))

# The test clock (this server runs with --test-clock).
ws2.send_json({"type": "clock", "now": "2026-11-24T09:00:00+07:00"})
check(ws2.recv_json() == {"type": "clock", "ok": True}, "the clock was not accepted")
ws2.send_json({"type": "clock", "now": "yesterday"})
check(ws2.recv_json()["type"] == "error", "a bad clock was accepted")
replies, done = ws2.step("menu")
check(done["type"] == "done", "menu: %r" % done)
ws2.close()

# hello without a user: a new id; a bad user id: an error frame.
ws3 = lkt.WS(srv.port)
u3 = ws3.hello()
check(u3 != user and u3.startswith("web-"), "hello without a user did not assign a new id")
ws3.send_json({"type": "hello", "user": ""})
check(ws3.recv_json()["type"] == "error", "an empty user id was accepted")
ws3.close()

# On another path the upgrade is refused (no subprotocol: test_ws_subprotocol.py).
for kw in ({"path": "/nope"}, {"path": "/nope", "protocol": None}):
    try:
        lkt.WS(srv.port, **kw).close()
        lkt.fail("a websocket upgrade was accepted with %r" % kw)
    except (lkt.WSClosed, OSError):
        pass

print("ok")
