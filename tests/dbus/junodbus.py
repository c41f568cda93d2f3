# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers for the D-Bus and activation tests of juno.

Broker, PrivateBus and Module come from the shared harness (tests/lib).
Here: calls and signals through a plain GDBusConnection, and bounded waits
that iterate the GLib main context (for D-Bus replies and signals) until a
condition holds or a deadline passes.
"""

import sys
import time
from pathlib import Path

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from junobroker import Broker, PrivateBus, broker_path  # noqa: E402,F401
from junotest import Module, wait_readable  # noqa: E402,F401

BUS_NAME = "org.juno.Broker1"
PATH = "/org/juno/Broker1"
IFACE = "org.juno.Broker1"
MODULE_IFACE = "org.juno.Module1"
ERROR_PREFIX = "org.juno.Broker1.Error."
TIMEOUT = 10.0


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


def managed_objects(bus):
    """The broker's ObjectManager tree: path -> interface -> properties."""
    reply = bus.conn.call_sync(BUS_NAME, PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", None, None, 0, 30000, None)
    return reply.unpack()[0]


class SignalRecorder:
    """Records every signal from the broker's name on the bus."""

    def __init__(self, bus, iface=None, member=None, path=None):
        self.conn = bus.conn
        self.signals = []
        # The broker sends its signals from GDBus's worker thread: one it
        # emitted before the caller got an answer over the socket may still
        # be on its way. A call the broker's main loop answers goes out
        # after every signal it emitted earlier, so once it is answered,
        # the bus has routed them all and none of them is recorded here.
        try:
            self.conn.call_sync(BUS_NAME, PATH, "org.freedesktop.DBus.Properties", "Get",
                                GLib.Variant("(ss)", (IFACE, "Version")), None, 0, 5000, None)
        except GLib.Error:
            pass  # no broker on the bus yet: nothing of it to wait for
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
