# SPDX-License-Identifier: LGPL-2.1-or-later
"""Dependencies: the activity fixed point, transitions, requirement syntax."""

import itertools

import pytest

from junotest import (E_NOT_ACTIVE, E_UNKNOWN_MODULE, T_CALL, T_DECLARE,
                      T_LISTEN, T_TRIGGER, collect, expect_nothing_all)


def observer(broker, name="observer"):
    """An active module that watches activation transitions."""
    o = broker.module(name)
    o.listen("juno.moduleActivated")
    o.listen("juno.moduleDeactivated")
    return o


def transitions(o, count):
    """The next @count activation hooks seen by observer @o, as a sorted list
    of (kind, moduleId)."""
    out = []
    for msg in collect(o, count):
        assert msg["type"] == 8 and msg["hook"] in (
            "juno.moduleActivated", "juno.moduleDeactivated"), msg
        assert msg["data"].keys() == {"moduleId"}, msg
        kind = "on" if msg["hook"] == "juno.moduleActivated" else "off"
        out.append((kind, msg["data"]["moduleId"]))
    return sorted(out)


def fixed_point(registered, deps):
    """Greatest fixed point: the set of active modules."""
    active = set(registered)
    changed = True
    while changed:
        changed = False
        for m in list(active):
            if not set(deps[m]) <= active:
                active.discard(m)
                changed = True
    return active


def register_all_checked(broker, obs, order, deps, version="1.0.0"):
    """Register modules in @order and check, after each one, exactly which
    modules get juno.activated and what the observer sees."""
    conns = {}
    active = set()
    for name in order:
        m = broker.connect(name=name)
        reqs = {d: "^1.0.0" for d in deps[name]}
        m.register(name, version, reqs, active=None)
        conns[name] = m
        now = fixed_point(conns, deps)
        assert active <= now
        woken = now - active
        for n in sorted(woken):
            conns[n].expect_activated()
        assert transitions(obs, len(woken)) == sorted(("on", n) for n in woken)
        active = now
    expect_nothing_all(list(conns.values()) + [obs])
    return conns


CHAIN = {"a": [], "b": ["a"], "c": ["b"]}


@pytest.mark.parametrize("order", list(itertools.permutations("abc")), ids="".join)
def test_chain_activates_in_any_arrival_order(broker, order):
    obs = observer(broker)
    register_all_checked(broker, obs, order, CHAIN)
    for name in "abc":
        assert obs.module_info(name)["registered"] is True


def test_mutual_dependency_activates_together(broker):
    obs = observer(broker)
    a = broker.connect(name="a")
    a.register("a", "1.0.0", {"b": "^1.0.0"}, active=False)
    assert obs.module_info("a")["registered"] is False
    b = broker.connect(name="b")
    b.register("b", "1.0.0", {"a": "^1.0.0"}, active=True)
    a.expect_activated()
    assert transitions(obs, 2) == [("on", "a"), ("on", "b")]
    expect_nothing_all([a, b, obs])
    assert obs.module_info("a")["registered"] is True
    assert obs.module_info("b")["registered"] is True


def test_mutual_dependency_falls_and_rises_together(broker):
    obs = observer(broker)
    a = broker.connect(name="a")
    a.register("a", "1.0.0", {"b": "^1.0.0"}, active=False)
    b = broker.module("b", deps={"a": "^1.0.0"})
    a.expect_activated()
    assert transitions(obs, 2) == [("on", "a"), ("on", "b")]

    b.close()
    a.expect_deactivated()
    assert transitions(obs, 2) == [("off", "a"), ("off", "b")]
    expect_nothing_all([a, obs])

    broker.module("b", deps={"a": "^1.0.0"})
    a.expect_activated()
    assert transitions(obs, 2) == [("on", "a"), ("on", "b")]
    expect_nothing_all([a, obs])


def test_three_cycle_with_a_missing_member_stays_inactive(broker):
    obs = observer(broker)
    deps = {"x": ["y"], "y": ["z"], "z": ["x", "w"], "w": []}
    conns = {}
    for name in "xyz":
        m = broker.connect(name=name)
        m.register(name, "1.0.0", {d: "^1.0.0" for d in deps[name]}, active=None)
        conns[name] = m
    expect_nothing_all(list(conns.values()) + [obs])
    conns["w"] = broker.module("w")
    for name in "xyz":
        conns[name].expect_activated()
    assert transitions(obs, 4) == sorted(("on", n) for n in "wxyz")
    expect_nothing_all(list(conns.values()) + [obs])


def test_requirement_on_inactive_module_does_not_crash(broker):
    obs = observer(broker)
    # x is registered but inactive (it needs y, which is absent).
    x = broker.connect(name="x")
    x.register("x", "1.0.0", {"y": "^9.0.0"}, active=False)
    # z1 requires a version x does not have; z2 one it has.  Neither may
    # activate while x is inactive, and the broker must not fall over.
    z1 = broker.connect(name="z1")
    z1.register("z1", "1.0.0", {"x": "^2.0.0"}, active=False)
    z2 = broker.connect(name="z2")
    z2.register("z2", "1.0.0", {"x": "^1.0.0"}, active=False)
    z3 = broker.connect(name="z3")
    z3.register("z3", "1.0.0", {"x": ">=5.0.0", "nothere": "*"}, active=False)
    obs.ping()
    # y arrives: x activates, then z2; z1 and z3 never do.
    y = broker.module("y", "9.1.0")
    x.expect_activated()
    z2.expect_activated()
    assert transitions(obs, 3) == [("on", "x"), ("on", "y"), ("on", "z2")]
    expect_nothing_all([x, y, z1, z2, z3, obs])
    assert obs.module_info("z1")["registered"] is False
    assert obs.module_info("z3")["registered"] is False


def test_deactivation_and_reactivation_exactly_once(broker):
    obs = observer(broker)
    base = broker.module("base", "1.4.0")
    dep = broker.module("dep", deps={"base": "^1.0.0"})
    top = broker.module("top", deps={"dep": "1.0.0"})
    assert transitions(obs, 3) == [("on", "base"), ("on", "dep"), ("on", "top")]

    base.close()
    dep.expect_deactivated()
    top.expect_deactivated()
    assert transitions(obs, 3) == [("off", "base"), ("off", "dep"), ("off", "top")]
    expect_nothing_all([dep, top, obs])
    assert obs.module_info("dep")["registered"] is False

    # It returns with a version that does not match: nothing changes.
    wrong = broker.module("base", "2.0.0")
    assert transitions(obs, 1) == [("on", "base")]
    expect_nothing_all([dep, top, obs])
    wrong.close()
    assert transitions(obs, 1) == [("off", "base")]

    # It returns with a matching version: both come back, once each.
    broker.module("base", "1.9.9")
    dep.expect_activated()
    top.expect_activated()
    assert transitions(obs, 3) == [("on", "base"), ("on", "dep"), ("on", "top")]
    expect_nothing_all([dep, top, obs])


def test_no_flap_when_dependency_is_itself_inactive(broker):
    """The original activates a module whose dependency is registered but
    inactive, then deactivates it: ours must not fire anything."""
    obs = observer(broker)
    mid = broker.connect(name="mid")
    mid.register("mid", "1.0.0", {"root": "^1.0.0"}, active=False)
    leaf = broker.connect(name="leaf")
    leaf.register("leaf", "1.0.0", {"mid": "^1.0.0"}, active=False)
    expect_nothing_all([mid, leaf, obs])
    # Churn the missing root a few times.
    for _ in range(3):
        root = broker.module("root")
        mid.expect_activated()
        leaf.expect_activated()
        assert transitions(obs, 3) == [("on", "leaf"), ("on", "mid"), ("on", "root")]
        root.close()
        mid.expect_deactivated()
        leaf.expect_deactivated()
        assert transitions(obs, 3) == [("off", "leaf"), ("off", "mid"), ("off", "root")]
        expect_nothing_all([mid, leaf, obs])


def test_inactive_module_disconnecting_fires_no_deactivation(broker):
    obs = observer(broker)
    obs.listen("juno.moduleDisconnected")
    lonely = broker.connect(name="lonely")
    lonely.register("lonely", "1.0.0", {"absent": "*"}, active=False)
    cid = obs.module_info("lonely")["connectionId"]
    lonely.close()
    # Only moduleDisconnected may follow, never moduleDeactivated.
    obs.expect_hook("juno.moduleDisconnected", {"connectionId": cid})
    obs.expect_nothing()


def test_disconnecting_active_module_is_deactivated_before_disconnected(broker):
    obs = broker.module("observer")
    obs.listen("juno.moduleDeactivated")
    obs.listen("juno.moduleDisconnected")
    prov = broker.module("prov")
    cid = obs.module_info("prov")["connectionId"]
    user = broker.module("user", deps={"prov": "*"})
    prov.close()
    user.expect_deactivated()
    hooks = [(m["hook"], m["data"]) for m in collect(obs, 3)]
    assert sorted(hooks, key=repr) == sorted([
        ("juno.moduleDeactivated", {"moduleId": "prov"}),
        ("juno.moduleDeactivated", {"moduleId": "user"}),
        ("juno.moduleDisconnected", {"connectionId": cid})], key=repr), hooks
    assert hooks.index(("juno.moduleDeactivated", {"moduleId": "prov"})) < \
        hooks.index(("juno.moduleDisconnected", {"connectionId": cid})), hooks
    obs.expect_nothing()


def test_inactive_module_gets_error_3_for_everything(broker):
    m = broker.connect()
    m.register("waiting", "1.0.0", {"missing": "^1.0.0"}, active=False)
    m.request_error({"type": T_DECLARE, "function": "f"}, E_NOT_ACTIVE)
    m.request_error({"type": T_LISTEN, "hook": "x.y"}, E_NOT_ACTIVE)
    m.request_error({"type": T_TRIGGER, "hook": "y"}, E_NOT_ACTIVE)
    m.request_error({"type": T_CALL, "function": "juno.listModules"}, E_NOT_ACTIVE)


def test_unregistered_connection_gets_error_3(broker):
    """An unregistered connection is an observer: what only a module may do
    still gets error 3 (docs/protocol.md, Observers)."""
    broker.module("svc").declare("fn")
    m = broker.connect()
    m.request_error({"type": T_DECLARE, "function": "f"}, E_NOT_ACTIVE)
    m.request_error({"type": T_LISTEN, "hook": "x.y.z"}, E_NOT_ACTIVE)
    m.request_error({"type": T_TRIGGER, "hook": "y"}, E_NOT_ACTIVE)
    m.request_error({"type": T_CALL, "function": "svc.fn"}, E_NOT_ACTIVE)
    m.request_error({"type": T_CALL, "function": "nodot"}, E_NOT_ACTIVE)
    # what an observer may do
    assert [o["moduleId"] for o in m.call_ok("juno.listModules")] == ["juno", "svc"]


def test_inactive_callee_is_unknown_module_and_keeps_its_functions(broker):
    dep = broker.module("dep")
    svc = broker.module("svc", deps={"dep": "^1.0.0"})
    svc.declare("work")
    svc.listen("caller.ev")
    caller = broker.module("caller")
    dep.close()
    svc.expect_deactivated()
    reply = caller.call("svc.work")
    assert reply == {"requestId": reply["requestId"], "type": 0, "error": E_UNKNOWN_MODULE}
    caller.trigger("ev", {"n": 1})
    svc.expect_nothing()
    # Back: the declared function and the hook registration serve again.
    broker.module("dep")
    svc.expect_activated()
    info = caller.module_info("svc")
    assert info["declaredFunctions"] == ["work"]
    assert info["registeredHooks"] == ["caller.ev"]
    rid = caller.send_call("svc.work", {"k": 1})
    call = svc.expect_call("work", {"k": 1}, "caller")
    svc.respond(call["requestId"], "done")
    assert caller.recv() == {"requestId": rid, "type": 4, "data": "done"}
    caller.trigger("ev", {"n": 2})
    svc.expect_hook("caller.ev", {"n": 2})


def test_depending_on_juno(broker):
    version = broker_version()
    major, minor, _ = version.split(".")
    broker.module("ok", deps={"juno": "^%s.%s.0" % (major, minor)})
    broker.module("also", deps={"juno": "=" + version})
    never = broker.connect()
    never.register("never", "1.0.0", {"juno": ">=%d.0.0" % (int(major) + 1)}, active=False)


def broker_version():
    from conftest import project_version
    return project_version()


# -- requirement syntax ---------------------------------------------------------

# (requirement, version, matches)
REQUIREMENTS = [
    # bare version = caret
    ("1.2.0", "1.2.0", True),
    ("1.2.0", "1.9.9", True),
    ("1.2.0", "2.0.0", False),
    ("1.2.0", "1.1.9", False),
    ("1.2", "1.2.0", True),
    ("1.2", "1.3.0", True),
    ("1.2", "1.1.0", False),
    ("1", "1.9.0", True),
    ("1", "2.0.0", False),
    # caret
    ("^1.2.3", "1.2.3", True),
    ("^1.2.3", "1.2.2", False),
    ("^1.2.3", "1.99.0", True),
    ("^1.2.3", "2.0.0", False),
    ("^0.2.3", "0.2.9", True),
    ("^0.2.3", "0.3.0", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    # tilde
    ("~1.2.3", "1.2.9", True),
    ("~1.2.3", "1.3.0", False),
    ("~1.2.3", "1.2.2", False),
    ("~1.2", "1.2.0", True),
    ("~1.2", "1.3.0", False),
    ("~1", "1.9.9", True),
    ("~1", "2.0.0", False),
    # comparison operators
    ("=1.2.3", "1.2.3", True),
    ("=1.2.3", "1.2.4", False),
    (">1.2.3", "1.2.4", True),
    (">1.2.3", "1.2.3", False),
    (">=1.2.3", "1.2.3", True),
    (">=1.2.3", "1.2.2", False),
    ("<2.0.0", "1.99.99", True),
    ("<2.0.0", "2.0.0", False),
    ("<=2.0.0", "2.0.0", True),
    ("<=2.0.0", "2.0.1", False),
    # wildcards
    ("*", "0.0.1", True),
    ("*", "77.0.0", True),
    ("1.*", "1.5.0", True),
    ("1.*", "2.0.0", False),
    ("1.2.x", "1.2.7", True),
    ("1.2.x", "1.3.0", False),
    ("1.2.*", "1.2.0", True),
    # comma-separated: all must hold
    (">=1.2.0, <1.5.0", "1.4.9", True),
    (">=1.2.0, <1.5.0", "1.5.0", False),
    (">=1.2.0, <1.5.0", "1.1.0", False),
    (">= 1.2.0, < 1.5.0", "1.3.0", True),
    # npm: alternatives
    ("^1.2.0 || ^2.0.0", "1.5.0", True),
    ("^1.2.0 || ^2.0.0", "2.3.0", True),
    ("^1.2.0 || ^2.0.0", "3.0.0", False),
    ("^1.2.0 || ^2.0.0", "1.1.0", False),
    # npm: space-separated comparators
    (">=1.2.0 <2.0.0", "1.2.0", True),
    (">=1.2.0 <2.0.0", "1.9.9", True),
    (">=1.2.0 <2.0.0", "2.0.0", False),
    (">=1.2.0 <2.0.0", "1.1.9", False),
    # npm: hyphen range, inclusive
    ("1.2.3 - 1.4.0", "1.2.3", True),
    ("1.2.3 - 1.4.0", "1.4.0", True),
    ("1.2.3 - 1.4.0", "1.3.7", True),
    ("1.2.3 - 1.4.0", "1.4.1", False),
    ("1.2.3 - 1.4.0", "1.2.2", False),
    # pre-releases only match a requirement naming a pre-release of the
    # same major.minor.patch
    ("^1.2.0", "1.2.3-alpha.1", False),
    ("*", "1.0.0-rc.1", False),
    (">=1.0.0", "2.0.0-beta", False),
    (">=1.2.3-alpha.1", "1.2.3-alpha.2", True),
    (">=1.2.3-alpha.1", "1.2.3-alpha.0", False),
    ("^1.2.3-alpha", "1.2.3-beta", True),
    ("^1.2.3-alpha", "1.2.3", True),
    ("^1.2.3-alpha", "1.2.4-alpha", False),
    (">=1.2.3-alpha", "1.2.4-alpha", False),
    (">=1.2.3-alpha", "1.5.0", True),
    ("=1.2.3-rc.1", "1.2.3-rc.1", True),
    ("1.2.3-rc.1", "1.2.3-rc.2", True),
    ("1.2.3-rc.1", "1.2.3-rc.0", False),
    ("^1.2.3-alpha || ^2.0.0", "1.2.3-beta", True),
    # build metadata is ignored
    ("=1.2.3", "1.2.3+build.7", True),
    # partial versions with operators (Cargo)
    ("^0.0", "0.0.5", True),
    ("^0.0", "0.1.0", False),
    ("^0", "0.9.9", True),
    ("^0", "1.0.0", False),
    ("=1.2", "1.2.5", True),
    ("=1.2", "1.3.0", False),
    (">1.2", "1.2.9", False),
    (">1.2", "1.3.0", True),
    ("<=1.2", "1.2.9", True),
    ("<=1.2", "1.3.0", False),
    ("<1.2", "1.1.9", True),
    ("<1.2", "1.2.0", False),
    ("1.x", "1.7.0", True),
    ("1.x", "2.0.0", False),
    ("~1.2.3-beta", "1.2.3-beta.2", True),
    ("~1.2.3-beta", "1.2.4-beta", False),
    ("~1.2.3-beta", "1.2.9", True),
    # more npm forms
    ("^1.2.0||^2.0.0", "2.0.1", True),
    (">=1.0.0 <1.1.0 || >=2.0.0", "1.0.5", True),
    (">=1.0.0 <1.1.0 || >=2.0.0", "1.5.0", False),
    (">=1.0.0 <1.1.0 || >=2.0.0", "3.1.0", True),
    ("1.0.0 - 2.0.0 || =3.0.0", "3.0.0", True),
    ("1.0.0 - 2.0.0 || =3.0.0", "2.5.0", False),
]


def test_requirement_syntax(broker):
    """Each (requirement, version) pair: provider pN with the version,
    dependent dN requiring it; dN is active iff the requirement matches."""
    admin = broker.module("admin")
    silent = []
    failures = []
    conns = []
    for i, (req, version, matches) in enumerate(REQUIREMENTS):
        conns.append(broker.module("p%d" % i, version))
        d = broker.connect(name="d%d" % i)
        d.register("d%d" % i, "1.0.0", {"p%d" % i: req}, active=None)
        conns.append(d)
        registered = admin.module_info("d%d" % i)["registered"]
        if registered != matches:
            failures.append("%r vs %s: active=%s, expected %s"
                            % (req, version, registered, matches))
        if registered:
            d.expect_activated()
        else:
            silent.append(d)
    expect_nothing_all(silent)
    assert not failures, "requirement matching is wrong:\n" + "\n".join(failures)


def test_self_dependency(broker):
    """Greatest fixed point: a module that requires itself (and matches) is
    active, like a cycle of one."""
    broker.module("selfish", "1.2.0", {"selfish": "^1.0.0"})
    m = broker.connect()
    m.register("picky", "1.2.0", {"picky": "^2.0.0"}, active=False)


# -- randomised churn against a model ---------------------------------------------

import random  # noqa: E402

CHURN_VERSIONS = ["1.0.0", "1.6.0", "2.0.0"]
CHURN_REQS = {
    "^1.0.0": lambda v: v.startswith("1."),
    "^2.0.0": lambda v: v.startswith("2."),
    "*": lambda v: True,
    ">=1.5.0": lambda v: v in ("1.6.0", "2.0.0"),
}


def model_active(registered):
    """registered: name -> (version, {dep: req}).  Greatest fixed point."""
    active = set(registered)
    changed = True
    while changed:
        changed = False
        for name in sorted(active):
            for dep, req in registered[name][1].items():
                if dep not in active or not CHURN_REQS[req](registered[dep][0]):
                    active.discard(name)
                    changed = True
                    break
    return active


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_churn_matches_model(broker, seed):
    rng = random.Random(seed)
    names = ["n%d" % i for i in range(7)]
    # Tells when the broker has seen a connection close (the close and the
    # next request travel on different sockets).
    sync = broker.module("sync")
    sync.listen("juno.moduleDisconnected")
    obs = observer(broker)
    conns = {}
    registered = {}
    active = set()
    for step in range(80):
        name = rng.choice(names)
        if name in registered:
            conns.pop(name).close()
            del registered[name]
            sync.expect_hook("juno.moduleDisconnected")
        else:
            version = rng.choice(CHURN_VERSIONS)
            deps = {d: rng.choice(sorted(CHURN_REQS))
                    for d in rng.sample(names, rng.choice([0, 1, 1, 2, 2, 3]))}
            m = broker.connect(name=name)
            m.register(name, version, deps, active=None)
            conns[name] = m
            registered[name] = (version, deps)
        now = model_active(registered)
        where = "seed %d step %d (%s): " % (seed, step, name)
        for n in sorted(now - active):
            msg = conns[n].recv()
            assert msg.get("hook") == "juno.activated", where + "%s got %r" % (n, msg)
        for n in sorted((active - now) & set(conns)):
            msg = conns[n].recv()
            assert msg.get("hook") == "juno.deactivated", where + "%s got %r" % (n, msg)
        want = sorted([("on", n) for n in now - active] + [("off", n) for n in active - now])
        assert transitions(obs, len(want)) == want, where
        listed = {o["moduleId"]: o["registered"] for o in obs.list_modules()}
        assert listed == dict({n: n in now for n in registered}, juno=True, observer=True,
                              sync=True), where
        active = now
    expect_nothing_all(list(conns.values()) + [obs, sync])


def test_long_chain_cascades_once(broker):
    obs = observer(broker)
    n = 50
    links = []
    # Registered from the far end: nothing can activate until a0 arrives.
    for i in range(n - 1, 0, -1):
        m = broker.connect(name="a%d" % i)
        m.register("a%d" % i, "1.0.0", {"a%d" % (i - 1): "^1.0.0"}, active=None)
        links.append(m)
    expect_nothing_all(links + [obs])
    a0 = broker.module("a0")
    for m in links:
        m.expect_activated()
    assert transitions(obs, n) == sorted(("on", "a%d" % i) for i in range(n))
    a0.close()
    for m in links:
        m.expect_deactivated()
    assert transitions(obs, n) == sorted(("off", "a%d" % i) for i in range(n))
    expect_nothing_all(links + [obs])


def test_ring_activates_and_falls_together(broker):
    obs = observer(broker)
    n = 20
    ring = []
    for i in range(n - 1):
        m = broker.connect(name="r%d" % i)
        m.register("r%d" % i, "1.0.0", {"r%d" % ((i + 1) % n): "*"}, active=None)
        ring.append(m)
    expect_nothing_all(ring + [obs])
    last = broker.module("r%d" % (n - 1), deps={"r0": "*"})
    for m in ring:
        m.expect_activated()
    ring.append(last)
    assert transitions(obs, n) == sorted(("on", "r%d" % i) for i in range(n))
    ring[7].close()
    for i, m in enumerate(ring):
        if i != 7:
            m.expect_deactivated()
    assert transitions(obs, n) == sorted(("off", "r%d" % i) for i in range(n))
    expect_nothing_all([m for i, m in enumerate(ring) if i != 7] + [obs])


def test_diamond_deactivates_once(broker):
    obs = observer(broker)
    a = broker.module("a")
    b = broker.module("b", deps={"a": "*"})
    c = broker.module("c", deps={"a": "*"})
    d = broker.module("d", deps={"b": "*", "c": "*"})
    assert transitions(obs, 4) == [("on", "a"), ("on", "b"), ("on", "c"), ("on", "d")]
    a.close()
    for m in (b, c, d):
        m.expect_deactivated()
    assert transitions(obs, 4) == [("off", "a"), ("off", "b"), ("off", "c"), ("off", "d")]
    expect_nothing_all([b, c, d, obs])
    a = broker.module("a")
    for m in (b, c, d):
        m.expect_activated()
    assert transitions(obs, 4) == [("on", "a"), ("on", "b"), ("on", "c"), ("on", "d")]
    expect_nothing_all([b, c, d, obs])
