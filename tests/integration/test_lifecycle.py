# SPDX-License-Identifier: LGPL-2.1-or-later
"""Lifecycle hooks: moduleConnected / moduleDisconnected for every connection
that asks to register (observers, which never do, are never announced),
moduleActivated / moduleDeactivated on real transitions, connection ids."""

from junotest import collect, decode, expect_nothing_all


def watcher(broker, name="watcher"):
    w = broker.module(name)
    for hook in ("juno.moduleConnected", "juno.moduleDisconnected",
                 "juno.moduleActivated", "juno.moduleDeactivated"):
        w.listen(hook)
    return w


def announce(raw):
    """A register that fails (bad moduleId): the connection asked to
    register, so it is announced, and stays unregistered."""
    raw.request_error({"type": 1, "moduleId": "bad.id", "version": "1.0.0"}, 6)


def test_first_connection_id_is_1_and_juno_is_0(broker):
    m = broker.module("first")
    assert m.module_info("first")["connectionId"] == "1"
    assert m.module_info("juno")["connectionId"] == "0"
    second = broker.module("second")
    assert m.module_info("second")["connectionId"] == "2"
    second.close()


def test_observer_connection_is_never_announced(broker):
    w = watcher(broker)
    raw = broker.connect()
    raw.call_ok("juno.listModules")
    raw.close()
    w.expect_nothing()


def test_unregistered_connection_gets_both_hooks_with_same_id(broker):
    w = watcher(broker)
    raw = broker.connect()
    announce(raw)
    connected = w.expect_hook("juno.moduleConnected")
    assert connected["data"].keys() == {"connectionId"}
    cid = connected["data"]["connectionId"]
    assert isinstance(cid, str) and cid.isdigit() and cid != "0"
    raw.close()
    w.expect_hook("juno.moduleDisconnected", {"connectionId": cid})
    w.expect_nothing()


def test_connection_ids_increase_and_are_not_reused(broker):
    w = watcher(broker)
    ids = []
    for _ in range(4):
        raw = broker.connect()
        announce(raw)
        ids.append(int(w.expect_hook("juno.moduleConnected")["data"]["connectionId"]))
        raw.close()
        w.expect_hook("juno.moduleDisconnected", {"connectionId": str(ids[-1])})
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert ids == list(range(ids[0], ids[0] + 4))


def test_connection_that_failed_to_register_gets_both_hooks(broker):
    w = watcher(broker)
    raw = broker.connect()
    raw.request_error({"type": 1, "moduleId": "bad.id", "version": "1.0.0"}, 6)
    cid = w.expect_hook("juno.moduleConnected")["data"]["connectionId"]
    raw.send_raw(b"garbage\n")
    raw.close()
    w.expect_hook("juno.moduleDisconnected", {"connectionId": cid})
    w.expect_nothing()


def test_registered_module_full_lifecycle(broker):
    w = watcher(broker)
    m = broker.connect()
    w.expect_nothing()
    m.register("life")
    cid = w.expect_hook("juno.moduleConnected")["data"]["connectionId"]
    w.expect_hook("juno.moduleActivated", {"moduleId": "life"})
    assert w.module_info("life")["connectionId"] == cid
    m.close()
    w.expect_hook("juno.moduleDeactivated", {"moduleId": "life"})
    w.expect_hook("juno.moduleDisconnected", {"connectionId": cid})
    w.expect_nothing()


def test_inactive_module_lifecycle(broker):
    w = watcher(broker)
    m = broker.connect()
    m.register("idle", "1.0.0", {"missing": "^1"}, active=False)
    cid = w.expect_hook("juno.moduleConnected")["data"]["connectionId"]
    w.expect_nothing()
    m.close()
    w.expect_hook("juno.moduleDisconnected", {"connectionId": cid})
    w.expect_nothing()


def test_every_listener_sees_lifecycle_hooks(broker):
    ws = [watcher(broker, "w%d" % i) for i in range(3)]
    # Watchers registered later see the earlier watchers' later events only;
    # drain what each saw of the others' arrival first.
    for i, w in enumerate(ws):
        seen = collect(w, 2 * (len(ws) - 1 - i))
        assert sorted(m["hook"] for m in seen) == sorted(
            ["juno.moduleConnected", "juno.moduleActivated"] * (len(ws) - 1 - i))
    raw = broker.connect()
    announce(raw)
    cids = {w.expect_hook("juno.moduleConnected")["data"]["connectionId"] for w in ws}
    assert len(cids) == 1
    cid = cids.pop()
    raw.close()
    for w in ws:
        w.expect_hook("juno.moduleDisconnected", {"connectionId": cid})
    expect_nothing_all(ws)


def test_lifecycle_hooks_not_forced(broker):
    """Lifecycle broadcasts go only to listeners; juno.activated is forced."""
    quiet = broker.module("quiet")
    raw = broker.connect()
    raw.close()
    other = broker.module("other")
    other.close()
    quiet.expect_nothing()


def test_many_connections_come_and_go(broker):
    w = watcher(broker)
    raws = [broker.connect() for _ in range(20)]
    for r in raws:
        announce(r)
    cids = [w.expect_hook("juno.moduleConnected")["data"]["connectionId"] for _ in raws]
    assert len(set(cids)) == 20
    for r in raws:
        r.close()
    gone = [w.expect_hook("juno.moduleDisconnected")["data"]["connectionId"] for _ in raws]
    assert sorted(gone) == sorted(cids)
    w.expect_nothing()
    assert [m["moduleId"] for m in w.list_modules()].count("watcher") == 1


def drain_hooks(m):
    """Everything @m receives until it has been quiet for 0.3 s, as a list of
    (hook, data)."""
    out = []
    line = m.recv_line(0.5)
    while line is not None:
        msg = decode(line)
        out.append((msg.get("hook"), msg.get("data")))
        line = m.recv_line(0.3)
    return out


def test_inactive_listener_gets_no_lifecycle_hooks(broker):
    dep = broker.module("dep")
    w = broker.module("w", deps={"dep": "*"})
    for hook in ("juno.moduleConnected", "juno.moduleDisconnected",
                 "juno.moduleActivated", "juno.moduleDeactivated"):
        w.listen(hook)
    sync = broker.module("sync")
    w.expect_hook("juno.moduleConnected")
    w.expect_hook("juno.moduleActivated", {"moduleId": "sync"})
    sync.listen("juno.moduleDisconnected")
    dep_cid = sync.module_info("dep")["connectionId"]
    dep.close()
    sync.expect_hook("juno.moduleDisconnected", {"connectionId": dep_cid})
    # While the broker processes dep's departure, w may still see the
    # broadcasts that happen before it is itself deactivated; the forced
    # juno.deactivated comes exactly once.
    hooks = drain_hooks(w)
    assert hooks.count(("juno.deactivated", {})) == 1, hooks
    allowed = {("juno.deactivated", "{}"),
               ("juno.moduleDeactivated", repr({"moduleId": "dep"})),
               ("juno.moduleDeactivated", repr({"moduleId": "w"})),
               ("juno.moduleDisconnected", repr({"connectionId": dep_cid}))}
    for h, d in hooks:
        assert (h, repr(d)) in allowed, hooks
    raw = broker.connect()
    announce(raw)
    raw.close()
    sync.expect_hook("juno.moduleDisconnected")
    w.expect_nothing()
    # Active again: the registrations serve again.  Around its own
    # activation w may or may not see the activation broadcasts.
    dep = broker.module("dep")
    hooks = drain_hooks(w)
    assert hooks.count(("juno.activated", {})) == 1, hooks
    for h in hooks:
        assert h in [("juno.activated", {}),
                     ("juno.moduleActivated", {"moduleId": "dep"}),
                     ("juno.moduleActivated", {"moduleId": "w"})], hooks
    raw = broker.connect()
    announce(raw)
    cid = w.expect_hook("juno.moduleConnected")["data"]["connectionId"]
    raw.close()
    w.expect_hook("juno.moduleDisconnected", {"connectionId": cid})
    w.expect_nothing()
