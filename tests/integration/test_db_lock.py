#!/usr/bin/env python3
"""One server per SQLite file: a second `loket serve` on the database of a running one
refuses to start with a clear message (two would both send the outbox), while `loket
chat` may still use the file; the database, its -wal and -shm and the lock file are
created 0600; once the first server stops, another may start on the file."""

import os
import subprocess

import lkt
from lkt import check

first = lkt.Server("db-lock").start()
pid = first.proc.pid

# The first server made the files; none of them is readable by others.
st, r = lkt.http_json(first.port, "POST", "/v1/messages", {"from": "62812000", "text": "Halo"})
check(st == 200, "generic answered %d" % st)
for suffix in ("", "-wal", "-shm", ".lock"):
    path = first.db + suffix
    lkt.wait_for(lambda: os.path.exists(path), what=path)
    mode = os.stat(path).st_mode & 0o777
    check(mode == 0o600, "%s is %o, not 600" % (path, mode))

second = subprocess.run([lkt.BIN, "serve", "--flow", lkt.FLOW, "--db", first.db, "--host",
                         "127.0.0.1", "--port", str(lkt.free_port())], cwd=lkt.SRC,
                        capture_output=True, text=True, timeout=60)
check(second.returncode != 0, "a second server started on the same database")
check("another loket serve" in second.stderr and ("pid %d" % pid) in second.stderr
      and "--db" in second.stderr, "no clear message: %r" % second.stderr[-800:])
check("listening" not in second.stderr, "the second server listened: %r" % second.stderr[-800:])

# The first one is untouched, and `loket chat` still shares the file.
check(lkt.http(first.port, "GET", "/healthz")[0] == 200, "the first server is not healthy")
chat = subprocess.run([lkt.BIN, "chat", "--flow", lkt.FLOW, "--db", first.db, "--user", "kasir"],
                      input="Hi Chika\n", cwd=lkt.SRC, capture_output=True, text=True, timeout=60)
check(chat.returncode == 0 and "PANDAWA" in chat.stdout, "loket chat could not use the database: "
      "%r %r" % (chat.stdout[-400:], chat.stderr[-400:]))
check(first.db_query("SELECT count(*) FROM sessions WHERE channel = 'chat' AND user = 'kasir'")
      [0][0] == 1, "the chat session is not in the shared database")

first.check_clean_exit(first.stop())
# The lock goes with the server that held it.
again = lkt.Server("db-lock-again", db=first.db).start()
st, r = lkt.http_json(again.port, "POST", "/v1/messages", {"from": "62812000", "text": "menu"})
check(st == 200, "the server after the first one answered %d" % st)
again.check_clean_exit(again.stop())
print("ok")
