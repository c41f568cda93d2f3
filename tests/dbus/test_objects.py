# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ObjectManager tree: one org.juno.Module1 object per module, served
by a subtree that reads the registry when asked."""

from gi.repository import GLib

from junodbus import BUS_NAME, MODULE_IFACE, PATH, Proxy, SignalRecorder, managed_objects, wait_until


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
    assert "PeerPid" not in info and "PeerUid" not in info and "PeerUser" not in info
    assert info["PeerAddress"] == "%s:%d" % m.sock.getsockname()[:2]
    obj = Proxy(bus, PATH + "/module/remote", MODULE_IFACE)
    assert obj.get("Transport") == "tcp" and obj.get("PeerPid") == 0
    assert obj.get("PeerUid") == 0xFFFFFFFF and obj.get("PeerUser") == ""
    assert obj.get("PeerAddress") == info["PeerAddress"]
    addresses = Proxy(bus).get("Addresses")
    assert "tcp:%s:%s" % (host, port) in addresses and "unix:%s" % b.socket_path in addresses


# The module objects cost nothing per module: a subtree and a hand-written
# ObjectManager that read the registry when asked.

COUNTERS = ("MessagesIn", "MessagesOut", "BytesIn", "BytesOut", "CallsMade", "CallsReceived")
MODULE_PROPS = {"ModuleId", "Version", "Active", "Dependencies", "Functions", "Hooks", "Brokers",
                "ConnectionId", "Transport", "PeerPid", "PeerUid", "PeerGid", "PeerUser",
                "PeerGroup", "PeerUnit", "PeerUserUnit", "PeerSlice", "PeerAddress"} | set(COUNTERS)


def module_path(escaped):
    return PATH + "/module/" + escaped


def remote_error(bus, path, iface, method, signature, args):
    from gi.repository import Gio
    try:
        bus.conn.call_sync(BUS_NAME, path, iface, method, GLib.Variant(signature, args),
                           None, 0, 10000, None)
    except GLib.Error as exc:
        return Gio.DBusError.get_remote_error(exc)
    raise AssertionError("%s.%s on %s did not fail" % (iface, method, path))


def introspect(bus, path):
    reply = bus.conn.call_sync(BUS_NAME, path, "org.freedesktop.DBus.Introspectable", "Introspect",
                               None, GLib.VariantType("(s)"), 0, 10000, None)
    return reply.unpack()[0]


def test_counters_are_read_live(bus, broker, proxy):
    """A counter is exact as soon as the traffic happened: no publication to
    wait for, and no PropertiesChanged for it, ever."""
    changes = SignalRecorder(bus, "org.freedesktop.DBus.Properties", "PropertiesChanged")
    m = broker.module("live")          # 1 in; the reply and juno.activated out
    for name in ("a", "b", "c"):       # 1 in, 1 out each
        m.declare(name)
    obj = Proxy(bus, module_path("live"), MODULE_IFACE)
    assert obj.get("MessagesIn") == 4
    assert obj.get("MessagesOut") == 5
    values = obj.get_all()
    assert set(values) == MODULE_PROPS
    assert values["MessagesIn"] == 4 and values["MessagesOut"] == 5
    (info,) = proxy.call("GetModuleInfo", "s", ["live"])
    for name in COUNTERS:
        assert values[name] == info[name], name
    props = managed_objects(bus)[module_path("live")][MODULE_IFACE]
    assert props["MessagesIn"] == 4 and props["BytesIn"] == values["BytesIn"]
    # the broker's own counters are published, the module's never
    wait_until(lambda: any(s[0] == PATH and "MessagesIn" in s[3][1] for s in changes.signals),
               what="the broker's counters to be published")
    wait_until(lambda: any(s[0] == module_path("live") for s in changes.signals),
               what="a PropertiesChanged invalidating Functions")
    module_changes = [s for s in changes.signals if s[0] == module_path("live")]
    for path, iface, member, (name, changed, invalidated) in module_changes:
        assert name == MODULE_IFACE
        assert set(changed) <= {"Active"}, changed
        assert set(invalidated) <= {"Functions", "Hooks"}, invalidated
    xml = introspect(bus, module_path("live"))
    for name in COUNTERS:
        start = xml.index('<property type="t" name="%s"' % name)
        end = xml.index("</property>", start)
        assert 'name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="false"' in xml[start:end], name


def test_managed_objects_after_registrations_and_disconnections(bus, broker, proxy):
    rec = SignalRecorder(bus, "org.freedesktop.DBus.ObjectManager")
    names = ["m%d" % i for i in range(6)] + ["user-db", "x_y"]
    modules = {name: broker.module(name) for name in names}
    escaped = {"user-db": "user_2ddb", "x_y": "x_5fy"}
    wait_until(lambda: len(rec.named("InterfacesAdded")) == len(names), what="every InterfacesAdded")
    for name in ("m1", "m3", "user-db"):
        modules[name].close()
    wait_until(lambda: len(rec.named("InterfacesRemoved")) == 3, what="three InterfacesRemoved")
    objects = managed_objects(bus)
    left = [n for n in names if n not in ("m1", "m3", "user-db")]
    assert set(objects) == {module_path(escaped.get(n, n)) for n in left}
    for name in left:
        interfaces = objects[module_path(escaped.get(name, name))]
        assert list(interfaces) == [MODULE_IFACE]
        props = interfaces[MODULE_IFACE]
        assert set(props) == MODULE_PROPS
        assert props["ModuleId"] == name and props["Active"] is True
    assert sorted(m[0] for m in proxy.call("ListModules")[0]) == sorted(left)
    # a module that comes back gets its object back
    broker.module("m1")
    assert module_path("m1") in managed_objects(bus)


def test_interfaces_added_and_removed(bus, broker, proxy):
    rec = SignalRecorder(bus, "org.freedesktop.DBus.ObjectManager")
    user = broker.module("user", "1.0.0", {"dep": "^1"}, active=False)
    dep = broker.module("dep")
    user.expect_activated()
    wait_until(lambda: len(rec.named("InterfacesAdded")) == 2, what="two InterfacesAdded")
    added = {s[3][0]: s[3][1] for s in rec.named("InterfacesAdded")}
    assert set(added) == {module_path("user"), module_path("dep")}
    # each one complete, and true to the module's state when it was sent
    assert list(added[module_path("user")]) == [MODULE_IFACE]
    assert set(added[module_path("user")][MODULE_IFACE]) == MODULE_PROPS
    assert added[module_path("user")][MODULE_IFACE]["Active"] is False
    assert added[module_path("user")][MODULE_IFACE]["Dependencies"] == {"dep": "^1"}
    assert added[module_path("dep")][MODULE_IFACE]["Active"] is True
    assert all(s[0] == PATH for s in rec.signals)
    dep.close()
    user.expect_deactivated()
    (removed,) = rec.wait_for("InterfacesRemoved")
    assert removed[3] == (module_path("dep"), [MODULE_IFACE])
    user.close()
    rec.wait_for("InterfacesRemoved", (module_path("user"), [MODULE_IFACE]))
    assert len(rec.named("InterfacesAdded")) == 2 and len(rec.named("InterfacesRemoved")) == 2


def test_module_properties_changed(bus, broker, proxy):
    rec = SignalRecorder(bus, "org.freedesktop.DBus.Properties", "PropertiesChanged", module_path("user"))
    dep = broker.module("dep")
    user = broker.module("user", "1.0.0", {"dep": "^1"})
    user.declare("zeta")
    user.declare("alpha")
    user.listen("dep.changed")
    user.listen("dep.a")

    def changed(name):
        return [s[3][1][name] for s in rec.signals if name in s[3][1]]

    def invalidated(name):
        return [s for s in rec.signals if name in s[3][2]]
    # the lists are invalidated, coalesced, and read on demand
    obj = Proxy(bus, module_path("user"), MODULE_IFACE)
    wait_until(lambda: invalidated("Functions") and obj.get("Functions") == ["alpha", "zeta"],
               what="Functions invalidated")
    wait_until(lambda: invalidated("Hooks") and obj.get("Hooks") == ["dep.a", "dep.changed"],
               what="Hooks invalidated")
    assert len(invalidated("Functions")) <= 2 and len(invalidated("Hooks")) <= 2
    dep.close()
    user.expect_deactivated()
    wait_until(lambda: changed("Active") == [False], what="Active to change to false")
    for path, iface, member, (name, props, inval) in rec.signals:
        assert name == MODULE_IFACE
        assert (len(props) == 1 and inval == []) or (props == {} and set(inval) <= {"Functions", "Hooks"})


def test_unknown_objects_and_properties(bus, broker, proxy):
    props_iface = "org.freedesktop.DBus.Properties"
    err = "org.freedesktop.DBus.Error."
    broker.module("a")
    gone = broker.module("gone")
    path = module_path("a")
    assert Proxy(bus, path, MODULE_IFACE).get("ModuleId") == "a"
    assert remote_error(bus, path, props_iface, "Get", "(ss)", (MODULE_IFACE, "Nope")) == err + "UnknownProperty"
    assert remote_error(bus, path, props_iface, "Set", "(ssv)",
                        (MODULE_IFACE, "Version", GLib.Variant("s", "2.0.0"))) == err + "PropertyReadOnly"
    assert remote_error(bus, path, props_iface, "Set", "(ssv)",
                        (MODULE_IFACE, "Nope", GLib.Variant("s", "x"))) == err + "UnknownProperty"
    assert remote_error(bus, path, props_iface, "GetAll", "(s)", ("org.example.Nope",)) == err + "UnknownInterface"
    assert remote_error(bus, path, MODULE_IFACE, "Frobnicate", "()", ()) == err + "UnknownMethod"
    assert Proxy(bus, path, MODULE_IFACE).get("Version") == "1.0.0"

    gone.close()
    wait_until(lambda: module_path("gone") not in managed_objects(bus), what="the module to leave")
    for where in (module_path("gone"), module_path("juno"), module_path("nobody"),
                  module_path("_61"),       # "a", escaped another way: one path per module
                  module_path("a_00")):
        assert remote_error(bus, where, props_iface, "Get", "(ss)", (MODULE_IFACE, "ModuleId")) \
            == err + "UnknownObject", where
        assert remote_error(bus, where, props_iface, "GetAll", "(s)", (MODULE_IFACE,)) \
            == err + "UnknownObject", where
    assert 'interface name="org.juno.Module1"' not in introspect(bus, module_path("gone"))


def test_module_tree_introspection(bus, broker, proxy):
    for name in ("alpha", "beta-2", "gamma"):
        broker.module(name)
    broker.clients[-1].close()          # gamma leaves
    wait_until(lambda: module_path("gamma") not in managed_objects(bus), what="gamma to leave")
    xml = introspect(bus, PATH + "/module")
    assert '<node name="alpha"/>' in xml and '<node name="beta_2d2"/>' in xml
    assert "gamma" not in xml and "<interface" not in xml
    assert '<node name="module"/>' in introspect(bus, PATH)
    assert 'interface name="org.freedesktop.DBus.ObjectManager"' in introspect(bus, PATH)
    xml = introspect(bus, module_path("beta_2d2"))
    assert 'interface name="org.juno.Module1"' in xml
    assert 'interface name="org.freedesktop.DBus.Properties"' in xml


def test_many_modules(bus, broker, proxy):
    """Objects cost nothing per module, and every lookup is by key."""
    modules = [broker.module("mod-%03d" % i) for i in range(150)]
    objects = managed_objects(bus)
    assert len(objects) == 150
    assert objects[module_path("mod_2d042")][MODULE_IFACE]["ModuleId"] == "mod-042"
    for m in modules[::2]:
        m.close()
    wait_until(lambda: len(managed_objects(bus)) == 75, what="half the objects to go")
    assert Proxy(bus, module_path("mod_2d001"), MODULE_IFACE).get("Active") is True
    (listed,) = proxy.call("ListModules")
    assert [m[0] for m in listed] == ["mod-%03d" % i for i in range(1, 150, 2)]
