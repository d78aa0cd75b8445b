#!/usr/bin/env python3
"""Settings: `--help`; a config file with an unknown key or a bad value refused with
file:line and exit status 2; precedence flags > environment > file > defaults; and
LOKET_PUBLIC_URL as the base of the URL a Twilio signature covers."""

import os
import subprocess

import lkt
from lkt import check

p = subprocess.run([lkt.BIN, "serve", "--help"], capture_output=True, text=True, timeout=30)
check(p.returncode == 0 and "--config" in p.stdout and "LOKET_WA_APP_SECRET" in p.stdout,
      "serve --help: %d %r" % (p.returncode, p.stdout[:200]))

d = os.path.join(lkt.RUN, "config-test")
os.makedirs(d, exist_ok=True)
bad = os.path.join(d, "bad.conf")
with open(bad, "w") as f:
    f.write("# comment\nport = 8081\ncolour = blue\nsync = sometimes\n")
p = subprocess.run([lkt.BIN, "serve", "--config", bad], capture_output=True, text=True, timeout=30,
                   cwd=lkt.SRC)
check(p.returncode == 2, "a bad config file: exit %d" % p.returncode)
check("bad.conf:3" in p.stderr and "colour" in p.stderr and "bad.conf:4" in p.stderr
      and "sync" in p.stderr, "the errors do not name file:line: %r" % p.stderr)

# burst: file 1, environment 2; port: file (a used port), flag wins (the Server helper's --port)
srv = lkt.Server("config", config={"burst": 1, "rate": "0.001", "port": 1},
                 env={"LOKET_BURST": "2", "LOKET_PUBLIC_URL": "https://bot.example.org/"}).start()
codes = [lkt.http_json(srv.port, "POST", "/v1/messages", {"from": "cfg", "text": "Hi Chika"})[0]
         for _ in range(3)]
check(codes == [200, 200, 429], "LOKET_BURST=2 did not win over the file's burst = 1: %r" % codes)

params = {"From": "whatsapp:+628111", "Body": "Hi Chika", "MessageSid": "SMcfg"}
st, _, _ = lkt.twilio_post(srv.port, params)
check(st == 401, "the Host-based URL was accepted although LOKET_PUBLIC_URL is set")
st, _, body = lkt.twilio_post(srv.port, params, url="https://bot.example.org/webhook/twilio")
check(st == 200 and b"<Message>" in body, "LOKET_PUBLIC_URL was not the signed base: %d" % st)
code = srv.stop()
srv.check_clean_exit(code)
print("ok")
