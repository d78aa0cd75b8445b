#!/usr/bin/env python3
"""Dedup records are pruned by the background thread after the dedup_keep setting: an id
is a duplicate while it is kept, and processed again once pruned."""

import time

import lkt
from lkt import check

srv = lkt.Server("prune", config={"dedup_keep": "1s", "prune_every": "200ms",
                                  "checkpoint_every": "100ms"}).start()
P = srv.port
msg = {"from": "prune-user", "text": "Hi Chika", "id": "ext-1"}
st, r = lkt.http_json(P, "POST", "/v1/messages", msg)
check(st == 200 and r["replies"], "first: %d %r" % (st, r))
st, r = lkt.http_json(P, "POST", "/v1/messages", msg)
check(st == 200 and r.get("duplicate") is True, "the repeat within dedup_keep was processed")
lkt.wait_for(lambda: srv.db_query("SELECT count(*) FROM seen")[0][0] == 0, timeout=10,
             what="the dedup record to be pruned")
st, r = lkt.http_json(P, "POST", "/v1/messages", msg)
check(st == 200 and r["replies"] and not r.get("duplicate"), "after pruning: %r" % r)
check("dedup records pruned" in srv.log_text(), "the prune was not logged")
code = srv.stop()
srv.check_clean_exit(code)
print("ok")
