"""Scenarios of the outbox under load for the tests of both backends (test_whatsapp_api_down,
test_whatsapp_backlog, test_pg_whatsapp_outbox): run each with db=None (a SQLite file of the
server's own) or a PostgreSQL URI.

- api_down: the Graph API cannot be reached (nothing listens on its port), then a mock
  starts on that port. While it is down the sender pauses: the outbox is not read on every
  commit, no row is charged an attempt, the log says so once; once it is up every reply is
  delivered, once, in order per user.
- backlog: users write faster than their phone number may send (wa_rate): a queue of many
  rows per user builds up behind each user's oldest, and drains in order per user."""

import json
import time

import lkt
import mock_graph
from lkt import check

# a conversation as people type it, and taps
TALK = [lambda u: lkt.wa_text(u, "Hi Chika"), lambda u: lkt.wa_list_reply(u, "6", "PANDAWA"),
        lambda u: lkt.wa_text(u, "jabar"), lambda u: lkt.wa_text(u, "bekasi"),
        lambda u: lkt.wa_text(u, "1"), lambda u: lkt.wa_text(u, "menu"),
        lambda u: lkt.wa_text(u, "2"), lambda u: lkt.wa_text(u, "menu")]


def post(srv, pnid, msg):
    st, _, body = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [msg]))
    check(st == 200, "a webhook answered %d %r" % (st, body))


def pending(srv):
    return srv.db_query("SELECT count(*) FROM outbox WHERE sent_ms IS NULL")[0][0]


def check_delivered(srv, mock, pnid, users):
    """Every outbox row of users delivered once, each user's in the outbox's order."""
    got = {}
    for r in mock.delivered(pnid):
        got.setdefault(r["payload"]["to"], []).append(r["payload"])
    total = 0
    for u in users:
        want = [json.loads(p) for (p,) in srv.db_query(
            "SELECT payload FROM outbox WHERE \"user\" = '%s' ORDER BY id" % u)]
        check(want and got.get(u) == want,
              "user %s: %d replies delivered, %d in the outbox, or out of order"
              % (u, len(got.get(u, [])), len(want)))
        total += len(want)
    return total


def api_down(name, db=None, receipts=True):
    """receipts: read receipts on (a receipt waiting is the probe) or off (a reply is)."""
    mport = lkt.free_port()  # nothing listens here yet: the Graph API is down
    base_s = 1.0
    conf = {"retry_base": "1s", "retry_cap": "2s", "sender_poll": "100ms", "rate": 1000,
            "burst": 1000, "sync": "normal", "log": "debug",
            "wa_read_receipts": "on" if receipts else "off"}
    srv = lkt.Server(name, db=db, config=conf,
                     env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}).start()
    pnid = lkt.unique_pnid()
    users = ["6285%09d" % (int(pnid[-7:]) * 10 + i) for i in range(4)]
    for u in users:
        post(srv, pnid, TALK[0](u))
    lkt.wait_for(lambda: lkt.metric(srv.port, "loket_whatsapp_api_unreachable") == 1,
                 what="/metrics saying the Graph API cannot be reached")

    # each webhook is a commit that wakes the sender; while the API is down it must not
    # read the outbox for it: at most once per pause (at least half of retry_base). The
    # users write on both sides of a few probes that fail.
    q0 = lkt.metric(srv.port, "loket_sender_outbox_queries_total")
    t0 = time.monotonic()
    posts = 0

    def write(n):
        nonlocal posts
        for _ in range(n):
            u = users[posts % len(users)]
            post(srv, pnid, TALK[1 + (posts // len(users)) % (len(TALK) - 1)](u))
            posts += 1

    write(40)
    lkt.wait_for(lambda: srv.log_text().count("the Graph API still cannot be reached") >= 2,
                 timeout=30, what="two probes that failed")
    write(40)
    elapsed = time.monotonic() - t0
    queries = lkt.metric(srv.port, "loket_sender_outbox_queries_total") - q0
    bound = int(elapsed / (base_s / 2)) + 2
    check(posts > 2 * bound, "the webhooks took %.1fs: too slow to tell (bound %d)"
          % (elapsed, bound))
    check(queries <= bound, "the outbox was read %d times in %.1fs while the Graph API was down "
          "(%d commits; a pause allows at most %d)" % (queries, elapsed, posts, bound))
    rows = srv.db_query("SELECT count(*), max(attempts) FROM outbox")[0]
    check(rows[0] >= posts and rows[1] == 0,
          "while down: %d rows, the most attempts on one %r (none should be charged)" % rows)
    log = srv.log_text()
    check(log.count("the Graph API cannot be reached") == 1,
          "the outage was not logged exactly once:\n%s" % log[-3000:])
    check("reply not sent" not in log, "a line per row while the Graph API was down")

    _, state = mock_graph.serve(mport)  # the Graph API is back
    mock = lkt.MockClient(mport)
    lkt.wait_for(lambda: pending(srv) == 0, timeout=20, what="every reply sent once the API is up")
    lkt.wait_for(lambda: lkt.metric(srv.port, "loket_whatsapp_api_unreachable") == 0,
                 what="/metrics saying the Graph API answers again")
    total = check_delivered(srv, mock, pnid, users)
    check(len(mock.delivered(pnid)) == total, "%d deliveries for %d rows"
          % (len(mock.delivered(pnid)), total))
    check(srv.db_query("SELECT max(attempts) FROM outbox")[0][0] == 0,
          "a row was charged an attempt for the outage")
    log = srv.log_text()
    check(log.count("the Graph API answers again") == 1, "the recovery was not logged once")
    check(lkt.metric(srv.port, "loket_whatsapp_api_unreachable_total") == 1,
          "outages counted: %d" % lkt.metric(srv.port, "loket_whatsapp_api_unreachable_total"))
    srv.check_clean_exit(srv.stop())
    print("ok: Graph API down (probes: %s): %d commits read the outbox %d times in %.1fs, "
          "no attempt charged; %d replies of %d users delivered in order once it was up"
          % ("read receipts" if receipts else "replies", posts, queries, elapsed, total,
             len(users)))


def backlog(name, db=None):
    mport = lkt.free_port()
    mock_graph.serve(mport)
    mock = lkt.MockClient(mport)
    rate = 20
    conf = {"wa_rate": rate, "sender_poll": "100ms", "rate": 1000, "burst": 1000,
            "sync": "normal", "retry_base": "200ms", "retry_cap": "1s"}
    srv = lkt.Server(name, db=db, config=conf,
                     env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}).start()
    pnid = lkt.unique_pnid()
    users = ["6287%09d" % (int(pnid[-7:]) * 10 + i) for i in range(6)]
    for say in TALK + TALK[5:]:
        for u in users:
            post(srv, pnid, say(u))
    queued = srv.db_query("SELECT count(*) FROM outbox WHERE sent_ms IS NULL "
                          "AND next_at_ms IS NULL")[0][0]
    rows = srv.db_query("SELECT count(*) FROM outbox")[0][0]
    check(queued >= len(users), "no backlog formed: %d of %d rows queued behind others"
          % (queued, rows))
    lkt.wait_for(lambda: pending(srv) == 0, timeout=rows / rate + 60,
                 what="the backlog of %d rows drained" % rows)
    total = check_delivered(srv, mock, pnid, users)
    check(total == rows and len(mock.delivered(pnid)) == rows,
          "%d deliveries for %d rows" % (len(mock.delivered(pnid)), rows))
    check(lkt.metric(srv.port, "loket_whatsapp_paced_total") > 0, "wa_rate held nothing back")
    srv.check_clean_exit(srv.stop())
    print("ok: a backlog of %d rows (%d queued behind others) for %d users drained at "
          "wa_rate %d, in order per user" % (rows, queued, len(users), rate))
