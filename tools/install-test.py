#!/usr/bin/env python3
"""Installs a build into a temporary prefix and checks the tree (CTest install.tree):

    tools/install-test.py BUILD_DIR            the tree, the unit's paths and settings,
                                               the installed binary run from elsewhere
    tools/install-test.py BUILD_DIR --systemd  `systemd-analyze verify` on the installed
                                               unit (exit 77, skipped, without it)
"""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(args, **kw):
    kw.setdefault("timeout", 120)
    return subprocess.run(args, capture_output=True, text=True, **kw)


def install(build, prefix):
    r = run(["cmake", "--install", build, "--prefix", prefix])
    check(r.returncode == 0, "cmake --install failed:\n" + r.stdout + r.stderr)


def check_destdir(build, tmp):
    """A packager's install: DESTDIR staging with the prefix /usr. The unit names the final
    paths, not the staging directory."""
    stage = os.path.join(tmp, "stage")
    env = dict(os.environ, DESTDIR=stage)
    r = run(["cmake", "--install", build, "--prefix", "/usr"], env=env)
    check(r.returncode == 0, "DESTDIR install failed:\n" + r.stdout + r.stderr)
    for rel in ("usr/bin/loket", "usr/share/loket/flows/chika.json", "usr/etc/loket/loket.conf"):
        check(os.path.isfile(os.path.join(stage, rel)), "DESTDIR install lacks " + rel)
    u = unit_settings(os.path.join(stage, "usr/lib/systemd/system/loket.service"))
    check(u.get("ExecStart") == ["/usr/bin/loket serve --config /usr/etc/loket/loket.conf"],
          "DESTDIR unit: ExecStart is %r" % u.get("ExecStart"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def unit_settings(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")):
                k, v = line.split("=", 1)
                out.setdefault(k, []).append(v)
    return out


def check_tree(prefix, src):
    want = ["bin/loket", "etc/loket/loket.conf", "lib/systemd/system/loket.service",
            "share/doc/loket/LICENSE", "share/doc/loket/README.md",
            "share/loket/flows/README.md"]
    flows = os.path.join(src, "flows")
    for root, _, files in os.walk(flows):
        for f in files:
            want.append(os.path.join("share/loket/flows", os.path.relpath(os.path.join(root, f),
                                                                          flows)))
    for rel in want:
        check(os.path.isfile(os.path.join(prefix, rel)), "not installed: " + rel)
    check(os.access(os.path.join(prefix, "bin/loket"), os.X_OK), "bin/loket is not executable")
    for rel in ("share/loket/flows/data/NOTICE", "share/loket/flows/data/LICENSE-ODbL.txt"):
        check(os.path.getsize(os.path.join(prefix, rel)) > 0, rel + " is empty")

    u = unit_settings(os.path.join(prefix, "lib/systemd/system/loket.service"))
    exe = os.path.join(prefix, "bin/loket")
    conf = os.path.join(prefix, "etc/loket/loket.conf")
    check(u.get("ExecStart") == ["%s serve --config %s" % (exe, conf)],
          "ExecStart is %r" % u.get("ExecStart"))
    check(u.get("EnvironmentFile") == ["-" + os.path.join(prefix, "etc/loket/loket.env")],
          "EnvironmentFile is %r" % u.get("EnvironmentFile"))
    for key, val in [("DynamicUser", "yes"), ("StateDirectory", "loket"),
                     ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                     ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("Restart", "on-failure"),
                     ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
                     ("ExecReload", "/bin/kill -HUP $MAINPID")]:
        check(u.get(key) == [val], "%s is %r, wanted %r" % (key, u.get(key), val))
    check("@system-service" in u.get("SystemCallFilter", []), "no @system-service filter")
    with open(conf) as f:
        check(re.search(r"^db = /var/lib/loket/loket\.db$", f.read(), re.M),
              "the example configuration does not put the database in the state directory")


def check_binary(prefix, work, src):
    exe = os.path.join(prefix, "bin/loket")
    r = run([exe, "--version"], cwd=work)
    check(r.returncode == 0 and re.match(r"loket \d+\.\d+\.\d+.*, database schema \d+$",
                                         r.stdout.strip()), "--version: %r" % r.stdout)
    # From a directory without flows/, the default flow is the installed one.
    check(not os.path.exists(os.path.join(work, "flows")), "work directory has flows/")
    r = run([exe, "chat", "--db", os.path.join(work, "chat.db")], cwd=work,
            input="Hi Chika\n6\n")
    check(r.returncode == 0 and "PANDAWA" in r.stdout and "provinsi" in r.stdout.lower(),
          "loket chat on the default flow:\n" + r.stdout + r.stderr)
    r = run([exe, "--help"], cwd=work)
    if " serve " not in r.stdout:
        return  # a build without the gateway
    # serve with the installed configuration (its db moved into the work directory)
    port = free_port()
    db = os.path.join(work, "serve.db")
    log = open(os.path.join(work, "serve.log"), "w+")
    p = subprocess.Popen([exe, "serve", "--config", os.path.join(prefix, "etc/loket/loket.conf"),
                          "--db", db, "--port", str(port)], cwd=work, stdout=log, stderr=log)
    try:
        end = time.monotonic() + 30
        status = None
        while time.monotonic() < end and p.poll() is None:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/healthz")
                status = c.getresponse().status
                c.close()
                break
            except OSError:
                time.sleep(0.05)
        log.seek(0)
        text = log.read()
        check(status == 200, "the installed server did not answer /healthz:\n" + text)
        want = 'flow="%s"' % os.path.join(prefix, "share/loket/flows/chika.json")
        check(want in text, "the installed server did not run the installed flow:\n" + text)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        code = p.wait(30)
        log.close()
    check(code == 0, "the installed server exited with %d" % code)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    build = sys.argv[1]
    src = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    systemd = "--systemd" in sys.argv[2:]
    analyze = shutil.which("systemd-analyze")
    if systemd and not analyze:
        print("systemd-analyze not found: skipped")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="loket-install-")
    try:
        prefix = os.path.join(tmp, "opt", "loket")
        install(build, prefix)
        if systemd:
            unit = os.path.join(prefix, "lib/systemd/system/loket.service")
            r = run([analyze, "verify", unit], cwd=tmp)
            said = (r.stdout + r.stderr).strip()
            # verify exits 0 on unknown keys and bad values too; it names the unit then
            check(r.returncode == 0 and "loket.service" not in said,
                  "systemd-analyze verify (exit %d):\n%s" % (r.returncode, said))
        else:
            check_tree(prefix, src)
            work = os.path.join(tmp, "work")
            os.mkdir(work)
            check_binary(prefix, work, src)
            check_destdir(build, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
