#!/usr/bin/env python3
"""`loket backup` while the server is under load: the copy passes PRAGMA integrity_check
and holds every message whose answer came back (so whose transaction committed) before the
backup started; the load goes on while it runs. A backup never replaces a file."""

import os
import sqlite3
import subprocess
import threading
import time

import lkt
from lkt import check

srv = lkt.Server("backup", config={"rate": "10000", "burst": "10000"}).start()
P = srv.port

# Some bulk first, so that the copy takes long enough for messages to arrive meanwhile.
con = sqlite3.connect(srv.db, timeout=10)
con.executemany("INSERT INTO log(user, channel, dir, at_ms, state, ext_id, text) "
                "VALUES (?, 'generic', 'in', 0, NULL, NULL, ?)",
                (("bulk-%d" % (i % 500), "x" * 400) for i in range(30000)))
con.commit()
con.close()

lock = threading.Lock()
answered = []  # (ext_id, monotonic time the answer came back)
errors = []
stop = threading.Event()


def load(worker):
    for i in range(20000):  # bounded; stopped once the backup is checked
        if stop.is_set():
            return
        ext = "bk-%d-%d" % (worker, i)
        msg = {"from": "62813%03d%04d" % (worker, i % 50), "text": "Hi Chika", "id": ext}
        try:
            st, r = lkt.http_json(P, "POST", "/v1/messages", msg)
        except OSError as e:
            errors.append("%s: %s" % (ext, e))
            return
        if st != 200 or not r.get("replies"):
            errors.append("%s: %d %r" % (ext, st, r))
            return
        with lock:
            answered.append((ext, time.monotonic()))


threads = [threading.Thread(target=load, args=(w,)) for w in range(2)]
for t in threads:
    t.start()
lkt.wait_for(lambda: len(answered) >= 100 or errors, timeout=60, what="100 answered messages")
check(not errors, "load failed: %r" % errors[:3])

dest = os.path.join(srv.dir, "backup.db")
with lock:
    before = {e for e, _ in answered}
t0 = time.monotonic()
out = subprocess.run([lkt.BIN, "backup", "--db", srv.db, dest], capture_output=True, text=True,
                     timeout=120)
t1 = time.monotonic()
check(out.returncode == 0, "backup exited %d: %s%s" % (out.returncode, out.stdout, out.stderr))
check("copied to" in out.stdout, "backup said %r" % out.stdout)
n0 = len(answered)
lkt.wait_for(lambda: len(answered) >= n0 + 20 or errors, timeout=60,
             what="the load to go on after the backup")
stop.set()
for t in threads:
    t.join(60)
check(not errors, "load failed during the backup: %r" % errors[:3])
during = [e for e, at in answered if t0 <= at <= t1]
print("backup took %.0f ms; %d messages answered before it, %d during it"
      % ((t1 - t0) * 1000, len(before), len(during)))

con = sqlite3.connect("file:%s?mode=ro" % dest, uri=True)
check(con.execute("PRAGMA integrity_check").fetchall() == [("ok",)], "integrity_check failed")
have = {r[0] for r in con.execute("SELECT ext_id FROM log WHERE ext_id LIKE 'bk-%'")}
bulk = con.execute("SELECT count(*) FROM log WHERE ext_id IS NULL AND user LIKE 'bulk-%'")
check(bulk.fetchone()[0] == 30000, "the bulk rows are not all in the copy")
con.close()
missing = sorted(before - have)
check(not missing, "%d messages committed before the backup are missing, e.g. %s"
      % (len(missing), missing[:5]))
live = {r[0] for r in srv.db_query("SELECT ext_id FROM log WHERE ext_id LIKE 'bk-%'")}
check(len(live) > len(have), "the live database got nothing after the backup")

# A second backup to the same name is refused and leaves the first untouched.
size = os.path.getsize(dest)
out = subprocess.run([lkt.BIN, "backup", "--db", srv.db, dest], capture_output=True, text=True,
                     timeout=60)
check(out.returncode == 1 and "exists" in out.stderr, "backup over a file: %d %r"
      % (out.returncode, out.stderr))
check(os.path.getsize(dest) == size, "the refused backup changed the file")
out = subprocess.run([lkt.BIN, "backup", "--db", os.path.join(srv.dir, "nope.db"),
                      os.path.join(srv.dir, "b2.db")], capture_output=True, text=True, timeout=60)
check(out.returncode == 1 and not os.path.exists(os.path.join(srv.dir, "nope.db"))
      and not os.path.exists(os.path.join(srv.dir, "b2.db")),
      "a backup of a missing database: %d %r" % (out.returncode, out.stderr))

code = srv.stop()
srv.check_clean_exit(code)
print("ok")
