#!/usr/bin/env python3
"""`loket console` talks to the server over the websocket: lines in, replies out (the
menu's numbered options in the text), and --user resumes a conversation with the resume
token it kept; without the token the server starts a new conversation instead."""

import os
import subprocess
import tempfile

import lkt
from lkt import check

srv = lkt.shared_server()
url = "ws://127.0.0.1:%d/chat" % srv.port
user = lkt.unique("console")
tmp = tempfile.mkdtemp(prefix="console-", dir=lkt.RUN)
tokens = os.path.join(tmp, "tokens")
env = dict(os.environ, LOKET_CONSOLE_TOKENS=tokens)
p = subprocess.run([lkt.BIN, "console", "--url", url, "--user", user], input="Hi Chika\n6\n/quit\n",
                   capture_output=True, text=True, timeout=60, env=env)
check(p.returncode == 0, "console exited %d: %s" % (p.returncode, p.stderr))
out = p.stdout
check(("as %s" % user) in out, "the console did not say the user id: %r" % out[:200])
check("6. PANDAWA" in out and "provinsi" in out.lower(), "console output: %r" % out[-1500:])

check(os.stat(tokens).st_mode & 0o777 == 0o600, "the token file is not 0600")
with open(tokens) as f:
    kept = f.read().split()
check(kept[:2] == [url, user] and len(kept[2]) == 64, "the token file holds %r" % kept)

# Without the kept token the session is not handed out: a new conversation starts.
other = dict(os.environ, LOKET_CONSOLE_TOKENS=os.path.join(tmp, "none"))
p = subprocess.run([lkt.BIN, "console", "--url", url, "--user", user], input="Jawa Barat\n",
                   capture_output=True, text=True, timeout=60, env=other)
check(p.returncode == 0 and "a new one starts" in p.stdout and ("as %s" % user) not in p.stdout,
      "--user without a token was given the conversation: %r" % p.stdout[-800:])
check("kabupaten" not in p.stdout.lower(), "the province question was answered: %r" % p.stdout)

p = subprocess.run([lkt.BIN, "console", "--url", url, "--user", user], input="Jawa Barat\n",
                   capture_output=True, text=True, timeout=60, env=env)
check(p.returncode == 0 and ("kabupaten" in p.stdout.lower() or "kota" in p.stdout.lower()),
      "--user did not resume the conversation: %r" % p.stdout[-800:])

p = subprocess.run([lkt.BIN, "console", "--url", "ws://127.0.0.1:1/chat"], input="",
                   capture_output=True, text=True, timeout=60)
check(p.returncode != 0 and "cannot connect" in p.stderr, "no server: %r" % p.stderr)
print("ok")
