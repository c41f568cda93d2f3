# SPDX-License-Identifier: LGPL-2.1-or-later
"""org.juno.Broker1 signals, each matched to what real modules do."""

from junodbus import IFACE, SignalRecorder


def test_lifecycle_signals(bus, broker, proxy):
    rec = SignalRecorder(bus, IFACE)
    conn = broker.connect()
    (connected,) = rec.wait_for("ModuleConnected")
    connection_id = connected[3][0]
    assert connection_id.isdigit()
    conn.register("dep", "1.0.0")
    rec.wait_for("ModuleRegistered", ("dep", connection_id))
    rec.wait_for("ModuleActivated", ("dep",))

    user = broker.module("user", "1.0.0", {"dep": "^1"})
    rec.wait_for("ModuleActivated", ("user",))
    conn.close()
    rec.wait_for("ModuleDeactivated", ("dep",))
    rec.wait_for("ModuleDeactivated", ("user",))
    user.expect_deactivated()
    rec.wait_for("ModuleDisconnected", (connection_id, "dep"))


def test_disconnect_without_register(bus, broker, proxy):
    rec = SignalRecorder(bus, IFACE)
    conn = broker.connect()
    (connected,) = rec.wait_for("ModuleConnected")
    conn.close()
    rec.wait_for("ModuleDisconnected", (connected[3][0], ""))


def test_hook_triggered(bus, broker, proxy):
    rec = SignalRecorder(bus, IFACE, "HookTriggered")
    a = broker.module("a")
    a.trigger("saved", {"file": "x"})
    (sig,) = rec.wait_for("HookTriggered")
    hook, data = sig[3]
    assert hook == "a.saved"
    import json
    assert json.loads(data) == {"file": "x"}
    proxy.call("TriggerHook", "ss", ["a.other", '{"k": true}'])
    rec.wait_for("HookTriggered", ("a.other", '{"k": true}'))
