#!/usr/bin/env python3
"""Read receipts: each WhatsApp message is marked read with the typing indicator, as Meta
documents it (POST /{phone_number_id}/messages with messaging_product, status "read", the
message's id and typing_indicator {"type": "text"}), sent by the sender thread before the
user's reply, with the access token. With wa_read_receipts = no nothing is marked read and
the replies still go."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import mock_graph
from lkt import check

srv = lkt.shared_server()
mock = lkt.MockClient(srv.mock_port)
pnid = lkt.unique_pnid()
user = "6286%08d" % int(pnid[-8:])
wamid = "wamid.HBgNNjI4%s" % os.urandom(8).hex().upper()

lkt.wa_say(srv.port, pnid, user, "Hi Chika", wamid)
lkt.wait_for(lambda: mock.delivered(pnid), what="the reply")
reads = lkt.wait_for(lambda: mock.reads(pnid), what="the read receipt")
check(len(reads) == 1, "read receipts: %r" % reads)
check(reads[0]["payload"] == {"messaging_product": "whatsapp", "status": "read",
                              "message_id": wamid, "typing_indicator": {"type": "text"}},
      "the read receipt's body: %r" % reads[0]["payload"])
check(reads[0]["path"] == "/%s/messages" % pnid and
      reads[0]["authorization"] == "Bearer " + lkt.WA_TOKEN, "path or token: %r" % reads[0])
check(reads[0]["at"] <= mock.delivered(pnid)[0]["at"], "the reply went before the read receipt")

# the setting off: no receipts, the reply still goes
mport = lkt.free_port()
mock_graph.serve(mport)
mock2 = lkt.MockClient(mport)
off = lkt.Server("read-off", config={"wa_read_receipts": "no", "sender_poll": "100ms"},
                 env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mport}).start()
lkt.wa_say(off.port, pnid, user, "Hi Chika")
lkt.wait_for(lambda: mock2.delivered(pnid), what="the reply without receipts")
check(mock2.reads(pnid) == [], "a read receipt went with wa_read_receipts = no")
code = off.stop()
off.check_clean_exit(code)
print("ok: the message marked read with the typing indicator before the reply; off when set")
