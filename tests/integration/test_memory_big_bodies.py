#!/usr/bin/env python3
"""A 1 MiB JSON array on /v1/messages raised the server's memory from 14 to 55 MB for good
(the freed cJSON nodes stayed in glibc's heap). Memory now stays flat after big bodies:
the test samples VmRSS from /proc after warming up, sends several big bodies of each kind
(arrays and objects with big arrays on /v1/messages, big signed WhatsApp bodies) and
samples it again."""

import json

import lkt
from lkt import check

with open(lkt.BIN, "rb") as f:
    if b"__asan_init" in f.read():
        print("skipped: the sanitizer build's allocator keeps freed memory in quarantine")
        raise SystemExit(lkt.SKIP)

srv = lkt.Server("memory", config={"sync": "normal", "rate": 1000, "burst": 1000,
                                   "retry_base": "1h", "retry_cap": "1h"},
                 env={"LOKET_WA_TOKEN": ""})
srv.start()
pid = srv.proc.pid
LIMIT = 1024 * 1024


def generic(body):
    st, _, data = lkt.http(srv.port, "POST", "/v1/messages", body,
                           {"Content-Type": "application/json"}, timeout=30)
    return st, data


array = b"[" + b"1," * (LIMIT // 2 - 2) + b"1]"
check(len(array) <= LIMIT, "the array is over the body cap")
padded = json.dumps({"from": "628123", "text": "Hi Chika", "pad": [1] * (LIMIT // 3 - 20)},
                    separators=(",", ":")).encode()
check(len(padded) <= LIMIT, "the padded object is over the body cap: %d" % len(padded))
pnid = lkt.unique_pnid()
wa = lkt.wa_notification(pnid, [lkt.wa_text("6282%08d" % i, "Hi Chika") for i in range(3000)])


def one_round(r):
    st, _ = generic(array)
    check(st == 400, "a JSON array answered %d" % st)
    st, data = generic(padded)
    check(st == 200, "the padded object answered %d %r" % (st, data[:200]))
    for m in wa["entry"][0]["changes"][0]["value"]["messages"]:
        m["id"] = "wamid.mem-%d-%s" % (r, m["from"])
    st, _, _ = lkt.wa_post(srv.port, wa)
    check(st == 200, "the big WhatsApp body answered %d" % st)


for r in range(3):  # small requests first: statements and buffers allocated once
    st, _ = generic(json.dumps({"from": "62800%d" % r, "text": "Hi Chika"}).encode())
    check(st == 200, "a small message answered %d" % st)
rss0 = lkt.rss_kb(pid)
samples = []
for r in range(1, 6):
    one_round(r)
    samples.append(lkt.rss_kb(pid) // 1024)
print("VmRSS after each round, MB: %r" % samples)
rss1 = lkt.rss_kb(pid)
grow = (rss1 - rss0) / 1024.0
print("VmRSS %.1f MB before the big bodies, %.1f MB after five rounds" % (rss0 / 1024.0, rss1 / 1024.0))
check(grow < 12, "memory grew by %.1f MB over five rounds of big bodies" % grow)
srv.check_clean_exit(srv.stop())
print("ok: memory flat after big bodies (%+.1f MB)" % grow)
