# SPDX-License-Identifier: LGPL-2.1-or-later
"""The shared registry follows what modules do after they were announced:
a function declared or a hook listened to later, a module that leaves and
comes back, a local module taking a proxy's name."""

from junofederation import Responder, module_info, wait_brokers, wait_until
from junotest import T_RESPONSE


def declared(broker, module_id):
    return sorted((module_info(broker, module_id) or {}).get("declaredFunctions") or [])


def test_function_declared_after_the_announcement(federation):
    b1, b2, b3 = federation.brokers
    svc = b1.module("late")
    svc.declare("first")
    for b in (b2, b3):
        wait_until(lambda: declared(b, "late") == ["first"], 5, "%s to list late.first" % b.name)
    dependent = b2.module("dependent", "1.0.0", {"late": "*"})

    # a change of a module already announced: it stays, with its new function
    svc.declare("second")
    for b in (b2, b3):
        wait_until(lambda: declared(b, "late") == ["first", "second"], 5,
                   "%s to list late.second (late: %r)" % (b.name, module_info(b, "late")))
    dependent.expect_nothing(0.5)
    caller = b3.module("caller")
    rid = caller.send_call("late.second", {"n": 2})
    call = svc.expect_call("second", {"n": 2}, caller="caller")
    svc.respond(call["requestId"], {"ok": True})
    assert caller.recv() == {"requestId": rid, "type": T_RESPONSE, "data": {"ok": True}}

    # and a hook listened to later
    svc.listen("caller.ping")
    svc.declare("third")
    wait_until(lambda: "third" in declared(b3, "late"), 5, "b3 to list late.third")
    assert module_info(b3, "late")["brokers"] == ["b1"]


def test_module_leaves_and_comes_back(federation):
    b1, b2, _ = federation.brokers
    first = Responder(b1, "phoenix")
    wait_brokers(b2, "phoenix", ["b1"])
    first.close()
    wait_brokers(b2, "phoenix", None, timeout=5)
    again = Responder(b1, "phoenix", functions=("echo", "rise"))
    wait_until(lambda: declared(b2, "phoenix") == ["echo", "rise"], 5, "phoenix back on b2")
    assert b2.module("caller").call_ok("phoenix.rise", {})["by"] == "b1"
    again.close()


def test_local_module_takes_the_name_over(federation):
    """A local module registering a moduleId a proxy holds takes it over;
    when it leaves, the proxy takes it back with no deactivation between."""
    b1, b2, _ = federation.brokers
    remote = Responder(b1, "shared")
    wait_brokers(b2, "shared", ["b1"])
    dependent = b2.module("dependent", "1.0.0", {"shared": "^1.0.0"})
    local = Responder(b2, "shared", tag="local-b2")
    wait_brokers(b2, "shared", ["b1", "b2"])
    caller = b2.module("caller")
    assert caller.call_ok("shared.echo")["by"] == "local-b2"
    local.close()
    wait_brokers(b2, "shared", ["b1"], timeout=5)
    dependent.expect_nothing(0.5)
    assert module_info(b2, "dependent")["registered"] is True
    assert caller.call_ok("shared.echo")["by"] == "b1"
    remote.close()
