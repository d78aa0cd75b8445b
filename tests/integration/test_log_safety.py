#!/usr/bin/env python3
"""The server log on a server of its own (2 connections per peer, no trusted proxy): nothing a peer sends
can forge a field or a line, and one line repeated in a storm is summed up.

- request paths with %22 (a quote), %0a (a newline), tab, ESC, DEL and a C1 control, and
  a Graph API error text with a newline, a quote and ESC, are escaped inside their value;
- every line of the log parses as logfmt with one time, one level and one msg, and holds
  no raw control byte;
- 150 refused connections log their line at most 10 times, plus a summary whose
  repeated=N makes up the rest."""

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import lkt
from lkt import check

EVIL = 'bad recipient\nlevel=error msg="forged by graph" \x1b[31mred\x1b[0m'


class Graph(BaseHTTPRequestHandler):
    """A Graph API that refuses every message with an error text meant to forge a line."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps({"error": {"message": EVIL, "type": "OAuthException", "code": 100}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


graph = ThreadingHTTPServer(("127.0.0.1", 0), Graph)
threading.Thread(target=graph.serve_forever, daemon=True).start()

# no trusted proxies: the test's connections are refused at accept, by address
srv = lkt.Server("logsafety", config={"max_conns_per_peer": 2, "sender_poll": "100ms",
                                      "trusted_proxies": "none"},
                 env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % graph.server_address[1]}).start()
P = srv.port

PATHS = {
    b"/x%22%20level=error%20msg=%22forged": '/x" level=error msg="forged',
    b"/t%09a%1bb%7fc": "/t\ta\x1bb\x7fc",
    b"/n%0alevel=error%20msg=forged2": None,  # libwebsockets cuts the path at the newline
    b"/c1-%C2%9B31m": "/c1-\u009b31m",
}
for raw in PATHS:
    lkt.raw_request(P, b"GET " + raw + b" HTTP/1.1\r\nHost: x\r\n\r\n")

# a reply the Graph API refuses with EVIL
st, _, _ = lkt.wa_post(P, lkt.wa_notification("1234567", [lkt.wa_text("6281200001", "Hi Chika")]))
check(st == 200, "the WhatsApp message was answered %d" % st)
lkt.wait_for(lambda: "reply dropped" in srv.log_text(), what="the refused reply in the log")

# a storm of one line: 150 connections over the cap of 2
held = [socket.create_connection(("127.0.0.1", P)) for _ in range(2)]
time.sleep(0.2)
for _ in range(150):
    try:
        c = socket.create_connection(("127.0.0.1", P), timeout=2)
        c.settimeout(2)
        try:
            c.recv(1)  # the server closes it
        except OSError:
            pass
        c.close()
    except OSError:
        pass
for c in held:
    c.close()

REFUSED = "connection refused: too many from one peer"


def storm_counted():
    lines = [l for l in srv.log_text().splitlines() if REFUSED in l]
    written = [l for l in lines if "repeated=" not in l]
    summed = sum(int(re.search(r" repeated=(\d+)", l).group(1)) for l in lines if "repeated=" in l)
    return (written, summed) if len(written) + summed >= 150 else None


written, summed = lkt.wait_for(storm_counted, timeout=10, what="the storm's summary line")
check(len(written) <= 10 + 2, "the refused connection was logged %d times" % len(written))
check(summed >= 100, "only %d repeats were summed up" % summed)

code = srv.stop()
srv.check_clean_exit(code)

# ---- the whole log parses, and the values came through escaped ----
TOKEN = re.compile(r' ([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|[^ "]*)')


def unescape(v):
    if not v.startswith('"'):
        return v
    out, i, v = b"", 0, v[1:-1]
    while i < len(v):
        if v[i] == "\\":
            n = v[i + 1]
            if n == "x":
                out += bytes([int(v[i + 2:i + 4], 16)])
                i += 4
                continue
            out += {"n": "\n", "r": "\r", "t": "\t"}.get(n, n).encode()
            i += 2
            continue
        out += v[i].encode()
        i += 1
    return out.decode(errors="replace")


with open(srv.log, "rb") as f:
    data = f.read()
check(not re.search(rb"[\x00-\x09\x0b-\x1f\x7f]", data), "a raw control byte in the log")
lines = [l for l in data.decode().split("\n") if l and not l.startswith("---- start")]
seen_paths, graph_texts = [], []
for line in lines:
    m = re.match(r"time=\S+ level=(error|warn|info|debug)", line)
    check(m, "a line that does not start with time and level: %r" % line)
    rest, fields = line[m.end():], []
    pos = 0
    while pos < len(rest):
        t = TOKEN.match(rest, pos)
        check(t, "a line that is not logfmt at %r: %r" % (rest[pos:pos + 40], line))
        fields.append((t.group(1), unescape(t.group(2))))
        pos = t.end()
    keys = [k for k, _ in fields]
    check(keys.count("msg") == 1 and "level" not in keys and "time" not in keys,
          "a forged field in %r" % line)
    d = dict(fields)
    if d["msg"] == "request" and "path" in d:
        seen_paths.append(d["path"])
    if d["msg"] == "reply dropped":
        graph_texts.append(d.get("why", ""))
for want in filter(None, PATHS.values()):
    check(want in seen_paths, "the path %r was not logged as sent (logged: %r)" % (want, seen_paths))
check(any(EVIL in t for t in graph_texts), "the Graph API text was not logged whole: %r" % graph_texts)
check(not any("forged" in l and "level=error msg=\"forged" in l for l in lines), "a forged line")
graph.shutdown()
print("ok")
