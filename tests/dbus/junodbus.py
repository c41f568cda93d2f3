# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers for the D-Bus and activation tests of juno.

A PrivateBus is a dbus-daemon of the test's own (`dbus-daemon --session
--nofork --print-address`).  A Broker is the real juno binary ($JUNO_BROKER)
on a socket in a temporary directory; start() waits for READY=1 on a notify
socket owned by the test.  Waits are bounded: they iterate the GLib main
context (for D-Bus replies and signals) until a condition holds or a
deadline passes.  Module (raw Juno protocol client) comes from the
integration tests' helper.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[0] / "integration"))

from junotest import Module, wait_readable  # noqa: E402,F401

BUS_NAME = "org.juno.Broker1"
PATH = "/org/juno/Broker1"
IFACE = "org.juno.Broker1"
MODULE_IFACE = "org.juno.Module1"
ERROR_PREFIX = "org.juno.Broker1.Error."
TIMEOUT = 10.0
BAD_LOG = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error|CRITICAL")


def broker_path():
    return os.environ.get("JUNO_BROKER") or str(HERE.parents[1] / "build" / "src" / "daemon" / "juno")


def clean_env(extra=None):
    env = dict(os.environ)
    for key in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                "DBUS_SESSION_BUS_ADDRESS", "WATCHDOG_USEC", "WATCHDOG_PID"):
        env.pop(key, None)
    env["G_DEBUG"] = "fatal-criticals"
    # no session bus by accident: XDG_RUNTIME_DIR/bus would be found
    env["XDG_RUNTIME_DIR"] = "/nonexistent-juno-test"
    if extra:
        env.update(extra)
    return env


def wait_until(predicate, timeout=TIMEOUT, what="a condition"):
    """Iterate the default main context until predicate() is true."""
    ctx = GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    tick = GLib.timeout_add(20, lambda: True)  # wakes the iteration up
    try:
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
            ctx.iteration(True)
    finally:
        GLib.source_remove(tick)


def drain(duration):
    """Dispatch D-Bus events for @duration seconds (to prove something does
    NOT happen, e.g. too many PropertiesChanged)."""
    end = time.monotonic() + duration
    wait_until(lambda: time.monotonic() >= end, duration + 5, "the end of the window")


class PrivateBus:
    def __init__(self):
        self.proc = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith("DBUS_")})
        assert wait_readable(self.proc.stdout, TIMEOUT), "dbus-daemon printed no address"
        self.address = self.proc.stdout.readline().decode().strip()
        assert self.address, "dbus-daemon printed no address"
        self.conn = self.connect()

    def connect(self):
        flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
                 Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
        return Gio.DBusConnection.new_for_address_sync(self.address, flags, None, None)

    def has_owner(self, name=BUS_NAME):
        reply = self.conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                    "org.freedesktop.DBus", "NameHasOwner",
                                    GLib.Variant("(s)", (name,)), None, 0, 5000, None)
        return reply.unpack()[0]

    def stop(self):
        if self.conn is not None and not self.conn.is_closed():
            self.conn.close_sync(None)
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc.stdout.close()


class Broker:
    """The real juno on a Unix socket, optionally on @bus (a PrivateBus)."""

    def __init__(self, bus=None, args=(), env=None, command=None, bus_arg=True):
        self.dir = Path(tempfile.mkdtemp(prefix="juno-dbus-"))
        self.socket_path = self.dir / "juno.sock"
        self.notify_path = self.dir / "notify"
        self.log_path = self.dir / "broker.log"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.setblocking(False)
        self.notifications = []
        self.bus = bus
        self.clients = []
        self.env = dict(env or {})
        if bus is not None:
            self.env["DBUS_SESSION_BUS_ADDRESS"] = bus.address
        self.args = list(args)
        if bus is not None and bus_arg and not any(a.startswith("--bus") for a in self.args):
            self.args.append("--bus=session")
        self.command = command or [broker_path(), "-s", str(self.socket_path)] + self.args
        self.proc = None

    def start(self, wait_ready=True, notify_socket=None):
        """@notify_socket: the NOTIFY_SOCKET to give (default: the test's
        own; "" for none)."""
        env = clean_env(self.env)
        if notify_socket is None:
            env["NOTIFY_SOCKET"] = str(self.notify_path)
        elif notify_socket:
            env["NOTIFY_SOCKET"] = notify_socket
        else:
            env.pop("NOTIFY_SOCKET", None)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env, cwd=str(self.dir),
                                     pass_fds=getattr(self, "pass_fds", ()))
        if wait_ready:
            self.wait_notify("READY=1")
        return self

    def read_notifications(self, timeout):
        ready = wait_readable(self.notify, timeout)
        while ready:
            try:
                data = self.notify.recv(4096)
            except BlockingIOError:
                break
            self.notifications.extend(data.decode(errors="replace").split("\n"))
            ready = wait_readable(self.notify, 0)

    def wait_notify(self, what, timeout=TIMEOUT):
        """Wait for a notification equal to @what, or starting with it when
        it ends with '='."""
        def seen():
            return any(n == what or (what.endswith("=") and n.startswith(what))
                       for n in self.notifications)
        deadline = time.monotonic() + timeout
        while not seen():
            left = deadline - time.monotonic()
            if self.proc.poll() is not None and left > 0:
                self.read_notifications(0)
                if seen():
                    break
                raise AssertionError("broker exited (%d) before %s:\n%s"
                                     % (self.proc.returncode, what, self.read_log()))
            if left <= 0:
                raise AssertionError("no %s within %.0f s:\n%s" % (what, timeout, self.read_log()))
            self.read_notifications(min(left, 0.1))
        return [n for n in self.notifications if n == what or n.startswith(what)]

    def read_log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def module(self, module_id, version="1.0.0", deps=None, active=True):
        m = Module(str(self.socket_path), name=module_id)
        self.clients.append(m)
        if deps is None:
            m.register(module_id, version, active=active)
        else:
            m.register(module_id, version, deps, active=active)
        return m

    def connect(self):
        m = Module(str(self.socket_path))
        self.clients.append(m)
        return m

    def stop(self):
        for m in self.clients:
            m.close()
        self.clients = []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("broker did not stop on SIGTERM")
        self.log.close()
        return status

    def check_clean(self):
        bad = [line for line in self.read_log().splitlines() if BAD_LOG.search(line)]
        assert not bad, "broker log reports problems:\n" + "\n".join(bad[:20])

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Proxy:
    """Calls on the broker object through a plain GDBusConnection."""

    def __init__(self, bus, path=PATH, iface=IFACE):
        self.conn = bus.conn
        self.path = path
        self.iface = iface

    def call(self, method, signature=None, args=(), timeout=TIMEOUT):
        params = GLib.Variant("(%s)" % signature, tuple(args)) if signature else None
        reply = self.conn.call_sync(BUS_NAME, self.path, self.iface, method, params,
                                    None, 0, int(timeout * 1000), None)
        return reply.unpack()

    def call_async(self, method, signature, args):
        """Starts a call; returns a dict that gets 'reply' or 'error'."""
        result = {}

        def done(conn, res):
            try:
                result["reply"] = conn.call_finish(res).unpack()
            except GLib.Error as exc:
                result["error"] = exc

        self.conn.call(BUS_NAME, self.path, self.iface, method,
                       GLib.Variant("(%s)" % signature, tuple(args)), None, 0,
                       int(TIMEOUT * 1000), None, done)
        return result

    def call_error(self, method, signature, args):
        """The D-Bus error name of a failing call."""
        try:
            self.call(method, signature, args)
        except GLib.Error as exc:
            return Gio.DBusError.get_remote_error(exc)
        raise AssertionError("%s%r did not fail" % (method, tuple(args)))

    def get(self, prop):
        reply = self.conn.call_sync(BUS_NAME, self.path, "org.freedesktop.DBus.Properties", "Get",
                                    GLib.Variant("(ss)", (self.iface, prop)), None, 0,
                                    int(TIMEOUT * 1000), None)
        return reply.unpack()[0]

    def get_all(self):
        reply = self.conn.call_sync(BUS_NAME, self.path, "org.freedesktop.DBus.Properties", "GetAll",
                                    GLib.Variant("(s)", (self.iface,)), None, 0,
                                    int(TIMEOUT * 1000), None)
        return reply.unpack()[0]


class SignalRecorder:
    """Records every signal from the broker's name on the bus."""

    def __init__(self, bus, iface=None, member=None, path=None):
        self.conn = bus.conn
        self.signals = []
        self.sub = self.conn.signal_subscribe(BUS_NAME, iface, member, path, None,
                                              Gio.DBusSignalFlags.NONE, self._on_signal)
        # AddMatch went out first on this connection: once a later call is
        # answered, the bus applies the rule
        self.conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                            "GetId", None, None, 0, 5000, None)

    def _on_signal(self, conn, sender, path, iface, member, params):
        self.signals.append((path, iface, member, params.unpack()))

    def named(self, member):
        return [s for s in self.signals if s[2] == member]

    def wait_for(self, member, args=None, timeout=TIMEOUT):
        def found():
            return any(s[2] == member and (args is None or s[3] == args) for s in self.signals)
        wait_until(found, timeout, "signal %s%s (got %r)" % (member, args or "", self.signals))
        return [s for s in self.signals if s[2] == member and (args is None or s[3] == args)]

    def close(self):
        self.conn.signal_unsubscribe(self.sub)
