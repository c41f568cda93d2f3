#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Soak test: minutes of mixed traffic against the real broker, counting
that every call gets exactly one answer.

Run through scripts/soak.sh. One process drives every peer from one
selector loop:

- callees (svc0..svc3) declare echo, slow and never: echo answers at once,
  slow after 0-3 s (past the 2 s call timeout about a third of the time, so
  its late answer must be dropped), never does not answer (error 9);
  every few seconds one callee leaves with calls pending (error 8) and
  comes back;
- callers (cli0..cli7) keep up to 32 calls in flight each, to the callees
  and to juno.getModuleInfo / juno.listModules, and trigger hooks;
- listeners read every hook delivery (4 kB each); slow consumers listen and
  never read, until the broker cuts them off (their own 1 MiB backlog, or
  the largest backlog when all output reaches the 6 MiB total); new ones
  keep coming;
- churn: connections that register, declare, listen and leave, all along.

It fails (exit status 1) when a call gets no answer or two, an answer
arrives for no call, the broker dies, or it does not exit cleanly on
SIGTERM. The figures are printed at the end.
"""

import argparse
import json
import os
import random
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

CALL_TIMEOUT = 2.0
CALLS_IN_FLIGHT = 32


def encode(obj):
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


class Peer:
    def __init__(self, soak, name, *, rcvbuf=None):
        self.soak = soak
        self.name = name
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(soak.path)
        self.sock.setblocking(False)
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.closed = False
        self.active = False
        soak.sel.register(self.sock, self.events(), self)

    def events(self):
        ev = selectors.EVENT_READ
        if self.outbuf:
            ev |= selectors.EVENT_WRITE
        return ev

    def send(self, obj):
        if self.closed:
            return
        self.outbuf += encode(obj)
        self.flush()

    def flush(self):
        try:
            while self.outbuf:
                n = self.sock.send(self.outbuf)
                del self.outbuf[:n]
        except BlockingIOError:
            pass
        except OSError:
            self.on_closed()
            return
        self.soak.sel.modify(self.sock, self.events(), self)

    def on_ready(self, mask):
        if mask & selectors.EVENT_WRITE:
            self.flush()
        if self.closed or not (mask & selectors.EVENT_READ):
            return
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.on_closed()
            return
        self.inbuf += data
        while True:
            nl = self.inbuf.find(b"\n")
            if nl < 0:
                break
            line = bytes(self.inbuf[:nl])
            del self.inbuf[:nl + 1]
            self.on_message(json.loads(line))

    def close(self):
        if not self.closed:
            self.closed = True
            self.soak.sel.unregister(self.sock)
            self.sock.close()

    def on_closed(self):
        was = self.closed
        self.close()
        if not was:
            self.soak.peer_closed(self)

    def register(self, module_id):
        self.module_id = module_id
        self.send({"requestId": "reg", "type": 1, "moduleId": module_id, "version": "1.0.0"})

    def on_message(self, msg):
        if msg.get("type") == 8 and msg.get("hook") == "juno.activated":
            self.active = True
            self.on_active()
        elif msg.get("type") == 8 and "hook" in msg:
            self.soak.stats["hooks_delivered"] += 1

    def on_active(self):
        pass


class Callee(Peer):
    def on_active(self):
        for fn in ("echo", "slow", "never"):
            self.send({"requestId": "d-" + fn, "type": 9, "function": fn})

    def on_message(self, msg):
        if msg.get("type") == 3:
            fn = msg["function"]
            if fn == "echo":
                self.send({"requestId": msg["requestId"], "type": 4, "data": msg["arguments"]})
            elif fn == "slow":
                self.soak.later(random.uniform(0, 3 * CALL_TIMEOUT / 2), self.answer_late,
                                msg["requestId"])
            return
        if msg.get("type") == 0 and msg.get("requestId") == "reg":
            # the broker has not yet seen the previous svcN leave (error 7)
            self.soak.stats["callee_reregistrations"] += 1
            self.soak.later(0.05, self.register, self.module_id)
            return
        if msg.get("type") == 0 and msg.get("requestId", "").startswith("j"):
            # a late answer to a call that timed out before the callee's
            # last 64 such calls: the broker no longer knows it was ours
            self.soak.stats["late_answers_refused"] += 1
            return
        super().on_message(msg)

    def answer_late(self, token):
        self.send({"requestId": token, "type": 4, "data": "slow"})


class Caller(Peer):
    def __init__(self, soak, name):
        super().__init__(soak, name)
        self.in_flight = set()

    def on_active(self):
        self.send({"requestId": "l", "type": 5, "hook": "cli0.tick"})
        self.top_up()

    def top_up(self):
        while self.active and len(self.in_flight) < CALLS_IN_FLIGHT and not self.soak.stopping:
            rid = "%s-%d" % (self.name, self.soak.next_id())
            r = random.random()
            if r < 0.6:
                fn = "svc%d.echo" % random.randrange(4)
            elif r < 0.8:
                fn = "svc%d.slow" % random.randrange(4)
            elif r < 0.85:
                fn = "svc%d.never" % random.randrange(4)
            elif r < 0.95:
                fn = "juno.getModuleInfo"
            else:
                fn = "juno.listModules"
            self.in_flight.add(rid)
            self.soak.calls[rid] = 0
            self.soak.stats["calls"] += 1
            self.send({"requestId": rid, "type": 3, "function": fn,
                       "arguments": {"moduleId": "svc1", "n": rid}})

    def on_message(self, msg):
        rid = msg.get("requestId")
        t = msg.get("type")
        if rid in self.soak.calls and t in (0, 4):
            self.soak.calls[rid] += 1
            if self.soak.calls[rid] > 1:
                self.soak.fail("call %s answered %d times" % (rid, self.soak.calls[rid]))
            self.in_flight.discard(rid)
            key = "answers_ok" if t == 4 else "answers_error_%d" % msg["error"]
            self.soak.stats[key] = self.soak.stats.get(key, 0) + 1
            if random.random() < 0.1:
                self.send({"requestId": "t", "type": 7, "hook": "tick",
                           "data": {"n": rid, "pad": "x" * 4000}})
            self.top_up()
            return
        if t == 0 and rid not in ("t", "l"):
            self.soak.fail("%s: unexpected error %r" % (self.name, msg))
        super().on_message(msg)


class Soak:
    def __init__(self, broker, minutes, workdir):
        self.broker = broker
        self.deadline = time.monotonic() + minutes * 60
        self.dir = workdir
        self.path = os.path.join(workdir, "juno.sock")
        self.sel = selectors.DefaultSelector()
        self.timers = []
        self.calls = {}
        self.ids = 0
        self.failures = []
        self.stopping = False
        self.stats = {"calls": 0, "hooks_delivered": 0, "churn_cycles": 0,
                      "slow_consumers_cut": 0, "callee_restarts": 0, "late_answers_refused": 0,
                      "callee_reregistrations": 0}

    def next_id(self):
        self.ids += 1
        return self.ids

    def later(self, delay, func, *args):
        self.timers.append((time.monotonic() + delay, func, args))

    def fail(self, what):
        if len(self.failures) < 20:
            print("soak: FAIL: " + what, file=sys.stderr)
        self.failures.append(what)

    def peer_closed(self, peer):
        if peer in self.callees or isinstance(peer, Caller):
            self.fail("%s was closed by the broker" % peer.name)

    def start_broker(self):
        log = open(os.path.join(self.dir, "broker.log"), "wb")
        env = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
            env.pop(k, None)
        self.proc = subprocess.Popen(
            [self.broker, "-s", self.path, "--bus", "none", "--call-timeout", str(CALL_TIMEOUT),
             "--max-output-backlog", str(1 << 20), "--max-total-buffer", str(6 << 20)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        for _ in range(500):
            if os.path.exists(self.path):
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(self.path)
                    s.close()
                    return
                except OSError:
                    pass
            time.sleep(0.02)
        raise SystemExit("soak: the broker did not start")

    def proc_figures(self):
        status = open("/proc/%d/status" % self.proc.pid).read()
        rss = int(status.split("RssAnon:")[1].split()[0])
        fds = len(os.listdir("/proc/%d/fd" % self.proc.pid))
        return rss, fds

    def restart_callee(self, i):
        old = self.callees[i]
        old.close()
        self.stats["callee_restarts"] += 1
        c = Callee(self, "svc%d" % i)
        c.register("svc%d" % i)
        self.callees[i] = c

    def churn(self):
        p = Peer(self, "churn")
        p.register("churn%d" % self.next_id())
        p.send({"requestId": "d", "type": 9, "function": "f"})
        p.send({"requestId": "l", "type": 5, "hook": "cli0.tick"})
        self.later(random.uniform(0.05, 0.5), self.end_churn, p)

    def end_churn(self, p):
        p.close()
        self.stats["churn_cycles"] += 1

    def add_slow_consumer(self):
        """A listener that never reads: a plain socket outside the selector,
        watched only for the hang-up the broker gives it when it cuts it off."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(self.path)
        s.sendall(encode({"requestId": "reg", "type": 1, "moduleId": "slow%d" % self.next_id(),
                          "version": "1.0.0"}) +
                  encode({"requestId": "l", "type": 5, "hook": "cli0.tick"}))
        self.slow.add(s)

    def check_slow_consumers(self):
        p = select.poll()
        by_fd = {}
        for s in self.slow:
            p.register(s, select.POLLHUP)
            by_fd[s.fileno()] = s
        for fd, ev in p.poll(0):
            if ev & (select.POLLHUP | select.POLLERR):
                s = by_fd[fd]
                self.slow.discard(s)
                s.close()
                self.stats["slow_consumers_cut"] += 1

    def run(self):
        self.start_broker()
        rss0, fds0 = self.proc_figures()
        rss_max = rss0
        self.callees = []
        for i in range(4):
            c = Callee(self, "svc%d" % i)
            c.register("svc%d" % i)
            self.callees.append(c)
        self.callers = []
        for i in range(8):
            c = Caller(self, "cli%d" % i)
            c.register("cli%d" % i)
            self.callers.append(c)
        self.listeners = []
        for i in range(4):
            p = Peer(self, "listener%d" % i)
            p.register("listener%d" % i)
            p.send({"requestId": "l", "type": 5, "hook": "cli0.tick"})
            self.listeners.append(p)
        self.slow = set()
        next_churn = next_slow = next_restart = next_sample = next_tick = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= self.deadline and not self.stopping:
                self.stopping = True
                drain_until = now + 3 * CALL_TIMEOUT + 2
            if self.stopping and (now >= drain_until or
                                  all(not c.in_flight for c in self.callers)):
                break
            if self.proc.poll() is not None:
                self.fail("the broker exited with status %d" % self.proc.returncode)
                break
            if not self.stopping:
                if now >= next_churn:
                    for _ in range(5):
                        self.churn()
                    next_churn = now + 0.05
                if now >= next_tick and self.callers[0].active:
                    self.callers[0].send({"requestId": "t", "type": 7, "hook": "tick",
                                          "data": {"pad": "x" * 4000}})
                    next_tick = now + 0.01
                if now >= next_slow:
                    self.check_slow_consumers()
                    if len(self.slow) < 8:
                        self.add_slow_consumer()
                    next_slow = now + 0.5
                if now >= next_restart:
                    if random.random() < 0.5:
                        self.restart_callee(random.randrange(4))
                    next_restart = now + 5
            if now >= next_sample:
                rss, _ = self.proc_figures()
                rss_max = max(rss_max, rss)
                next_sample = now + 1
            due = [t for t in self.timers if t[0] <= now]
            if due:
                self.timers = [t for t in self.timers if t[0] > now]
                for _, func, args in due:
                    func(*args)
            for key, mask in self.sel.select(0.01):
                key.data.on_ready(mask)
            for c in self.callers:
                c.top_up()

        unanswered = [rid for rid, n in self.calls.items() if n == 0]
        if unanswered:
            self.fail("%d calls never answered, e.g. %s" % (len(unanswered), unanswered[:5]))
        for peer in list(self.callees) + self.callers + self.listeners:
            peer.close()
        for s in self.slow:
            s.close()
        time.sleep(1)
        rss1, fds1 = self.proc_figures()
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = "killed after 30 s"
        if status != 0:
            self.fail("the broker exited with %s on SIGTERM" % status)
        log = open(os.path.join(self.dir, "broker.log"), errors="replace").read()
        for bad in ("CRITICAL", "AddressSanitizer", "runtime error"):
            if bad in log:
                self.fail("the broker's log reports %s" % bad)

        s = self.stats
        answered = sum(v for k, v in s.items() if k.startswith("answers_"))
        print("soak: %d calls, %d answered exactly once, %d unanswered, %d answered twice"
              % (s["calls"], answered, len(unanswered),
                 sum(1 for n in self.calls.values() if n > 1)))
        for k in sorted(s):
            print("soak: %-24s %d" % (k, s[k]))
        print("soak: broker RssAnon %d KiB at start, %d KiB at most, %d KiB at the end"
              % (rss0, rss_max, rss1))
        print("soak: broker descriptors %d at start, %d at the end" % (fds0, fds1))
        return 1 if self.failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--broker", default=os.environ.get("JUNO_BROKER", "build/src/daemon/juno"))
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    print("soak: %.1f minutes, seed %d, broker %s" % (args.minutes, seed, args.broker))
    workdir = tempfile.mkdtemp(prefix="juno-soak-")
    try:
        soak = Soak(os.path.abspath(args.broker), args.minutes, workdir)
        try:
            return soak.run()
        finally:
            if soak.proc.poll() is None:
                soak.proc.kill()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
