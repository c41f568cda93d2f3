# SPDX-License-Identifier: LGPL-2.1-or-later
"""org.juno.Broker1 signals, each matched to what real modules do."""

from junodbus import IFACE, Proxy, SignalRecorder, managed_objects, wait_until


def hook_then_sentinel(broker, rec, module, hook):
    """Triggers a.@hook from @module, then registers a module of a new name;
    the broker's signals arrive in order, so once that ModuleRegistered is
    seen, a HookTriggered for the hook would have been seen too."""
    module.trigger(hook, {})
    name = "sentinel-" + hook
    sentinel = broker.module(name)
    wait_until(lambda: any(s[3][0] == name for s in rec.named("ModuleRegistered")),
               what="ModuleRegistered of " + name)
    sentinel.close()
    return [s for s in rec.named("HookTriggered") if s[3][0] == "a." + hook]


def test_lifecycle_signals(bus, broker, proxy):
    rec = SignalRecorder(bus, IFACE)
    conn = broker.connect()
    # announced when it asks to register: an observer never is
    conn.register("dep", "1.0.0")
    (connected,) = rec.wait_for("ModuleConnected")
    connection_id = connected[3][0]
    assert connection_id.isdigit()
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
    conn.request_error({"type": 1, "moduleId": "bad.id", "version": "1.0.0"}, 6)
    (connected,) = rec.wait_for("ModuleConnected")
    conn.close()
    rec.wait_for("ModuleDisconnected", (connected[3][0], ""))


def test_hook_triggered(bus, broker, proxy):
    rec = SignalRecorder(bus, IFACE, "HookTriggered")
    proxy.call("Subscribe")
    a = broker.module("a")
    a.trigger("saved", {"file": "x"})
    (sig,) = rec.wait_for("HookTriggered")
    hook, data = sig[3]
    assert hook == "a.saved"
    import json
    assert json.loads(data) == {"file": "x"}
    # the data as the core forwards it: compact
    proxy.call("TriggerHook", "ss", ["a.other", '{"k": true}'])
    rec.wait_for("HookTriggered", ("a.other", '{"k":true}'))


def test_no_hook_signals_without_subscribers(bus, broker, proxy):
    rec = SignalRecorder(bus, IFACE)
    a = broker.module("a")
    assert hook_then_sentinel(broker, rec, a, "quiet") == []
    proxy.call("TriggerHook", "ss", ["a.quiet2", ""])
    assert hook_then_sentinel(broker, rec, a, "quiet3") == []
    assert rec.named("HookTriggered") == []


def test_subscribe_unsubscribe(bus, broker, proxy):
    rec = SignalRecorder(bus, IFACE)
    a = broker.module("a")
    proxy.call("Subscribe")
    proxy.call("Subscribe")  # the same as once
    assert len(hook_then_sentinel(broker, rec, a, "on")) == 1
    proxy.call("Unsubscribe")
    assert hook_then_sentinel(broker, rec, a, "off") == []
    assert proxy.call_error("Unsubscribe", "", []) == "org.juno.Broker1.Error.NotSubscribed"


def test_subscription_ends_with_the_connection(bus, broker, proxy):
    rec = SignalRecorder(bus, IFACE)
    a = broker.module("a")
    other = bus.connect()
    other_proxy = Proxy(bus)
    other_proxy.conn = other
    other_proxy.call("Subscribe")
    # HookTriggered goes to each subscriber, not to everyone listening
    other_rec = SignalRecorder(bus, IFACE, "HookTriggered")
    other_rec.conn.signal_unsubscribe(other_rec.sub)
    other_rec.conn = other
    other_rec.sub = other.signal_subscribe(None, IFACE, "HookTriggered", None, None, 0, other_rec._on_signal)
    assert hook_then_sentinel(broker, rec, a, "while") == []
    other_rec.wait_for("HookTriggered", ("a.while", "{}"))
    # a second subscriber keeps the signal on when the first leaves
    proxy.call("Subscribe")
    other.close_sync(None)
    assert len(hook_then_sentinel(broker, rec, a, "still")) == 1
    proxy.call("Unsubscribe")
    assert hook_then_sentinel(broker, rec, a, "after") == []
    # the broker noticed the first subscriber leave: nobody is subscribed
    other2 = bus.connect()
    other_proxy.conn = other2
    assert other_proxy.call_error("Unsubscribe", "", []) == "org.juno.Broker1.Error.NotSubscribed"
    other2.close_sync(None)


def test_lifecycle_signals_under_a_storm(bus, broker, proxy):
    """Modules registering faster than 1 000 a second: the lifecycle
    signals beyond the rate are counted, not sent, while the module objects
    (what a client sees at rest) follow every one; once the storm is over
    the signals flow again."""
    import json
    import socket

    n = 2500
    rec = SignalRecorder(bus, IFACE, "ModuleRegistered")
    socks = []
    try:
        for i in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(str(broker.socket_path))
            socks.append(s)
        # every registration at once, as after a broker restart
        for i, s in enumerate(socks):
            s.sendall((json.dumps({"requestId": "r", "type": 1, "moduleId": "storm%d" % i,
                                   "version": "1.0.0"}) + "\n").encode())
        for s in socks:
            s.settimeout(30)
            assert b'"type":2' in s.recv(4096)
        wait_until(lambda: len(managed_objects(bus)) == n, what="%d module objects" % n)
        stats = proxy.call("GetStats")[0]
        dropped = stats["LifecycleSignalsDropped"]
        # a registration is up to four lifecycle signals (connected,
        # registered, activated): more than the burst of 1 000 went out
        # faster than the rate
        assert dropped > 0
        sentinel = broker.module("sentinel-after-storm")
        wait_until(lambda: any(sig[3][0] == "sentinel-after-storm" for sig in rec.named("ModuleRegistered")),
                   what="ModuleRegistered once the storm is over")
        assert len(rec.named("ModuleRegistered")) < n + 1
        sentinel.close()
    finally:
        for s in socks:
            s.close()
    wait_until(lambda: len(managed_objects(bus)) == 0, what="every module object gone")

