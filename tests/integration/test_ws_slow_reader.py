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


real = socket.create_connection
socket.create_connection = small_buffer_connection
try:
    ws = lkt.WS(srv.port)
finally:
    socket.create_connection = real
ws.hello()


def text_for(i):
    """Message i; the flow answers it with its text 16 times, joined with |."""
    if i % 13 == 12:  # about 115 KB: a payload over 65535 bytes, many sends
        return ("besar %d \"Bandung\" \\ kota " % i) + "🙏" * 1200 + " é" * 900
    if i % 2 == 1:  # a few KB: the 16-bit length, more than one send of lws
        return ("sedang %d " % i) + " ".join(["Kartu \"KIS\" aktif kembali, terima kasih."] * 7)
    return "k%d" % i  # under 126 bytes: the 7-bit length


N = 40
texts = [text_for(i) for i in range(N)]
out_before = lkt.metric(srv.port, 'loket_messages_out_total{channel="ws"}')
for t in texts:
    ws.send_json({"type": "message", "text": t})
# every answer rendered: from here on they wait in the server (and a few KB in the kernel)
lkt.wait_for(lambda: lkt.metric(srv.port, 'loket_messages_out_total{channel="ws"}')
             >= out_before + N, timeout=60, what="the server's answers to all 40 messages")

pending = ws.buf
pings = 0
frames = []
total = 0
deadline = time.monotonic() + 120


def next_frame():
    """One whole frame from pending, checked, or None when more bytes are needed."""
    global pending, pings
    if len(pending) < 2:
        return None
    b0, b1 = pending[0], pending[1]
    n, off = b1 & 0x7F, 2
    if n == 126:
        if len(pending) < 4:
            return None
        n, off = struct.unpack("!H", pending[2:4])[0], 4
        check(n >= 126, "a %d-byte payload in the 16-bit form" % n)
    elif n == 127:
        if len(pending) < 10:
            return None
        n, off = struct.unpack("!Q", pending[2:10])[0], 10
        check(n > 65535, "a %d-byte payload in the 64-bit form" % n)
    check(b1 & 0x80 == 0, "a masked frame from the server")
    if len(pending) < off + n:
        return None
    payload, pending = pending[off:off + n], pending[off + n:]
    if b0 == 0x89:  # a ping of the server: between two frames, answered
        pings += 1
        ws.send_frame(10, payload)
        return next_frame()
    check(b0 == 0x81, "frame %d starts with 0x%02x, not 0x81 (FIN, text)" % (len(frames), b0))
    return payload


while len(frames) < 2 * N:
    f = next_frame()
    if f is not None:
        frames.append(f)
        continue
    check(time.monotonic() < deadline, "only %d of %d frames within 120 s" % (len(frames), 2 * N))
    b = ws.sock.recv(1024)
    check(b, "the server closed the connection after %d frames" % len(frames))
    pending += b
    total += len(b)
    time.sleep(0.001)  # the reader's pace: the server's socket stays full
check(pending == b"", "bytes after the last answer: %r" % pending[:100])

sizes = [0, 0, 0]
for i, t in enumerate(texts):
    reply, done = json.loads(frames[2 * i]), json.loads(frames[2 * i + 1])
    want = "|".join([t] * 16)
    check(reply == {"type": "reply", "text": want},
          "answer %d is not the reply to message %d: %r" % (i, i, repr(reply)[:200]))
    check(done == {"type": "done", "replies": 1}, "answer %d ends with %r" % (i, done))
    n = len(frames[2 * i])
    sizes[0 if n < 126 else 1 if n <= 65535 else 2] += 1
check(all(sizes), "not every length form was sent: %r" % sizes)
check(total > 300000, "only %d bytes read" % total)

# the connection still works, read the ordinary way
ws.buf = b""
replies, done = ws.step("sekali lagi")
check([r["text"] for r in replies] == ["|".join(["sekali lagi"] * 16)] and done["replies"] == 1,
      "after the slow reading: %r %r" % (replies, done))
ws.close()
print("ok: %d frames, %d bytes, length forms %r, %d pings between frames" %
      (len(frames), total, sizes, pings))
srv.check_clean_exit(srv.stop())
