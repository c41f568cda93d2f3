# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile NATS clients: whatever is published straight onto the
federation's subjects, the brokers drop what is malformed, oversized or
forged, count it (federationDropped), and keep serving."""

import json
import os

from junofederation import Responder, module_info, stats, wait_brokers, wait_until
from natsclient import NatsClient
from junotest import T_RESPONSE


def instances(client, prefix, names, timeout=5.0):
    """broker name -> instance id, from their heartbeats."""
    sid = client.sub(prefix + ".hb")
    client.flush()
    found = {}
    wait_until(lambda: (found.update({json.loads(m.data)["broker"]: json.loads(m.data)["instance"]
                                      for m in client.pending(0.1) if m.sid == sid})
                        or set(names) <= set(found)), timeout, "heartbeats of %r" % names)
    client.unsub(sid)
    return found


def test_hostile_messages(federation, nats_cluster):
    b1, b2, b3 = federation.brokers
    P = "juno." + federation.name
    svc = Responder(b2, "svc")
    ear = b1.module("ear")
    ear.listen("src.changed")
    src = b3.module("src")
    wait_brokers(b1, "svc", ["b2"])
    wait_brokers(b3, "ear", ["b1"])
    caller = b1.module("client")
    assert caller.call_ok("svc.echo", {"a": 1})["by"] == "b2"
    dropped_before = [stats(b)["federationDropped"] for b in federation.brokers]

    evil = NatsClient(nats_cluster[0].port, name="evil")
    inst = instances(evil, P, ["b1", "b2", "b3"])
    big = b"{" + b'"k":"' + b"x" * (2 << 20) + b'"}'
    deep = b"[" * 5000 + b"]" * 5000
    garbage = [b"", b"\x00\xff\xfe garbage \x80", b"not json", b"[1,2,3]", b"null", b"{",
               b'{"v":1', deep, big, os.urandom(4096)]
    forged_state = [
        {"v": 2, "broker": "b9", "instance": "0123456789abcdef", "gen": 1, "op": "up",
         "module": {"moduleId": "v2", "version": "1.0.0", "functions": [], "hooks": []}},
        {"v": 1, "broker": 123, "instance": "0123456789abcdef", "gen": 1, "op": "up"},
        {"v": 1, "broker": "b9", "instance": "zz", "gen": 1, "op": "up",
         "module": {"moduleId": "x", "version": "1.0.0", "functions": [], "hooks": []}},
        {"v": 1, "broker": "b9", "instance": "0123456789abcdef", "gen": "1", "op": "up",
         "module": {"moduleId": "x", "version": "1.0.0", "functions": [], "hooks": []}},
        {"v": 1, "broker": "b9", "instance": "0123456789abcdef", "gen": 1, "op": "up",
         "module": {"moduleId": "a.b", "version": "1.0.0", "functions": [], "hooks": []}},
        {"v": 1, "broker": "b9", "instance": "0123456789abcdef", "gen": 1, "op": "up",
         "module": {"moduleId": "bad1", "version": "one", "functions": [], "hooks": []}},
        {"v": 1, "broker": "b9", "instance": "0123456789abcdef", "gen": 1, "op": "up",
         "module": {"moduleId": "bad2", "version": "1.0.0", "functions": "f", "hooks": []}},
        {"v": 1, "broker": "b9", "instance": "0123456789abcdef", "gen": 1, "op": "up",
         "module": {"moduleId": "bad3", "version": "1.0.0", "functions": ["a.b"], "hooks": [7]}},
        {"v": 1, "broker": "b9", "instance": "0123456789abcdef", "gen": 1, "op": "sideways"},
        {"v": 1, "broker": "b9", "instance": "0123456789abcdef", "gen": 1, "op": "down",
         "moduleId": ["svc"]},
        # a known instance under another name
        {"v": 1, "broker": "evil", "instance": inst["b2"], "gen": 99, "op": "down",
         "moduleId": "svc"},
    ]
    forged_hb = [
        {"v": 1, "broker": "b9", "instance": "0123456789abcdef", "gen": "x", "modules": 1},
        {"v": 1, "broker": ["b9"], "instance": "0123456789abcdef", "gen": 1, "modules": 1},
        {"v": 1, "broker": "b9", "instance": 17, "gen": 1, "modules": 1},
        {"v": 1, "broker": "b9", "instance": "0123456789abcdef", "gen": 1, "modules": -5},
        {"v": 1, "broker": "b 9", "instance": "0123456789abcdef", "gen": 1, "modules": 1},
        {"v": 1, "broker": "evil", "instance": inst["b2"], "gen": 1, "modules": 0},
    ]
    for data in garbage:
        # (an empty hook payload has a test of its own)
        for subject in (() if data == b"" else ("hook.src.changed",)) + (
                        "hb", "state", "bye", "discover", "call.svc.1",
                        "reply.%s.1" % inst["b1"], "page.%s" % inst["b1"],
                        "sync.%s" % inst["b2"]):
            evil.pub("%s.%s" % (P, subject), data, reply="%s.reply.%s.999" % (P, inst["b1"]))
    for msg in forged_state:
        evil.pub(P + ".state", msg)
    for msg in forged_hb:
        evil.pub(P + ".hb", msg)
    # a bye of another broker's instance under another name
    evil.pub(P + ".bye", {"v": 1, "broker": "evil", "instance": inst["b2"]})
    # replies to calls that are not waiting, for b1's instance
    for rid in ("1", "2", "999999", "x", "-1"):
        evil.pub("%s.reply.%s.%s" % (P, inst["b1"], rid),
                 {"requestId": "j1", "type": 4, "data": "forged"})
    # a call with no reply subject, one with a reply subject of another kind
    evil.pub(P + ".call.svc.1", {"requestId": "e1", "type": 3, "function": "svc.echo",
                                 "arguments": {}, "caller": "evil"})
    evil.pub(P + ".call.svc.1", {"requestId": "e2", "type": 3, "function": "svc.echo",
                                 "arguments": {}, "caller": "evil"}, reply="elsewhere.x")
    # hook data that is not an object
    evil.pub(P + ".hook.src.changed", b"[1]")
    evil.pub(P + ".hook.src.changed", b'"text"')
    evil.flush()

    # every broker dropped and counted what reached it
    wait_until(lambda: all(stats(b)["federationDropped"] > before
                           for b, before in zip(federation.brokers, dropped_before)),
               5, "every broker to count dropped messages")
    # and still serves: the registry is intact, calls cross, nothing
    # unchecked reached a module
    for b in (b1, b3):
        wait_brokers(b, "svc", ["b2"], timeout=1)
        for bogus in ("v2", "x", "a.b", "bad1", "bad2", "bad3"):
            info = b._fed_observer.call("juno.getModuleInfo", {"moduleId": bogus})
            assert info.get("data") is None, info
    reply = caller.call("svc.echo", {"a": 2})
    assert reply["type"] == T_RESPONSE and reply["data"] == {"by": "b2", "arguments": {"a": 2}}
    caller.expect_nothing(0.5)
    assert [c["requestId"] for c in svc.calls if c["caller"] == "evil"] == [], \
        "a call without a usable reply subject reached the module"
    # the forged hooks reached no listener
    src.trigger("changed", {"real": True})
    ear.expect_hook("src.changed", {"real": True})
    ear.expect_nothing(0.3)
    assert not svc.errors
    evil.close()
    svc.close()


def test_forged_answers_to_a_waiting_call(federation, nats_cluster):
    b1, b2, _ = federation.brokers
    P = "juno." + federation.name
    held = []
    svc = Responder(b2, "slow", functions=("hold",), answer=lambda c: held.append(c))
    wait_brokers(b1, "slow", ["b2"])
    caller = b1.module("client")
    spy = NatsClient(nats_cluster[0].port, name="spy")
    sid = spy.sub(P + ".call.slow.>")
    spy.flush()
    rid = caller.send_call("slow.hold", {"n": 1})
    wait_until(lambda: len(held) == 1, 5, "the call to arrive")
    seen = spy.next_msg(5)
    assert seen is not None and seen.sid == sid and seen.reply.startswith(P + ".reply."), seen
    before = stats(b1)["federationDropped"]
    # garbage on the reply subject of a waiting call: dropped
    for data in (b"garbage", b"[]", b"{\"type\":4}", os.urandom(100)):
        spy.pub(seen.reply, data)
    spy.flush()
    wait_until(lambda: stats(b1)["federationDropped"] >= before + 4, 5, "the drops to be counted")
    caller.expect_nothing(0.3)
    # the real answer is delivered, once; a replay of it afterwards is dropped
    svc.module.respond(held[0]["requestId"], {"real": True})
    assert caller.recv() == {"requestId": rid, "type": T_RESPONSE, "data": {"real": True}}
    before = stats(b1)["federationDropped"]
    spy.pub(seen.reply, json.dumps({"requestId": held[0]["requestId"], "type": 4,
                                    "data": {"replayed": True}}))
    spy.flush()
    caller.expect_nothing(1.0)
    # docs/federation.md: a reply that answers no call waiting here is
    # dropped and counted
    wait_until(lambda: stats(b1)["federationDropped"] > before, 5, "the replay to be counted")
    spy.close()
    svc.close()


def test_empty_hook_payload_dropped(federation, nats_cluster):
    """A hook's payload is its data object: an empty one is no object."""
    b1, _, b3 = federation.brokers
    P = "juno." + federation.name
    ear = b1.module("ear")
    ear.listen("src.changed")
    src = b3.module("src")
    wait_brokers(b3, "ear", ["b1"])
    src.trigger("changed", {"n": 1})
    ear.expect_hook("src.changed", {"n": 1})
    before = stats(b1)["federationDropped"]
    with NatsClient(nats_cluster[0].port, name="evil") as evil:
        evil.pub(P + ".hook.src.changed", b"")
        evil.flush()
    ear.expect_nothing(1.0)
    assert stats(b1)["federationDropped"] == before + 1


def test_invalid_change_of_a_known_broker_dropped(federation, nats_cluster):
    """Changes under a real broker's name and instance, with the next gen,
    whose module breaks the rules: each dropped and counted (the gen does
    not move), nothing applied."""
    b1, b2, _ = federation.brokers
    P = "juno." + federation.name
    bad_modules = [
        {"moduleId": "a.b", "version": "1.0.0", "functions": [], "hooks": []},
        {"moduleId": "bad1", "version": "one", "functions": [], "hooks": []},
        {"moduleId": "bad2", "version": "1.0.0", "functions": "f", "hooks": []},
        {"moduleId": "bad3", "version": "1.0.0", "functions": ["a.b"], "hooks": []},
        {"moduleId": "bad4", "version": "1.0.0", "functions": [], "hooks": [7]},
    ]
    with NatsClient(nats_cluster[0].port, name="evil") as evil:
        sid = evil.sub(P + ".hb")
        evil.flush()
        while True:
            m = evil.next_msg(5)
            assert m is not None, "no heartbeat"
            hb = json.loads(m.data)
            if m.sid == sid and hb["broker"] == "b2":
                break
        evil.unsub(sid)
        before = stats(b1)
        for module in bad_modules:
            evil.pub(P + ".state", {"v": 1, "broker": "b2", "instance": hb["instance"],
                                    "gen": hb["gen"] + 1, "op": "up", "module": module})
        evil.flush()
    wait_until(lambda: stats(b1)["federationDropped"] >= before["federationDropped"] + len(bad_modules),
               5, "the changes to be dropped")
    for module in bad_modules:
        if "." not in module["moduleId"]:
            assert module_info(b1, module["moduleId"]) is None
    assert stats(b1)["federationBrokers"] == 2

