#!/usr/bin/env python3
"""`loket console` in a terminal (a pty 40 columns wide): long reply lines wrap with the
bot prefix on every piece, /help is answered locally, a resumed conversation says where
it stands, and after the server answered one message with an error a server that died
is shown as a lost connection (not as that old error) and the console leaves."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time

import lkt
from lkt import check

srv = lkt.Server("console-pty", config={"rate": 1, "burst": 3})
srv.start()
url = "ws://127.0.0.1:%d/chat" % srv.port
tokens = os.path.join(srv.dir, "tokens")


class Console:
    def __init__(self, *args):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 40, 0, 0))
        env = dict(os.environ, LOKET_CONSOLE_TOKENS=tokens, TERM="dumb")
        env.pop("COLUMNS", None)
        self.proc = subprocess.Popen([lkt.BIN, "console", "--url", url] + list(args), stdin=slave,
                                     stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.out = ""

    def expect(self, pred, what, timeout=20):
        deadline = time.monotonic() + timeout
        while not pred(self.out):
            left = deadline - time.monotonic()
            if left <= 0:
                lkt.fail("console: no %s in %r" % (what, self.out[-1500:]))
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    data = b""
                if not data:
                    if not pred(self.out):
                        lkt.fail("console ended without %s: %r" % (what, self.out[-1500:]))
                    return
                self.out += data.decode("utf-8", "replace").replace("\r\n", "\n")

    def send(self, line):
        os.write(self.master, (line + "\n").encode())

    def wait_exit(self, timeout=20):
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            r, _, _ = select.select([self.master], [], [], 0.1)  # the exit ends the pty's output
            if r:
                try:
                    self.out += os.read(self.master, 4096).decode("utf-8", "replace")
                except OSError:
                    pass
            self.proc.poll()
        check(self.proc.poll() is not None, "the console kept running")
        return self.proc.returncode


c = Console()
c.expect(lambda o: "/help for commands" in o and o.rstrip().endswith(">"), "the greeting")
user = c.out.split(" as ", 1)[1].split()[0]

# /help: answered here; the server never sees it (no reply frames, no bot lines).
mark = len(c.out)
c.send("/help")
c.expect(lambda o: "/quit" in o[mark:] and o.rstrip().endswith(">"), "the help")
check("bot |" not in c.out[mark:], "/help went to the bot: %r" % c.out[mark:])

# A long reply: each printed piece of the bot's text has the prefix and fits 40 columns.
mark = len(c.out)
c.send("Hi Chika")
c.expect(lambda o: "PANDAWA" in o[mark:] and o.rstrip().endswith(">"), "the main menu")
# (the terminal echoes the typed line, with or without the prompt before it)
lines = [l for l in c.out[mark:].split("\n")
         if l.strip() and not l.startswith(">") and l.strip() != "Hi Chika"]
check(lines and all(l.startswith("  bot | ") for l in lines),
      "a wrapped line lost the prefix: %r" % [l for l in lines if not l.startswith("  bot | ")])
check(all(len(l) <= 40 for l in lines), "a line is wider than the terminal: %r" % max(lines, key=len))
check(any(len(l) > 30 for l in lines), "nothing needed wrapping: %r" % lines)
c.send("6")
c.expect(lambda o: "provinsi" in o[mark:].lower() and o.rstrip().endswith(">"), "the province question")
c.send("/quit")
check(c.wait_exit() == 0, "/quit did not leave cleanly")

# Resumed: the console says where the conversation stands before the first message.
c = Console("--user", user)
c.expect(lambda o: "resumed" in o and o.rstrip().endswith(">"), "where the conversation stands")
state = [l for l in c.out.split("\n") if l.startswith("resumed")][0]
check("waits at" in state and "\"" in state, "the resume does not name the state: %r" % state)

# Errors: messages faster than the rate get the server's error; the console stays.
# One line at a time, each answered (by the bot or by the error) before the next.
for _ in range(8):
    mark = len(c.out)
    c.send("Jawa Barat")
    c.expect(lambda o: ("bot |" in o[mark:] or "too many messages" in o[mark:])
             and o.rstrip().endswith(">"), "an answer to Jawa Barat")
    if "too many messages" in c.out[mark:]:
        break
check("too many messages" in c.out, "no rate error: %r" % c.out[-800:])
check(c.proc.poll() is None, "the console left after a server error")

# The server dies: the next message says the connection was lost, and the console leaves.
srv.kill9()
mark = len(c.out)
c.send("Kota Bandung")
c.expect(lambda o: "closed" in o[mark:] or "connection" in o[mark:], "the lost connection")
tail = c.out[mark:]
check("too many messages" not in tail, "the dead server was shown as the old error: %r" % tail)
check(c.wait_exit() == 1, "the console kept prompting with a dead server: %r" % tail)
print("ok")
