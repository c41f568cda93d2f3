# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hooks: listen (type 5), trigger (type 7), delivery (type 8)."""

import pytest

from junotest import (E_MALFORMED, E_NOT_ACTIVE, T_LISTEN, T_TRIGGER,
                      expect_nothing_all, new_id)


def test_trigger_ack_then_delivery(broker):
    src = broker.module("src")
    dst = broker.module("dst")
    dst.listen("src.changed")
    rid = new_id()
    src.send({"requestId": rid, "type": 7, "hook": "changed", "data": {"v": 1}})
    assert src.recv() == {"requestId": rid, "type": 8}
    msg = dst.expect_hook("src.changed", {"v": 1})
    assert msg["requestId"] != rid
    expect_nothing_all([src, dst])


def test_triggerer_gets_ack_first_then_its_own_delivery(broker):
    src = broker.module("src")
    src.listen("src.self")
    rid = new_id()
    src.send({"requestId": rid, "type": 7, "hook": "self", "data": {"a": [1]}})
    assert src.recv() == {"requestId": rid, "type": 8}
    src.expect_hook("src.self", {"a": [1]})
    src.expect_nothing()


def test_every_active_listener_gets_one_delivery(broker):
    src = broker.module("src")
    src.listen("src.ev")
    listeners = [broker.module("l%d" % i) for i in range(5)]
    for l in listeners:
        l.listen("src.ev")
    listeners[0].listen("src.ev")  # twice: still one delivery
    other = broker.module("other")
    other.listen("src.different")
    other.listen("elsewhere.ev")
    src.trigger("ev", {"n": 7})
    for m in [src] + listeners:
        m.expect_hook("src.ev", {"n": 7})
    expect_nothing_all([src, other] + listeners)


def test_delivery_request_ids_are_fresh(broker):
    src = broker.module("src")
    dst = broker.module("dst")
    dst.listen("src.ev")
    seen = set()
    for i in range(5):
        src.trigger("ev", {"i": i})
        msg = dst.expect_hook("src.ev", {"i": i})
        assert msg["requestId"] not in seen
        seen.add(msg["requestId"])


def test_hook_of_another_module_is_not_delivered(broker):
    a = broker.module("a")
    b = broker.module("b")
    l = broker.module("l")
    l.listen("a.ev")
    b.trigger("ev")
    l.expect_nothing()
    a.trigger("ev")
    l.expect_hook("a.ev", {})


def test_listening_for_hooks_of_absent_modules_is_allowed(broker):
    l = broker.module("l")
    l.listen("later.ev")
    later = broker.module("later")
    later.trigger("ev", {"x": 1})
    l.expect_hook("later.ev", {"x": 1})


def test_inactive_listener_receives_nothing(broker):
    dep = broker.module("dep")
    src = broker.module("src")
    l = broker.module("l", deps={"dep": "*"})
    l.listen("src.ev")
    dep.close()
    l.expect_deactivated()
    src.trigger("ev", {"n": 1})
    l.expect_nothing()
    # Deactivated, it may not trigger or listen either.
    l.request_error({"type": T_TRIGGER, "hook": "x"}, E_NOT_ACTIVE)
    l.request_error({"type": T_LISTEN, "hook": "src.other"}, E_NOT_ACTIVE)
    broker.module("dep")
    l.expect_activated()
    src.trigger("ev", {"n": 2})
    l.expect_hook("src.ev", {"n": 2})
    l.expect_nothing()


def test_registered_but_never_active_listener_receives_nothing(broker):
    src = broker.module("src")
    waiting = broker.connect()
    waiting.register("waiting", "1.0.0", {"absent": "*"}, active=False)
    src.trigger("ev")
    waiting.expect_nothing()


@pytest.mark.parametrize("data", ["MISSING", None, [1, 2], "text", 5, False])
def test_data_defaults_to_empty_object(broker, data):
    src = broker.module("src")
    dst = broker.module("dst")
    dst.listen("src.ev")
    if data == "MISSING":
        src.trigger("ev")
    else:
        src.trigger("ev", data)
    dst.expect_hook("src.ev", {})


def test_data_is_passed_through(broker):
    src = broker.module("src")
    dst = broker.module("dst")
    dst.listen("src.ev")
    payload = {"s": "ünïcødé \u2603 \"quoted\" \\ \n", "n": [1, -2.5, 1e20, None, True],
               "o": {"nested": {"deep": []}}}
    src.trigger("ev", payload)
    dst.expect_hook("src.ev", payload)


@pytest.mark.parametrize("hook", [
    "nodot", "a.b.c", "a.", ".b", "bad!.x", "", ".", "sp ace.x", "x" * 129 + ".h",
])
def test_listen_bad_hook_name_is_error_0(broker, hook):
    m = broker.module("m")
    m.request_error({"type": T_LISTEN, "hook": hook}, E_MALFORMED)


@pytest.mark.parametrize("value", ["MISSING", None, 5, ["a.b"], {"a": "b"}])
def test_listen_hook_not_a_string_is_error_0(broker, value):
    m = broker.module("m")
    msg = {"type": T_LISTEN}
    if value != "MISSING":
        msg["hook"] = value
    m.request_error(msg, E_MALFORMED)


@pytest.mark.parametrize("value", ["MISSING", None, 5, "", "a.b", ".x", "x.", ["x"]])
def test_trigger_bad_hook_is_error_0(broker, value):
    m = broker.module("m")
    m.listen("m.x")
    msg = {"type": T_TRIGGER}
    if value != "MISSING":
        msg["hook"] = value
    m.request_error(msg, E_MALFORMED)
    m.expect_nothing()


def test_listen_to_juno_lifecycle_hooks_and_own_hooks(broker):
    m = broker.module("m")
    for hook in ["juno.moduleConnected", "juno.moduleDisconnected",
                 "juno.moduleActivated", "juno.moduleDeactivated", "m.own"]:
        m.listen(hook)
    info = m.module_info("m")
    assert sorted(info["registeredHooks"]) == sorted([
        "juno.moduleConnected", "juno.moduleDisconnected",
        "juno.moduleActivated", "juno.moduleDeactivated", "m.own"])
