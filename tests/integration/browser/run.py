#!/usr/bin/env python3
"""Runs console.test.js (playwright-core driving Debian's chromium) against the shared
server's web console. Exits 77 (CTest: skipped) with a message saying what is missing
when chromium, node or node_modules/playwright-core is not installed: tools/setup.sh
--test installs chromium, nodejs and npm and runs `npm ci` in this folder."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lkt  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
chromium = os.environ.get("LOKET_CHROMIUM", "/usr/bin/chromium")
node = os.environ.get("NODE_BIN") or shutil.which("node")
missing = []
if not os.access(chromium, os.X_OK):
    missing.append("chromium (%s; apt-get install chromium)" % chromium)
if not node or not os.access(node, os.X_OK):
    missing.append("node (apt-get install nodejs)")
if not os.path.isdir(os.path.join(here, "node_modules", "playwright-core")):
    missing.append("playwright-core (npm ci in tests/integration/browser)")
if missing:
    print("SKIP: the browser test needs " + ", ".join(missing))
    sys.exit(lkt.SKIP)

srv = lkt.shared_server()
# a second server with a flow in another language: the page speaks it, with no change in C
english = os.path.join(lkt.SRC, "tests", "integration", "flows", "english.json")
other = lkt.Server("browser-en", flow=english).start()
out_dir = os.environ.get("LOKET_BUILD_DIR", lkt.RUN)
profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=lkt.RUN)
env = dict(os.environ, BASE_URL="http://127.0.0.1:%d/" % srv.port, CHROMIUM=chromium,
           SCREENSHOT=os.path.join(out_dir, "web-console-375.png"), USER_DATA_DIR=profile,
           FLOW=lkt.FLOW, OTHER_URL="http://127.0.0.1:%d/" % other.port, OTHER_FLOW=english)
try:
    p = subprocess.run([node, os.path.join(here, "console.test.js")], cwd=here, env=env, timeout=200)
finally:
    other.stop()
    shutil.rmtree(profile, ignore_errors=True)
sys.exit(p.returncode)
