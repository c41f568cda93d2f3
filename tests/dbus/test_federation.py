# SPDX-License-Identifier: LGPL-2.1-or-later
"""The federation on D-Bus: BrokerName, Federation and FederationBrokers of
/org/juno/Broker1 (with PropertiesChanged), Brokers of the module objects
and the federation's keys in GetStats, with two brokers federated through
a real nats-server, and their values on a broker that is not federated."""

import os
import secrets
import shutil
import socket
import subprocess
import time

import pytest
from gi.repository import GLib

from junodbus import BUS_NAME, IFACE, MODULE_IFACE, PATH, Proxy, SignalRecorder, wait_until

FEDERATION_STRINGS = ("Federation", "BrokerName", "NatsServer")
FEDERATION_COUNTERS = ("NatsReconnects", "FederationBrokers", "RemoteModules", "RemoteCallsOut",
                       "RemoteCallsIn", "RemoteCallsFailed", "RemoteHooksOut", "RemoteHooksIn",
                       "FederationDropped")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NatsServer:
    """A nats-server of the test's own on a free loopback port."""

    def __init__(self, log_path):
        self.path = os.environ.get("NATS_SERVER") or shutil.which("nats-server")
        assert self.path, "nats-server is needed"
        self.port = free_port()
        self.url = "nats://127.0.0.1:%d" % self.port
        self.log_path = log_path
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([self.path, "-a", "127.0.0.1", "-p", str(self.port)],
                                     stdin=subprocess.DEVNULL, stdout=open(self.log_path, "ab"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            assert self.proc.poll() is None, "nats-server exited: %s" % self.log_path.read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "nats-server does not listen on %d" % self.port
                time.sleep(0.05)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def nats(tmp_path):
    server = NatsServer(tmp_path / "nats.log")
    server.start()
    yield server
    server.stop()


def federated(url, federation, name):
    return ["--nats", url, "--federation", federation, "--broker-name", name,
            "--federation-heartbeat", "0.5", "--federation-timeout", "2"]


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
    nats_url = nats.url
    federation = "test-" + secrets.token_hex(4)
    b1 = broker_factory(bus, args=federated(nats_url, federation, "b1"))
    proxy = Proxy(bus)
    recorder = SignalRecorder(bus, "org.freedesktop.DBus.Properties", "PropertiesChanged", PATH)
    wait_until(lambda: proxy.get("Federation") == "connected", what="Federation connected")
    assert proxy.get("BrokerName") == "b1"
    assert proxy.get("FederationBrokers") == []

    b2 = broker_factory(args=["--bus=none"] + federated(nats_url, federation, "b2"))
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
