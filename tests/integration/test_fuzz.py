# SPDX-License-Identifier: LGPL-2.1-or-later
"""Seeded random traffic: well-formed, half-formed and broken messages of
every type from several connections at once, connections that come and
go, calls answered, answered twice, answered with made-up tokens or never.
Whatever arrives, the broker must keep serving and exit cleanly (the
fixture checks the exit status and that no sanitizer or GLib critical
report reached its log)."""

import json
import random
import socket

import pytest

from junotest import E_UNKNOWN_MODULE, wait_for

CONNECTIONS = 8
ROUNDS = 10000

NAMES = ["a", "b", "c", "juno", "", "a.b", "x" * 300, "ü", "a b", "_", "-1"]
FUNCTIONS = ["f", "g", "juno.listModules", "juno.getModuleInfo", "a.f", "b.g", "c.h",
             "a", ".", "a.", ".f", "a..f", "nobody.f"]
HOOKS = ["t", "a.t", "b.t", "juno.activated", "juno.moduleActivated", "c.", "*", "a.t.u"]
VERSIONS = ["1.0.0", "2.1.3-beta.1", "0.0.0", "1", "x", "", "99999999999999999999.0.0"]
REQUIREMENTS = ["^1", "*", "~1.2", ">=1 <2", "^1 || ^2", "1.0.0 - 2.0.0", "=x", "", ">", "^1,<0.5"]


def rand_value(rng, depth=0):
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2 ** 53, -2 ** 63, 2 ** 64, 10 ** 30, 11, 1.5, 1e308])
    if kind == 3:
        return rng.choice(NAMES + FUNCTIONS + HOOKS)
    if kind == 4:
        return "".join(rng.choice("ab\"\\/\u00e9\u2028\U0001f600\t\n") for _ in range(rng.randrange(12)))
    if kind == 5:
        return rng.choice(VERSIONS + REQUIREMENTS)
    if kind == 6:
        return [rand_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["requestId", "type", "k", "data", "moduleId", ""]): rand_value(rng, depth + 1)
            for _ in range(rng.randrange(4))}


def rand_message(rng, tokens):
    """A message of a random type with plausible and implausible fields."""
    msg_type = rng.choice([1, 1, 3, 3, 3, 4, 0, 5, 7, 7, 9, 9, 2, 6, 8, 10, 11, 12, -1, "3", 3.0, None])
    msg = {"requestId": rng.choice(["r%d" % rng.randrange(50), "", "j1", 5, None])
           if rng.random() < 0.3 else "r%d" % rng.randrange(1000),
           "type": msg_type}
    if msg_type == 1:
        msg["moduleId"] = rng.choice(NAMES) if rng.random() < 0.9 else rand_value(rng)
        msg["version"] = rng.choice(VERSIONS) if rng.random() < 0.9 else rand_value(rng)
        if rng.random() < 0.6:
            msg["dependencies"] = ({rng.choice(NAMES): rng.choice(REQUIREMENTS) for _ in range(rng.randrange(4))}
                                   if rng.random() < 0.8 else rand_value(rng))
    elif msg_type in (3, "3", 3.0):
        msg["function"] = rng.choice(FUNCTIONS) if rng.random() < 0.9 else rand_value(rng)
        if rng.random() < 0.8:
            msg["arguments"] = rand_value(rng)
    elif msg_type in (4, 0):
        # an answer: to a call this connection received, or to none
        if tokens and rng.random() < 0.7:
            msg["requestId"] = rng.choice(tokens)
        if msg_type == 4:
            msg["data"] = rand_value(rng)
        else:
            msg["error"] = rng.choice([0, 1, 8, 9, 99, -1, "x", 2 ** 70])
    elif msg_type in (5, 7):
        msg["hook"] = rng.choice(HOOKS) if rng.random() < 0.9 else rand_value(rng)
        if msg_type == 7 and rng.random() < 0.7:
            msg["data"] = rand_value(rng)
    elif msg_type == 9:
        msg["function"] = rng.choice(["f", "g", "h", "", "a.b", "x" * 200]) if rng.random() < 0.9 \
            else rand_value(rng)
    for _ in range(rng.randrange(2)):
        msg[rng.choice(["extra", "requestId", "type", "caller"])] = rand_value(rng)
    return msg


def mangle(rng, line):
    """Sometimes breaks the encoded line: flipped, cut, doubled, NUL, invalid
    UTF-8, deep nesting."""
    r = rng.random()
    if r < 0.70:
        return line
    if r < 0.78 and len(line) > 2:
        i = rng.randrange(len(line) - 1)
        return line[:i] + bytes([rng.randrange(256)]) + line[i + 1:]
    if r < 0.84:
        return line[:rng.randrange(len(line))] + b"\n"
    if r < 0.88:
        return line.replace(b":", b":\x00", 1)
    if r < 0.92:
        return line.replace(b"\"r", b"\"\xc3\x28", 1)
    if r < 0.96:
        depth = rng.choice([10, 100, 1000, 5000])
        return line[:-2] + b",\"deep\":" + b"[" * depth + b"]" * depth + b"}\n"
    return line[:-1] + line  # two messages glued, one newline lost


def good_message(rng, peer, others):
    """What a well-behaved module would send, so that calls, answers and
    hooks really flow between the broken messages."""
    rid = "g%d" % rng.randrange(10 ** 6)
    if not peer.registered and (not peer.asked or rng.random() < 0.2):
        peer.asked = True
        deps = {o: rng.choice(["^1", "*", ">=1.0.0 <2"]) for o in rng.sample(others, rng.random() < 0.2)}
        return {"requestId": rid, "type": 1, "moduleId": peer.name, "version": "1.0.0", "dependencies": deps}
    r = rng.random()
    if peer.tokens and r < 0.35:
        token = peer.tokens.pop(rng.randrange(len(peer.tokens)))
        if rng.random() < 0.8:
            return {"requestId": token, "type": 4, "data": rand_value(rng)}
        return {"requestId": token, "type": 0, "error": rng.choice([4, 5, 8])}
    if r < 0.45:
        return {"requestId": rid, "type": 9, "function": rng.choice(["f", "g"])}
    if r < 0.55:
        return {"requestId": rid, "type": 5, "hook": "%s.t" % rng.choice(others)}
    if r < 0.65:
        return {"requestId": rid, "type": 7, "hook": "t", "data": rand_value(rng)}
    return {"requestId": rid, "type": 3, "function": "%s.%s" % (rng.choice(others), rng.choice(["f", "g"])),
            "arguments": {"v": rand_value(rng)}}


class Peer:
    def __init__(self, path, name):
        self.name = name
        self.asked = False
        self.registered = False  # the broker said so
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.setblocking(False)
        self.buf = b""
        self.tokens = []
        self.alive = True
        self.received = 0      # calls forwarded to this connection

    def send(self, data):
        view = memoryview(data)
        while view and self.alive:
            try:
                sent = self.sock.send(view)
                view = view[sent:]
            except BlockingIOError:
                self.drain()
            except OSError:
                self.alive = False

    def drain(self):
        while self.alive:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.alive = False
                return
            self.buf += data
            *lines, self.buf = self.buf.split(b"\n")
            for line in lines:
                try:
                    msg = json.loads(line)
                except ValueError:
                    raise AssertionError("the broker sent a line that is not JSON: %r" % line[:200])
                if msg.get("type") == 2 and str(msg.get("requestId", "")).startswith("g"):
                    self.registered = True
                if msg.get("type") == 3 and isinstance(msg.get("requestId"), str):
                    self.tokens = (self.tokens + [msg["requestId"]])[-20:]
                    self.received += 1

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_traffic(broker_factory, seed):
    b = broker_factory(args=["--call-timeout", "0.2", "--max-message-size", "65536"])
    path = str(b.socket_path)
    rng = random.Random(seed)
    names = ["m%d" % i for i in range(CONNECTIONS)]
    peers = [Peer(path, name) for name in names]
    received = 0
    for _ in range(ROUNDS):
        i = rng.randrange(CONNECTIONS)
        p = peers[i]
        if not p.alive or rng.random() < 0.01:
            received += p.received
            p.close()
            peers[i] = p = Peer(path, names[i])
        if rng.random() < 0.6:
            msg = good_message(rng, p, names[:i] + names[i + 1:])
        else:
            msg = rand_message(rng, p.tokens)
        line = (json.dumps(msg, ensure_ascii=rng.random() < 0.5) + "\n").encode()
        line = mangle(rng, line)
        # a message split at a random byte, with the rest right after
        cut = rng.randrange(len(line) + 1)
        p.send(line[:cut])
        p.send(line[cut:])
        for q in peers:
            q.drain()
    for p in peers:
        received += p.received
        p.close()
    # the traffic did flow: calls reached callees and were answered
    print("calls forwarded:", received)
    assert received > ROUNDS // 20, received

    # the broker is still whole: a caller reaches a callee, juno answers
    assert b.alive()
    svc = b.module("fuzz-svc")
    svc.declare("echo")
    caller = b.module("fuzz-caller")
    rid = caller.send_call("fuzz-svc.echo", {"n": seed})
    token = svc.expect_call("echo", {"n": seed})["requestId"]
    svc.respond(token, {"n": seed})
    assert caller.recv() == {"requestId": rid, "type": 4, "data": {"n": seed}}
    # every fuzzing connection left, and took its module with it
    wait_for(lambda: [m["moduleId"] for m in caller.list_modules()] == ["juno", "fuzz-caller", "fuzz-svc"],
             10, "only juno and the two checking modules to be left")
    caller.request_error({"type": 3, "function": "a.f"}, E_UNKNOWN_MODULE)
    assert b.stop() == 0
