# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile D-Bus callers: every attack on the control plane, on a private
dbus-daemon with the real broker and real modules.  Each D-Bus peer is a
caller of its own; its JSON is checked with the protocol's grammar and
forwarded compactly; signals are bounded; the broker survives its bus."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from gi.repository import Gio, GLib

from junodbus import (ERROR_PREFIX, IFACE, TIMEOUT, PrivateBus, Proxy, SignalRecorder, drain,
                      wait_readable, wait_until)

PRETTY = """{
  "name": "x",
  "list": [
    1,
    2
  ],
  "nested": {
    "deep": "a\\nb"
  }
}
"""


def error_name(result):
    return Gio.DBusError.get_remote_error(result["error"])


def peer_proxy(bus):
    """A Proxy on a connection of its own: another bus peer."""
    p = Proxy(bus)
    p.conn = bus.connect()
    return p


# -- JSON from callers --------------------------------------------------------

def test_multi_line_arguments_reach_the_callee_whole(broker, proxy):
    m = broker.module("calc")
    m.declare("f")
    pending = proxy.call_async("CallFunction", "ss", ["calc.f", PRETTY])
    call = m.expect_call("f", json.loads(PRETTY))
    m.respond(call["requestId"], {"ok": True})
    wait_until(lambda: pending, what="the reply")
    assert json.loads(pending["reply"][0]) == {"ok": True}
    m.expect_nothing()


def test_multi_line_hook_data(broker, proxy):
    listener = broker.module("listener")
    listener.listen("src.ev")
    proxy.call("TriggerHook", "ss", ["src.ev", PRETTY])
    listener.expect_hook("src.ev", json.loads(PRETTY))
    listener.expect_nothing()


def test_no_injection(broker, proxy):
    """Text that would end the forwarded message and start another one is
    refused, or stays a string inside the one message."""
    m = broker.module("calc")
    m.declare("f")
    spy = broker.module("spy")
    spy.listen("juno.deactivated")
    spy.listen("juno.moduleActivated")
    forged = '{"requestId":"evil","type":6,"hook":"juno.deactivated","data":{}}'
    for args in ['{"a":1}\n' + forged,
                 '{"a":1},"caller":"root"}',
                 '{"a":1}}\n{"b":2',
                 '{"a":1}\r\n' + forged + '\r\n']:
        assert proxy.call_error("CallFunction", "ss", ["calc.f", args]) == ERROR_PREFIX + "InvalidArgs", args
    for data in ['{}\n' + forged, '{"a":1},"hook":"juno.deactivated"']:
        assert proxy.call_error("TriggerHook", "ss", ["spy.x", data]) == ERROR_PREFIX + "InvalidArgs", data
    # inside a string, newlines and quotes are escapes: one message, one value
    text = 'x"\n' + forged + '\n'
    pending = proxy.call_async("CallFunction", "ss", ["calc.f", json.dumps({"s": text})])
    call = m.expect_call("f", {"s": text}, caller="dbus:" + proxy.conn.get_unique_name())
    m.respond(call["requestId"], {})
    wait_until(lambda: pending, what="the reply")
    m.expect_nothing()
    spy.expect_nothing()


def test_oversized_arguments(bus, broker_factory):
    b = broker_factory(bus, args=["--max-message-size=4096"])
    proxy = Proxy(bus)
    m = b.module("calc")
    m.declare("f")
    listener = b.module("listener")
    listener.listen("src.ev")
    big = json.dumps({"s": "x" * 5000})
    assert proxy.call_error("CallFunction", "ss", ["calc.f", big]) == ERROR_PREFIX + "MessageTooLarge"
    assert proxy.call_error("TriggerHook", "ss", ["src.ev", big]) == ERROR_PREFIX + "MessageTooLarge"
    m.expect_nothing()
    listener.expect_nothing()
    # the limit is on the message juno sends: indentation does not count
    roomy = json.dumps({"s": "y" * 3000, "t": [1, 2, 3]}, indent=500)
    assert len(roomy) > 4096
    pending = proxy.call_async("CallFunction", "ss", ["calc.f", roomy])
    call = m.expect_call("f", {"s": "y" * 3000, "t": [1, 2, 3]})
    m.respond(call["requestId"], {"n": 1})
    wait_until(lambda: pending, what="the reply")
    assert "reply" in pending, pending


def test_answer_too_large_for_dbus(bus, broker_factory):
    """An answer juno may carry but D-Bus may not: an error at once, not a
    timeout, and not a message that would make the bus cut juno off."""
    b = broker_factory(bus, args=["--max-message-size=40000000"])
    m = b.module("big")
    m.declare("blob")
    pending = {}

    def done(conn, res):
        try:
            pending["reply"] = conn.call_finish(res)
        except GLib.Error as exc:
            pending["error"] = exc
    # a client that would wait a minute: the error comes long before
    bus.conn.call("org.juno.Broker1", "/org/juno/Broker1", IFACE, "CallFunction",
                  GLib.Variant("(ss)", ("big.blob", "")), None, 0, 60000, None, done)
    call = m.expect_call("blob")
    m.respond(call["requestId"], "b" * (31 * 1024 * 1024))
    wait_until(lambda: pending, timeout=60, what="the error")
    assert error_name(pending) == ERROR_PREFIX + "MessageTooLarge"
    assert Proxy(bus).call("ListModules")[0][0][0] == "big"


# -- each peer its own caller# -- each peer its own caller -------------------------------------------------

def test_each_peer_has_its_own_quota(bus, broker_factory):
    b = broker_factory(bus, args=["--max-calls-in-flight=4", "-V", "-V"])
    m = b.module("slow")
    m.declare("hang")
    m.declare("echo")
    greedy, other = peer_proxy(bus), peer_proxy(bus)
    hung = [greedy.call_async("CallFunction", "ss", ["slow.hang", "{}"]) for _ in range(4)]
    for _ in range(4):
        m.expect_call("hang", caller="dbus:" + greedy.conn.get_unique_name())
    # the greedy peer is at its limit...
    assert greedy.call_error("CallFunction", "ss", ["slow.hang", "{}"]) == ERROR_PREFIX + "TooManyCalls"
    # ...and the other is not hurt by it
    pending = other.call_async("CallFunction", "ss", ["slow.echo", '{"v":1}'])
    call = m.expect_call("echo", {"v": 1}, caller="dbus:" + other.conn.get_unique_name())
    m.respond(call["requestId"], {"v": 1})
    wait_until(lambda: pending, what="the other peer's reply")
    assert json.loads(pending["reply"][0]) == {"v": 1}
    # the greedy peer leaves: the broker forgets it and its calls
    greedy_name = greedy.conn.get_unique_name()
    greedy.conn.close_sync(None)
    wait_until(lambda: all(hung), what="the hung calls to end")
    wait_until(lambda: "(dbus:%s) removed" % greedy_name in b.read_log(), what="the peer to be removed")
    m.ping()
    other.conn.close_sync(None)


def test_callers_are_told_apart(bus, broker):
    m = broker.module("calc")
    m.declare("who")
    callers = set()
    for p in (peer_proxy(bus), peer_proxy(bus)):
        pending = p.call_async("CallFunction", "ss", ["calc.who", ""])
        call = m.expect_call("who")
        callers.add(call["caller"])
        assert call["caller"] == "dbus:" + p.conn.get_unique_name()
        assert ":" in call["caller"][len("dbus:"):]
        m.respond(call["requestId"], None)
        wait_until(lambda: pending, what="the reply")
        p.conn.close_sync(None)
    assert len(callers) == 2


def test_peer_credentials_from_the_bus(bus, broker_factory):
    b = broker_factory(bus, args=["-V", "-V"])
    m = b.module("calc")
    m.declare("f")
    proxy = Proxy(bus)
    pending = proxy.call_async("CallFunction", "ss", ["calc.f", ""])
    call = m.expect_call("f")
    m.respond(call["requestId"], 1)
    wait_until(lambda: pending, what="the reply")
    line = "D-Bus peer %s is uid %d, pid %d" % (proxy.conn.get_unique_name(), os.getuid(), os.getpid())
    wait_until(lambda: line in b.read_log(), what=line)


def test_call_timeout_before_busctl_gives_up(bus, broker_factory):
    b = broker_factory(bus, args=["--dbus-call-timeout=0.5"])
    m = b.module("slow")
    m.declare("hang")
    proxy = Proxy(bus)
    start = time.monotonic()
    assert proxy.call_error("CallFunction", "ss", ["slow.hang", ""]) == ERROR_PREFIX + "CallTimedOut"
    m.expect_call("hang")
    # a module's own calls keep --call-timeout (30 s): still in flight
    caller = b.module("caller")
    rid = caller.send_call("slow.hang", {})
    m.expect_call("hang")
    caller.expect_nothing(1.0)
    del rid, start


def test_default_dbus_call_timeout_is_documented():
    out = subprocess.run([os.environ.get("JUNO_BROKER", "juno"), "--help"], capture_output=True,
                         text=True, env=dict(os.environ, LANGUAGE="C", LC_ALL="C")).stdout
    assert "--dbus-call-timeout" in out and "default 20" in out


# -- signals ------------------------------------------------------------------

def test_declaration_burst_signals_are_bounded(bus, broker_factory):
    """30 000 declarations: a few small signals, not one per declaration
    carrying the whole list; another module is served all along."""
    broker = broker_factory(bus, args=["--max-names=30000"])
    proxy = Proxy(bus)
    rec = SignalRecorder(bus)
    many = broker.module("many")
    callee = broker.module("callee")
    callee.declare("ping")
    caller = broker.module("caller")
    n = 30000
    lines = b"".join(json.dumps({"requestId": "d%d" % i, "type": 9, "function": "fn%05d" % i}).encode() + b"\n"
                     for i in range(n))
    many.send_raw(lines)
    latencies = []
    acked = 0
    while acked < n:
        t0 = time.monotonic()
        rid = caller.send_call("callee.ping", {})
        call = callee.expect_call("ping")
        callee.respond(call["requestId"], {})
        reply = caller.recv()
        assert reply["requestId"] == rid
        latencies.append(time.monotonic() - t0)
        while many.has_pending():
            assert many.recv()["type"] == 10
            acked += 1
    sys.stderr.write("ping latency during the burst: max %.1f ms over %d pings\n"
                     % (max(latencies) * 1000, len(latencies)))
    obj = Proxy(bus, "/org/juno/Broker1/module/many", "org.juno.Module1")
    wait_until(lambda: len(obj.get("Functions")) == n, what="every function")
    def mine():
        return [s for s in rec.signals if s[0] == "/org/juno/Broker1/module/many"]
    wait_until(lambda: mine(), what="a PropertiesChanged for the module")
    drain(0.5)  # the last one, 100 ms after the last declaration
    mine = mine()
    assert 1 <= len(mine) <= 200, len(mine)
    for path, iface, member, args in mine:
        assert member == "PropertiesChanged" and args[1] == {} and args[2] == ["Functions"], args
    assert all(len(repr(s[3])) < 4096 for s in rec.signals)


def subscriber_process(address):
    """A subscriber in a process of its own, which the test can stop."""
    code = """
import sys
from gi.repository import Gio, GLib
c = Gio.DBusConnection.new_for_address_sync(sys.argv[1], Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
    Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
c.call_sync("org.juno.Broker1", "/org/juno/Broker1", "org.juno.Broker1", "Subscribe", None, None, 0, 10000, None)
print(c.get_unique_name(), flush=True)
GLib.MainLoop().run()
"""
    p = subprocess.Popen([sys.executable, "-c", code, address], stdout=subprocess.PIPE, text=True)
    assert wait_readable(p.stdout, TIMEOUT)
    return p, p.stdout.readline().strip()


def vm_rss_kib(pid):
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_stalled_subscriber_cannot_grow_the_bus(bus, broker, proxy):
    sub, name = subscriber_process(bus.address)
    try:
        flood = broker.module("flood")
        sub.send_signal(signal.SIGSTOP)
        before = vm_rss_kib(bus.proc.pid)
        payload = {"blob": "z" * 60000}
        chunk = b"".join(json.dumps({"requestId": "t%d" % i, "type": 7, "hook": "x", "data": payload}).encode()
                         + b"\n" for i in range(100))
        for _ in range(20):  # 2000 hooks, 120 MB
            flood.send_raw(chunk)
            for _ in range(100):
                assert flood.recv()["type"] == 8
        (stats,) = proxy.call("GetStats")
        assert stats["HooksDropped"] > 1500, stats["HooksDropped"]
        grown = vm_rss_kib(bus.proc.pid) - before
        sys.stderr.write("stopped subscriber: %d signals dropped, dbus-daemon grew by %d KiB\n"
                         % (stats["HooksDropped"], grown))
        assert grown < 16 * 1024, "dbus-daemon grew by %d KiB" % grown
        assert "does not read its HookTriggered" in broker.read_log()
    finally:
        sub.send_signal(signal.SIGCONT)
        sub.terminate()
        sub.wait(10)
        sub.stdout.close()
    # the subscriber is gone: hooks go on
    flood.trigger("after", {})


def test_reading_subscriber_loses_nothing(bus, broker, proxy):
    rec = SignalRecorder(bus, IFACE, "HookTriggered")
    proxy.call("Subscribe")
    flood = broker.module("flood")
    payload = {"blob": "q" * 10000}
    n = 300  # 3 MB: several windows
    flood.send_raw(b"".join(json.dumps({"requestId": "t%d" % i, "type": 7, "hook": "h", "data": payload}).encode()
                            + b"\n" for i in range(n)))
    for _ in range(n):
        assert flood.recv()["type"] == 8
    wait_until(lambda: len(rec.signals) == n, timeout=30, what="every HookTriggered")
    assert proxy.call("GetStats")[0]["HooksDropped"] == 0


# -- the bus goes and comes back ---------------------------------------------

class FixedAddressBus(PrivateBus):
    """A dbus-daemon on a socket path of the test's own, so that a new one
    can be started at the same address."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="juno-bus-")
        self.address = "unix:path=%s/bus" % self.dir
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--address=" + self.address, "--print-address=1"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith("DBUS_")})
        assert wait_readable(self.proc.stdout, TIMEOUT), "dbus-daemon printed no address"
        self.proc.stdout.readline()
        self.conn = self.connect()

    def kill(self):
        self.conn.close_sync(None)
        self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()
        os.unlink(self.address[len("unix:path="):])


@pytest.fixture
def fixed_bus():
    b = FixedAddressBus()
    yield b
    b.stop()
    shutil.rmtree(b.dir, ignore_errors=True)


def test_bus_restart(fixed_bus, broker_factory):
    b = broker_factory(fixed_bus)
    alpha = b.module("alpha")
    alpha.declare("f")
    fixed_bus.kill()
    wait_until(lambda: "Lost the D-Bus connection" in b.read_log(), what="the broker to notice")
    alpha.ping()
    b.module("beta").ping()
    fixed_bus.start()
    wait_until(lambda: fixed_bus.has_owner(), timeout=20, what="the broker to own its name again")
    assert "Connected to the D-Bus bus again" in b.read_log()
    (modules,) = Proxy(fixed_bus).call("ListModules")
    assert [m[0] for m in modules] == ["alpha", "beta"]
    # and it serves D-Bus callers as before
    pending = Proxy(fixed_bus).call_async("CallFunction", "ss", ["alpha.f", "{}"])
    call = alpha.expect_call("f")
    alpha.respond(call["requestId"], 7)
    wait_until(lambda: pending, what="the reply")
    assert pending["reply"] == ("7",)


# -- idle ---------------------------------------------------------------------

def context_switches(pid):
    """Context switches of each thread of @pid, by thread id."""
    counts = {}
    for task in Path("/proc/%d/task" % pid).iterdir():
        try:
            lines = (task / "status").read_text().splitlines()
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        counts[task.name] = sum(int(line.split()[1]) for line in lines
                                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))
    return counts


def test_idle_broker_sleeps(bus, broker, proxy):
    """With a bus, modules and a subscriber but no traffic, no thread of the
    broker (GDBus's worker included) wakes up."""
    m = broker.module("alpha")
    m.declare("f")
    proxy.call("Subscribe")
    proxy.call("GetStats")
    time.sleep(1.0)  # the last publication of the counters goes out
    before = context_switches(broker.proc.pid)
    time.sleep(3.0)
    after = context_switches(broker.proc.pid)
    # a GLib worker left from connecting to the bus ends once, about 15 s
    # after start: a thread that ended is no periodic wake-up
    woke = {tid: after[tid] - before[tid] for tid in after if after[tid] != before.get(tid, 0)}
    assert woke == {}, "wake-ups while idle, by thread: %r" % woke


def cpu_ticks(pid):
    """User and system CPU time of every thread of @pid, in clock ticks."""
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_busy_polling_broker_sleeps_when_idle(bus, broker_factory, proxy):
    """--busy-poll polls after busy turns only: after a burst of calls the
    broker answers as before, then sleeps, and 3 s idle cost it neither a
    wake-up nor the CPU time of polling."""
    broker = broker_factory(bus, args=["--busy-poll=1000"])
    callee = broker.module("echo")
    callee.declare("echo")
    caller = broker.module("caller")
    for i in range(200):
        rid = caller.send_call("echo.echo", {"i": i})
        forwarded = callee.expect_call("echo", {"i": i})
        callee.respond(forwarded["requestId"], {"i": i})
        reply = caller.recv()
        assert reply == {"requestId": rid, "type": 4, "data": {"i": i}}, reply
    proxy.call("GetStats")
    time.sleep(1.0)  # the last publication of the counters goes out
    before, ticks = context_switches(broker.proc.pid), cpu_ticks(broker.proc.pid)
    time.sleep(3.0)
    after, spent = context_switches(broker.proc.pid), cpu_ticks(broker.proc.pid) - ticks
    woke = {tid: after[tid] - before[tid] for tid in after if after[tid] != before.get(tid, 0)}
    assert woke == {}, "wake-ups while idle, by thread: %r" % woke
    # a broker that kept polling would have spent 300 ticks (at 100 Hz)
    assert spent <= 2, "%d clock ticks of CPU time in 3 s idle" % spent
