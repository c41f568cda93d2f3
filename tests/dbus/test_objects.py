# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ObjectManager tree: one org.juno.Module1 object per module."""

from gi.repository import GLib

from junodbus import BUS_NAME, MODULE_IFACE, PATH, Proxy, SignalRecorder, wait_until


def managed_objects(bus):
    reply = bus.conn.call_sync(BUS_NAME, PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", None, None, 0, 10000, None)
    return reply.unpack()[0]


def test_objects_follow_modules(bus, broker, proxy):
    rec = SignalRecorder(bus, "org.freedesktop.DBus.ObjectManager")
    assert managed_objects(bus) == {}
    m = broker.module("my-mod", "2.0.0", {"juno": "*"})
    path = PATH + "/module/my_2dmod"
    (added,) = rec.wait_for("InterfacesAdded")
    assert added[3][0] == path and MODULE_IFACE in added[3][1]
    props = managed_objects(bus)[path][MODULE_IFACE]
    assert props["ModuleId"] == "my-mod"
    assert props["Version"] == "2.0.0"
    assert props["Dependencies"] == {"juno": "*"}
    assert props["Transport"] == "unix"
    assert props["PeerPid"] > 0
    assert props["ConnectionId"].isdigit()
    m.close()
    (removed,) = rec.wait_for("InterfacesRemoved")
    assert removed[3][0] == path
    assert managed_objects(bus) == {}


def test_module_properties_update(bus, broker, proxy):
    dep = broker.module("dep")
    m = broker.module("user", "1.0.0", {"dep": "^1"})
    obj = Proxy(bus, PATH + "/module/user", MODULE_IFACE)
    assert obj.get("Active") is True
    m.declare("f1")
    m.declare("f2")
    m.listen("dep.changed")
    wait_until(lambda: obj.get("Functions") == ["f1", "f2"], what="Functions")
    assert obj.get("Hooks") == ["dep.changed"]
    dep.close()
    m.expect_deactivated()
    wait_until(lambda: obj.get("Active") is False, what="Active to turn false")
    wait_until(lambda: obj.get("MessagesIn") >= 4, what="MessagesIn")
    assert obj.get("MessagesOut") >= 4 and obj.get("BytesIn") > 0 and obj.get("BytesOut") > 0
    assert obj.get("CallsMade") == 0 and obj.get("CallsReceived") == 0


def test_module_call_counters(bus, broker, proxy):
    a = broker.module("a")
    a.declare("f")
    b = broker.module("b")
    rid = b.send_call("a.f", {})
    a.respond(a.expect_call("f")["requestId"], 1)
    assert b.recv()["requestId"] == rid
    obj_a = Proxy(bus, PATH + "/module/a", MODULE_IFACE)
    obj_b = Proxy(bus, PATH + "/module/b", MODULE_IFACE)
    wait_until(lambda: obj_a.get("CallsReceived") == 1 and obj_b.get("CallsMade") == 1,
               what="call counters")


def test_introspection_is_documented(bus, broker, proxy):
    reply = bus.conn.call_sync(BUS_NAME, PATH, "org.freedesktop.DBus.Introspectable", "Introspect",
                               None, GLib.VariantType("(s)"), 0, 10000, None)
    xml = reply.unpack()[0]
    assert 'interface name="org.juno.Broker1"' in xml
    assert xml.count("org.freedesktop.DBus.Description") >= 25
    assert 'node name="module"' in xml or "<node" in xml


def test_tcp_module_has_no_peer_credentials(bus, broker_factory):
    import re
    from junodbus import Module
    b = broker_factory(bus, args=["-p", "0"])
    host, port = re.search(r"Listening on tcp:([0-9.]+):(\d+)", b.read_log()).groups()
    m = Module((host, int(port)), tcp=True, name="remote")
    b.clients.append(m)
    m.register("remote")
    (info,) = Proxy(bus).call("GetModuleInfo", "s", ["remote"])
    assert info["Transport"] == "tcp"
    assert "PeerPid" not in info and "PeerUid" not in info
    obj = Proxy(bus, PATH + "/module/remote", MODULE_IFACE)
    assert obj.get("Transport") == "tcp" and obj.get("PeerPid") == 0
    assert obj.get("PeerUid") == 0xFFFFFFFF
    addresses = Proxy(bus).get("Addresses")
    assert "tcp:%s:%s" % (host, port) in addresses and "unix:%s" % b.socket_path in addresses
