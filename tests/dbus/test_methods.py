# SPDX-License-Identifier: LGPL-2.1-or-later
"""org.juno.Broker1 methods, called over a private bus with real modules
connected to the broker's socket."""

import grp
import json
import os
import pwd

from junodbus import ERROR_PREFIX, Proxy, wait_until


def test_list_modules(broker, proxy):
    assert proxy.call("ListModules") == ([],)
    broker.module("alpha", "1.2.3")
    broker.module("beta-2", "0.1.0", {"missing": "^1"}, active=False)
    (modules,) = proxy.call("ListModules")
    assert modules == [
        ("alpha", "1.2.3", True, "/org/juno/Broker1/module/alpha"),
        ("beta-2", "0.1.0", False, "/org/juno/Broker1/module/beta_2d2"),
    ]


def test_get_module_info(broker, proxy):
    m = broker.module("alpha", "1.2.3", {"juno": ">=0.1"})
    m.declare("add")
    m.listen("alpha.changed")
    (info,) = proxy.call("GetModuleInfo", "s", ["alpha"])
    assert info["ModuleId"] == "alpha"
    assert info["Version"] == "1.2.3"
    assert info["Active"] is True
    assert info["Dependencies"] == {"juno": ">=0.1"}
    assert info["Functions"] == ["add"]
    assert info["Hooks"] == ["alpha.changed"]
    assert info["ObjectPath"] == "/org/juno/Broker1/module/alpha"
    assert info["Transport"] == "unix"
    assert info["PeerPid"] == os.getpid()
    assert (info["PeerUid"], info["PeerGid"]) == (os.getuid(), os.getgid())
    assert info["PeerUser"] == pwd.getpwuid(os.getuid()).pw_name
    assert info["PeerGroup"] == grp.getgrgid(os.getgid()).gr_name
    assert "PeerAddress" not in info
    assert info["ConnectionId"].isdigit()
    assert info["MessagesIn"] >= 3 and info["MessagesOut"] >= 3
    (juno,) = proxy.call("GetModuleInfo", "s", ["juno"])
    assert juno["ModuleId"] == "juno" and juno["ConnectionId"] == "0"
    assert sorted(juno["Functions"]) == ["getModuleInfo", "getStats", "listModules"]


def test_get_module_info_unknown(broker, proxy):
    assert proxy.call_error("GetModuleInfo", "s", ["nobody"]) == ERROR_PREFIX + "UnknownModule"


def test_call_function_round_trip(broker, proxy):
    m = broker.module("calc")
    m.declare("add")
    pending = proxy.call_async("CallFunction", "ss", ["calc.add", '{"a": 1, "b": 2}'])
    # the caller is the D-Bus peer itself: "dbus:" and its unique name
    call = m.expect_call("add", {"a": 1, "b": 2}, caller="dbus:" + proxy.conn.get_unique_name())
    m.respond(call["requestId"], {"sum": 3})
    wait_until(lambda: pending, what="the CallFunction reply")
    assert "error" not in pending, pending
    assert json.loads(pending["reply"][0]) == {"sum": 3}


def test_call_function_builtin_and_empty_arguments(broker, proxy):
    broker.module("alpha")
    (result,) = proxy.call("CallFunction", "ss", ["juno.listModules", ""])
    ids = sorted(mod["moduleId"] for mod in json.loads(result))
    assert ids == ["alpha", "juno"]
    (result,) = proxy.call("CallFunction", "ss", ["juno.getModuleInfo", '{"moduleId":"alpha"}'])
    assert json.loads(result)["moduleId"] == "alpha"


def test_call_function_callee_error(broker, proxy):
    m = broker.module("calc")
    m.declare("div")
    pending = proxy.call_async("CallFunction", "ss", ["calc.div", "{}"])
    call = m.expect_call("div")
    m.send({"requestId": call["requestId"], "type": 0, "error": 5})
    wait_until(lambda: pending, what="the CallFunction error")
    from gi.repository import Gio
    assert Gio.DBusError.get_remote_error(pending["error"]) == ERROR_PREFIX + "UnknownFunction"


def test_call_function_errors(broker, proxy):
    m = broker.module("calc")
    m.declare("add")
    cases = [
        (["calc.add", "{"], "InvalidArgs"),
        (["calc.add", "[1, 2]"], "InvalidArgs"),
        (["calc.add", "3"], "InvalidArgs"),
        (["calc.add", "[" * 100 + "]" * 100], "InvalidArgs"),
        (["nobody.add", "{}"], "UnknownModule"),
        (["calc.nothing", "{}"], "UnknownFunction"),
        (["no-dot", "{}"], "UnknownFunction"),
        (["a.b.c", "{}"], "UnknownFunction"),
    ]
    for args, name in cases:
        assert proxy.call_error("CallFunction", "ss", args) == ERROR_PREFIX + name, args
    m.expect_nothing()


def test_call_function_callee_disconnects(broker, proxy):
    m = broker.module("calc")
    m.declare("slow")
    pending = proxy.call_async("CallFunction", "ss", ["calc.slow", "{}"])
    m.expect_call("slow")
    m.close()
    wait_until(lambda: pending, what="the CallFunction error")
    from gi.repository import Gio
    assert Gio.DBusError.get_remote_error(pending["error"]) == ERROR_PREFIX + "CalleeDisconnected"


def test_call_function_timeout(bus, broker_factory):
    broker = broker_factory(bus, args=["--call-timeout", "0.3"])
    proxy = Proxy(bus)
    m = broker.module("calc")
    m.declare("slow")
    pending = proxy.call_async("CallFunction", "ss", ["calc.slow", "{}"])
    m.expect_call("slow")
    wait_until(lambda: pending, what="the CallFunction timeout")
    from gi.repository import Gio
    assert Gio.DBusError.get_remote_error(pending["error"]) == ERROR_PREFIX + "CallTimedOut"


def test_trigger_hook(broker, proxy):
    source = broker.module("source")
    listener = broker.module("listener")
    listener.listen("source.changed")
    proxy.call("TriggerHook", "ss", ["source.changed", '{"x": [1, 2]}'])
    listener.expect_hook("source.changed", {"x": [1, 2]})
    proxy.call("TriggerHook", "ss", ["source.changed", ""])
    listener.expect_hook("source.changed", {})
    source.expect_nothing()


def test_trigger_hook_cannot_forge_juno(broker, proxy):
    """juno's hooks say what happened to modules: only the broker says it."""
    listener = broker.module("listener")
    for hook in ("juno.custom", "juno.deactivated", "juno.moduleActivated", "juno.moduleDisconnected"):
        listener.listen(hook)
        assert proxy.call_error("TriggerHook", "ss", [hook, '{"moduleId": "x"}']) == ERROR_PREFIX + "ReservedHook"
    listener.expect_nothing()


def test_trigger_hook_of_a_module_not_connected(broker, proxy):
    """A hook is addressed by name: its listeners get it whether or not its
    module is connected (and the module is not told)."""
    listener = broker.module("listener")
    listener.listen("clock.tick")
    proxy.call("TriggerHook", "ss", ["clock.tick", '{"n": 1}'])
    listener.expect_hook("clock.tick", {"n": 1})
    clock = broker.module("clock")
    proxy.call("TriggerHook", "ss", ["clock.tick", '{"n": 2}'])
    listener.expect_hook("clock.tick", {"n": 2})
    clock.expect_nothing()


def test_trigger_hook_errors(broker, proxy):
    listener = broker.module("listener")
    listener.listen("listener.x")
    cases = [
        (["listener", "{}"], "InvalidArgs"),
        (["listener.", "{}"], "InvalidArgs"),
        ([".x", "{}"], "InvalidArgs"),
        (["a.b.c", "{}"], "InvalidArgs"),
        (["bad id.x", "{}"], "InvalidArgs"),
        (["listener.x", "not json"], "InvalidArgs"),
        (["listener.x", "[]"], "InvalidArgs"),
        (["listener.x", '{"a": "\x01"}'], "InvalidArgs"),
    ]
    for args, name in cases:
        assert proxy.call_error("TriggerHook", "ss", args) == ERROR_PREFIX + name, args
    listener.expect_nothing()


def test_get_stats(broker, proxy):
    (before,) = proxy.call("GetStats")
    for key in ("Version", "StartTime", "Addresses", "Connections", "ConnectionsTotal", "Modules",
                "ActiveModules", "MessagesIn", "MessagesOut", "BytesIn", "BytesOut",
                "CallsRouted", "CallsFailed", "CallsTimedOut", "HooksTriggered",
                "HooksDelivered", "ErrorsSent", "LimitsReached", "ConnectionsCut",
                "AccessDenied"):
        assert key in before, key
    assert before["AccessDenied"] == 0
    assert before["Modules"] == 0 and before["Connections"] == 0
    a = broker.module("a")
    a.declare("f")
    b = broker.module("b")
    rid = b.send_call("a.f", {})
    call = a.expect_call("f")
    a.respond(call["requestId"], 1)
    assert b.recv()["requestId"] == rid
    rid = b.send_call("a.f", {})
    call = a.expect_call("f")
    a.send({"requestId": call["requestId"], "type": 0, "error": 42})
    assert b.recv() == {"requestId": rid, "type": 0, "error": 42}
    (after,) = proxy.call("GetStats")
    assert after["Modules"] == 2 and after["ActiveModules"] == 2 and after["Connections"] == 2
    assert after["CallsRouted"] == 2
    assert after["CallsFailed"] >= 1
    assert after["MessagesIn"] > before["MessagesIn"]
    assert after["BytesOut"] > before["BytesOut"]
    assert after["Addresses"] == ["unix:%s" % broker.socket_path]


def test_get_stats_counts_limits(bus, broker_factory):
    broker = broker_factory(bus, args=["--max-names", "1"])
    proxy = Proxy(bus)
    (before,) = proxy.call("GetStats")
    assert before["LimitsReached"] == 0 and before["ConnectionsCut"] == 0
    a = broker.module("a")
    a.declare("f")
    a.request_error({"type": 9, "function": "g"}, 12)
    a.request_error({"type": 5, "hook": "b.h"}, 12)
    (after,) = proxy.call("GetStats")
    assert after["LimitsReached"] == 2 and after["ConnectionsCut"] == 0


def test_call_in_flight_at_shutdown_is_answered(bus, broker_factory):
    broker = broker_factory(bus, args=["--call-timeout", "0"])
    proxy = Proxy(bus)
    m = broker.module("calc")
    m.declare("never")
    pending = proxy.call_async("CallFunction", "ss", ["calc.never", "{}"])
    m.expect_call("never")
    broker.proc.terminate()
    wait_until(lambda: pending, what="an answer before the broker leaves")
    from gi.repository import Gio
    assert Gio.DBusError.get_remote_error(pending["error"]) == ERROR_PREFIX + "CalleeDisconnected"
    assert broker.proc.wait(20) == 0


def test_call_function_unknown_callee_code(broker, proxy):
    m = broker.module("calc")
    m.declare("f")
    pending = proxy.call_async("CallFunction", "ss", ["calc.f", "{}"])
    m.send({"requestId": m.expect_call("f")["requestId"], "type": 0, "error": 42})
    wait_until(lambda: pending, what="the CallFunction error")
    from gi.repository import Gio
    assert Gio.DBusError.get_remote_error(pending["error"]) == ERROR_PREFIX + "Failed"
    assert "42" in pending["error"].message
