#!/usr/bin/env python3
"""`loket console` talks to the server over the websocket: lines in, replies out (the
menu's numbered options in the text), and --user resumes a conversation."""

import subprocess

import lkt
from lkt import check

srv = lkt.shared_server()
url = "ws://127.0.0.1:%d/chat" % srv.port
user = lkt.unique("console")
p = subprocess.run([lkt.BIN, "console", "--url", url, "--user", user], input="Hi Chika\n6\n/quit\n",
                   capture_output=True, text=True, timeout=60)
check(p.returncode == 0, "console exited %d: %s" % (p.returncode, p.stderr))
out = p.stdout
check(("as %s" % user) in out, "the console did not say the user id: %r" % out[:200])
check("6. PANDAWA" in out and "provinsi" in out.lower(), "console output: %r" % out[-1500:])

p = subprocess.run([lkt.BIN, "console", "--url", url, "--user", user], input="Jawa Barat\n",
                   capture_output=True, text=True, timeout=60)
check(p.returncode == 0 and ("kabupaten" in p.stdout.lower() or "kota" in p.stdout.lower()),
      "--user did not resume the conversation: %r" % p.stdout[-800:])

p = subprocess.run([lkt.BIN, "console", "--url", "ws://127.0.0.1:1/chat"], input="",
                   capture_output=True, text=True, timeout=60)
check(p.returncode != 0 and "cannot connect" in p.stderr, "no server: %r" % p.stderr)
print("ok")
