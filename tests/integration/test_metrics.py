#!/usr/bin/env python3
"""GET /metrics counts what this test did, exactly (on a server of its own): messages in
and out per channel, duplicates, errors by kind, the step histogram, active sessions and
the outbox depth, in the Prometheus text format."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check

mport = lkt.free_port()
_, state = mock_graph.serve(mport)
srv = lkt.Server("metrics", config={"sender_poll": "100ms", "rate": 1000, "burst": 1000},
                 env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}).start()
P = srv.port

st, _, body = lkt.http(P, "GET", "/metrics")
check(st == 200, "GET /metrics answered %d" % st)
text = body.decode()
for name, kind in [("loket_messages_in_total", "counter"), ("loket_messages_out_total", "counter"),
                   ("loket_errors_total", "counter"), ("loket_step_seconds", "histogram"),
                   ("loket_active_sessions", "gauge"), ("loket_outbox_depth", "gauge")]:
    check("# TYPE %s %s" % (name, kind) in text, "no TYPE line for " + name)
m0 = lkt.metrics(P)
check(m0['loket_messages_in_total{channel="ws"}'] == 0 and m0["loket_step_seconds_count"] == 0,
      "a fresh server has counts")

ws = lkt.WS(P)
ws.hello("metrics-ws")
r1, _ = ws.step("Hi Chika")
r2, _ = ws.step("6")
ws.close()
out_ws = len(r1) + len(r2)

st, a = lkt.http_json(P, "POST", "/v1/messages", {"from": "metrics-gen", "text": "Hi Chika", "id": "g1"})
st, b = lkt.http_json(P, "POST", "/v1/messages", {"from": "metrics-gen", "text": "6", "id": "g2"})
st, c = lkt.http_json(P, "POST", "/v1/messages", {"from": "metrics-gen", "text": "6", "id": "g2"})
check(c.get("duplicate") is True, "the repeated id was not a duplicate")
out_gen = len(a["replies"]) + len(b["replies"])
lkt.http(P, "POST", "/v1/messages", b'{"from": "x", "text": ', {})              # bad_request
lkt.http_json(P, "POST", "/v1/messages", {"from": "metrics-gen", "text": "z" * 5000})  # bad_input
lkt.raw_request(P, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999\r\n\r\n")  # too_large
lkt.wa_post(P, lkt.wa_notification("123", [lkt.wa_text("6281", "Hi Chika")]), signature="sha256=00")  # signature

pnid = "4242"
st, _, _ = lkt.wa_post(P, lkt.wa_notification(pnid, [lkt.wa_text("628555", "Hi Chika")]))
check(st == 200, "whatsapp answered %d" % st)
st, _, tw = lkt.twilio_post(P, {"From": "whatsapp:+628777", "Body": "Hi Chika", "MessageSid": "SM1"})
check(st == 200 and b"<Message>" in tw, "twilio answered %d %r" % (st, tw))
out_tw = tw.count(b"<Message>")

lkt.wait_for(lambda: lkt.metrics(P)["loket_outbox_depth"] == 0, what="the outbox to empty")
m = lkt.metrics(P)
want = {
    'loket_messages_in_total{channel="ws"}': 2,
    'loket_messages_in_total{channel="generic"}': 2,
    'loket_messages_in_total{channel="whatsapp"}': 1,
    'loket_messages_in_total{channel="twilio"}': 1,
    'loket_messages_out_total{channel="ws"}': out_ws,
    'loket_messages_out_total{channel="generic"}': out_gen,
    'loket_messages_out_total{channel="whatsapp"}': 1,
    'loket_messages_out_total{channel="twilio"}': out_tw,
    'loket_duplicates_total{channel="generic"}': 1,
    'loket_errors_total{kind="bad_request"}': 1,
    'loket_errors_total{kind="bad_input"}': 1,
    'loket_errors_total{kind="too_large"}': 1,
    'loket_errors_total{kind="signature"}': 1,
    'loket_errors_total{kind="rate_limited"}': 0,
    'loket_errors_total{kind="internal"}': 0,
    'loket_errors_total{kind="send"}': 0,
    "loket_step_seconds_count": 6,
    'loket_step_seconds_bucket{le="+Inf"}': 6,
    "loket_active_sessions": 4,
    "loket_outbox_depth": 0,
}
bad = {k: (m.get(k), v) for k, v in want.items() if m.get(k) != v}
check(not bad, "metrics (got, want): %r" % bad)
check(m["loket_step_seconds_sum"] > 0, "the step histogram has no time")
buckets = [v for k, v in m.items() if k.startswith("loket_step_seconds_bucket")]
check(buckets == sorted(buckets), "histogram buckets are not cumulative")
code = srv.stop()
srv.check_clean_exit(code)
print("ok")
