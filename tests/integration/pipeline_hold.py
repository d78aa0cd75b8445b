"""Helpers of the store pipeline tests: a server whose store worker can be held before
its commit (LOKET_TEST_HOLD_COMMIT, a setting for tests only), and a flow with a choice
that fails its message (the engine's step bound), to fail one message inside a batch."""

import json
import os

import lkt

# "count" counts per user and says so ({{n}}); "loop" runs pass states in a cycle until
# the step bound (max_steps) stops the step: that message fails in the store worker.
FLOW = {
    "loket": 1, "name": "pipe", "start": "ask", "invalid": {"message": "bad"},
    "session": {"max_steps": 8},
    "states": {
        "ask": {"say": "pick", "menu": [{"title": "count", "goto": "count"},
                                        {"title": "loop", "set": {"x": 1}, "goto": "a"}]},
        "count": {"set": {"n": "n + 1"}, "say": "n={{n}}", "next": "ask"},
        "a": {"next": [{"if": "x > 0", "goto": "b"}, {"goto": "ask"}]},
        "b": {"next": [{"if": "x > 0", "goto": "a"}, {"goto": "ask"}]},
    },
}


def write_flow(path, say_prefix="n="):
    f = json.loads(json.dumps(FLOW))
    f["states"]["count"]["say"] = say_prefix + "{{n}}"
    with open(path, "w") as fp:
        json.dump(f, fp)


class HeldServer:
    """A server (lkt.Server) whose worker holds each batch before its commit while the
    hold file exists; the worker writes the batch's size to HOLD.held while it holds."""

    def __init__(self, name, config=None, flow=None, hold="LOKET_TEST_HOLD_COMMIT", env=None):
        """hold: LOKET_TEST_HOLD_SYNC holds the syncer before its fdatasync instead (after
        the commit)."""
        self.srv = lkt.Server(name, config=dict({"rate": 1000, "burst": 1000,
                                                 "ws_new_sessions": 10000}, **(config or {})),
                              env=env)
        self.hold = os.path.join(self.srv.dir, "hold")
        self.held = self.hold + ".held"
        self.srv.env[hold] = self.hold
        if flow == "pipe":
            self.srv.flow = os.path.join(self.srv.dir, "pipe.json")
            write_flow(self.srv.flow)
        self.port = self.srv.port

    def start(self):
        self.srv.start()
        return self

    def on(self):
        open(self.hold, "w").close()

    def wait_held(self):
        """Waits until a batch is held; returns its number of messages."""
        lkt.wait_for(lambda: os.path.exists(self.held), what="a batch held before its commit")
        with open(self.held) as f:
            return int(f.read().strip() or 0)

    def off(self):
        """Releases the held batch and waits until the worker went on."""
        os.unlink(self.hold)
        lkt.wait_for(lambda: not os.path.exists(self.held), what="the held batch released")

    def metric(self, name):
        return lkt.metrics(self.port).get(name, 0)

    def wait_queued(self, n):
        """Waits until n messages wait in the store queue (behind a held batch)."""
        lkt.wait_for(lambda: self.metric("loket_store_queue_depth") == n,
                     what="%d messages queued" % n)


def frames(ws, seconds=0.0):
    """The data frames a websocket received so far, as JSON, without waiting for more
    than seconds."""
    return [json.loads(p) for p in ws.pump(seconds)]
