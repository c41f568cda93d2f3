# SPDX-License-Identifier: LGPL-2.1-or-later
"""The real juno broker for tests, and a private dbus-daemon beside it.

Every Python suite (integration, dbus, activation, client) starts brokers
through this module, so they all run the broker the same way:

- the binary is $JUNO_BROKER (default build/src/daemon/juno);
- it runs in a temporary directory of its own (socket, log, notify socket),
  with an environment cleaned of the caller's systemd and D-Bus variables,
  so a test never joins the real session bus nor takes a fixed path;
- readiness is READY=1 on a notify socket the test owns. A thread drains that
  socket for the broker's whole life, as the service manager does: the
  broker's notifications are datagrams, and a queue nobody reads (at most
  net.unix.max_dgram_qlen of them, 10 by default) would block it;
- its stdout and stderr go to a log file, attached to the report of a failing
  test by the fixtures (junofixtures.py); finish() stops it, requires exit
  status 0 and a log free of sanitizer reports and GLib criticals.

PrivateBus is a dbus-daemon of the test's own (`dbus-daemon --session`); a
Broker given one is on it with --bus=session.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from junotest import Module, wait_readable

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = float(os.environ.get("JUNO_TEST_READY_TIMEOUT", "20"))
STOP_TIMEOUT = 20.0
NOTIFY_TIMEOUT = 10.0
# A runtime directory that does not exist: no $XDG_RUNTIME_DIR/bus by accident.
NO_RUNTIME_DIR = "/nonexistent-juno-test"
# and no juno.conf(5) or policy files of the user running the tests
NO_CONFIG_HOME = "/nonexistent/juno-test-config"

BAD_LOG_PATTERNS = re.compile(
    r"AddressSanitizer|LeakSanitizer|runtime error|CRITICAL|ThreadSanitizer")

# What the caller's environment must not pass on to a test broker.
_FOREIGN_ENV = ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                "WATCHDOG_USEC", "WATCHDOG_PID", "DBUS_SESSION_BUS_ADDRESS",
                "DBUS_SYSTEM_BUS_ADDRESS")


def broker_path():
    path = os.environ.get("JUNO_BROKER")
    if path:
        return Path(path)
    return REPO_ROOT / "build" / "src" / "daemon" / "juno"


def broker_env(extra=None):
    """The environment of a test broker: the caller's, without its service
    manager and bus variables, plus @extra."""
    env = dict(os.environ)
    for key in _FOREIGN_ENV:
        env.pop(key, None)
    env["G_DEBUG"] = "fatal-criticals"
    env["XDG_RUNTIME_DIR"] = NO_RUNTIME_DIR
    env["XDG_CONFIG_HOME"] = NO_CONFIG_HOME
    if extra:
        env.update(extra)
    return env


def check_log_clean(text):
    bad = [line for line in text.splitlines() if BAD_LOG_PATTERNS.search(line)]
    assert not bad, "broker log reports problems:\n" + "\n".join(bad[:20])


def describe_exit(status):
    if status < 0:
        try:
            return "killed by signal %s" % signal.Signals(-status).name
        except ValueError:
            return "killed by signal %d" % -status
    return "exit status %d" % status


class PrivateBus:
    """A dbus-daemon of the test's own, on a socket it picks."""

    def __init__(self, config=None):
        args = ["--config-file=%s" % config] if config else ["--session"]
        self.proc = subprocess.Popen(
            ["dbus-daemon"] + args + ["--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith("DBUS_")})
        assert wait_readable(self.proc.stdout, NOTIFY_TIMEOUT), "dbus-daemon printed no address"
        self.address = self.proc.stdout.readline().decode().strip()
        assert self.address, "dbus-daemon printed no address"
        self.conn = self.connect()

    def connect(self):
        import gi
        gi.require_version("Gio", "2.0")
        from gi.repository import Gio

        flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
                 Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
        return Gio.DBusConnection.new_for_address_sync(self.address, flags, None, None)

    def has_owner(self, name="org.juno.Broker1"):
        from gi.repository import GLib
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
    """One broker process in a temporary directory of its own.

    @bus: a PrivateBus to put the broker on (adds --bus=session unless
    @bus_arg is false or @args names --bus); @unix: listen on dir/juno.sock
    (or @socket_path); @tcp: also on an ephemeral TCP port (found in the log:
    .tcp_host, .port); @args: more options; @env: more environment;
    @command: the whole command line instead (e.g. under a wrapper);
    @stderr: where stderr goes instead of the log; @preexec_fn, @cwd,
    @pass_fds: as for subprocess.Popen.
    """

    def __init__(self, bus=None, *, unix=True, tcp=False, args=(), env=None,
                 socket_path=None, command=None, bus_arg=True, stderr=None,
                 preexec_fn=None, cwd=None, pass_fds=(), prefix="juno-test-"):
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.socket_path = Path(socket_path) if socket_path else self.dir / "juno.sock"
        self.lock_path = Path(str(self.socket_path) + ".lock")
        self.notify_path = self.dir / "notify"
        self.log_path = self.dir / "broker.log"
        self.bus = bus
        self.unix = unix
        self.tcp = tcp
        self.args = list(args)
        self.env = dict(env or {})
        if bus is not None:
            self.env["DBUS_SESSION_BUS_ADDRESS"] = bus.address
            if bus_arg and not any(a.startswith("--bus") for a in self.args):
                self.args.append("--bus=session")
        self._command = command
        self.stderr = stderr
        self.preexec_fn = preexec_fn
        self.cwd = cwd or self.dir
        self.pass_fds = tuple(pass_fds)
        self.proc = None
        self.log = None
        self.port = None
        self.tcp_host = None
        self.saved_log = None
        self.clients = []
        self.notifications = []
        self._lock = threading.Condition()
        self._closing = False
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.setblocking(False)
        self._reader = threading.Thread(target=self._read_notify_loop, daemon=True)
        self._reader.start()

    # Older names of the same lists
    @property
    def extra_args(self):
        return self.args

    @property
    def extra_env(self):
        return self.env

    @property
    def command(self):
        """The command line; set it to run another one (e.g. a wrapper)."""
        return self.argv()

    @command.setter
    def command(self, value):
        self._command = value

    @property
    def returncode(self):
        return self.proc.returncode if self.proc is not None else None

    # -- process -----------------------------------------------------------

    def argv(self):
        """The command line start() runs."""
        if self._command is not None:
            return [str(a) for a in self._command]
        cmd = [str(broker_path())]
        if self.unix:
            cmd += ["-s", str(self.socket_path)]
        if self.tcp:
            cmd += ["-p", "0"]
        return cmd + self.args

    def start(self, wait_ready=True, notify_socket=None):
        """Starts the broker (again, after stop()); waits for READY=1 unless
        told not to. @notify_socket: the NOTIFY_SOCKET to give instead of the
        test's own, "" for none."""
        env = broker_env(self.env)
        if notify_socket is None:
            env["NOTIFY_SOCKET"] = str(self.notify_path)
        elif notify_socket:
            env["NOTIFY_SOCKET"] = notify_socket
        if self.log is None or self.log.closed:
            self.log = open(self.log_path, "ab")
        with self._lock:
            self._drain_notify()  # what a previous run sent
            self.notifications.clear()
        self.port = None
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.stderr if self.stderr is not None else subprocess.STDOUT,
                                     env=env, cwd=str(self.cwd), preexec_fn=self.preexec_fn,
                                     pass_fds=self.pass_fds)
        if wait_ready:
            self.wait_notify("READY=1", READY_TIMEOUT)
            if self.tcp:
                self._find_port()
        return self

    def _find_port(self):
        pattern = re.compile(r"Listening on tcp:([0-9.]+):(\d+)")
        deadline = time.monotonic() + 5
        while True:
            m = pattern.search(self.read_log())
            if m:
                self.tcp_host, self.port = m.group(1), int(m.group(2))
                assert self.port != 0, "broker logged port 0 instead of the real port"
                return
            assert time.monotonic() < deadline, \
                "no 'Listening on tcp:ADDR:PORT' line in the log:\n" + self.read_log()
            time.sleep(0.02)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, signum):
        self.proc.send_signal(signum)

    def wait(self, timeout=STOP_TIMEOUT):
        """Waits for the broker to exit; returns its status."""
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("broker did not exit within %.0f s" % timeout) from None
        self.log.close()
        return status

    def stop(self, signum=signal.SIGTERM):
        """Stops the broker (SIGTERM) and returns its exit status."""
        if self.proc.poll() is None:
            self.send_signal(signum)
        return self.wait()

    def finish(self):
        """End of a test: a broker still running must stop with status 0,
        and the log must be clean. Returns the problems found."""
        problems = []
        if self.proc is not None and self.proc.returncode is None:
            if self.proc.poll() is not None:
                problems.append("broker died during the test: %s" % describe_exit(self.proc.returncode))
            else:
                try:
                    status = Broker.stop(self)
                    if status != 0:
                        problems.append("broker %s on SIGTERM" % describe_exit(status))
                except AssertionError as exc:
                    problems.append(str(exc))
        try:
            check_log_clean(self.read_log())
        except AssertionError as exc:
            problems.append(str(exc))
        return problems

    def cleanup(self):
        """Kills what is left and removes the directory (keeps the log text)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.log is not None:
            self.log.close()
        self.saved_log = self.read_log()
        for m in self.clients:
            m.close()
        self.clients = []
        with self._lock:
            self._closing = True
        self._reader.join(5)
        self.notify.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def read_log(self):
        if self.saved_log is not None:
            return self.saved_log
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def check_clean(self):
        check_log_clean(self.read_log())

    # -- notifications -----------------------------------------------------

    def _drain_notify(self):
        """Reads every queued datagram; call with the lock held."""
        got = False
        while True:
            try:
                data = self.notify.recv(4096)
            except (BlockingIOError, OSError):
                break
            self.notifications.extend(data.decode(errors="replace").split("\n"))
            got = True
        if got:
            self._lock.notify_all()

    def _read_notify_loop(self):
        while True:
            with self._lock:
                if self._closing:
                    return
            wait_readable(self.notify, 0.1)
            with self._lock:
                if self._closing:
                    return
                self._drain_notify()

    def read_notifications(self, timeout):
        """Collects notifications: returns when new ones came, or after
        @timeout seconds."""
        with self._lock:
            before = len(self.notifications)
            self._drain_notify()
            self._lock.wait_for(lambda: len(self.notifications) > before, timeout)

    def wait_notify(self, what, timeout=NOTIFY_TIMEOUT):
        """Waits for a notification equal to @what, or starting with it when
        it ends with '='; returns the matching ones."""
        def matches(n):
            return n == what or (what.endswith("=") and n.startswith(what))

        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                self._drain_notify()
                found = [n for n in self.notifications if matches(n)]
                if found:
                    return found
                if self.proc.poll() is not None:
                    self._drain_notify()
                    found = [n for n in self.notifications if matches(n)]
                    if found:
                        return found
                    raise AssertionError("broker exited with status %d before sending %s:\n%s"
                                         % (self.proc.returncode, what, self.read_log()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("broker did not send %s within %.0f s:\n%s"
                                         % (what, timeout, self.read_log()))
                self._lock.wait(min(left, 0.1))

    # -- clients -----------------------------------------------------------

    def connect(self, *, tcp=False, name=None, rcvbuf=None):
        """A new raw connection, closed at cleanup at the latest."""
        if tcp:
            assert self.port, "broker has no TCP listener"
            m = Module((self.tcp_host, self.port), tcp=True, name=name, rcvbuf=rcvbuf)
        else:
            m = Module(str(self.socket_path), name=name, rcvbuf=rcvbuf)
        self.clients.append(m)
        return m

    def module(self, module_id, version="1.0.0", deps=None, *, tcp=False, active=True):
        """Connects and registers a module."""
        m = self.connect(tcp=tcp, name=module_id)
        if deps is None:
            m.register(module_id, version, active=active)
        else:
            m.register(module_id, version, deps, active=active)
        return m
