#!/usr/bin/env python3
"""Several WhatsApp numbers on one server (wa_numbers): the number 777000301 runs its own
flow (a copy of tests/integration/flows/tiny.json) and 777000302 the Chika flow, each with
sessions of its own, so one person writing to both has two conversations that do not
touch; a number not listed (777000303) runs the server's flow with the sessions of the
"whatsapp" channel as before. SIGHUP reloads every number's flow: an edited one is served
at once, a broken one is refused and the number keeps its running flow. A malformed
wa_numbers value stops the start with a clear error."""

import json
import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check

here = os.path.dirname(os.path.abspath(__file__))
A, B, C = "777000301", "777000302", "777000303"
user = "628123000301"

d = os.path.join(lkt.RUN, "numbers-test")
os.makedirs(d, exist_ok=True)
bad = os.path.join(d, "bad.conf")
with open(bad, "w") as f:
    f.write("wa_numbers = 777000301:flows/chika.json\n")
p = subprocess.run([lkt.BIN, "serve", "--config", bad], capture_output=True, text=True,
                   timeout=30, cwd=lkt.SRC)
check(p.returncode == 2 and "bad.conf:1" in p.stderr and "phone_number_id=flow" in p.stderr,
      "a malformed wa_numbers: exit %d %r" % (p.returncode, p.stderr))

mport = lkt.free_port()
_, state = mock_graph.serve(mport)
direct = os.path.join(d, "direct.json")
shutil.copy(os.path.join(here, "flows", "tiny.json"), direct)
chika = os.path.join(lkt.SRC, "flows", "chika.json")
srv = lkt.Server("numbers", config={"sender_poll": "100ms",
                                    "wa_numbers": "%s=%s, %s=%s" % (A, direct, B, chika)},
                 env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}).start()


def sent(pnid, n):
    def ready():
        with state.lock:
            got = [r["payload"] for r in state.requests.get(pnid, []) if r["status"] == 200]
        return got if len(got) >= n else None
    return lkt.wait_for(ready, what="%d payloads to %s" % (n, pnid))


def body(p):
    return p["text"]["body"] if p["type"] == "text" else p["interactive"]["body"]["text"]


def post(pnid, msg):
    st, _, b = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [msg]))
    check(st == 200, "the notification answered %d %r" % (st, b))


post(A, lkt.wa_text(user, "halo"))
post(B, lkt.wa_text(user, "Hi Chika"))
post(C, lkt.wa_text(user, "Hi Chika"))
a, b, c = sent(A, 1)[0], sent(B, 1)[0], sent(C, 1)[0]
check(body(a).startswith("Halo dari flow uji"), "number A runs its flow: %r" % a)
check("Chika" in body(b) and "Chika" in body(c), "B and C run Chika: %r %r" % (b, c))

# The tap on A's menu moves A's conversation only.
post(A, lkt.wa_button_reply(user, "q:main:1", "Satu"))
check(body(sent(A, 2)[1]) == "Anda memilih satu.", "A's tap: %r" % sent(A, 2))
post(B, lkt.wa_list_reply(user, "q:main:6", "PANDAWA"))
check("PANDAWA" in body(sent(B, 2)[1]), "B's conversation is not at its main menu: %r" % sent(B, 2))
rows = srv.db_query("SELECT channel FROM sessions WHERE user = ? ORDER BY channel", (user,))
check(rows == [("whatsapp",), ("whatsapp:" + A,), ("whatsapp:" + B,)], "sessions %r" % rows)


def log_count(s):
    return srv.log_text().count(s)


# An edited flow for A is served after SIGHUP; B's and the server's flows reload too.
with open(direct) as f:
    flow = json.load(f)
flow["states"]["main"]["say"] = "Halo dari nomor langsung. Pilih:"
with open(direct, "w") as f:
    json.dump(flow, f)
srv.signal(signal.SIGHUP)
lkt.wait_for(lambda: log_count("phone_number_id=%s flow=" % A) >= 1
             and log_count("phone_number_id=%s flow=" % B) >= 1, what="both numbers reloaded")
post(A, lkt.wa_text(user, "menu"))
check(body(sent(A, 4)[3]).startswith("Halo dari nomor langsung"), "A after the reload: %r" % sent(A, 4))

# A broken edit is refused; A keeps the flow it runs.
with open(direct, "w") as f:
    f.write('{"loket": 1, "name": "direct", "start": "nowhere", "states": {}')
srv.signal(signal.SIGHUP)
lkt.wait_for(lambda: 'msg="flow reload refused: keeping the running flow"' in srv.log_text()
             and "phone_number_id=%s flow=\"%s\" err=" % (A, direct) in srv.log_text(),
             what="the refused reload in the log")
post(A, lkt.wa_text(user, "menu"))
check(body(sent(A, 5)[4]).startswith("Halo dari nomor langsung"), "A after a broken reload: %r" % sent(A, 5))

code = srv.stop()
srv.check_clean_exit(code)
print("ok")
