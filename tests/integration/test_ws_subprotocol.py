#!/usr/bin/env python3
"""Websocket clients and the subprotocol: a client that asks for none (a browser's plain
new WebSocket(url), Botium's websocket connector) speaks the chat protocol on /chat; one
that asks only for another subprotocol gets a 400 that names loket-chat; a list that
includes loket-chat selects it."""

import socket

import lkt
from lkt import check, text_of

srv = lkt.shared_server()

# No Sec-WebSocket-Protocol: a whole exchange, and the answer names no subprotocol (RFC
# 6455: the server must not select one the client did not offer).
ws = lkt.WS(srv.port, protocol=None)
check(ws.protocol is None, "a subprotocol was selected that the client did not offer: %r" % ws.protocol)
ws.send_json({"type": "message", "text": "Hi Chika"})
welcome = ws.recv_json()
check(welcome["type"] == "welcome" and welcome["user"].startswith("web-"), "no welcome: %r" % welcome)
replies, done = ws.collect()
check(done["type"] == "done" and done["replies"] == len(replies) >= 1, "bad done %r" % done)
check("Chika" in text_of(replies), "no main menu: %r" % text_of(replies))
replies, done = ws.step("6")
check("provinsi" in text_of(replies).lower(), "6 did not ask for the province: %r" % text_of(replies))
user, token = welcome["user"], welcome["token"]
ws.close()

# The session it made resumes over a connection with the subprotocol, and back.
ws = lkt.WS(srv.port)
check(ws.hello(user, token) == user, "the session did not resume with the subprotocol")
ws.close()
ws = lkt.WS(srv.port, protocol=None)
check(ws.hello(user, token) == user, "the session did not resume without the subprotocol")
replies, done = ws.step("Jawa Barat")
t = text_of(replies).lower()
check("kabupaten" in t or "kota" in t, "the resumed session lost its place: %r" % t)
ws.close()

# A list of subprotocols that includes ours selects it.
ws = lkt.WS(srv.port, protocol="chat, loket-chat")
check(ws.protocol == "loket-chat", "loket-chat in a list was not selected: %r" % ws.protocol)
ws.close()


def handshake(path, protocol):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: %s\r\n\r\n" % (path, protocol)).encode())
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    s.close()
    return data.decode("utf-8", "replace")


# Only other subprotocols: a 400 that says which one to ask for, not a silent drop.
for proto in ("chat", "loket-chat-v2, wamp", "loket"):
    ans = handshake("/chat", proto)
    check(ans.startswith("HTTP/1.") and ans.split(" ", 2)[1] == "400", "%r: no 400: %r" % (proto, ans[:200]))
    check("loket-chat" in ans, "%r: the answer does not name loket-chat: %r" % (proto, ans[:400]))

# The server still serves HTTP and the chat after all that.
status, _ = lkt.http(srv.port, "GET", "/healthz")[:2]
check(status == 200, "healthz after the refused upgrades: %r" % status)
print("ok")
