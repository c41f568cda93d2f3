# SPDX-License-Identifier: LGPL-2.1-or-later
"""org.juno.Broker1 properties: values, and PropertiesChanged throttled to a
few per second however many messages flow."""

import time

from junodbus import IFACE, SignalRecorder, drain, wait_until

PROPS = {"Version": str, "StartTime": int, "Addresses": list, "Connections": int,
         "Modules": int, "ActiveModules": int, "MessagesIn": int, "MessagesOut": int,
         "BytesIn": int, "BytesOut": int, "CallsRouted": int, "CallsFailed": int,
         "CallsTimedOut": int, "HooksDelivered": int}


def test_every_property(broker, proxy):
    values = proxy.get_all()
    for name, kind in PROPS.items():
        assert isinstance(values[name], kind), (name, values)
        assert proxy.get(name) == values[name] or name in ("MessagesIn", "BytesIn")
    assert values["Version"] == proxy.call("GetStats")[0]["Version"]
    assert values["Addresses"] == ["unix:%s" % broker.socket_path]
    assert abs(values["StartTime"] / 1e6 - time.time()) < 600


def test_counters_follow_activity(bus, broker, proxy):
    changes = SignalRecorder(bus, "org.freedesktop.DBus.Properties", "PropertiesChanged")
    a = broker.module("a")
    a.listen("a.ping")
    a.trigger("ping", {"n": 1})
    a.expect_hook("a.ping", {"n": 1})

    def merged():
        values = {}
        for path, iface, member, (name, changed, invalidated) in changes.signals:
            if name == IFACE:
                values.update(changed)
        return values

    wait_until(lambda: merged().get("Modules") == 1 and merged().get("HooksDelivered", 0) >= 1,
               what="PropertiesChanged with Modules and HooksDelivered")
    assert proxy.get("ActiveModules") == 1 and proxy.get("Connections") == 1
    assert proxy.get("HooksDelivered") >= 1


def test_properties_changed_is_throttled(bus, broker, proxy):
    a = broker.module("a")
    a.listen("a.ping")
    drain(0.6)
    changes = SignalRecorder(bus, "org.freedesktop.DBus.Properties", "PropertiesChanged", "/org/juno/Broker1")
    start = time.monotonic()
    for i in range(300):
        a.trigger("ping", {"n": i})
        a.expect_hook("a.ping", {"n": i})
    elapsed = time.monotonic() - start
    drain(0.6)
    window = elapsed + 0.6
    count = len([s for s in changes.signals if s[3][0] == IFACE])
    # at most one publication per 250 ms, plus the edges of the window
    assert 1 <= count <= int(window / 0.25) + 2, (count, window)
    assert proxy.get("MessagesIn") >= 300 and proxy.get("HooksDelivered") >= 300


def test_no_changes_when_idle(bus, broker, proxy):
    first = SignalRecorder(bus, "org.freedesktop.DBus.Properties", "PropertiesChanged")
    broker.module("a").ping()
    wait_until(lambda: any(s[3][1].get("MessagesIn", 0) >= 2 for s in first.signals),
               what="the module's messages to be published")
    drain(0.6)
    changes = SignalRecorder(bus, "org.freedesktop.DBus.Properties", "PropertiesChanged")
    drain(1.0)
    assert changes.signals == []
