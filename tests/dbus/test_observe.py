# SPDX-License-Identifier: LGPL-2.1-or-later
"""Inspecting the broker with junoctl emits no D-Bus signal: its commands
connect as observers (docs/protocol.md, "Observers"), which the broker
never announces. Triggers from observers and from D-Bus follow one rule."""

import os
import subprocess

from junodbus import SignalRecorder

IFACE = "org.juno.Broker1"
ERROR_PREFIX = "org.juno.Broker1.Error."


def junoctl(broker, *args):
    r = subprocess.run([os.environ["JUNOCTL"], "--socket", str(broker.socket_path)] + list(args),
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    return r


def test_inspection_emits_no_signals(bus, broker, proxy):
    m = broker.module("alpha")
    rec = SignalRecorder(bus, IFACE)
    for args in (["list"], ["info", "alpha"], ["stats", "-n", "1"], ["wait", "alpha"],
                 ["__complete", "modules"], ["__complete", "functions"]):
        r = junoctl(broker, *args)
        assert r.returncode == 0, (args, r.stderr)
    # a module that comes and goes afterwards: its signals do arrive, so
    # the recorder was listening all along
    broker.module("beta").close()
    rec.wait_for("ModuleDisconnected")
    members = [s[2] for s in rec.signals]
    assert members == ["ModuleConnected", "ModuleRegistered", "ModuleActivated",
                       "ModuleDeactivated", "ModuleDisconnected"], rec.signals
    assert [s[3][0] for s in rec.named("ModuleRegistered")] == ["beta"]
    m.close()


def test_forging_juno_hooks_refused_on_both_doors(bus, broker, proxy):
    w = broker.module("w")
    w.listen("juno.moduleActivated")
    r = junoctl(broker, "trigger", "juno.moduleActivated", '{"moduleId": "ghost"}')
    assert r.returncode == 1 and "Access denied" in r.stderr, r.stderr
    assert proxy.call_error("TriggerHook", "ss", ["juno.moduleActivated", '{"moduleId": "ghost"}']) == \
        ERROR_PREFIX + "ReservedHook"
    w.expect_nothing()


def test_trigger_as_a_module_connected_or_not(bus, broker, proxy):
    w = broker.module("w")
    w.listen("clock.tick")
    assert junoctl(broker, "trigger", "clock.tick", '{"n": 1}').returncode == 0
    w.expect_hook("clock.tick", {"n": 1})
    proxy.call("TriggerHook", "ss", ["clock.tick", '{"n": 2}'])
    w.expect_hook("clock.tick", {"n": 2})
    clock = broker.module("clock")
    assert junoctl(broker, "trigger", "--as", "clock", "tick", '{"n": 3}').returncode == 0
    w.expect_hook("clock.tick", {"n": 3})
    proxy.call("TriggerHook", "ss", ["clock.tick", '{"n": 4}'])
    w.expect_hook("clock.tick", {"n": 4})
    clock.expect_nothing()


def test_stats_are_those_of_get_stats(bus, broker, proxy):
    """junoctl stats shows juno.getStats, the counters of D-Bus GetStats."""
    import json
    m = broker.module("alpha")
    r = junoctl(broker, "--json", "stats", "-n", "1")
    assert r.returncode == 0, r.stderr
    wire = json.loads(r.stdout)
    dbus = proxy.call("GetStats")[0]
    # the same names, in lowerCamelCase; the wire lacks only what belongs
    # to the D-Bus plane
    for key, value in dbus.items():
        if key in ("StartTime", "Addresses", "HooksDropped", "LifecycleSignalsDropped"):
            assert key[0].lower() + key[1:] not in wire
            continue
        name = key[0].lower() + key[1:]
        assert name in wire, key
        if key in ("Modules", "ActiveModules", "Version"):
            assert wire[name] == value, key
    # junoctl's own observer connection was counted, and is counted as gone
    assert wire["connections"] == 2 and wire["connectionsTotal"] <= dbus["ConnectionsTotal"]
    m.close()
