"""Shared helpers of the loket integration tests (Python 3 standard library only).

- Server: starts `loket serve` on a free loopback port with a temporary database and
  waits for /healthz with a bounded retry loop; stops it with a signal or kill -9.
- http(): one HTTP request with http.client, returning (status, headers, body).
- WS: a minimal websocket client over a socket (RFC 6455: masking, fragments, ping/pong,
  close codes), enough to speak the /chat protocol and to send malformed frames.
- GraphMock: a local stand-in for the WhatsApp Graph API that records every request and
  can be told to fail the next N requests for a phone number id (in process, or as a
  separate process controlled over HTTP: see mock_graph.py).
- wa_post(): a signed WhatsApp webhook notification.

The environment of CTest gives LOKET_BIN, LOKET_SOURCE_DIR and LOKET_RUN_DIR.
"""

import atexit
import base64
import hashlib
import hmac
from http.client import HTTPConnection, HTTPException
import json
import os
import random
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.environ.get("LOKET_BIN", "loket")
SRC = os.environ.get("LOKET_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
RUN = os.environ.get("LOKET_RUN_DIR", os.path.join(tempfile.gettempdir(), "loket-it"))
FLOW = os.path.join(SRC, "flows", "chika.json")

# The secrets the test servers get (never real ones).
WA_VERIFY = "verify-me-123"
WA_SECRET = "app-secret-xyz"
WA_TOKEN = "graph-token-abc"
TWILIO_TOKEN = "twilio-token-789"

SKIP = 77


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def wait_for(pred, timeout=20.0, interval=0.05, what="condition"):
    """Polls pred() until it returns a true value or the timeout passes."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            fail("timed out waiting for " + what)
        time.sleep(interval)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- HTTP ------------------------------------------------------------------------------

def http(port, method, path, body=None, headers=None, timeout=10):
    conn = HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def http_json(port, method, path, body=None, headers=None):
    st, h, data = http(port, method, path, body, headers)
    try:
        return st, json.loads(data.decode()) if data else None
    except ValueError:
        return st, data.decode(errors="replace")


def raw_request(port, data, read_timeout=5, pace=None):
    """Sends raw bytes (optionally in (chunk, delay) pieces) and returns what comes back."""
    s = socket.create_connection(("127.0.0.1", port), timeout=read_timeout)
    try:
        if pace:
            for chunk, delay in pace:
                try:
                    s.sendall(chunk)
                except OSError:
                    break
                time.sleep(delay)
        else:
            s.sendall(data)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()


def metrics(port):
    st, _, body = http(port, "GET", "/metrics")
    check(st == 200, "GET /metrics answered %d" % st)
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def metric(port, name):
    """One sample of /metrics (its name with its labels, as the text writes it), as an int."""
    m = metrics(port)
    if name not in m:
        fail("no %s in /metrics" % name)
    return int(m[name])


# ---- the server ------------------------------------------------------------------------------

_started = []


@atexit.register
def _kill_leftovers():
    """A test that fails half-way must not leave its server running."""
    for s in _started:
        if s.proc is not None and s.proc.poll() is None and not s.keep:
            try:
                os.killpg(s.proc.pid, signal.SIGKILL)
            except OSError:
                pass

class Server:
    def __init__(self, name, flow=FLOW, test_clock=True, config=None, env=None, db=None, port=None,
                 nofile=None):
        os.makedirs(RUN, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=RUN)
        self.db = db or os.path.join(self.dir, "loket.db")
        self.flow = flow
        self.port = port or free_port()
        self.test_clock = test_clock
        self.config = dict(config or {})
        self.env = dict(env or {})
        self.proc = None
        self.log = os.path.join(self.dir, "server.log")
        self.starts = 0
        self.supervised = False
        self.keep = False  # True: outlives this process (the fixture's shared server)
        self.nofile = nofile  # a file descriptor limit (RLIMIT_NOFILE) for the server
        _started.append(self)

    def start(self):
        conf = os.path.join(self.dir, "loket.conf")
        with open(conf, "w") as f:
            f.write("# written by the integration tests\n")
            for k, v in self.config.items():
                f.write("%s = %s\n" % (k, v))
        args = [BIN, "serve", "--config", conf, "--flow", self.flow, "--db", self.db,
                "--host", "127.0.0.1", "--port", str(self.port)]
        if self.test_clock:
            args.append("--test-clock")
        env = dict(os.environ)
        env.update({"LOKET_WA_VERIFY_TOKEN": WA_VERIFY, "LOKET_WA_APP_SECRET": WA_SECRET,
                    "LOKET_WA_TOKEN": WA_TOKEN, "LOKET_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
                    # never the real Graph API: a closed local port unless a test has a mock
                    "LOKET_WA_API_URL": "http://127.0.0.1:9"})
        env.update(self.env)
        self.starts += 1
        if self.supervised:
            # sh waits for the server and writes its exit status, so that a process
            # that is not the server's parent (the fixture cleanup) can read it
            self.pidfile = os.path.join(self.dir, "server.pid")
            self.codefile = os.path.join(self.dir, "server.exit")
            for p in (self.pidfile, self.codefile):
                if os.path.exists(p):
                    os.unlink(p)
            args = ["sh", "-c", '"$@" & echo $! > "%s"; wait $!; echo $? > "%s.tmp"; mv "%s.tmp" "%s"'
                    % (self.pidfile, self.codefile, self.codefile, self.codefile), "sh"] + args
        logf = open(self.log, "ab")
        logf.write(b"---- start %d\n" % self.starts)
        logf.flush()
        limit = None
        if self.nofile:
            import resource

            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))
        self.proc = subprocess.Popen(args, cwd=SRC, env=env, stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=logf, start_new_session=True,
                                     preexec_fn=limit)
        logf.close()
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                fail("loket serve exited with %s before /healthz answered:\n%s"
                     % (self.proc.returncode, self.log_text()[-3000:]))
            try:
                st, _, body = http(self.port, "GET", "/healthz", timeout=1)
                if st == 200 and json.loads(body).get("status") == "ok":
                    return
            except (OSError, ValueError, HTTPException):
                pass
            time.sleep(0.05)
        fail("loket serve did not answer /healthz within %ds" % timeout)

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        """SIGTERM; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            fail("loket serve did not stop within %ds of SIGTERM" % timeout)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def check_clean_exit(self, code):
        log = self.log_text()
        check(code == 0, "loket serve exited with %s:\n%s" % (code, log[-4000:]))
        check("LeakSanitizer" not in log and "AddressSanitizer" not in log
              and "runtime error:" not in log, "sanitizer report in the server log:\n" + log[-6000:])

    def db_query(self, sql, args=()):
        if self.db.startswith(("postgresql://", "postgres://")):
            check(not args, "db_query on PostgreSQL takes no parameters")
            return [tuple(int(v) if v.lstrip("-").isdigit() else v for v in row)
                    for row in psql(self.db, sql)]
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()


def shared_server():
    """The server the CTest fixture started (see setup.py): a Server-like object."""
    path = os.path.join(RUN, "shared", "state.json")
    try:
        with open(path) as f:
            st = json.load(f)
    except OSError:
        fail("no shared server: %s is missing (run the tests through ctest)" % path)
    s = Server.__new__(Server)
    s.dir = st["dir"]
    s.db = st["db"]
    s.port = st["port"]
    s.log = st["log"]
    s.proc = None
    s.mock_port = st["mock_port"]
    return s


# ---- websocket -----------------------------------------------------------------------------

# The resume tokens the welcome frames gave, by user id (a client keeps them to resume).
TOKENS = {}


class WSClosed(Exception):
    def __init__(self, code, reason):
        Exception.__init__(self, "closed %s %s" % (code, reason))
        self.code = code
        self.reason = reason


class WS:
    def __init__(self, port, path="/chat", protocol="loket-chat", timeout=10, headers=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               % (path, port, key))
        if protocol:
            req += "Sec-WebSocket-Protocol: %s\r\n" % protocol
        for k, v in (headers or {}).items():
            req += "%s: %s\r\n" % (k, v)
        self.sock.sendall((req + "\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            b = self.sock.recv(4096)
            if not b:
                raise WSClosed(None, "refused during the handshake: %r" % head)
            head += b
        head, self.buf = head.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        if " 101 " not in lines[0]:
            raise WSClosed(None, "handshake refused: " + lines[0])
        want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                             .encode()).digest()).decode()
        hdrs = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        if hdrs.get("sec-websocket-accept") != want:
            raise WSClosed(None, "bad Sec-WebSocket-Accept")
        self.protocol = hdrs.get("sec-websocket-protocol")

    def send_frame(self, opcode, payload, fin=True):
        mask = os.urandom(4)
        n = len(payload)
        h = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            h += bytes([0x80 | n])
        elif n < 65536:
            h += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            h += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(h + mask + masked)

    def send_text(self, text):
        self.send_frame(1, text.encode() if isinstance(text, str) else text)

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def _read(self, n):
        while len(self.buf) < n:
            b = self.sock.recv(65536)
            if not b:
                raise WSClosed(None, "connection closed without a close frame")
            self.buf += b
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self):
        """Parses one whole frame from the buffer: (opcode, fin, payload) or None."""
        b = self.buf
        if len(b) < 2:
            return None
        n, off = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, off = struct.unpack("!H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, off = struct.unpack("!Q", b[2:10])[0], 10
        if len(b) < off + n:
            return None
        self.buf = b[off + n:]
        return b[0] & 0x0F, b[0] & 0x80, b[off:off + n]

    def pump(self, seconds):
        """Reads for a while without blocking on a whole message, answering pings.
        Returns the data frames seen; raises WSClosed when the server closes."""
        import select
        end = time.monotonic() + seconds
        seen = []
        while True:
            f = self._frame()
            while f:
                op, fin, payload = f
                if op == 9:
                    self.send_frame(10, payload)
                elif op == 8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    raise WSClosed(code, payload[2:].decode(errors="replace"))
                elif op != 10:
                    seen.append(payload)
                f = self._frame()
            left = end - time.monotonic()
            if left <= 0:
                return seen
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                b = self.sock.recv(65536)
                if not b:
                    raise WSClosed(None, "connection closed without a close frame")
                self.buf += b

    def recv(self):
        """The next whole data message (text as str), answering pings on the way."""
        parts = []
        first_op = None
        while True:
            b0, b1 = self._read(2)
            op, fin, n = b0 & 0x0F, b0 & 0x80, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            if op == 9:
                self.send_frame(10, payload)
                continue
            if op == 10:
                continue
            if op == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise WSClosed(code, payload[2:].decode(errors="replace"))
            if first_op is None:
                first_op = op
            parts.append(payload)
            if fin:
                data = b"".join(parts)
                return data.decode() if first_op == 1 else data

    def recv_json(self):
        return json.loads(self.recv())

    def step(self, text):
        """Sends a message and returns (replies, done) up to the done frame."""
        self.send_json({"type": "message", "text": text})
        return self.collect()

    def collect(self):
        replies = []
        while True:
            m = self.recv_json()
            if m["type"] == "welcome":
                TOKENS[m["user"]] = m.get("token")
            if m["type"] == "reply":
                replies.append(m)
            elif m["type"] == "done":
                return replies, m
            elif m["type"] == "error":
                return replies, m
            # welcome and clock frames are not part of a step

    def hello(self, user=None, token=None):
        """Says hello (with the resume token this process was given for user, unless
        token is False or another token) and returns the user id the welcome names."""
        msg = {"type": "hello"}
        if user:
            msg["user"] = user
            if token is None:
                token = TOKENS.get(user)
            if token:
                msg["token"] = token
        self.send_json(msg)
        m = self.recv_json()
        check(m.get("type") == "welcome", "expected a welcome frame, got %r" % m)
        TOKENS[m["user"]] = m.get("token")
        return m["user"]

    def close(self):
        try:
            self.send_frame(8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


def text_of(replies):
    return "\n".join(r["text"] for r in replies)


# ---- WhatsApp --------------------------------------------------------------------------------

def wa_sign(body, secret=WA_SECRET):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def wa_notification(pnid, messages=(), statuses=()):
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "WABA-1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550000000", "phone_number_id": pnid},
                "contacts": [{"profile": {"name": "Tester"}, "wa_id": m["from"]} for m in messages
                             if "from" in m],
                "messages": list(messages), "statuses": list(statuses)}}]}]}


def wa_text(frm, text, wamid=None):
    return {"from": frm, "id": wamid or "wamid.%s" % os.urandom(8).hex(),
            "timestamp": str(int(time.time())), "type": "text", "text": {"body": text}}


def wa_list_reply(frm, row_id, title, wamid=None):
    return {"from": frm, "id": wamid or "wamid.%s" % os.urandom(8).hex(),
            "timestamp": str(int(time.time())), "type": "interactive",
            "interactive": {"type": "list_reply", "list_reply": {"id": row_id, "title": title}}}


def wa_button_reply(frm, btn_id, title, wamid=None):
    return {"from": frm, "id": wamid or "wamid.%s" % os.urandom(8).hex(),
            "timestamp": str(int(time.time())), "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": btn_id, "title": title}}}


def wa_message(frm, mtype, content, wamid=None, **extra):
    """A message of any type as Meta sends it: {"type": mtype, mtype: content, ...};
    extra adds fields such as group_id or from_user_id (from=None leaves from out)."""
    m = {"id": wamid or "wamid.%s" % os.urandom(8).hex(), "timestamp": str(int(time.time())),
         "type": mtype, mtype: content}
    if frm is not None:
        m["from"] = frm
    m.update(extra)
    return m


def wa_post(port, notification, secret=WA_SECRET, signature=True, headers=None):
    body = json.dumps(notification).encode()
    headers = dict(headers or {}, **{"Content-Type": "application/json"})
    if signature is True:
        headers["X-Hub-Signature-256"] = wa_sign(body, secret)
    elif signature:
        headers["X-Hub-Signature-256"] = signature
    return http(port, "POST", "/webhook/whatsapp", body, headers)


def healthz_ok(port, timeout=3):
    """True when the server on port answers GET /healthz with 200 within timeout seconds
    (another client than the one a test is busy with)."""
    try:
        st, _, _ = http(port, "GET", "/healthz", timeout=timeout)
        return st == 200
    except OSError:
        return False


def wa_say(port, pnid, user, text, wamid=None):
    """One WhatsApp text message from user to number pnid, which must be acknowledged
    with 200."""
    st, _, _ = wa_post(port, wa_notification(pnid, [wa_text(user, text, wamid)]))
    check(st == 200, "the message answered %d" % st)


def wa_hi_then_pandawa(port, pnid, user):
    """A user's first two WhatsApp messages: "Hi Chika", then tapping PANDAWA in the list.
    Both must be acknowledged with 200."""
    wa_say(port, pnid, user, "Hi Chika")
    st, _, _ = wa_post(port, wa_notification(pnid, [wa_list_reply(user, "6", "PANDAWA")]))
    check(st == 200, "second message answered %d" % st)


def twilio_post(port, params, token=TWILIO_TOKEN, url=None, signature=True, headers=None):
    """A Twilio webhook request, signed as Twilio does: base64 HMAC-SHA1 of the URL
    followed by the sorted parameters' names and values."""
    from urllib.parse import urlencode
    url = url or "http://127.0.0.1:%d/webhook/twilio" % port
    data = url + "".join(k + params[k] for k in sorted(params))
    sig = base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
    headers = dict(headers or {}, **{"Content-Type": "application/x-www-form-urlencoded"})
    if signature is True:
        headers["X-Twilio-Signature"] = sig
    elif signature:
        headers["X-Twilio-Signature"] = signature
    return http(port, "POST", "/webhook/twilio", urlencode(params).encode(), headers)


def unique(prefix):
    return "%s-%s" % (prefix, os.urandom(5).hex())


def unique_pnid():
    return str(random.randint(10 ** 14, 10 ** 15 - 1))


# ---- the Graph API mock --------------------------------------------------------------------------

class MockClient:
    """Talks to a mock_graph.py process over its control endpoints."""

    def __init__(self, port):
        self.port = port

    def fail(self, pnid, count, status=500, code=131000, spare=None):
        st, _ = http_json(self.port, "POST", "/_control/fail",
                          {"pnid": pnid, "count": count, "status": status, "code": code,
                           "spare": spare})
        check(st == 200, "mock control answered %d" % st)

    def requests(self, pnid):
        st, data = http_json(self.port, "GET", "/_control/requests?pnid=" + pnid)
        check(st == 200, "mock control answered %d" % st)
        return data

    def delivered(self, pnid):
        return [r for r in self.requests(pnid) if 200 <= r["status"] < 300]

    def reads(self, pnid):
        """The read receipts (status read, typing indicator) the mock got for pnid."""
        st, data = http_json(self.port, "GET", "/_control/reads?pnid=" + pnid)
        check(st == 200, "mock control answered %d" % st)
        return data

    def hang(self, pnid, on=True, to=None):
        st, _ = http_json(self.port, "POST", "/_control/hang", {"pnid": pnid, "on": on, "to": to})
        check(st == 200, "mock control answered %d" % st)

    def noid(self, pnid, on=True):
        st, _ = http_json(self.port, "POST", "/_control/noid", {"pnid": pnid, "on": on})
        check(st == 200, "mock control answered %d" % st)


def rss_kb(pid):
    """VmRSS of a process, in kB, from /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    fail("no VmRSS for pid %d" % pid)


def outbox_rows_to(srv, user):
    """Outbox rows whose Graph API payload goes to user (committed before the webhook's 200)."""
    return srv.db_query("SELECT count(*) FROM outbox WHERE payload LIKE ?",
                        ('%%"to":"%s"%%' % user,))[0][0]


def start_mock_process(log_dir):
    port = free_port()
    logf = open(os.path.join(log_dir, "mock.log"), "ab")
    proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "mock_graph.py"),
                             "--port", str(port)], stdin=subprocess.DEVNULL, stdout=logf,
                            stderr=logf, start_new_session=True)
    logf.close()
    end = time.monotonic() + 15
    while time.monotonic() < end:
        try:
            st, _, _ = http(port, "GET", "/_control/health", timeout=1)
            if st == 200:
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None:
            fail("the Graph API mock exited")
        time.sleep(0.05)
    fail("the Graph API mock did not start")


# ---- PostgreSQL: several servers on one database ------------------------------------------

PG = os.environ.get("LOKET_TEST_PG")  # the test cluster's URI (tools/test.sh sets it)


def psql(uri, sql):
    """Runs sql with psql on the database at uri; the rows as lists of strings."""
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                        "-d", uri, "-c", sql], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        fail("psql failed: %s: %s" % (sql, p.stderr.strip()))
    return [line.split("\t") for line in p.stdout.splitlines() if line != ""]


def pg_database(prefix):
    """A new, empty database in the test cluster; its URI. Without LOKET_TEST_PG the test
    is skipped (77), and says so."""
    if not PG:
        print("SKIP: LOKET_TEST_PG is not set (tools/test.sh starts a PostgreSQL cluster "
              "and sets it)")
        raise SystemExit(SKIP)
    import re
    name = "%s_%d_%d" % (prefix, os.getpid(), random.randrange(1 << 30))
    psql(PG, "CREATE DATABASE %s" % name)
    m = re.match(r"^(postgres(?:ql)?://[^/?]*)(/[^?]*)?(\?.*)?$", PG)
    check(m, "LOKET_TEST_PG is not a postgresql:// URI")
    return m.group(1) + "/" + name + (m.group(3) or "")


def pg_count(uri, sql):
    return int(psql(uri, sql)[0][0])
