#!/usr/bin/env python3
"""The golden transcripts of tests/transcripts/ give the same verdicts over the websocket
as in process: `loket replay --url` runs every transcript against the shared server
(started with --test-clock) and each must pass exactly when `loket replay` passes it in
process. Once the flow and the transcripts agree, that means all of them pass over the wire.

Each transcript is run from a copy that starts with `@user <unique id>` and
`@at 2026-11-24T09:00:00+07:00`: in process every file gets a fresh database and the
replay epoch as its clock; on a shared server the unique user ids (its own @user lines get
the same suffix) give the fresh sessions, and the explicit @at makes replay send the epoch
as the conversation's clock instead of the server's wall clock."""

import glob
import os
import re
import subprocess
import tempfile

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

# Over the websocket, from rewritten copies.
tmp = tempfile.mkdtemp(prefix="transcripts-", dir=lkt.RUN)
tag = os.urandom(4).hex()
copies = {}
for i, f in enumerate(files):
    rel = os.path.relpath(f, os.path.join(lkt.SRC, "tests", "transcripts"))
    dst = os.path.join(tmp, rel.replace(os.sep, "__"))
    with open(f) as src:
        body = src.read()
    body = re.sub(r"^@user\s+(\S+)", lambda m: "@user %s-%s" % (m.group(1), tag), body, flags=re.M)
    with open(dst, "w") as out:
        out.write("@user replay-%s-%d\n@at %s\n%s" % (tag, i, EPOCH, body))
    copies[dst] = f
url = "ws://127.0.0.1:%d/chat" % srv.port
p = subprocess.run([lkt.BIN, "replay", "--url", url] + list(copies), cwd=lkt.SRC,
                   capture_output=True, text=True, timeout=200)
remote = {copies[k]: v for k, v in verdicts(p.stdout, list(copies)).items()}
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
