#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the access policy costs the broker per message, in instructions.

usage: policy-cost.py [--calls N1,N2] BROKER[=LABEL[:POLICY_RULES]] ...

Runs each broker binary under callgrind (valgrind --tool=callgrind), makes
N1 calls (one in flight) and N1 hook deliveries (one listener), then in
fresh brokers N2 calls and N1 deliveries, and N1 calls and N2 deliveries,
and prints the instructions the broker executed per call and per delivery:
(Ir(N2) - Ir(N1)) / (N2 - N1), so start-up and connection set-up cancel
out. POLICY_RULES > 0 gives the broker a per-user
policy of that many rules (make-policy.py) that still allows the workload,
the policy's worst case: every message goes through the per-target verdict
cache instead of the allow-all flag.

Instruction counts do not depend on what else the machine runs, so the
figures can be compared across binaries on a busy machine where timings
cannot (docs/performance.md, "The access policy").
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def line(sock, buf):
    while b"\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("broker closed the connection")
        buf += chunk
    nl = buf.index(b"\n")
    msg = json.loads(bytes(buf[:nl]))
    del buf[:nl + 1]
    return msg


class Peer:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = bytearray()

    def send(self, obj):
        self.sock.sendall(json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    def recv(self):
        """The next message, the broker's own hooks (juno.activated) skipped."""
        while True:
            msg = line(self.sock, self.buf)
            if not (msg.get("type") == 8 and str(msg.get("hook", "")).startswith("juno.")):
                return msg

    def request(self, obj):
        self.send(obj)
        reply = self.recv()
        assert reply.get("requestId") == obj["requestId"], (obj, reply)
        return reply


def workload(path, calls, hooks):
    callee, caller = Peer(path), Peer(path)
    callee.request({"requestId": "r", "type": 1, "moduleId": "echo", "version": "1.0.0"})
    callee.request({"requestId": "d", "type": 9, "function": "echo"})
    callee.request({"requestId": "l", "type": 5, "hook": "src.tick"})
    caller.request({"requestId": "r", "type": 1, "moduleId": "src", "version": "1.0.0",
                    "dependencies": {"echo": "^1"}})
    for i in range(calls):
        rid = "c%d" % i
        caller.send({"requestId": rid, "type": 3, "function": "echo.echo", "arguments": {"i": i}})
        call = callee.recv()
        assert call["type"] == 3, call
        callee.send({"requestId": call["requestId"], "type": 4, "data": i})
        answer = caller.recv()
        assert answer == {"requestId": rid, "type": 4, "data": i}, answer
    for i in range(hooks):
        caller.request({"requestId": "t%d" % i, "type": 7, "hook": "tick", "data": {"i": i}})
        hook = callee.recv()
        assert hook["type"] == 8 and hook["hook"] == "src.tick" and hook["data"] == {"i": i}, hook


def instructions(broker, rules, calls, hooks, work):
    run = Path(tempfile.mkdtemp(dir=work))
    env = dict(os.environ, XDG_CONFIG_HOME=str(run / "config"))
    (run / "config").mkdir()
    if rules:
        subprocess.run([sys.executable, str(HERE / "make-policy.py"), str(rules), str(run / "config")],
                       check=True)
    sock_path = str(run / "juno.sock")
    out = run / "callgrind.out"
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=%s" % out,
                             broker, "-s", sock_path, "--bus=none",
                             "--call-timeout=600"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(sock_path):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("%s did not start" % broker)
            time.sleep(0.1)
        workload(sock_path, calls, hooks)
    finally:
        proc.terminate()
        proc.wait(timeout=120)
    for text in out.read_text().splitlines():
        if text.startswith("summary:") or text.startswith("totals:"):
            return int(text.split()[1])
    raise RuntimeError("no totals in %s" % out)


def main():
    args = sys.argv[1:]
    n1, n2 = 1000, 5000
    if args[:1] == ["--calls"]:
        n1, n2 = (int(x) for x in args[1].split(","))
        args = args[2:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as work:
        print("| broker | policy | instructions per call | per hook delivery |")
        print("|---|---|---|---|")
        for spec in args:
            broker, _, rest = spec.partition("=")
            label, _, rules = rest.partition(":")
            rules = int(rules or 0)
            base = instructions(broker, rules, n1, n1, work)
            per_call = (instructions(broker, rules, n2, n1, work) - base) / (n2 - n1)
            per_hook = (instructions(broker, rules, n1, n2, work) - base) / (n2 - n1)
            print("| %s | %s | %.0f | %.0f |" % (label or broker,
                                                "%d rules" % rules if rules else "default (allow all)",
                                                per_call, per_hook), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
