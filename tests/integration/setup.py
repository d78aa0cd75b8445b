#!/usr/bin/env python3
"""CTest fixture setup: starts the Graph API mock and one shared `loket serve` (with
--test-clock, a temporary database and generous rate limits) on free loopback ports,
waits until /healthz answers, and writes LOKET_RUN_DIR/shared/state.json for the tests."""

import atexit
import json
import os
import shutil

import lkt

SHARED_CONFIG = {
    "rate": 1000, "burst": 100000, "max_conns_per_peer": 256,
    "retry_base": "200ms", "retry_cap": "2s", "sender_poll": "100ms",
    "checkpoint_every": "1s", "log": "info",
    # every test comes from 127.0.0.1: the budget of new websocket sessions is one for all
    "ws_new_sessions": 100000,
}


def main():
    shutil.rmtree(lkt.RUN, ignore_errors=True)  # what earlier runs left
    d = os.path.join(lkt.RUN, "shared")
    os.makedirs(d)
    mock, mock_port = lkt.start_mock_process(d)
    srv = lkt.Server("shared-server", config=SHARED_CONFIG,
                     env={"LOKET_WA_API_URL": "http://127.0.0.1:%d" % mock_port})
    srv.supervised = True
    atexit.register(lambda: srv.keep or mock.kill())  # no mock left behind when setup fails
    srv.start()
    pid = int(lkt.wait_for(lambda: open(srv.pidfile).read().strip() if os.path.exists(srv.pidfile) else None,
                           what="the server pid"))
    with open(os.path.join(d, "state.json"), "w") as f:
        json.dump({"dir": srv.dir, "db": srv.db, "port": srv.port, "log": srv.log,
                   "pid": pid, "exit_file": srv.codefile, "mock_pid": mock.pid, "mock_port": mock_port}, f)
    srv.keep = True  # from here on the cleanup test stops it
    print("shared server on port %d (pid %d), Graph API mock on port %d"
          % (srv.port, pid, mock_port))


if __name__ == "__main__":
    main()
