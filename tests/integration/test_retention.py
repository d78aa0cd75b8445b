#!/usr/bin/env python3
"""Retention: the maintenance thread of a real server prunes the message log after
log_keep, sent and dropped outbox rows after outbox_keep, and idle sessions after
session_keep, each in small batches, on SQLite and (with LOKET_TEST_PG) PostgreSQL.

A server first takes real conversations; then, with the server stopped, some of its rows
are made old (their times moved back, as if written long ago) and old outbox rows are
added beside them: sent, dropped, and one still pending. A second start with the settings
below prunes exactly the old rows at each setting, keeps a pending reply however old,
keeps what is recent, and keeps everything of a table whose setting is `forever`. Bad
values are refused at start with a message naming the key."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import lkt
from lkt import check

DAY = 86400 * 1000
OLD_LOG, NEW_LOG = 700, 3  # old log rows made up by copying, recent ones kept


def talk(port, user):
    for t in ("Hi Chika", "6"):
        st, r = lkt.http_json(port, "POST", "/v1/messages", {"from": user, "text": t})
        check(st == 200 and r.get("replies"), "%s %r: %d %r" % (user, t, st, r))


def run(name, db, sql):
    now = int(time.time() * 1000)
    srv = lkt.Server(name, db=db, config={"log_keep": "forever", "outbox_keep": "forever",
                                          "session_keep": "forever"}).start()
    talk(srv.port, "ret-old")
    talk(srv.port, "ret-new")
    code = srv.stop()
    srv.check_clean_exit(code)
    db = srv.db

    # the old user's rows from 100 days ago (and many more of them, so that pruning takes
    # several batches); its session idle for 40 days
    sql(db, "UPDATE log SET at_ms = at_ms - %d WHERE \"user\" = 'ret-old'" % (100 * DAY))
    for _ in range(7):  # 4 rows doubled 7 times: 512 more, all old
        sql(db, "INSERT INTO log(\"user\", channel, dir, at_ms, state, text) SELECT \"user\", "
                "channel, dir, at_ms, state, text FROM log WHERE \"user\" = 'ret-old'")
    sql(db, "UPDATE sessions SET updated_ms = updated_ms - %d WHERE \"user\" = 'ret-old'"
        % (40 * DAY))
    # outbox rows: sent and dropped 10 days ago, sent yesterday, pending for 10 days (not
    # due: the sender leaves it alone)
    for user, sent, remote in (("ob-sent-old", now - 10 * DAY, "'wamid.a'"),
                               ("ob-drop-old", now - 10 * DAY, "NULL"),
                               ("ob-sent-new", now - DAY, "'wamid.b'"),
                               ("ob-pending", None, "NULL")):
        sql(db, "INSERT INTO outbox(\"user\", channel, payload, created_ms, attempts, next_at_ms, "
                "sent_ms, remote_id) VALUES ('%s', 'whatsapp:1555', '{}', %d, 0, %d, %s, %s)"
            % (user, now - 10 * DAY, now + 365 * DAY, sent if sent else "NULL", remote))

    def count(q):
        return int(srv.db_query(q)[0][0])

    old_log = count("SELECT count(*) FROM log WHERE \"user\" = 'ret-old'")
    new_log = count("SELECT count(*) FROM log WHERE \"user\" = 'ret-new'")
    check(old_log == 512 and new_log == 4, "made up %d old and %d new rows" % (old_log, new_log))

    srv.config = {"log_keep": "90d", "outbox_keep": "7d", "session_keep": "30d",
                  "prune_every": "1h"}
    srv.start()
    lkt.wait_for(lambda: count("SELECT count(*) FROM log WHERE \"user\" = 'ret-old'") == 0
                 and count("SELECT count(*) FROM outbox") == 2
                 and count("SELECT count(*) FROM sessions") == 1, timeout=30,
                 what="the old rows to be pruned")
    check(count("SELECT count(*) FROM log WHERE \"user\" = 'ret-new'") == 4, "recent log rows lost")
    left = sorted(r[0] for r in srv.db_query("SELECT \"user\" FROM outbox"))
    check(left == ["ob-pending", "ob-sent-new"], "outbox rows left: %r" % left)
    check(srv.db_query("SELECT \"user\" FROM sessions")[0][0] == "ret-new", "the recent session")
    lkt.wait_for(lambda: "old rows pruned" in srv.log_text(), what="the prune's log line")
    line = [l for l in srv.log_text().splitlines() if "old rows pruned" in l]
    total = {}
    for l in line:
        for k in ("log", "outbox", "sessions"):
            total[k] = total.get(k, 0) + int(l.split(" %s=" % k)[1].split()[0])
    check(total == {"log": 512, "outbox": 2, "sessions": 1}, "logged: %r" % total)
    # the server answers meanwhile and after; the old user starts over
    talk(srv.port, "ret-old")
    code = srv.stop()
    srv.check_clean_exit(code)


def sqlite_sql(db, q):
    import sqlite3
    con = sqlite3.connect(db, timeout=10)
    try:
        con.execute(q)
        con.commit()
    finally:
        con.close()


run("retention-sqlite", None, sqlite_sql)
print("sqlite ok")

# bad values: refused at start, naming the key
for bad in ("0s", "90x", "30s"):
    p = subprocess.run([lkt.BIN, "serve", "--db", ":memory:", "--port", "0"],
                       env=dict(os.environ, LOKET_LOG_KEEP=bad), capture_output=True, text=True,
                       timeout=30)
    check(p.returncode != 0 and "log_keep" in p.stderr and "forever" in p.stderr,
          "log_keep=%s: exit %d, %r" % (bad, p.returncode, p.stderr[-300:]))

if lkt.PG:
    run("retention-pg", lkt.pg_database("retention"), lambda db, q: lkt.psql(db, q))
    print("postgresql ok")
else:
    print("PostgreSQL part SKIPPED: LOKET_TEST_PG is not set")
print("ok")
