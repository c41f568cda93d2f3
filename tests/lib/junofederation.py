# SPDX-License-Identifier: LGPL-2.1-or-later
"""juno brokers federated over a real nats-server cluster, for tests.

federation_factory(size=3, *, nats=None, args=(), per_broker=None,
heartbeat=0.5, timeout=2, start=True) starts @size brokers named b1, b2, …
through the shared broker factory (junofixtures.broker_factory: READY=1,
clean exit and clean log at the end, logs in a failing test's report),
broker i attached to node i of @nats (a 3-node NatsCluster made for the
test when None), all in one federation named test-<random>, with
--federation-heartbeat 0.5 --federation-timeout 2, @args for all and
@per_broker[i] for broker i. It waits until every broker sees every other
(federationBrokers in juno.getStats).

Helpers: stats(broker), module_info(broker, id), wait_until(...),
Responder (a raw module answering its calls from a thread), and the bound
within which a killed broker's modules vanish (GONE_BOUND).
"""

import os
import threading
import time

import pytest

from junotest import T_CALL, T_ERROR, T_RESPONSE, T_TRIGGERED, ConnectionClosed, decode

HEARTBEAT = 0.5
TIMEOUT = 2.0
# docs/federation.md: a killed broker's modules vanish everywhere within
# timeout + heartbeat of its last message; a margin for the batch (50 ms)
# and a loaded machine.
GONE_BOUND = TIMEOUT + HEARTBEAT + 2.0

FEDERATION_STATS = {
    "federation": str, "brokerName": str, "natsServer": str, "natsReconnects": int,
    "federationBrokers": int, "remoteModules": int, "remoteCallsOut": int,
    "remoteCallsIn": int, "remoteCallsFailed": int, "remoteHooksOut": int,
    "remoteHooksIn": int, "federationDropped": int,
}


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls state in other processes (a broker's registry, its counters);
    returns the predicate's last true value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def _observer(broker):
    """A connection of broker's own for juno.* calls (no registration needed)."""
    conn = getattr(broker, "_fed_observer", None)
    if conn is None or conn.closed_by_peer:
        conn = broker._fed_observer = broker.connect(name="observer")
    return conn


def stats(broker):
    return _observer(broker).call_ok("juno.getStats")


def module_info(broker, module_id):
    return _observer(broker).call_ok("juno.getModuleInfo", {"moduleId": module_id})


def list_modules(broker):
    return _observer(broker).call_ok("juno.listModules")


def brokers_of(broker, module_id):
    """The brokers @broker lists for @module_id: None when unknown or inactive."""
    info = module_info(broker, module_id)
    if not info or not info.get("registered"):
        return None
    return info.get("brokers")


def wait_brokers(broker, module_id, expected, timeout=GONE_BOUND):
    """Waits until @broker lists @module_id active on @expected (a list of
    names; None: not there at all)."""
    try:
        return wait_until(lambda: brokers_of(broker, module_id) == expected or
                          (expected is None and brokers_of(broker, module_id) is None),
                          timeout, "%s to list %s on %r" % (broker.name, module_id, expected))
    except AssertionError as exc:
        raise AssertionError("%s; it lists %r" % (exc, module_info(broker, module_id))) from None


class Responder:
    """A module that answers every call from a thread: with @answer(call)
    (default: {"by": name, "arguments": ...}), counting the calls it got."""

    def __init__(self, broker, module_id, functions=("echo",), version="1.0.0",
                 deps=None, answer=None, tag=None):
        self.module = broker.module(module_id, version, deps)
        for f in functions:
            self.module.declare(f)
        self.tag = tag or broker.name
        self.answer = answer
        self.calls = []
        self.hooks = []
        self.errors = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        m = self.module
        while not self.stopping:
            try:
                line = m.recv_line(0.1)
            except ConnectionClosed:
                return
            if line is None:
                continue
            msg = decode(line)
            if msg["type"] == T_CALL:
                with self.lock:
                    self.calls.append(msg)
                if self.answer is not None:
                    reply = self.answer(msg)
                    if reply is not None:
                        m.send(reply)
                else:
                    m.respond(msg["requestId"], {"by": self.tag, "arguments": msg["arguments"]})
            elif msg["type"] == T_TRIGGERED and "hook" in msg:
                with self.lock:
                    self.hooks.append(msg)
            else:
                with self.lock:
                    self.errors.append(msg)

    def count(self):
        with self.lock:
            return len(self.calls)

    def stop(self):
        self.stopping = True
        self.thread.join(5)

    def close(self):
        self.stop()
        self.module.close()


def pipeline_calls(caller, function, count, window=64, timeout=30.0, arguments=None,
                   at=None, action=None):
    """Sends @count calls from the raw module @caller, at most @window
    waiting at once; runs @action() once @at answers have come. Returns
    (sent requestIds, {requestId: [answers]}) once every call has an
    answer and a moment has passed for a second one, or after @timeout (a
    call without an answer has no entry). A second answer to a call is
    appended to its list; answers to ids never sent are under None."""
    answers = {}
    sent = []
    sent_set = set()
    waiting = 0
    deadline = time.monotonic() + timeout
    while (len(sent) < count or waiting > 0) and time.monotonic() < deadline:
        while len(sent) < count and waiting < window:
            rid = caller.send_call(function, arguments if arguments is not None
                                   else {"i": len(sent)})
            sent.append(rid)
            sent_set.add(rid)
            waiting += 1
        line = caller.recv_line(min(1.0, max(0.0, deadline - time.monotonic())))
        if line is None:
            continue
        msg = decode(line)
        rid = msg["requestId"]
        if rid in answers:
            answers[rid].append(msg)
        elif rid in sent_set:
            answers[rid] = [msg]
            waiting -= 1
            if action is not None and len(answers) == at:
                action()
        else:
            answers.setdefault(None, []).append(msg)
    # a second answer to any of them would come now
    while True:
        line = caller.recv_line(0.5)
        if line is None:
            break
        msg = decode(line)
        answers.setdefault(msg["requestId"] if msg["requestId"] in sent_set else None,
                           []).append(msg)
    return sent, answers


def check_answered_once(sent, answers, allowed_errors=()):
    """Every call of @sent has exactly one answer: a response, or an error
    of @allowed_errors. Returns the responses' data."""
    assert None not in answers, "answers to calls never made: %r" % answers[None][:5]
    missing = [rid for rid in sent if rid not in answers]
    assert not missing, "%d of %d calls got no answer (first: %s)" % (
        len(missing), len(sent), missing[0])
    twice = {rid: a for rid, a in answers.items() if len(a) != 1}
    assert not twice, "calls answered more than once: %r" % list(twice.items())[:3]
    data = []
    for rid in sent:
        msg = answers[rid][0]
        if msg["type"] == T_RESPONSE:
            data.append(msg["data"])
        else:
            assert msg["type"] == T_ERROR and msg.get("error") in allowed_errors, \
                "call %s answered %r" % (rid, msg)
    return data


class Federation:
    def __init__(self, nats, broker_factory, size, args, per_broker, heartbeat, timeout):
        self.nats = nats
        self.name = "test-%s" % os.urandom(6).hex()
        self.factory = broker_factory
        self.brokers = []
        self.size = size
        self.args = list(args)
        self.per_broker = per_broker or {}
        self.heartbeat = heartbeat
        self.timeout = timeout

    def broker_args(self, i, nats_url=None):
        return (["--nats", nats_url or self.nats[i % len(self.nats)].url,
                 "--federation", self.name,
                 "--broker-name", "b%d" % (i + 1),
                 "--federation-heartbeat", str(self.heartbeat),
                 "--federation-timeout", str(self.timeout)]
                + self.args + list(self.per_broker.get(i, [])))

    def launch(self, i, *, nats_url=None, wait_ready=True):
        b = self.factory(args=self.broker_args(i, nats_url), wait_ready=wait_ready,
                         prefix="juno-fed-b%d-" % (i + 1))
        b.name = "b%d" % (i + 1)
        return b

    def start(self):
        self.brokers = [self.launch(i) for i in range(self.size)]
        self.wait_joined()
        return self

    def __getitem__(self, i):
        return self.brokers[i]

    def wait_joined(self, brokers=None, timeout=10.0):
        """Every running broker (or those of @brokers) connected and seeing
        the others."""
        watched = brokers if brokers is not None else self.brokers
        running = [b for b in self.brokers if b.alive()]
        for b in watched:
            wait_until(lambda: (lambda s: s.get("federation") == "connected" and
                                s.get("federationBrokers") == len(running) - 1)(stats(b)),
                       timeout, "%s to join and see %d other brokers" % (b.name, len(running) - 1))

    def kill(self, i):
        """kill -9 of broker @i."""
        b = self.brokers[i]
        b.proc.kill()
        b.proc.wait()


@pytest.fixture
def federation_factory(request, broker_factory):
    def make(size=3, *, nats=None, args=(), per_broker=None, heartbeat=HEARTBEAT,
             timeout=TIMEOUT, start=True):
        if nats is None:
            nats = request.getfixturevalue("nats_cluster")
        fed = Federation(nats, broker_factory, size, args, per_broker, heartbeat, timeout)
        if start:
            fed.start()
        return fed
    return make


@pytest.fixture
def federation(federation_factory):
    """Three brokers b1, b2, b3 on the three nodes of a NATS cluster."""
    return federation_factory()
