# SPDX-License-Identifier: LGPL-2.1-or-later
"""Dependencies satisfied by modules on other brokers, and lost when that
broker is killed."""

import time

from junofederation import GONE_BOUND, module_info, stats, wait_brokers
from junotest import E_NOT_ACTIVE, T_TRIGGERED


def hooks_until(module, pred, deadline, what):
    """Hooks delivered to @module until one satisfies @pred (bounded by
    @deadline, time.monotonic()); returns them all."""
    seen = []
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "%s: not within the bound; hooks seen: %r" % (what, seen)
        msg = module.recv(left)
        assert msg["type"] == T_TRIGGERED and "hook" in msg, msg
        seen.append(msg)
        if pred(msg):
            return seen


def test_dependency_on_another_broker(federation):
    b1, b2, b3 = federation.brokers
    watcher = b3.module("watcher")
    watcher.listen("juno.moduleDeactivated")
    watcher.listen("juno.moduleActivated")

    base = b1.module("base", "1.2.0")
    base.declare("get")
    wait_brokers(b2, "base", ["b1"])
    # satisfied by the remote module: active at once
    dep = b2.module("dep", "1.0.0", {"base": "^1.0.0"})
    assert module_info(b2, "dep")["registered"] is True
    # a requirement the remote version does not match: inactive
    wrong = b2.module("wrong", "1.0.0", {"base": "^2.0.0"}, active=False)
    wrong.request_error({"type": 3, "function": "base.get"}, E_NOT_ACTIVE)
    # registered first, activated when the dependency appears elsewhere
    early = b3.module("early", "1.0.0", {"late": "*"}, active=False)
    b1.module("late", "0.3.0")   # kept open by the broker fixture
    early.expect_activated(GONE_BOUND)
    wait_brokers(b3, "dep", ["b2"])

    stats_before = stats(b2)
    # kill -9 of b1: its modules vanish everywhere within the bound, their
    # dependents deactivate, the lifecycle hooks fire
    federation.kill(0)
    deadline = time.monotonic() + GONE_BOUND
    dep.expect_deactivated(GONE_BOUND)
    early.expect_deactivated(max(0.1, deadline - time.monotonic()))
    gone = {"base", "late", "dep", "early"}
    # collect the lifecycle hooks the watcher got until every one came
    seen_all = []
    while gone - {h["data"].get("moduleId") for h in seen_all
                  if h["hook"] == "juno.moduleDeactivated"}:
        seen_all += hooks_until(watcher, lambda m: m["hook"] == "juno.moduleDeactivated",
                                deadline + 1.0, "juno.moduleDeactivated for %s" % sorted(gone))
    deactivated = [h["data"]["moduleId"] for h in seen_all if h["hook"] == "juno.moduleDeactivated"]
    assert sorted(deactivated) == sorted(gone), "each deactivation once: %r" % deactivated

    assert module_info(b2, "base") is None and module_info(b3, "late") is None
    assert module_info(b2, "dep")["registered"] is False
    dep.request_error({"type": 3, "function": "base.get"}, E_NOT_ACTIVE)
    s = stats(b2)
    assert s["federationBrokers"] == 1 and s["remoteModules"] < stats_before["remoteModules"]
    assert stats(b3)["federationBrokers"] == 1


def test_dependency_moves_to_another_instance(federation):
    """Two instances of the dependency: losing one keeps the dependent active."""
    b1, b2, b3 = federation.brokers
    a = b1.module("store", "2.0.0")
    c = b3.module("store", "2.1.0")
    wait_brokers(b2, "store", ["b1", "b3"])
    assert module_info(b2, "store")["version"] == "2.1.0", "the highest version announced"
    user = b2.module("user", "1.0.0", {"store": "^2.0.0"})
    federation.kill(0)
    wait_brokers(b2, "store", ["b3"])
    user.expect_nothing(0.5)
    assert module_info(b2, "user")["registered"] is True
    c.close()
    user.expect_deactivated(5)
    del a
