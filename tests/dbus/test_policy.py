# SPDX-License-Identifier: LGPL-2.1-or-later
"""The system bus policy (data/org.juno.Broker1.conf) on a dbus-daemon whose
other rules are those of Debian's system bus: everyone may read and
introspect and send CallFunction and TriggerHook, which juno's access policy
decides with the caller's uid; only root may subscribe to hook data.  The
tests run as root (tests/lib/as-root.sh: through sudo for a user) and play
the other user with setpriv."""

import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from junodbus import TIMEOUT, wait_readable

SYSTEM_LIKE = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"""


class SystemLikeBus:
    def __init__(self, policy):
        self.dir = Path(tempfile.mkdtemp(prefix="juno-policy-"))
        os.chmod(self.dir, 0o755)
        self.socket = self.dir / "bus"
        config = self.dir / "bus.conf"
        config.write_text(SYSTEM_LIKE.format(socket=self.socket, policy=policy))
        self.proc = subprocess.Popen(["dbus-daemon", "--config-file=%s" % config, "--nofork",
                                      "--print-address=1"], stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        assert wait_readable(self.proc.stdout, TIMEOUT), "dbus-daemon printed no address"
        self.address = self.proc.stdout.readline().decode().strip()
        assert self.address

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()


@pytest.fixture
def system_bus():
    builddir = os.environ.get("JUNO_DATA_BUILDDIR")
    policy = Path(builddir) / "org.juno.Broker1.conf" if builddir else None
    assert policy and policy.exists(), "set JUNO_DATA_BUILDDIR to the build's data/ directory"
    bus = SystemLikeBus(policy)
    yield bus
    bus.stop()


@pytest.fixture
def policy_broker(system_bus, broker_factory):
    # --bus=system finds the bus through DBUS_SYSTEM_BUS_ADDRESS
    b = broker_factory(None, start=False, args=["--bus=system"],
                       env={"DBUS_SYSTEM_BUS_ADDRESS": system_bus.address})
    os.chmod(b.dir, 0o755)
    b.start()
    assert "Owning the D-Bus name" in b.read_log(), b.read_log()
    return b


class LineReader:
    """A process whose stdout is read line by line with a deadline.

    The lines are split here, from os.read(): select() on a pipe says
    nothing about lines a buffered reader (readline) already holds, so
    select + readline can wait for a line that has arrived."""

    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, bufsize=0)
        self.pending = b""
        self.eof = False

    def read_until(self, what, deadline):
        """The lines up to the first one that holds @what (the rest stays)."""
        seen = []
        while True:
            while b"\n" in self.pending:
                line, self.pending = self.pending.split(b"\n", 1)
                seen.append(line.decode(errors="replace"))
                if what in seen[-1]:
                    return seen
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                raise AssertionError("no %r in %r" % (what, seen))
            if wait_readable(self.proc.stdout, left):
                data = os.read(self.proc.stdout.fileno(), 65536)
                self.eof = not data
                self.pending += data

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()


def busctl(bus, *args, user=None):
    cmd = ["busctl", "--address=" + bus.address] + list(args)
    if user:
        cmd = ["setpriv", "--reuid=%s" % user, "--regid=%s" % user, "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def call(bus, method, *args, user=None):
    return busctl(bus, "call", "org.juno.Broker1", "/org/juno/Broker1", "org.juno.Broker1",
                  method, *args, user=user)


def test_anyone_reads(system_bus, policy_broker):
    policy_broker.module("alpha")
    for user in (None, "65534"):
        for args in (("ListModules",), ("GetStats",), ("GetModuleInfo", "s", "alpha")):
            r = call(system_bus, *args, user=user)
            assert r.returncode == 0, (user, args, r.stderr)
        r = busctl(system_bus, "introspect", "org.juno.Broker1", "/org/juno/Broker1", user=user)
        assert r.returncode == 0 and ".CallFunction" in r.stdout, (user, r.stderr)
        r = busctl(system_bus, "get-property", "org.juno.Broker1", "/org/juno/Broker1/module/alpha",
                   "org.juno.Module1", "Version", user=user)
        assert r.returncode == 0 and '"1.0.0"' in r.stdout, (user, r.stderr)
        r = busctl(system_bus, "tree", "org.juno.Broker1", user=user)
        assert r.returncode == 0 and "/org/juno/Broker1/module/alpha" in r.stdout, (user, r.stderr)


# busctl prints the error's text, not its name: the text of code 13
# (AccessDenied), from the common table
DENIED = "Access denied by the broker's policy (protocol error 13)"


def test_calls_and_triggers_follow_the_access_policy(system_bus, policy_broker):
    """CallFunction and TriggerHook reach the broker from anyone; its access
    policy decides with the caller's uid: another user gets discovery only
    (AccessDenied for the rest), root everything."""
    m = policy_broker.module("alpha")
    m.declare("f")
    m.listen("alpha.x")
    r = call(system_bus, "CallFunction", "ss", "juno.listModules", "{}", user="65534")
    assert r.returncode == 0 and "alpha" in r.stdout, r.stderr
    r = call(system_bus, "CallFunction", "ss", "alpha.f", "{}", user="65534")
    assert r.returncode != 0 and DENIED in r.stderr, r.stderr
    r = call(system_bus, "TriggerHook", "ss", "alpha.x", "{}", user="65534")
    assert r.returncode != 0 and DENIED in r.stderr, r.stderr
    m.expect_nothing()
    assert "access denied: call 'alpha.f'" in policy_broker.read_log()
    r = call(system_bus, "CallFunction", "ss", "juno.listModules", "{}")
    assert r.returncode == 0 and "alpha" in r.stdout, r.stderr
    r = call(system_bus, "TriggerHook", "ss", "alpha.x", "{}")
    assert r.returncode == 0, r.stderr
    m.expect_hook("alpha.x", {})


def test_granted_user_calls_through_dbus(system_bus, broker_factory, tmp_path):
    """A rule for a uid holds on D-Bus as on the socket: uid 65534 may call
    alpha.f, and only that."""
    (tmp_path / "50-nobody.conf").write_text("[Allow nobody calls f]\nUser=65534\nCall=alpha.f\n")
    b = broker_factory(None, start=False, args=["--bus=system", "--policy-dir", str(tmp_path)],
                       env={"DBUS_SYSTEM_BUS_ADDRESS": system_bus.address})
    os.chmod(b.dir, 0o755)
    b.start()
    m = b.module("alpha")
    m.declare("f")
    m.declare("g")
    r = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "busctl",
                          "--address=" + system_bus.address, "call", "org.juno.Broker1",
                          "/org/juno/Broker1", "org.juno.Broker1", "CallFunction", "ss", "alpha.f", "{}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    call_msg = m.expect_call("f", {})
    assert call_msg["caller"].startswith("dbus:"), call_msg
    m.respond(call_msg["requestId"], "yes")
    out, err = r.communicate(timeout=30)
    assert r.returncode == 0 and "yes" in out, err
    r = call(system_bus, "CallFunction", "ss", "alpha.g", "{}", user="65534")
    assert r.returncode != 0 and DENIED in r.stderr, r.stderr


def test_only_root_subscribes(system_bus, policy_broker):
    """Hook data can be private: an ordinary user may not turn HookTriggered on."""
    r = call(system_bus, "Subscribe", user="65534")
    assert r.returncode != 0 and "denied" in r.stderr.lower(), r.stderr
    # busctl's connection ends with the call, and with it the subscription
    r = call(system_bus, "Subscribe")
    assert r.returncode == 0, r.stderr


def test_only_root_receives_hook_data(system_bus, policy_broker):
    """While root is subscribed, HookTriggered reaches root's match rules but
    not an ordinary user's, who still gets the other signals."""
    import select
    import time
    from junodbus import PrivateBus, Proxy, wait_until

    def monitor(user):
        # line-buffered: gdbus writes to a pipe in blocks otherwise
        cmd = ["stdbuf", "-oL", "gdbus", "monitor", "--address", system_bus.address,
               "--dest", "org.juno.Broker1"]
        if user:
            cmd = ["setpriv", "--reuid=%s" % user, "--regid=%s" % user, "--clear-groups"] + cmd
        p = LineReader(cmd)
        assert p.read_until("Monitoring", time.monotonic() + TIMEOUT)[0].startswith("Monitoring")
        return p

    bus = PrivateBus.__new__(PrivateBus)  # only its connect(): to this bus
    bus.address = system_bus.address
    conn = bus.connect()
    root_mon, user_mon = monitor(None), monitor("65534")
    try:
        subscriber = Proxy.__new__(Proxy)
        subscriber.conn, subscriber.path, subscriber.iface = conn, "/org/juno/Broker1", "org.juno.Broker1"
        subscriber.call("Subscribe")
        deadline = time.monotonic() + TIMEOUT
        # gdbus adds its match rule after printing that the name has an
        # owner: register warm-up modules until both monitors see one
        warm = []
        for mon in (root_mon, user_mon):
            while True:
                warm.append(policy_broker.module("warmup%d" % len(warm)))
                try:
                    mon.read_until("'warmup%d'" % (len(warm) - 1), time.monotonic() + 0.5)
                    break
                except AssertionError:
                    assert time.monotonic() < deadline, "the monitors never saw a module register"
        # HookTriggered goes to the subscriber alone
        got = []
        conn.signal_subscribe(None, "org.juno.Broker1", "HookTriggered", None, None, 0,
                              lambda *args: got.append(args[5].unpack()))
        m = policy_broker.module("alpha")
        m.trigger("secret", {"pin": 1234})
        wait_until(lambda: got, what="the subscriber's HookTriggered")
        assert got[0] == ("alpha.secret", '{"pin":1234}'), got
        # beta registers after the hook: once the user sees that, a
        # HookTriggered would have been seen too
        policy_broker.module("beta")
        user_seen = user_mon.read_until("'beta'", deadline)
        assert any("'alpha'" in line for line in user_seen), user_seen
        assert not any("HookTriggered" in line or "1234" in line for line in user_seen), user_seen
    finally:
        for p in (root_mon, user_mon):
            p.close()
        conn.close_sync(None)


def test_only_root_owns_the_name(system_bus, policy_broker):
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "gdbus", "call", "--address", system_bus.address, "--dest",
                        "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
                        "--method", "org.freedesktop.DBus.RequestName", "org.juno.Broker1", "4"],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and "AccessDenied" in r.stderr, r.stderr
