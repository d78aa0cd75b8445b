#!/usr/bin/env python3
"""The golden transcripts of tests/transcripts/ give the same verdicts over the websocket
as in process: `loket replay --url` runs every transcript, as it is, against the shared
server (started with --test-clock), and each must pass exactly when `loket replay` passes it
in process. replay gives each transcript users of its own and sends the replay epoch as the
clock, so the shared server's other sessions and its wall clock do not matter.

Against a server without --test-clock, transcripts that set the clock (@at, @after) are
reported as skipped, the others run, and the closing line counts the skipped ones."""

import glob
import os
import re
import subprocess

import lkt
from lkt import check

EPOCH = "2026-11-24T09:00:00+07:00"

srv = lkt.shared_server()
files = sorted(glob.glob(os.path.join(lkt.SRC, "tests", "transcripts", "*", "*.txt")))
if not files:
    print("SKIP: no transcripts under tests/transcripts")
    raise SystemExit(lkt.SKIP)


def verdicts(out, names):
    failed = set(re.findall(r"^FAILED: (.*)$", out, re.M))
    skipped = set(re.findall(r"^skipped: (.*) \(", out, re.M))
    return {n: ("FAIL" if n in failed else "SKIP" if n in skipped else "PASS") for n in names}


# In process: the reference verdicts.
p = subprocess.run([lkt.BIN, "replay"] + files, cwd=lkt.SRC, capture_output=True, text=True,
                   timeout=200)
local = verdicts(p.stdout, files)

# Over the websocket, from the same files.
url = "ws://127.0.0.1:%d/chat" % srv.port
p = subprocess.run([lkt.BIN, "replay", "--url", url] + files, cwd=lkt.SRC,
                   capture_output=True, text=True, timeout=200)
remote = verdicts(p.stdout, files)
last = [l for l in p.stdout.splitlines() if l.strip()][-1] if p.stdout.strip() else ""
print("over --url: %s" % last)

diff = [(os.path.relpath(f, lkt.SRC), local[f], remote[f]) for f in files if local[f] != remote[f]]
if diff:
    print(p.stdout[-6000:])
check(not diff, "verdicts differ between in process and --url: %r" % diff)
check(all(v != "SKIP" for v in remote.values()), "transcripts were skipped over --url")
npass = sum(1 for v in remote.values() if v == "PASS")
check(last.startswith("%d passed, %d failed" % (npass, len(files) - npass)), "summary line %r" % last)
if npass != len(files):
    print("NOTE: %d of %d transcripts fail in process too (the flow or the transcripts, "
          "not the gateway): %s" % (len(files) - npass, len(files),
                                    [os.path.relpath(f, lkt.SRC) for f in files if local[f] != "PASS"]))
print("ok: %d/%d transcripts pass over the websocket, the same as in process" % (npass, len(files)))

# A server without --test-clock: transcripts that set the clock are skipped, not failed.
# every transcript is a new websocket session from 127.0.0.1
plain = lkt.Server("no-test-clock", test_clock=False,
                   config={"ws_new_sessions": 100000}).start()
url = "ws://127.0.0.1:%d/chat" % plain.port
p = subprocess.run([lkt.BIN, "replay", "--url", url] + files, cwd=lkt.SRC,
                   capture_output=True, text=True, timeout=200)
plain.stop()
got = verdicts(p.stdout, files)
clocked = []
for f in files:
    with open(f) as fh:
        if re.search(r"^@(at|after)\s", fh.read(), re.M):
            clocked.append(f)
check(clocked, "no transcript sets the clock")
check(all(got[f] == "SKIP" for f in clocked), "clock transcripts were not skipped: %r" %
      [f for f in clocked if got[f] != "SKIP"])
last = [l for l in p.stdout.splitlines() if l.strip()][-1] if p.stdout.strip() else ""
nskip = sum(1 for v in got.values() if v == "SKIP")
npass = sum(1 for v in got.values() if v == "PASS")
check(last == "%d passed, %d failed, %d skipped" % (npass, len(files) - npass - nskip, nskip),
      "summary line without --test-clock: %r" % last)
print("ok: without --test-clock, %d skipped and %d passed" % (nskip, npass))
