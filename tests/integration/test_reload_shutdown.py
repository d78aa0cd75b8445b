#!/usr/bin/env python3
"""SIGHUP reloads the flow after checking it: a broken flow is refused with its errors
logged and the running one kept; a good one is swapped in and sessions carry on.
SIGTERM stops accepting, lets the request in flight finish, closes websockets and exits 0
with the database closed (no sanitizer report)."""

import json
import os
import shutil
import signal
import socket
import time

import lkt
from lkt import check

tiny = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flows", "tiny.json")
srv = lkt.Server("reload")
flow = os.path.join(srv.dir, "flow.json")
shutil.copy(tiny, flow)
srv.flow = flow
srv.start()
P = srv.port


def say(user, text):
    st, r = lkt.http_json(P, "POST", "/v1/messages", {"from": user, "text": text})
    check(st == 200, "%r answered %d %r" % (text, st, r))
    return "\n".join(x["text"] for x in r["replies"])


def log_count(needle):
    return srv.log_text().count(needle)


check("Halo dari flow uji" in say("old-user", "hai"), "the tiny flow does not greet")

# A broken flow is refused; the old one keeps answering.
with open(flow, "w") as f:
    f.write('{"loket": 1, "name": "tiny", "start": "nowhere", "states": {}\n')
srv.signal(signal.SIGHUP)
lkt.wait_for(lambda: log_count("flow reload refused") == 1, what="the refused reload in the log")
check(('level=error' in srv.log_text() and 'file="%s" line=2' % flow) in srv.log_text(),
      "the flow's error was not logged with its file and line")
check("Halo dari flow uji" in say("user-2", "hai"), "the old flow was not kept")

# A good flow is swapped in; a session in progress continues in it.
with open(tiny) as f:
    doc = json.load(f)
doc["states"]["main"]["say"] = "Halo dari flow baru. Pilih:"
with open(flow, "w") as f:
    json.dump(doc, f)
srv.signal(signal.SIGHUP)
lkt.wait_for(lambda: log_count('msg="flow reloaded"') == 1, what="the reload in the log")
check("flow baru" in say("user-3", "hai"), "the new flow does not answer")
check("memilih satu" in say("old-user", "1"), "the old session did not continue after the reload")

# SIGTERM with a request in flight and a websocket open.
ws = lkt.WS(P)
ws.hello("ws-at-stop")
body = json.dumps({"from": "late-user", "text": "hai"}).encode()
s = socket.create_connection(("127.0.0.1", P), timeout=10)
s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
time.sleep(0.2)
srv.signal(signal.SIGTERM)
lkt.wait_for(lambda: log_count("stopping") == 1, what="the stop in the log")
try:
    c = socket.create_connection(("127.0.0.1", P), timeout=2)
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    got = c.recv(100)
    c.close()
    check(not got.startswith(b"HTTP/1.1 200"), "a new request was served while stopping")
except OSError:
    pass
s.sendall(body[10:])
answer = b""
while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
    b = s.recv(65536)
    if not b:
        break
    answer += b
s.close()
check(answer.startswith(b"HTTP/1.1 200") and b"flow baru" in answer,
      "the request in flight was not finished: %r" % answer[:200])
code = srv.proc.wait(20)
srv.check_clean_exit(code)
try:
    ws.pump(1)
    lkt.fail("the websocket stayed open after the server stopped")
except (lkt.WSClosed, OSError):
    pass
check('msg="stopped"' in srv.log_text(), "no clean stop in the log")
print("ok")
