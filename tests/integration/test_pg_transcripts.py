#!/usr/bin/env python3
"""Two `loket serve` processes on one PostgreSQL database answer as one: every golden
transcript of tests/transcripts/ is played over the websocket twice, once with every
message sent to server A, once with each message sent to A or B at random (the user's
session resumed on the other server with its token, the database's shared secret); the
replies of the two runs must be the same, message for message. Both runs set the clock
the transcript sets, before each message, on the connection that carries it."""

import datetime
import glob
import os
import random
import re

import lkt
from lkt import check

EPOCH = "2026-11-24T09:00:00+07:00"
UNITS = {"s": 1000, "m": 60000, "h": 3600000, "d": 86400000}

db = lkt.pg_database("transcripts")
# many users from one address, each on two servers
CONF = {"ws_new_sessions": 100000, "max_conns_per_peer": 1000, "rate": 100000, "burst": 100000}
a = lkt.Server("pg-tr-a", db=db, config=CONF).start()
b = lkt.Server("pg-tr-b", db=db, config=CONF).start()
files = sorted(glob.glob(os.path.join(lkt.SRC, "tests", "transcripts", "*", "*.txt")))
check(files, "no transcripts under tests/transcripts")


def iso_ms(s):
    return int(datetime.datetime.fromisoformat(s).timestamp() * 1000)


def duration_ms(s):
    parts = re.findall(r"(\d+)\s*([smhd])", s)
    check(parts, "a duration loket replay knows and this test does not: %r" % s)
    return sum(int(n) * UNITS[u] for n, u in parts)


class Conns:
    """One websocket per (server, user), opened the first time it is needed."""

    def __init__(self, servers, tag):
        self.servers, self.tag, self.ws = servers, tag, {}

    def step(self, si, user, text, now):
        key = (si, user)
        if key not in self.ws:
            c = lkt.WS(self.servers[si].port)
            got = c.hello(user)
            check(got == user, "hello as %s welcomed %s" % (user, got))
            self.ws[key] = c
        c = self.ws[key]
        c.send_json({"type": "clock", "now": now})
        replies, done = c.step(text)
        check(done.get("type") == "done", "%s: %r answered %r" % (user, text, done))
        return [(r.get("text"), r.get("choices")) for r in replies]

    def close(self):
        for c in self.ws.values():
            c.close()
        self.ws = {}


def play(path, conns, pick, run):
    """The replies to each '>' line of the transcript at path."""
    user, now, out = "u", iso_ms(EPOCH), []
    base = "pg%s-%d-%s" % (run, os.getpid(), re.sub(r"\W", "", os.path.basename(path)))
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("@user "):
                user = line[6:].strip()
            elif line.startswith("@at "):
                now = iso_ms(line[4:].strip())
            elif line.startswith("@after "):
                now += duration_ms(line[7:].strip())
            elif line.startswith(">"):
                text = line[1:].lstrip(" ") if line.startswith("> ") else line[1:]
                uid = "%s-%s" % (base, re.sub(r"[^A-Za-z0-9]", "", user) or "u")
                out.append(conns.step(pick(), uid, text, now))
    conns.close()
    return out


rng = random.Random(int(os.environ.get("LOKET_TEST_SEED", "0")) or None)
one = Conns([a], "one")
two = Conns([a, b], "two")
sent = {0: 0, 1: 0}


def either():
    si = rng.randrange(2)
    sent[si] += 1
    return si


messages = 0
for path in files:
    want = play(path, one, lambda: 0, "1")
    got = play(path, two, either, "2")
    messages += len(want)
    check(all(want), "%s: a message got no reply" % os.path.relpath(path, lkt.SRC))
    check(got == want, "%s: the replies differ when the messages go to either server:\n"
          "one server: %r\ntwo servers: %r" % (os.path.relpath(path, lkt.SRC), want, got))
one.close()
two.close()
check(sent[0] > 0 and sent[1] > 0, "the random choice never picked one server: %r" % sent)
for s in (a, b):
    s.check_clean_exit(s.stop())
print("ok: %d transcripts, %d messages: the same replies from one server and from two "
      "(%d to A, %d to B)" % (len(files), messages, sent[0], sent[1]))
