#!/usr/bin/env python3
"""CTest fixture cleanup: stops the shared server with SIGTERM and checks that it shut
down cleanly (exit status 0, no sanitizer report, "stopped" logged), then stops the mock."""

import json
import os
import signal
import time

import lkt


def main():
    path = os.path.join(lkt.RUN, "shared", "state.json")
    if not os.path.exists(path):
        lkt.fail("no shared server state (did the setup test run?)")
    with open(path) as f:
        st = json.load(f)
    try:
        os.kill(st["pid"], signal.SIGTERM)
    except ProcessLookupError:
        pass  # its exit status says what happened
    end = time.monotonic() + 30
    while not os.path.exists(st["exit_file"]) and time.monotonic() < end:
        time.sleep(0.05)
    try:
        os.kill(st["mock_pid"], signal.SIGTERM)
    except ProcessLookupError:
        pass
    if not os.path.exists(st["exit_file"]):
        try:
            os.kill(st["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
        lkt.fail("the shared server did not stop within 30 s of SIGTERM")
    with open(st["exit_file"]) as f:
        code = int(f.read().strip())
    with open(st["log"], errors="replace") as f:
        log = f.read()
    lkt.check(code == 0, "the shared server exited with status %d:\n%s" % (code, log[-4000:]))
    lkt.check("LeakSanitizer" not in log and "AddressSanitizer" not in log
              and "runtime error:" not in log, "sanitizer report in the server log:\n" + log[-6000:])
    lkt.check('msg="stopped"' in log, "the shared server did not log a clean stop")
    # what never goes in a log: secrets, signatures, query strings, message bodies
    for secret in (lkt.WA_VERIFY, lkt.WA_SECRET, lkt.WA_TOKEN, lkt.TWILIO_TOKEN, "sha256=",
                   "hub.verify_token", "Hi Chika", "Jawa Barat"):
        lkt.check(secret not in log, "the server log holds %r" % secret)
    print("shared server stopped cleanly (exit status 0)")


if __name__ == "__main__":
    main()
