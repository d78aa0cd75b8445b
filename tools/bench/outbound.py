#!/usr/bin/env python3
"""The WhatsApp sender's delivery rate: a fresh `loket serve` whose Graph API is the test
mock (tests/integration/mock_graph.py) answering every send after a delay, as the real one
does after about 150 ms. USERS users each send two messages ("Hi Chika", then 6 for
PANDAWA), all at once in signed webhook bodies of 100; the script waits for every reply at
the mock and prints the replies per second (first to last), the most requests the mock saw
in flight, and whether each user's two replies arrived in order. Loopback only.

  tools/bench/outbound.py [--build DIR] [--users N] [--delay SECONDS] [--inflight N]
                          [--wa-rate N]
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--users", type=int, default=1500)
    ap.add_argument("--delay", type=float, default=0.15)
    ap.add_argument("--inflight", type=int, default=None, help="send_inflight (default: loket's)")
    ap.add_argument("--wa-rate", type=float, default=100000,
                    help="wa_rate for the one number (Meta's 80 would cap the run at 80/s)")
    a = ap.parse_args()
    os.environ["LOKET_BIN"] = os.path.join(a.build, "loket")
    import lkt
    import mock_graph

    mport = lkt.free_port()
    _, state = mock_graph.serve(mport)
    pnid = lkt.unique_pnid()
    with state.lock:
        state.delay[pnid] = a.delay
    conf = {"wa_rate": a.wa_rate, "sync": "normal", "rate": 100000, "burst": 100000,
            "wa_read_receipts": "no", "batch_per_turn": 1000, "log": "warn"}
    if a.inflight:
        conf["send_inflight"] = a.inflight
    srv = lkt.Server("outbound", config=conf,
                     env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}).start()
    users = ["628%09d" % i for i in range(a.users)]
    for text in ("Hi Chika", "6"):
        for k in range(0, len(users), 100):
            body = lkt.wa_notification(pnid, [lkt.wa_text(u, text) for u in users[k:k + 100]])
            st, _, _ = lkt.wa_post(srv.port, body)
            lkt.check(st == 200, "a webhook answered %d" % st)
    want = 2 * len(users)
    lkt.wait_for(lambda: len(state.requests.get(pnid, [])) >= want, timeout=600, interval=0.2,
                 what="every reply at the mock")
    reqs = state.requests[pnid]
    at = sorted(r["at"] for r in reqs)
    order = {}
    for r in sorted(reqs, key=lambda r: r["at"]):
        body = r["payload"]["interactive"]["body"]["text"].lower()
        order.setdefault(r["payload"]["to"], []).append("provinsi" in body)
    in_order = all(v == [False, True] for v in order.values())
    srv.check_clean_exit(srv.stop())
    span = at[-1] - at[0]
    print("%d replies in %.2f s: %.0f replies/s; mock delay %.0f ms; at most %d in flight; "
          "each user's replies in order: %s" % (want, span, want / span, a.delay * 1000,
                                                state.max_total, "yes" if in_order else "NO"))
    return 0 if in_order else 1


if __name__ == "__main__":
    sys.exit(main())
