#!/usr/bin/env python3
"""/healthz: 200 {"status":"ok",...} with the version and the schema while the database
answers and the sender thread lives; 503 saying what is wrong when the database file is
moved away, replaced by another file, or its directory removed. `loket --version` and the
server's start log line carry the same version and schema."""

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile

import lkt
from lkt import check

out = subprocess.run([lkt.BIN, "--version"], capture_output=True, text=True, timeout=30)
check(out.returncode == 0, "loket --version exited %d: %s" % (out.returncode, out.stderr))
m = re.fullmatch(r"loket (\d+\.\d+\.\d+)(?: \(git ([^)]+)\))?, database schema (\d+)\n", out.stdout)
check(m, "loket --version said %r" % out.stdout)
version, git, schema = m.group(1), m.group(2) or "", int(m.group(3))


def health(port):
    st, body = lkt.http_json(port, "GET", "/healthz")
    check(isinstance(body, dict), "/healthz body is not a JSON object: %r" % (body,))
    return st, body


def start(name):
    data = tempfile.mkdtemp(prefix=name + "-data-", dir=lkt.RUN)
    srv = lkt.Server(name, db=os.path.join(data, "loket.db")).start()
    st, r = lkt.http_json(srv.port, "POST", "/v1/messages",
                          {"from": "6281200000001", "text": "Hi Chika", "id": name + "-1"})
    check(st == 200 and r["replies"], "%s: the first message: %d %r" % (name, st, r))
    return srv, data


def stop(srv):
    code = srv.stop()
    log = srv.log_text()
    check("AddressSanitizer" not in log and "runtime error:" not in log
          and "LeakSanitizer" not in log, "sanitizer report:\n" + log[-6000:])
    return code


# ---- all well, then the file moved away and back ------------------------------------------
srv, data = start("healthz-move")
st, h = health(srv.port)
check(st == 200, "healthy server answered %d %r" % (st, h))
check(h.get("status") == "ok" and h.get("database") == "ok" and h.get("sender") == "ok",
      "healthy body: %r" % h)
check(h.get("version") == version and h.get("git") == git and h.get("schema") == schema,
      "/healthz %r disagrees with --version %r" % (h, out.stdout))
line = [l for l in srv.log_text().splitlines() if 'msg="listening"' in l]
check(line and ("version=%s" % version) in line[0] and ("schema=%d" % schema) in line[0],
      "the start line lacks the version and schema: %r" % line)

os.rename(srv.db, srv.db + ".moved")
st, h = health(srv.port)
check(st == 503 and h.get("status") == "unavailable", "db moved away: %d %r" % (st, h))
check("deleted, moved or replaced" in h.get("database", "") and h.get("sender") == "ok",
      "db moved away, body: %r" % h)
check("health check failed" in srv.log_text(), "the failed health check was not logged")
os.rename(srv.db + ".moved", srv.db)
st, h = health(srv.port)
check(st == 200 and h.get("status") == "ok", "db back in place: %d %r" % (st, h))
check(stop(srv) == 0, "the server did not stop cleanly after the db came back")

# ---- the file replaced by another database ------------------------------------------------
srv, data = start("healthz-replace")
other = os.path.join(data, "other.db")
con = sqlite3.connect(other)
con.execute("CREATE TABLE t(x)")
con.commit()
con.close()
os.replace(other, srv.db)
st, h = health(srv.port)
check(st == 503 and "deleted, moved or replaced" in h.get("database", ""),
      "db replaced: %d %r" % (st, h))
stop(srv)

# ---- the directory removed ----------------------------------------------------------------
srv, data = start("healthz-rmdir")
shutil.rmtree(data)
st, h = health(srv.port)
check(st == 503 and h.get("status") == "unavailable" and h.get("database") != "ok",
      "db directory removed: %d %r" % (st, h))
st, _ = lkt.http_json(srv.port, "GET", "/metrics")
check(st == 200, "the server stopped answering other requests (%d)" % st)
stop(srv)
print("ok")
