# SPDX-License-Identifier: LGPL-2.1-or-later
"""Observers: connections that never register (docs/protocol.md,
"Observers"). They call juno's own functions, listen to hook patterns and
trigger hooks as a module the policy grants, are never announced, and are
bounded and checked like modules."""

import os

import pytest

from junotest import collect

E_NOT_ACTIVE = 3
E_LIMIT = 12
E_ACCESS_DENIED = 13
LIFECYCLE = ("juno.moduleConnected", "juno.moduleDisconnected",
             "juno.moduleActivated", "juno.moduleDeactivated")


def watcher(broker):
    w = broker.module("watcher")
    for hook in LIFECYCLE:
        w.listen(hook)
    return w


def test_inspection_fires_no_hooks(broker):
    w = watcher(broker)
    svc = broker.module("svc")
    w.expect_hook("juno.moduleConnected")
    w.expect_hook("juno.moduleActivated", {"moduleId": "svc"})
    o = broker.connect()
    assert [m["moduleId"] for m in o.call_ok("juno.listModules")] == ["juno", "svc", "watcher"]
    assert o.call_ok("juno.getModuleInfo", {"moduleId": "svc"})["moduleId"] == "svc"
    stats = o.call_ok("juno.getStats")
    assert stats["modules"] == 2 and stats["activeModules"] == 2
    assert stats["connections"] == 3 and stats["version"]
    o.listen("*")
    o.close()
    w.expect_nothing()
    # the observer did not join: it is in no list
    assert [m["moduleId"] for m in svc.list_modules()] == ["juno", "svc", "watcher"]


def test_observer_may_not_do_what_only_modules_do(broker):
    svc = broker.module("svc")
    svc.declare("fn")
    o = broker.connect()
    o.request_error({"type": 3, "function": "svc.fn"}, E_NOT_ACTIVE)
    o.request_error({"type": 9, "function": "f"}, E_NOT_ACTIVE)
    o.request_error({"type": 7, "hook": "bare"}, E_NOT_ACTIVE)
    o.request_error({"type": 5, "hook": "a.b.c"}, E_NOT_ACTIVE)
    svc.expect_nothing()


def test_glob_listen_delivers_each_trigger_once(broker):
    o = broker.connect()
    for pattern in ("clock.*", "*.tick", "clock.tick"):
        o.listen(pattern)
    clock = broker.module("clock")
    other = broker.module("other")
    clock.trigger("tick", {"n": 1})
    other.trigger("tick", {"n": 2})
    clock.trigger("tock", {"n": 3})
    other.trigger("tock", {"n": 4})
    got = [(m["hook"], m["data"]) for m in collect(o, 3)]
    assert got == [("clock.tick", {"n": 1}), ("other.tick", {"n": 2}), ("clock.tock", {"n": 3})]
    o.expect_nothing()


def test_listen_all_sees_lifecycle_hooks(broker):
    o = broker.connect()
    o.listen("*")
    m = broker.module("m")
    assert o.expect_hook("juno.moduleConnected")["data"]["connectionId"]
    o.expect_hook("juno.moduleActivated", {"moduleId": "m"})
    m.close()
    o.expect_hook("juno.moduleDeactivated", {"moduleId": "m"})
    o.expect_hook("juno.moduleDisconnected")


def test_pattern_limit(broker):
    o = broker.connect()
    for i in range(64):
        o.listen("m%d.*" % i)
    o.listen("m0.*")  # again: no new pattern
    o.request_error({"type": 5, "hook": "m64.*"}, E_LIMIT)
    # longer than --max-name-length (256)
    broker.connect().request_error({"type": 5, "hook": "x." + "y" * 300}, E_LIMIT)


@pytest.mark.parametrize("connected", [False, True], ids=["absent", "connected"])
def test_trigger_as_module(broker, connected):
    listener = broker.module("listener")
    listener.listen("clock.tick")
    if connected:
        clock = broker.module("clock")
    o = broker.connect()
    o.trigger("clock.tick", {"n": 1})
    listener.expect_hook("clock.tick", {"n": 1})
    if connected:
        clock.expect_nothing()


def test_juno_hooks_cannot_be_forged(broker):
    w = watcher(broker)
    o = broker.connect()
    for hook in LIFECYCLE + ("juno.activated", "juno.anything"):
        o.request_error({"type": 7, "hook": hook, "data": {"moduleId": "x"}}, E_ACCESS_DENIED)
    w.expect_nothing()


def test_observers_count_against_the_connection_limit(broker_factory):
    b = broker_factory(args=["--max-connections", "2"])
    a = b.connect()
    a.call_ok("juno.getStats")
    c = b.connect()
    c.call_ok("juno.getStats")
    b.connect().expect_closed()
    assert a.call_ok("juno.getStats")["connections"] == 2


POLICY_TCP = """[Allow tcp]
Transport=tcp
Listen=clock.*
Trigger=clock.*
"""


@pytest.fixture
def tcp_policy_broker(broker_factory, tmp_path):
    """A broker with the system defaults (a TCP peer may do nothing) and
    the grants of @policy for TCP peers."""
    def start(policy):
        (tmp_path / "50-tcp.conf").write_text(policy)
        # the test's own modules: root may do everything under the system
        # defaults, a user running the tests (with sudo) may not
        (tmp_path / "40-me.conf").write_text("[Allow me]\nUser=%d\nOwn=listener\n" % os.geteuid())
        return broker_factory(tcp=True, args=["--bus=none", "--policy=system",
                                              "--policy-dir", str(tmp_path)])
    return start


def test_observer_without_grants(tcp_policy_broker):
    b = tcp_policy_broker("")
    listener = b.module("listener")  # our own uid: discovery only
    o = b.connect(tcp=True)
    # discovery is open to everyone by default, as for modules
    assert o.call_ok("juno.getStats")["modules"] == 1
    o.request_error({"type": 3, "function": "listener.f"}, E_NOT_ACTIVE)
    o.request_error({"type": 5, "hook": "clock.tick"}, E_ACCESS_DENIED)
    o.request_error({"type": 7, "hook": "clock.tick"}, E_ACCESS_DENIED)
    # a glob is accepted, but delivers only the hooks the policy lets it see
    o.listen("*")
    b.connect(tcp=True).request_error({"type": 1, "moduleId": "x", "version": "1.0.0"}, E_ACCESS_DENIED)
    o.expect_nothing()
    listener.expect_nothing()


def test_observer_with_grants(tcp_policy_broker):
    b = tcp_policy_broker(POLICY_TCP)
    t = b.connect(tcp=True)
    o = b.connect(tcp=True)
    o.listen("*")
    t.trigger("clock.tick", {"n": 1})
    t.request_error({"type": 7, "hook": "other.tick"}, E_ACCESS_DENIED)
    o.expect_hook("clock.tick", {"n": 1})
    o.expect_nothing()


def test_observer_lines_are_bounded(broker_factory):
    b = broker_factory(args=["--max-message-size", "1024"])
    o = b.connect()
    o.send_raw(b'{"requestId":"big","type":3,"function":"juno.getStats","arguments":{"x":"'
               + b"a" * 2000 + b'"}}\n')
    o.expect_error("undefined", 10)
    assert o.call_ok("juno.getStats")["limitsReached"] == 0  # error 10 is no error 12
    o.request_error({"type": 5, "hook": "a." + "b" * 300}, E_LIMIT)


def test_observer_that_does_not_read_is_cut_off(broker_factory):
    """The output backlog bounds an observer's queue as a module's."""
    b = broker_factory(args=["--max-output-backlog", "65536"])
    slow = b.connect(rcvbuf=4096, name="slow")
    slow.listen("*")
    pump = b.module("pump")
    payload = {"blob": "b" * 32768}
    for _ in range(400):  # at most 12.5 MiB
        pump.trigger("big", payload)
        if pump.call_ok("juno.getStats")["connectionsCut"] > 0:
            break
    stats = pump.call_ok("juno.getStats")
    assert stats["connectionsCut"] == 1
    assert stats["connections"] == 1  # only pump is left
