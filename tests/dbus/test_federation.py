# SPDX-License-Identifier: LGPL-2.1-or-later
"""The federation on D-Bus: BrokerName, Federation and FederationBrokers of
/org/juno/Broker1 (with PropertiesChanged), Brokers of the module objects
and the federation's keys in GetStats, with two brokers federated through
a real nats-server, and their values on a broker that is not federated."""

import pytest
from gi.repository import GLib

from junodbus import BUS_NAME, IFACE, MODULE_IFACE, PATH, Proxy, SignalRecorder, wait_until
from natsserver import NatsServer, federation_args, federation_name

FEDERATION_STRINGS = ("Federation", "BrokerName", "NatsServer")
FEDERATION_COUNTERS = ("NatsReconnects", "FederationBrokers", "RemoteModules", "RemoteCallsOut",
                       "RemoteCallsIn", "RemoteCallsFailed", "RemoteHooksOut", "RemoteHooksIn",
                       "FederationDropped")


@pytest.fixture
def nats(tmp_path):
    server = NatsServer(tmp_path / "nats.log").start()
    yield server
    server.stop()


def stats_types(bus):
    """GetStats as {key: (D-Bus type, value)}."""
    reply = bus.conn.call_sync(BUS_NAME, PATH, IFACE, "GetStats", None, GLib.VariantType("(a{sv})"), 0,
                               10000, None)
    stats = reply.get_child_value(0)
    out = {}
    for i in range(stats.n_children()):
        entry = stats.get_child_value(i)
        key = entry.get_child_value(0).get_string()
        value = entry.get_child_value(1).get_variant()
        assert key not in out, "GetStats has %s twice" % key
        out[key] = (value.get_type_string(), value.unpack())
    return out


def module_proxy(bus, module_id):
    return Proxy(bus, path=PATH + "/module/" + module_id, iface=MODULE_IFACE)


def has_object(bus, module_id):
    reply = bus.conn.call_sync(BUS_NAME, PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                               None, None, 0, 10000, None)
    return PATH + "/module/" + module_id in reply.unpack()[0]


def changed_values(recorder, name):
    return [changed[name] for path, iface, member, (iface_name, changed, invalidated) in recorder.signals
            if path == PATH and iface_name == IFACE and name in changed]


def test_not_federated(bus, broker, proxy):
    broker.module("local")
    values = proxy.get_all()
    assert values["BrokerName"] == ""
    assert values["Federation"] == "off"
    assert values["FederationBrokers"] == []
    stats = stats_types(bus)
    for key in FEDERATION_STRINGS + FEDERATION_COUNTERS:
        assert key not in stats, key
    assert stats["MessagesIn"][0] == "t"
    assert module_proxy(bus, "local").get("Brokers") == []
    info = proxy.call("GetModuleInfo", "s", ("local",))[0]
    assert info["Brokers"] == []


def test_federated(bus, broker_factory, nats):
    federation = federation_name()
    b1 = broker_factory(bus, args=federation_args(nats.url, federation, "b1"))
    proxy = Proxy(bus)
    recorder = SignalRecorder(bus, "org.freedesktop.DBus.Properties", "PropertiesChanged", PATH)
    wait_until(lambda: proxy.get("Federation") == "connected", what="Federation connected")
    assert proxy.get("BrokerName") == "b1"
    assert proxy.get("FederationBrokers") == []

    b2 = broker_factory(args=["--bus=none"] + federation_args(nats.url, federation, "b2"))
    remote = b2.module("remote")
    local = b1.module("local")
    wait_until(lambda: ["b2"] in changed_values(recorder, "FederationBrokers"),
               what="PropertiesChanged with FederationBrokers ['b2']")
    assert proxy.get("FederationBrokers") == ["b2"]

    # the remote module's object, and where each module runs
    wait_until(lambda: has_object(bus, "remote"), what="the object of the remote module")
    assert module_proxy(bus, "remote").get("Brokers") == ["b2"]
    assert module_proxy(bus, "remote").get("Transport") == "nats"
    assert module_proxy(bus, "local").get("Brokers") == ["b1"]
    info = proxy.call("GetModuleInfo", "s", ("remote",))[0]
    assert info["Brokers"] == ["b2"]

    # the federation's statistics: strings as s, counters as t
    stats = stats_types(bus)
    for key in FEDERATION_STRINGS:
        assert stats[key][0] == "s", (key, stats[key])
    for key in FEDERATION_COUNTERS:
        assert stats[key][0] == "t", (key, stats[key])
    assert stats["Federation"][1] == "connected"
    assert stats["BrokerName"][1] == "b1"
    assert stats["NatsServer"][1].endswith(":%d" % nats.port)
    assert stats["FederationBrokers"][1] == 1
    assert stats["RemoteModules"][1] >= 1

    # the other broker leaves: it is no longer listed, nor its module
    remote.close()
    local.close()
    b2.stop()
    wait_until(lambda: proxy.get("FederationBrokers") == [], what="FederationBrokers empty again")
    wait_until(lambda: [] in changed_values(recorder, "FederationBrokers")[1:],
               what="PropertiesChanged with FederationBrokers []")
    wait_until(lambda: not has_object(bus, "remote"), what="the remote module's object to go")
    assert stats_types(bus)["FederationBrokers"][1] == 0

    # the NATS server goes: the state follows, signalled
    nats.stop()
    wait_until(lambda: any(state != "connected" for state in changed_values(recorder, "Federation")),
               what="PropertiesChanged with Federation no longer connected")
    assert proxy.get("Federation") in ("reconnecting", "connecting", "closed")
    assert stats_types(bus)["Federation"][1] == proxy.get("Federation")
