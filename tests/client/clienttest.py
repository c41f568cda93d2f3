# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers for the client tests: the real broker, raw protocol modules, junoctl.

The broker is the shared harness's (tests/lib/junobroker.py). RawModule
speaks the wire protocol directly, so the tests of junoctl and of the
bindings do not depend on what they test.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import junobroker  # noqa: E402

TIMEOUT = 10.0


def wait_until(predicate, what, timeout=TIMEOUT):
    """Polls a condition the test cannot be notified of (state in another process)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.01)


class Broker(junobroker.Broker):
    """The shared harness's broker, TCP on 127.0.0.1; every stop must exit 0."""

    def __init__(self, tcp=False):
        super().__init__(tcp=tcp, args=["--bind-addr", "127.0.0.1"] if tcp else [],
                         prefix="juno-client-")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            assert super().stop() == 0

    def cleanup(self):
        problems = self.finish()
        super().cleanup()
        print("--- broker log ---\n" + self.read_log())  # pytest shows it when a test fails
        assert not problems, "\n".join(problems)


class RawModule:
    """A module speaking the wire protocol, answering calls from a thread."""

    def __init__(self, broker, module_id, functions=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(broker.socket_path))
        self.functions = functions or {}
        self.hooks = []
        self.answers = {}
        self.calls = []
        self.raw_lines = []  # every line received, as bytes
        self.lock = threading.Condition()
        self.serial = 0
        self.closed = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        reply = self.request({"type": 1, "moduleId": module_id, "version": "1.0.0"})
        self.registered = reply["type"] == 2
        if self.registered:
            self.wait_for(lambda: any(h["hook"] == "juno.activated" for h in self.hooks), "activation")
            for name in self.functions:
                assert self.request({"type": 9, "function": name})["type"] == 10

    def _send(self, message):
        self.sock.sendall((json.dumps(message) + "\n").encode())

    def _read(self):
        buf = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self.lock:
                    self.closed = True
                    self.lock.notify_all()
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                with self.lock:
                    self.raw_lines.append(line)
                self._dispatch(json.loads(line))

    def _dispatch(self, msg):
        with self.lock:
            if msg["type"] == 8 and "hook" in msg:
                self.hooks.append(msg)
            elif msg["type"] == 3:
                self.calls.append(msg)
                handler = self.functions.get(msg["function"])
                if handler is not None:
                    answer = handler(msg["arguments"])
                    if answer is not None:
                        self._send(dict(answer, requestId=msg["requestId"]))
            else:
                self.answers[msg["requestId"]] = msg
            self.lock.notify_all()

    def wait_for(self, predicate, what):
        with self.lock:
            assert self.lock.wait_for(predicate, TIMEOUT), "timed out waiting for " + what

    def request(self, message):
        with self.lock:
            self.serial += 1
            rid = "r%d" % self.serial
        self._send(dict(message, requestId=rid))
        self.wait_for(lambda: rid in self.answers, "answer to " + rid)
        return self.answers.pop(rid)

    def call(self, function, arguments=None):
        reply = self.request({"type": 3, "function": function, "arguments": arguments or {}})
        assert reply["type"] == 4, reply
        return reply["data"]

    def module(self, module_id):
        return self.call("juno.getModuleInfo", {"moduleId": module_id})

    def mark(self):
        """The broker's count of lines read, this call's included: take it
        before starting a junoctl observer, then wait_lines_read()."""
        return self.call("juno.getStats")["messagesIn"]

    def wait_lines_read(self, mark, n, what="junoctl to listen"):
        """Waits until the broker has read @n lines since @mark besides this
        module's own polls. junoctl observes without joining, so it is in no
        list: this is how a test knows its listens are in place (the broker
        serves each line whole before it reads the next)."""
        polls = [0]

        def ready():
            polls[0] += 1
            return self.call("juno.getStats")["messagesIn"] - mark - polls[0] >= n
        wait_until(ready, what)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def wait_back(raw, module_id, functions, hooks):
    """Waits until @module_id is registered, active, and has declared
    @functions and listened to @hooks again (after a broker restart)."""
    def back():
        info = raw.module(module_id)
        return (info is not None and info["registered"] and sorted(info["declaredFunctions"]) == functions
                and sorted(info["registeredHooks"]) == hooks)
    wait_until(back, "%s to come back" % module_id)


def junoctl(broker, *args, timeout=TIMEOUT, socket_path=None):
    """Runs junoctl to completion; returns the CompletedProcess."""
    path = socket_path if socket_path is not None else broker.socket_path
    cmd = [os.environ["JUNOCTL"], "--socket", str(path)] + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    assert_clean(r.stderr)
    return r


def assert_clean(stderr):
    """No sanitizer or GLib warning reports (under -Db_sanitize builds)."""
    for bad in ("Sanitizer", "runtime error", "CRITICAL", "-WARNING"):
        assert bad not in stderr, stderr


def junoctl_popen(broker, *args):
    cmd = [os.environ["JUNOCTL"], "--socket", str(broker.socket_path)] + [str(a) for a in args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def assert_one_line_error(stderr, prefix):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "no error message"
    assert lines[0].startswith(prefix), stderr
    # One line; usage errors add only a pointer to --help.
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("Try 'junoctl")), stderr
    assert_clean(stderr)
