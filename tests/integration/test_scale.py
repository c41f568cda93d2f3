# SPDX-License-Identifier: LGPL-2.1-or-later
"""Many modules at once: registration, fan-out, mass disconnect, dependency
churn."""

import resource
import time

import pytest

from junotest import Module, T_LISTEN, T_REGISTER, encode, expect_nothing_all

N = 1000


@pytest.fixture(autouse=True)
def enough_fds():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * N + 256
    if hard != resource.RLIM_INFINITY and hard < want:
        pytest.fail("RLIMIT_NOFILE hard limit %d is below the %d this test needs" % (hard, want))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY
                                                else max(soft, min(hard, want)), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def register_many(broker, prefix, count, deps=None, hook=None, active=True):
    """Connect and register @count modules, pipelining the requests; each
    optionally listens to @hook."""
    mods = []
    for i in range(count):
        m = broker.connect(name="%s%d" % (prefix, i))
        msg = {"requestId": "reg-%d" % i, "type": T_REGISTER,
               "moduleId": "%s%d" % (prefix, i), "version": "1.0.0"}
        if deps:
            msg["dependencies"] = deps
        data = encode(msg)
        if hook:
            data += encode({"requestId": "listen-%d" % i, "type": T_LISTEN, "hook": hook})
        m.send_raw(data)
        m.module_id = msg["moduleId"]
        mods.append(m)
    for i, m in enumerate(mods):
        assert m.recv(30) == {"requestId": "reg-%d" % i, "type": 2}
        if active:
            m.expect_activated(30)
            if hook:
                assert m.recv(30) == {"requestId": "listen-%d" % i, "type": 6}
    return mods


def test_thousand_modules(broker):
    watcher = broker.module("watcher")
    watcher.listen("juno.moduleDisconnected")
    trig = broker.module("trig")
    mods = register_many(broker, "m", N, hook="trig.go")

    modules = watcher.list_modules()
    assert len(modules) == N + 3
    assert sum(1 for o in modules if o["registered"]) == N + 3

    trig.trigger("go", {"all": True})
    for m in mods:
        m.expect_hook("trig.go", {"all": True}, timeout=30)

    cids = {o["moduleId"]: o["connectionId"] for o in modules}
    for m in mods:
        m.close()
    # The broker stays responsive while they leave.
    trig.ping()
    gone = set()
    deadline = time.monotonic() + 60
    while len(gone) < N:
        msg = watcher.expect_hook("juno.moduleDisconnected",
                                  timeout=max(0.1, deadline - time.monotonic()))
        gone.add(msg["data"]["connectionId"])
    assert gone == {cids["m%d" % i] for i in range(N)}
    watcher.expect_nothing()
    assert sorted(o["moduleId"] for o in watcher.list_modules()) == ["juno", "trig", "watcher"]
    trig.trigger("go", {"again": True})
    trig.ping()


def test_many_dependents_churn(broker):
    base = broker.module("base")
    deps = register_many(broker, "d", 300, deps={"base": "^1.0.0"})
    # Second-level dependents on the first dependent.
    deps2 = register_many(broker, "e", 100, deps={"d0": "*", "base": "*"})
    for round_ in range(3):
        base.close()
        for m in deps + deps2:
            m.expect_deactivated(30)
        base = broker.module("base")
        for m in deps + deps2:
            m.expect_activated(30)
    observer = broker.module("observer")
    assert sum(1 for o in observer.list_modules() if o["registered"]) == 1 + 300 + 100 + 2
    expect_nothing_all(deps + deps2 + [observer])
    # Everything leaves at once, base first.
    base.close()
    for m in deps + deps2:
        m.close()
    observer.ping()
    observer.listen("juno.moduleDisconnected")
    deadline = time.monotonic() + 60
    while len(observer.list_modules()) > 2:
        assert time.monotonic() < deadline, "modules not removed after 60 s"
        observer.expect_hook("juno.moduleDisconnected", timeout=30)
    assert sorted(o["moduleId"] for o in observer.list_modules()) == ["juno", "observer"]


def test_many_unregistered_connections(broker):
    watcher = broker.module("watcher")
    raws = [Module(str(broker.socket_path)) for _ in range(N)]
    watcher.ping()
    for r in raws[::2]:
        r.close()
    for r in raws[1::2]:
        r.send_raw(b'{"requestId":"x","type":7,"hook":"h"}\n')
    for r in raws[1::2]:
        assert r.recv(30) == {"requestId": "x", "type": 0, "error": 3}
    for r in raws[1::2]:
        r.close()
    watcher.ping()
    assert sorted(o["moduleId"] for o in watcher.list_modules()) == ["juno", "watcher"]
