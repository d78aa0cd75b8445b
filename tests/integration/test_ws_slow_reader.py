#!/usr/bin/env python3
"""A websocket client that reads slowly still gets every frame whole and in order.

The server writes its frames itself and hands lws as many whole ones as fit one send of
lws (about 4 KB); what of a write lws does not send at once (the rest of a longer frame,
or what the socket did not take) stays with lws, which finishes it before anything else.
Here one client with a small receive buffer sends 40 messages without reading (answers of
60 bytes to 115 KB, quotes, backslashes and UTF-8 that JSON escapes or keeps), waits until
the server has answered them all, so that most of them wait in the server behind a full
socket, and then reads 1 KB at a time. Every frame must be a whole unmasked
text frame with its length in the shortest form (7 bits, 16 bits, 64 bits), and the
answers must come in the order of the messages: a reply with the text 16 times, then
done.
Pings of the server (every second here) may come between frames, never inside one.
(Texts without a space at either end: the flow keeps them as they are.)"""

import json
import os
import socket
import struct
import time

import lkt
from lkt import check

FLOW = os.path.join(lkt.SRC, "tests", "integration", "flows", "bigecho.json")
srv = lkt.Server("ws-slow-reader", flow=FLOW,
                 config={"rate": 100000, "burst": 100000, "ws_ping": "1s"}).start()


def small_buffer_connection(address, timeout=None, *args, **kw):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Before connect, so that the server's side sees them: a small window, and small
    # segments, which keep the server's send buffer small too (its size follows the
    # segment size): so about 64 KB wait in the kernel and the rest in the server.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 256)
    s.settimeout(timeout)
    s.connect(address)
    return s


def slow_client():
    real = socket.create_connection
    socket.create_connection = small_buffer_connection
    try:
        ws = lkt.WS(srv.port)
    finally:
        socket.create_connection = real
    ws.hello()
    return ws


def text_for(i):
    """Message i; the flow answers it with its text 16 times, joined with |."""
    if i % 13 == 12:  # about 115 KB: a payload over 65535 bytes, many sends
        return ("besar %d \"Bandung\" \\ kota " % i) + "\U0001F64F" * 1200 + " é" * 900
    if i % 2 == 1:  # a few KB: the 16-bit length, more than one send of lws
        return ("sedang %d " % i) + " ".join(["Kartu \"KIS\" aktif kembali, terima kasih."] * 7)
    return "k%d" % i  # under 126 bytes: the 7-bit length


class Reader:
    """Reads ws's socket 1 KB at a time and splits it into frames, checking each header."""

    def __init__(self, ws, pong=True):
        self.ws = ws
        self.pong = pong
        self.pending = ws.buf
        ws.buf = b""
        self.pings = 0
        self.total = 0
        self.frames = 0

    def _parse(self):
        p = self.pending
        if len(p) < 2:
            return None
        b0, b1 = p[0], p[1]
        n, off = b1 & 0x7F, 2
        if n == 126:
            if len(p) < 4:
                return None
            n, off = struct.unpack("!H", p[2:4])[0], 4
            check(n >= 126, "a %d-byte payload in the 16-bit form" % n)
        elif n == 127:
            if len(p) < 10:
                return None
            n, off = struct.unpack("!Q", p[2:10])[0], 10
            check(n > 65535, "a %d-byte payload in the 64-bit form" % n)
        check(b1 & 0x80 == 0, "a masked frame from the server")
        if len(p) < off + n:
            return None
        self.pending = p[off + n:]
        return b0, p[off:off + n]

    def frame(self, deadline):
        """The next data frame's payload, None when the connection ended."""
        while True:
            f = self._parse()
            if f is None:
                check(time.monotonic() < deadline, "no whole frame in time (frame %d)" % self.frames)
                try:
                    b = self.ws.sock.recv(1024)
                except ConnectionResetError:
                    lkt.fail("the connection was reset after %d frames (%d pings answered)"
                             % (self.frames, self.pings))
                if not b:
                    check(self.pending == b"", "the connection ended inside a frame")
                    return None
                self.pending += b
                self.total += len(b)
                time.sleep(0.001)  # the reader's pace: the server's socket stays full
                continue
            b0, payload = f
            if b0 == 0x89:  # a ping of the server: between two frames, answered
                self.pings += 1
                if self.pong:
                    self.ws.send_frame(10, payload)
                continue
            if b0 == 0x88:
                return None
            check(b0 == 0x81, "frame %d starts with 0x%02x, not 0x81 (FIN, text)"
                  % (self.frames, b0))
            self.frames += 1
            return payload


def check_answer(reader, i, text, deadline):
    reply, done = reader.frame(deadline), reader.frame(deadline)
    check(reply is not None and done is not None, "the answer to message %d is missing" % i)
    reply, done = json.loads(reply), json.loads(done)
    check(reply == {"type": "reply", "text": "|".join([text] * 16)},
          "answer %d is not the reply to message %d: %r" % (i, i, repr(reply)[:200]))
    check(done == {"type": "done", "replies": 1}, "answer %d ends with %r" % (i, done))


def answered():
    return lkt.metric(srv.port, 'loket_messages_out_total{channel="ws"}')


ws = slow_client()
N = 40
texts = [text_for(i) for i in range(N)]
out_before = answered()
for t in texts:
    ws.send_json({"type": "message", "text": t})
# every answer rendered: from here on they wait in the server (and some KB in the kernel)
lkt.wait_for(lambda: answered() >= out_before + N, timeout=60,
             what="the server's answers to all 40 messages")
reader = Reader(ws)
deadline = time.monotonic() + 120
for i, t in enumerate(texts):
    check_answer(reader, i, t, deadline)
check(reader.pending == b"", "bytes after the last answer: %r" % reader.pending[:100])
check(reader.total > 300000, "only %d bytes read" % reader.total)

# the connection still works, read the ordinary way
replies, done = ws.step("sekali lagi")
check([r["text"] for r in replies] == ["|".join(["sekali lagi"] * 16)] and done["replies"] == 1,
      "after the slow reading: %r %r" % (replies, done))
ws.close()
print("ok: %d frames, %d bytes, %d pings between frames" %
      (reader.frames, reader.total, reader.pings))

# A client that does not read at all: once more than 1 MiB (GW_MAX_WS_QUEUE) would wait
# for it, the server lets it go, after the answers it had taken before, whole and in order.
# Answers of about 120 KB: 8 stay under the cap; then one more at a time, each sent once
# the one before was answered, until the server drops the client (so that the server has
# read everything the client sent, and closes without a reset).
ws = slow_client()
big = [("%d " % i) + text_for(12) for i in range(16)]
before = answered()
for t in big[:8]:
    ws.send_json({"type": "message", "text": t})
lkt.wait_for(lambda: answered() >= before + 8, timeout=60, what="the answers to 8 messages")
check("replies not read" not in srv.log_text(), "dropped under the cap")
sent = 8
while "websocket dropped: replies not read" not in srv.log_text():
    check(sent < len(big), "the server never let the client that does not read go")
    ws.send_json({"type": "message", "text": big[sent]})
    sent += 1
    lkt.wait_for(lambda: answered() >= before + sent, timeout=60,
                 what="the answer to message %d" % sent)
# pings not answered: a pong after the server closed would reset the connection, and the
# kernel would drop the answers not read yet
reader = Reader(ws, pong=False)
deadline = time.monotonic() + 120
got = 0
while True:
    reply = reader.frame(deadline)
    if reply is None:
        break
    check(got < sent, "more answers than messages")
    check(json.loads(reply) == {"type": "reply", "text": "|".join([big[got]] * 16)},
          "answer %d is not the reply to message %d" % (got, got))
    done = reader.frame(deadline)
    check(done is not None and json.loads(done) == {"type": "done", "replies": 1},
          "answer %d has no done frame: %r" % (got, done))
    got += 1
check(8 <= got < sent, "%d of %d answers before the server let the client go" % (got, sent))
ws.sock.close()
print("ok: the client that did not read got %d whole answers, then the server closed" % got)

ws = lkt.WS(srv.port)
replies, done = ws.step("masih di sini")
check(done == {"type": "done", "replies": 1}, "the server no longer answers: %r" % done)
ws.close()
srv.check_clean_exit(srv.stop())
