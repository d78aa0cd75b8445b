#!/usr/bin/env python3
"""A request that hangs holds up only its own user, also on a number shared with others:
while the Graph API holds one user's reply unanswered, other users of the same phone number
get theirs (the number's rate and the other slots are not held), and the held user's reply
goes once the API answers."""

import lkt
from lkt import check

srv = lkt.shared_server()
mock = lkt.MockClient(srv.mock_port)
pnid = lkt.unique_pnid()
held = "6289%08d" % int(pnid[-8:])
others = ["6289%08d" % (int(pnid[-8:]) + i) for i in range(1, 5)]
mock.hang(pnid, to=held)
try:
    st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [lkt.wa_text(held, "Hi Chika")]))
    check(st == 200, "the held user's message answered %d" % st)
    lkt.wait_for(lambda: lkt.http_json(srv.mock_port, "GET", "/_control/arrived?pnid=" + pnid)[1]
                 ["arrived"] == 1, what="the held user's request at the API")
    for u in others:
        st, _, _ = lkt.wa_post(srv.port, lkt.wa_notification(pnid, [lkt.wa_text(u, "Hi Chika")]))
        check(st == 200, "a message answered %d" % st)
    lkt.wait_for(lambda: sorted(r["payload"]["to"] for r in mock.delivered(pnid)) == sorted(others),
                 timeout=30, what="the other users' replies while one request hangs")
    check(all(r["payload"]["to"] != held for r in mock.requests(pnid)),
          "the held request was answered before its release")
finally:
    mock.hang(pnid, on=False, to=held)
lkt.wait_for(lambda: any(r["payload"]["to"] == held for r in mock.delivered(pnid)), timeout=30,
             what="the held user's reply after the release")
print("ok: one user's hung request held up no other user of the same number")
