# SPDX-License-Identifier: LGPL-2.1-or-later
"""The control plane as an operator sees it: the real busctl and gdbus."""

import json
import subprocess

from junodbus import Proxy, wait_until


def run(cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    if check:
        assert r.returncode == 0, "%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr)
    return r


def busctl(bus, *args, check=True):
    return run(["busctl", "--address=" + bus.address] + list(args), check)


def gdbus(bus, *args, check=True):
    return run(["gdbus", args[0], "--address", bus.address] + list(args[1:]), check)


def test_busctl_tree_and_introspect(bus, broker, proxy):
    broker.module("alpha")
    broker.module("beta-2")
    tree = busctl(bus, "tree", "org.juno.Broker1").stdout
    assert "/org/juno/Broker1/module/alpha" in tree
    assert "/org/juno/Broker1/module/beta_2d2" in tree
    intro = busctl(bus, "introspect", "org.juno.Broker1", "/org/juno/Broker1").stdout
    for member in (".ListModules", ".GetModuleInfo", ".CallFunction", ".TriggerHook", ".GetStats",
                   ".Version", ".Connections", ".Modules", ".ActiveModules", ".MessagesIn",
                   ".MessagesOut", ".BytesIn", ".BytesOut", ".CallsRouted", ".CallsFailed",
                   ".CallsTimedOut", ".HooksDelivered", ".StartTime", ".Addresses",
                   ".ModuleConnected", ".ModuleRegistered", ".ModuleActivated",
                   ".ModuleDeactivated", ".ModuleDisconnected", ".HookTriggered"):
        assert "\n%s " % member in intro, member
    mod = busctl(bus, "introspect", "org.juno.Broker1", "/org/juno/Broker1/module/alpha").stdout
    assert 'ModuleId' in mod and '"alpha"' in mod


def test_busctl_calls(bus, broker, proxy):
    m = broker.module("alpha", "1.0.0")
    out = busctl(bus, "--json=short", "call", "org.juno.Broker1", "/org/juno/Broker1",
                 "org.juno.Broker1", "ListModules").stdout
    assert json.loads(out)["data"] == [[["alpha", "1.0.0", True, "/org/juno/Broker1/module/alpha"]]]
    out = busctl(bus, "call", "org.juno.Broker1", "/org/juno/Broker1", "org.juno.Broker1",
                 "GetModuleInfo", "s", "alpha").stdout
    assert '"ModuleId" s "alpha"' in out
    out = busctl(bus, "get-property", "org.juno.Broker1", "/org/juno/Broker1", "org.juno.Broker1",
                 "Version").stdout
    assert out.startswith('s "')
    out = busctl(bus, "call", "org.juno.Broker1", "/org/juno/Broker1", "org.juno.Broker1",
                 "CallFunction", "ss", "juno.getModuleInfo", '{"moduleId":"alpha"}').stdout
    assert '\\"moduleId\\":\\"alpha\\"' in out
    m.listen("alpha.x")
    busctl(bus, "call", "org.juno.Broker1", "/org/juno/Broker1", "org.juno.Broker1",
           "TriggerHook", "ss", "alpha.x", '{"v":1}')
    m.expect_hook("alpha.x", {"v": 1})
    r = busctl(bus, "call", "org.juno.Broker1", "/org/juno/Broker1", "org.juno.Broker1",
               "CallFunction", "ss", "nobody.f", "{}", check=False)
    assert r.returncode != 0 and "no active module" in r.stderr.lower()
    Proxy(bus)  # the bus still answers
    out = busctl(bus, "get-property", "org.juno.Broker1", "/org/juno/Broker1/module/alpha",
                 "org.juno.Module1", "Hooks").stdout
    assert out.strip() == 'as 1 "alpha.x"'


def test_gdbus_calls(bus, broker, proxy):
    broker.module("alpha", "3.1.4")
    out = gdbus(bus, "call", "--dest", "org.juno.Broker1", "--object-path", "/org/juno/Broker1",
                "--method", "org.juno.Broker1.ListModules").stdout
    assert "('alpha', '3.1.4', true, objectpath '/org/juno/Broker1/module/alpha')" in out
    out = gdbus(bus, "call", "--dest", "org.juno.Broker1", "--object-path", "/org/juno/Broker1",
                "--method", "org.juno.Broker1.GetStats").stdout
    assert "'Modules': <uint64 1>" in out
    r = gdbus(bus, "call", "--dest", "org.juno.Broker1", "--object-path", "/org/juno/Broker1",
              "--method", "org.juno.Broker1.GetModuleInfo", "nobody", check=False)
    assert r.returncode != 0 and "org.juno.Broker1.Error.UnknownModule" in r.stderr
    r = gdbus(bus, "call", "--dest", "org.juno.Broker1", "--object-path", "/org/juno/Broker1",
              "--method", "org.juno.Broker1.CallFunction", "alpha.f", "{oops", check=False)
    assert r.returncode != 0 and "org.juno.Broker1.Error.InvalidArgs" in r.stderr
    out = gdbus(bus, "introspect", "--dest", "org.juno.Broker1", "--object-path",
                "/org/juno/Broker1", "--xml").stdout
    assert "org.freedesktop.DBus.Description" in out and "CallFunction" in out


def test_gdbus_monitor_sees_signals(bus, broker, proxy):
    mon = subprocess.Popen(["gdbus", "monitor", "--address", bus.address, "--dest",
                            "org.juno.Broker1"], stdout=subprocess.PIPE, text=True)
    try:
        assert mon.stdout.readline().startswith("Monitoring signals")
        seen = []
        broker.module("alpha")
        n = [0]
        import select
        poll = select.poll()
        poll.register(mon.stdout, select.POLLIN)

        def got():
            while poll.poll(0):
                line = mon.stdout.readline()
                if not line:
                    break
                seen.append(line)
            if any("ModuleRegistered" in s and "'again" in s for s in seen):
                return True
            # the monitor may not have added its match rule yet: again
            n[0] += 1
            broker.module("again%d" % n[0])
            return False
        wait_until(got, what="gdbus monitor to print ModuleRegistered")
    finally:
        mon.terminate()
        mon.wait(10)
        mon.stdout.close()
