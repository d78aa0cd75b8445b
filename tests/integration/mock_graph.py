#!/usr/bin/env python3
"""A stand-in for the WhatsApp Cloud API (Graph API) for the integration tests.

POST /{phone_number_id}/messages records the request (path, Authorization header, JSON
body, the status answered, the time it was answered) and answers {"messages":[{"id":"wamid.mock-N"}]}, or fails
with a 500 while a failure count for that phone number id is above zero.

Control endpoints (used by tests from other processes):
  GET  /_control/health
  POST /_control/fail      {"pnid": "...", "count": N, "status": 500, "code": 131000}
                           (count -1: until reset; code: the Graph API error code answered;
                           "spare": "template" lets messages of that type through)
  POST /_control/hang      {"pnid": "...", "on": true}   hold every request of that phone number
                           id unanswered until "on": false (a Graph API that hangs); with
                           "to": "..." only the requests to that recipient
  POST /_control/noid      {"pnid": "...", "on": true}   answer 200 without messages[0].id
  GET  /_control/requests?pnid=...   every request recorded for that phone number id
  GET  /_control/inflight  {"max_total": N, "max_per_user": N}: the most requests seen in
                           flight at once, overall and for one recipient ("to")
  GET  /_control/reads?pnid=...      every read receipt recorded for that phone number id
  GET  /_control/arrived?pnid=...    {"arrived": N}: messages received, answered or not yet

A read receipt (a POST /{phone_number_id}/messages whose body has "status": "read", the
message_id and the typing indicator, as Meta documents marking a message as read) is
answered {"success": true} and recorded apart from the messages: it never counts in
/_control/requests, the failure counts, the hangs or the delays.
"""

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {}  # pnid -> [records]
        self.failing = {}   # pnid -> [count, status, code, type spared]
        self.delay = {}     # pnid -> seconds to wait before answering
        self.arrived = {}   # pnid -> requests received (counted before any delay)
        self.next_id = 0
        self.hang = {}      # pnid -> threading.Event, set when the hang is over
        self.noid = set()   # pnids answered 200 without a message id
        self.inflight = {}  # recipient -> requests in flight now
        self.inflight_total = 0
        self.reads = {}     # pnid -> [read receipts]
        self.max_total = 0
        self.max_per_user = 0

    def release(self, pnid):
        with self.lock:
            ev = self.hang.pop(pnid, None)
        if ev:
            ev.set()


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def answer(self, status, obj):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def do_GET(self):
            u = urlparse(self.path)
            if u.path == "/_control/health":
                return self.answer(200, {"ok": True})
            if u.path == "/_control/inflight":
                with state.lock:
                    return self.answer(200, {"max_total": state.max_total,
                                             "max_per_user": state.max_per_user})
            if u.path == "/_control/arrived":
                pnid = parse_qs(u.query).get("pnid", [""])[0]
                with state.lock:
                    return self.answer(200, {"arrived": state.arrived.get(pnid, 0)})
            if u.path == "/_control/reads":
                pnid = parse_qs(u.query).get("pnid", [""])[0]
                with state.lock:
                    return self.answer(200, list(state.reads.get(pnid, [])))
            if u.path == "/_control/requests":
                pnid = parse_qs(u.query).get("pnid", [""])[0]
                with state.lock:
                    return self.answer(200, list(state.requests.get(pnid, [])))
            self.answer(404, {"error": "not found"})

        def do_POST(self):
            u = urlparse(self.path)
            raw = self.body()
            if u.path == "/_control/fail":
                c = json.loads(raw)
                with state.lock:
                    state.failing[c["pnid"]] = [int(c["count"]), int(c.get("status", 500)),
                                                int(c.get("code", 131000)), c.get("spare")]
                return self.answer(200, {"ok": True})
            if u.path in ("/_control/hang", "/_control/noid"):
                c = json.loads(raw)
                if u.path == "/_control/noid":
                    with state.lock:
                        (state.noid.add if c["on"] else state.noid.discard)(c["pnid"])
                else:
                    # with "to": only that recipient's requests on the number hang
                    key = c["pnid"] + ("/" + c["to"] if c.get("to") else "")
                    if c["on"]:
                        with state.lock:
                            state.hang.setdefault(key, threading.Event())
                    else:
                        state.release(key)
                return self.answer(200, {"ok": True})
            parts = u.path.strip("/").split("/")
            if len(parts) != 2 or parts[1] != "messages":
                return self.answer(404, {"error": {"message": "unknown path"}})
            pnid = parts[0]
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = None
            if isinstance(payload, dict) and payload.get("status") == "read":
                with state.lock:
                    state.reads.setdefault(pnid, []).append({
                        "path": u.path, "authorization": self.headers.get("Authorization"),
                        "payload": payload, "at": time.time()})
                return self.answer(200, {"success": True})
            to = (payload.get("to") or payload.get("recipient")) if isinstance(payload, dict) else None
            with state.lock:
                state.arrived[pnid] = state.arrived.get(pnid, 0) + 1
                delay = state.delay.get(pnid, 0)
                hang = state.hang.get(pnid) or state.hang.get("%s/%s" % (pnid, to))
                state.inflight[to] = state.inflight.get(to, 0) + 1
                state.inflight_total += 1
                state.max_total = max(state.max_total, state.inflight_total)
                state.max_per_user = max(state.max_per_user, state.inflight[to])
            try:
                if delay:
                    time.sleep(delay)  # a request in flight, e.g. at a kill -9 of the server
                if hang:
                    hang.wait(120)  # a Graph API that hangs, until released
            finally:
                with state.lock:
                    state.inflight[to] -= 1
                    state.inflight_total -= 1
            with state.lock:
                f = state.failing.get(pnid)
                spared = f and len(f) > 3 and f[3] and isinstance(payload, dict) \
                    and payload.get("type") == f[3]
                if f and f[0] != 0 and not spared:
                    if f[0] > 0:
                        f[0] -= 1
                    status = f[1]
                    answer = {"error": {"message": "mock failure", "type": "OAuthException",
                                        "code": f[2] if len(f) > 2 else 131000,
                                        "error_data": {"messaging_product": "whatsapp",
                                                       "details": "mock failure"},
                                        "fbtrace_id": "AmockTrace"}}
                elif payload is None:
                    status, answer = 400, {"error": {"message": "bad JSON"}}
                elif pnid in state.noid:
                    status, answer = 200, {"messaging_product": "whatsapp"}
                else:
                    state.next_id += 1
                    status = 200
                    answer = {"messaging_product": "whatsapp",
                              "contacts": [{"input": payload.get("to"), "wa_id": payload.get("to")}],
                              "messages": [{"id": "wamid.mock-%d" % state.next_id}]}
                state.requests.setdefault(pnid, []).append({
                    "path": u.path, "authorization": self.headers.get("Authorization"),
                    "content_type": self.headers.get("Content-Type"),
                    "payload": payload, "status": status, "at": time.time()})
            try:
                self.answer(status, answer)
            except OSError:
                pass  # the client is gone (killed while this request was in flight)

    return Handler


class Server(ThreadingHTTPServer):
    # a sender opens up to send_inflight connections at once: the default backlog of 5
    # would drop SYNs and add seconds of retransmission to a test's requests
    request_queue_size = 512
    daemon_threads = True


def serve(port, state=None):
    """Starts the mock in a thread of this process; returns (server, state)."""
    state = state or State()
    srv = Server(("127.0.0.1", port), make_handler(state))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, state


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    state = State()
    srv = Server(("127.0.0.1", args.port), make_handler(state))
    srv.serve_forever()


if __name__ == "__main__":
    main()
