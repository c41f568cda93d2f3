# SPDX-License-Identifier: LGPL-2.1-or-later
"""Faults: a NATS node killed during traffic, a broker killed during
traffic, NATS down when a broker starts."""

import time

import pytest

from junofederation import (GONE_BOUND, Responder, check_answered_once,
                            pipeline_calls, stats, wait_brokers, wait_until)
from junotest import E_CALLEE_GONE, E_TIMEOUT, E_UNKNOWN_MODULE, T_ERROR


@pytest.mark.parametrize("urls", ["every-node", "own-node"])
def test_nats_node_killed_during_traffic(nats_cluster, federation_factory, urls):
    """The node the caller's broker is attached to dies mid-traffic. Each
    broker lists every node, as docs/federation.md advises, or only its own
    (the others it learns from the cluster)."""
    fed = federation_factory(nats=nats_cluster, start=False, args=["--call-timeout", "3"])
    fed.brokers = [fed.launch(i, nats_url=nats_cluster.urls(i) if urls == "every-node" else None)
                   for i in range(3)]
    fed.wait_joined()
    b1, b2, b3 = fed.brokers
    svc = Responder(b2, "svc")
    wait_brokers(b1, "svc", ["b2"])
    caller = b1.module("client")
    server = stats(b1)["natsServer"]
    victim = [n.index for n in nats_cluster.nodes if n.url == server]
    assert len(victim) == 1, (server, nats_cluster.urls())

    sent, answers = pipeline_calls(caller, "svc.echo", 1500, window=16, timeout=60,
                                   at=300, action=lambda: nats_cluster.kill(victim[0]))
    # exactly one answer each: a response, or 8 (the link dropped under
    # the call) or 9 (--call-timeout)
    data = check_answered_once(sent, answers, allowed_errors=(E_CALLEE_GONE, E_TIMEOUT))
    assert len(data) >= 300
    # the broker moved to another node and serves remote calls again
    s = wait_until(lambda: (lambda s: s if s["federation"] == "connected" and
                            s["natsServer"] != server else None)(stats(b1)),
                   15, "b1 to reconnect to another node")
    assert s["natsReconnects"] >= 1
    wait_brokers(b1, "svc", ["b2"])
    assert caller.call_ok("svc.echo", {"after": True})["by"] == "b2"
    svc.close()


def test_broker_killed_during_traffic(federation_factory):
    fed = federation_factory(args=["--call-timeout", "20"])
    b1, b2, b3 = fed.brokers
    held = []
    svc = Responder(b2, "svc", functions=("echo", "hold"),
                    answer=lambda c: (held.append(c) if c["function"] == "hold" else
                                      {"requestId": c["requestId"], "type": 4,
                                       "data": {"by": "b2"}}))
    wait_brokers(b1, "svc", ["b2"])
    wait_brokers(b3, "svc", ["b2"])
    dependent = b1.module("dependent", "1.0.0", {"svc": "^1.0.0"})
    caller = b3.module("caller")
    pending = [caller.send_call("svc.hold", {"i": i}) for i in range(5)]
    wait_until(lambda: len(held) == 5, 5, "the held calls to reach svc")

    # traffic on the side, then kill -9 while 5 calls wait for an answer
    sent, answers = pipeline_calls(b1.module("busy"), "svc.echo", 300, window=8, timeout=20,
                                   at=100, action=lambda: fed.kill(1))
    killed = time.monotonic()
    # the rest of the traffic: answered, or 8 when b2 is found gone under the
    # call, or 4 for a call made after that; never silence
    check_answered_once(sent, answers, allowed_errors=(E_CALLEE_GONE, E_UNKNOWN_MODULE))

    # in-flight callers get an error within the bound, not at --call-timeout
    got = []
    for _ in pending:
        msg = caller.recv(max(0.1, killed + GONE_BOUND - time.monotonic()))
        got.append(msg)
    assert sorted(m["requestId"] for m in got) == sorted(pending), got
    assert all(m == {"requestId": m["requestId"], "type": T_ERROR, "error": E_CALLEE_GONE}
               for m in got), got
    dependent.expect_deactivated(max(0.1, killed + GONE_BOUND - time.monotonic()))
    for b in (b1, b3):
        wait_brokers(b, "svc", None, timeout=max(0.1, killed + GONE_BOUND - time.monotonic()))
        assert stats(b)["federationBrokers"] == 1
    caller.expect_nothing(0.5)
    # docs/federation.md: remote calls answered by an error of the
    # federation (link lost, broker gone) count in remoteCallsFailed
    assert stats(b3)["remoteCallsFailed"] >= 5, stats(b3)
    svc.stop()


def test_nats_down_at_start(nats_factory, federation_factory):
    cluster = nats_factory(3, start=False)
    fed = federation_factory(nats=cluster, start=False)
    b1 = fed.launch(0)          # READY=1 with no NATS server to talk to
    fed.brokers = [b1]
    s = stats(b1)
    assert s["federation"] in ("connecting", "reconnecting"), s
    assert s["natsServer"] == ""
    # local work does not wait for NATS
    local = Responder(b1, "local")
    user = b1.module("user", "1.0.0", {"local": "*"})
    assert user.call_ok("local.echo", {"q": 1}) == {"by": "b1", "arguments": {"q": 1}}

    cluster.start()
    fed.brokers.append(fed.launch(1))
    fed.wait_joined(timeout=15)
    b2 = fed.brokers[1]
    assert stats(b1)["natsServer"] == cluster[0].url
    wait_brokers(b2, "local", ["b1"])
    wait_brokers(b2, "user", ["b1"])
    remote = b2.module("remote")
    assert remote.call_ok("local.echo", {"q": 2}) == {"by": "b1", "arguments": {"q": 2}}
    wait_brokers(b1, "remote", ["b2"])
    local.close()


def test_clean_stop_says_bye(federation_factory):
    """A broker stopped with SIGTERM says bye: its modules vanish from the
    others at once, long before --federation-timeout (30 s here). Started
    again under the same name it is a new instance and announces afresh."""
    fed = federation_factory(size=2, timeout=30, heartbeat=0.5)
    b1, b2 = fed.brokers
    Responder(b1, "svc")
    dependent = b2.module("dependent", "1.0.0", {"svc": "*"})
    wait_brokers(b2, "svc", ["b1"])
    assert b1.stop() == 0
    dependent.expect_deactivated(5)
    wait_brokers(b2, "svc", None, timeout=1)
    assert stats(b2)["federationBrokers"] == 0

    b1.start()
    fed.wait_joined([b2])
    Responder(b1, "svc", tag="again")
    dependent.expect_activated(5)
    assert dependent.call_ok("svc.echo")["by"] == "again"
