# SPDX-License-Identifier: LGPL-2.1-or-later
"""Calls across brokers, remote modules in the listings, the federation's
statistics: three brokers b1, b2, b3 on three nodes of a NATS cluster."""

from junofederation import (FEDERATION_STATS, Responder, list_modules, module_info, stats,
                            wait_brokers)
from junotest import (E_UNKNOWN_FUNCTION, E_UNKNOWN_MODULE, FORWARDED_CALL_KEYS, T_ERROR,
                      T_RESPONSE)


def test_call_across_brokers(federation):
    b1, b2, b3 = federation.brokers
    svc = Responder(b1, "svc", functions=("echo", "fail"),
                    answer=lambda c: ({"requestId": c["requestId"], "type": T_ERROR, "error": 42}
                                      if c["function"] == "fail" else
                                      {"requestId": c["requestId"], "type": T_RESPONSE,
                                       "data": {"by": "b1", "arguments": c["arguments"]}}))
    wait_brokers(b2, "svc", ["b1"])
    wait_brokers(b3, "svc", ["b1"])
    before = stats(b2)["remoteCallsOut"], stats(b1)["remoteCallsIn"]

    caller = b2.module("cli")
    rid = caller.send_call("svc.echo", {"x": [1, "é", None], "n": 12345678901234})
    reply = caller.recv()
    assert reply == {"requestId": rid, "type": T_RESPONSE,
                     "data": {"by": "b1", "arguments": {"x": [1, "é", None], "n": 12345678901234}}}
    call = svc.calls[-1]
    assert set(call) == FORWARDED_CALL_KEYS, call
    assert call["function"] == "echo" and call["caller"] == "cli"
    assert call["requestId"] != rid, "the callee sees its broker's token, not the caller's id"

    # arguments left out arrive as {}; a big payload crosses whole
    assert caller.call_ok("svc.echo")["arguments"] == {}
    big = "x" * 200000
    assert caller.call_ok("svc.echo", {"big": big})["arguments"] == {"big": big}

    # the callee's error comes back as it was sent
    rid = caller.send_call("svc.fail", {})
    assert caller.recv() == {"requestId": rid, "type": T_ERROR, "error": 42}

    # from the third broker as well
    other = b3.module("cli3")
    assert other.call_ok("svc.echo", {"k": 3}) == {"by": "b1", "arguments": {"k": 3}}
    assert svc.calls[-1]["caller"] == "cli3"

    # errors mean the same across hosts
    caller.request_error({"type": 3, "function": "svc.nothere"}, E_UNKNOWN_FUNCTION)
    caller.request_error({"type": 3, "function": "nobody.echo"}, E_UNKNOWN_MODULE)

    after = stats(b2)["remoteCallsOut"], stats(b1)["remoteCallsIn"]
    assert after[0] - before[0] >= 4 and after[1] - before[1] >= 5, (before, after)
    assert not svc.errors, svc.errors
    svc.close()


def test_per_pair_order(federation):
    b1, b2, _ = federation.brokers
    svc = Responder(b1, "ordered")
    wait_brokers(b2, "ordered", ["b1"])
    caller = b2.module("cli")
    ids = [caller.send_call("ordered.echo", {"i": i}) for i in range(200)]
    replies = [caller.recv(10) for _ in ids]
    assert sorted(r["requestId"] for r in replies) == sorted(ids)
    assert all(r["type"] == T_RESPONSE for r in replies), replies
    assert [c["arguments"]["i"] for c in svc.calls] == list(range(200)), \
        "calls from one caller reached the callee out of order"
    svc.close()


def test_remote_module_listed_with_its_broker(federation):
    b1, b2, b3 = federation.brokers
    svc = Responder(b1, "inventory", functions=("count", "add"), version="1.4.2")
    local = b2.module("shop")
    wait_brokers(b2, "inventory", ["b1"])
    wait_brokers(b3, "inventory", ["b1"])

    listed = {m["moduleId"]: m for m in list_modules(b2)}
    inv = listed["inventory"]
    assert inv["brokers"] == ["b1"]
    assert inv["version"] == "1.4.2" and inv["registered"] is True
    assert sorted(inv["declaredFunctions"]) == ["add", "count"]
    assert inv["dependencies"] == {}
    assert listed["shop"]["brokers"] == ["b2"], "a local module lists this broker"
    # the same module object through getModuleInfo
    assert module_info(b2, "inventory") == inv
    # on b1 the module is local
    assert module_info(b1, "inventory")["brokers"] == ["b1"]
    # b1 sees b2's module
    wait_brokers(b1, "shop", ["b2"])

    assert stats(b2)["remoteModules"] >= 1
    # gone on b1: gone everywhere, at once (it was withdrawn, not timed out)
    svc.close()
    wait_brokers(b2, "inventory", None, timeout=5)
    wait_brokers(b3, "inventory", None, timeout=5)
    assert module_info(b3, "inventory") is None
    local.close()


def test_stats_keys(federation, nats_cluster):
    urls = {n.url for n in nats_cluster.nodes}
    for i, b in enumerate(federation.brokers):
        s = stats(b)
        for key, kind in FEDERATION_STATS.items():
            assert key in s, "juno.getStats lacks %s: %r" % (key, s)
            assert isinstance(s[key], kind) and not isinstance(s[key], bool), (key, s[key])
        assert s["federation"] == "connected"
        assert s["brokerName"] == "b%d" % (i + 1)
        assert s["natsServer"] in urls, (s["natsServer"], urls)
        assert s["federationBrokers"] == 2
        assert s["federationDropped"] == 0
        assert s["natsReconnects"] == 0


def test_no_federation_keys_without_nats(broker_factory):
    b = broker_factory()
    s = b.connect().call_ok("juno.getStats")
    assert not set(FEDERATION_STATS) & set(s), s
    m = b.module("plain")
    info = m.module_info("plain")
    assert "brokers" not in info, info
