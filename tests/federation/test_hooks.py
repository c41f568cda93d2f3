# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hooks across brokers: a trigger reaches every listener on every broker
exactly once, and a broker whose modules do not listen receives nothing."""

import time

from junofederation import Responder, stats, wait_brokers
from junotest import decode, expect_nothing_all


def synced(triggerer, listeners, timeout=5.0):
    """Waits until the hooks @listeners listen to reach them from
    @triggerer's broker, and until nothing of the wait is left in flight.
    Each listener listens to triggerer.sync after its other hooks, so these
    are announced with it or before. The triggerer triggers sync until each
    listener got one, then once more with {"last": true}; each listener
    reads up to that one (hooks from one broker arrive in order)."""
    hook = triggerer.module_id + ".sync"
    for m in listeners:
        m.listen(hook)
    waiting = list(listeners)
    deadline = time.monotonic() + timeout
    while waiting:
        assert time.monotonic() < deadline, \
            "hooks of %s did not reach %r within %.0f s" % (triggerer.module_id, waiting, timeout)
        triggerer.trigger("sync", {})
        for m in list(waiting):
            line = m.recv_line(0.1)
            if line is not None:
                msg = decode(line)
                assert msg.get("hook") == hook and msg["data"] == {}, msg
                waiting.remove(m)
    triggerer.trigger("sync", {"last": True})
    for m in listeners:
        while True:
            msg = m.recv()
            assert msg.get("hook") == hook, msg
            if msg["data"] == {"last": True}:
                break


def test_hook_to_every_broker_once(federation):
    b1, b2, b3 = federation.brokers
    src = b1.module("src")
    listeners = []
    for b in federation.brokers:
        m = b.module("l" + b.name)
        m.listen("src.changed")
        listeners.append(m)
    synced(src, listeners)
    before = [stats(b) for b in federation.brokers]

    for n in range(20):
        src.trigger("changed", {"n": n})
    for m in listeners:
        for n in range(20):
            m.expect_hook("src.changed", {"n": n})
    expect_nothing_all(listeners + [src], 1.0)

    after = [stats(b) for b in federation.brokers]
    assert after[0]["remoteHooksOut"] - before[0]["remoteHooksOut"] >= 20
    assert after[0]["remoteHooksIn"] == before[0]["remoteHooksIn"], \
        "the triggering broker received its own hooks back"
    for i in (1, 2):
        assert after[i]["remoteHooksIn"] - before[i]["remoteHooksIn"] == 20, \
            "b%d: each trigger arrives once" % (i + 1)


def test_hook_from_remote_triggerer_and_two_listeners_on_one_broker(federation):
    b1, b2, b3 = federation.brokers
    src = b3.module("emitter")
    a = b1.module("la")
    b = b1.module("lb")
    for m in (a, b):
        m.listen("emitter.tick")
    synced(src, [a, b])
    before = stats(b1)["remoteHooksIn"]
    src.trigger("tick", {"k": "v"})
    a.expect_hook("emitter.tick", {"k": "v"})
    b.expect_hook("emitter.tick", {"k": "v"})
    expect_nothing_all([a, b, src], 1.0)
    assert stats(b1)["remoteHooksIn"] - before == 1, \
        "one NATS message for two listeners on one broker"


def test_broker_without_listener_receives_nothing(federation):
    b1, b2, b3 = federation.brokers
    src = b1.module("quiet")
    listener = b2.module("ear")
    listener.listen("quiet.spoke")
    bystander = b3.module("bystander")   # listens to nothing of quiet's
    bystander.listen("other.thing")
    synced(src, [listener])
    wait_brokers(b1, "bystander", ["b3"])
    for n in range(10):
        src.trigger("spoke", {"n": n})
    for n in range(10):
        listener.expect_hook("quiet.spoke", {"n": n})
    expect_nothing_all([listener, bystander], 1.0)
    assert stats(b2)["remoteHooksIn"] >= 10
    assert stats(b3)["remoteHooksIn"] == 0, "a broker with no listener received hooks"


def test_listener_that_leaves_gets_no_more(federation):
    b1, b2, _ = federation.brokers
    src = b1.module("pulse")
    ear = b2.module("ear")
    ear.listen("pulse.beat")
    other = Responder(b2, "other", functions=("f",))
    synced(src, [ear])
    src.trigger("beat", {"n": 1})
    ear.expect_hook("pulse.beat", {"n": 1})
    ear.close()
    wait_brokers(b1, "ear", None, timeout=5)
    before = stats(b2)["remoteHooksIn"]
    for n in range(5):
        src.trigger("beat", {"n": n})
    # a call from b1 to b2 after the triggers: messages from one broker
    # arrive in order, so once it is answered the hooks would have arrived
    wait_brokers(b1, "other", ["b2"])
    assert src.call_ok("other.f")["by"] == "b2"
    assert stats(b2)["remoteHooksIn"] == before, \
        "a broker whose last listener left still receives the hook"
    other.close()


def test_every_instance_of_a_module_gets_the_hook(federation):
    """docs/federation.md: a hook goes to every listening instance."""
    b1, b2, b3 = federation.brokers
    src = b1.module("clock")
    instances = []
    for b in federation.brokers:
        m = b.module("display")
        m.listen("clock.tick")
        instances.append(m)
    synced(src, instances)
    for n in range(5):
        src.trigger("tick", {"n": n})
    for m in instances:
        for n in range(5):
            m.expect_hook("clock.tick", {"n": n})
    expect_nothing_all(instances, 1.0)
