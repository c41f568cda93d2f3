# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for the juno integration tests.

Each test starts the real broker binary (path from $JUNO_BROKER, default
build/src/daemon/juno) in a private temporary directory, waits for READY=1 on
a notify socket owned by the test, and on teardown stops it with SIGTERM and
checks that it exited cleanly without sanitizer or GLib critical reports.  The
broker's stderr is attached to the report of a failing test.

Run by hand from the top of the tree:

    JUNO_BROKER=build/src/daemon/juno python3 -m pytest tests/integration

or through meson: meson test -C build --suite integration.
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

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from junotest import Module, wait_readable  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = float(os.environ.get("JUNO_TEST_READY_TIMEOUT", "20"))
STOP_TIMEOUT = 20.0

BAD_LOG_PATTERNS = re.compile(
    r"AddressSanitizer|LeakSanitizer|runtime error|CRITICAL|ThreadSanitizer")


def broker_path():
    path = os.environ.get("JUNO_BROKER")
    if path:
        return Path(path)
    return REPO_ROOT / "build" / "src" / "daemon" / "juno"


def project_version():
    """The broker's version, from the top-level meson.build."""
    text = (REPO_ROOT / "meson.build").read_text()
    m = re.search(r"project\([^)]*?version\s*:\s*'([^']+)'", text, re.S)
    assert m, "cannot find the project version in meson.build"
    return m.group(1)


def broker_env(extra=None):
    env = dict(os.environ)
    env["G_DEBUG"] = "fatal-criticals"
    env.pop("NOTIFY_SOCKET", None)
    env.pop("LISTEN_FDS", None)
    env.pop("LISTEN_PID", None)
    env.pop("LISTEN_FDNAMES", None)
    if extra:
        env.update(extra)
    return env


def run_juno(args, *, timeout=15, env=None, cwd=None):
    """Run the broker to completion (for options that make it exit)."""
    try:
        return subprocess.run([str(broker_path())] + list(args),
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, env=broker_env(env), cwd=cwd)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("juno %s did not exit within %d s (stderr: %r)"
                             % (" ".join(args), timeout, exc.stderr)) from None


def check_log_clean(text):
    bad = [line for line in text.splitlines() if BAD_LOG_PATTERNS.search(line)]
    assert not bad, "broker log reports problems:\n" + "\n".join(bad[:20])


class Broker:
    """One broker process with its own temporary directory."""

    def __init__(self, *, unix=True, tcp=False, args=(), env=None,
                 socket_path=None, preexec_fn=None, cwd=None):
        self.dir = Path(tempfile.mkdtemp(prefix="juno-it-"))
        self.socket_path = Path(socket_path) if socket_path else self.dir / "juno.sock"
        self.lock_path = Path(str(self.socket_path) + ".lock")
        self.notify_path = self.dir / "notify"
        self.log_path = self.dir / "broker.log"
        self.unix = unix
        self.tcp = tcp
        self.extra_args = list(args)
        self.extra_env = env or {}
        self.preexec_fn = preexec_fn
        self.cwd = cwd or self.dir
        self.proc = None
        self.port = None
        self.tcp_host = None
        self.returncode = None
        self.notifications = []
        self.saved_log = None
        self.clients = []
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.setblocking(False)

    # -- process -----------------------------------------------------------

    def command(self):
        cmd = [str(broker_path())]
        if self.unix:
            cmd += ["-s", str(self.socket_path)]
        if self.tcp:
            cmd += ["-p", "0"]
        return cmd + self.extra_args

    def start(self, wait_ready=True):
        env = broker_env(self.extra_env)
        env["NOTIFY_SOCKET"] = str(self.notify_path)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, cwd=str(self.cwd),
                                     preexec_fn=self.preexec_fn)
        if wait_ready:
            self.wait_notify("READY=1", READY_TIMEOUT)
            if self.tcp:
                self._find_port()
        return self

    def read_notifications(self, timeout):
        """Collect notify datagrams for at most @timeout seconds."""
        r = wait_readable(self.notify, timeout)
        while r:
            try:
                data = self.notify.recv(4096)
            except BlockingIOError:
                break
            self.notifications.extend(data.decode(errors="replace").split("\n"))
            r = wait_readable(self.notify, 0)

    def wait_notify(self, what, timeout):
        deadline = time.monotonic() + timeout
        while what not in self.notifications:
            if self.proc.poll() is not None:
                # Reported here; teardown then only checks the log.
                self.returncode = self.proc.returncode
                self.log.close()
                raise AssertionError("broker exited with status %d before sending %s:\n%s"
                                     % (self.proc.returncode, what, self.read_log()))
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("broker did not send %s within %.0f s:\n%s"
                                     % (what, timeout, self.read_log()))
            self.read_notifications(min(left, 0.1))

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

    def read_log(self):
        if self.saved_log is not None:
            return self.saved_log
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, signum):
        self.proc.send_signal(signum)

    def wait(self, timeout=STOP_TIMEOUT):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("broker did not exit within %.0f s" % timeout)
        self.log.close()
        return self.returncode

    def stop(self, signum=signal.SIGTERM):
        """Stop the broker and return its exit status."""
        if self.proc.poll() is None:
            self.send_signal(signum)
        return self.wait()

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.saved_log = self.read_log()
        for m in self.clients:
            m.close()
        self.clients = []
        self.notify.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- clients -----------------------------------------------------------

    def connect(self, *, tcp=False, name=None, rcvbuf=None):
        """A new connection.  The broker object keeps a reference, so a
        connection stays open until the test closes it (or the test ends)."""
        if tcp:
            assert self.port, "broker has no TCP listener"
            m = Module((self.tcp_host, self.port), tcp=True, name=name, rcvbuf=rcvbuf)
        else:
            m = Module(str(self.socket_path), name=name, rcvbuf=rcvbuf)
        self.clients.append(m)
        return m

    def module(self, module_id, version="1.0.0", deps=None, *, tcp=False, active=True):
        """Connect and register a module."""
        m = self.connect(tcp=tcp, name=module_id)
        if deps is None:
            m.register(module_id, version, active=active)
        else:
            m.register(module_id, version, deps, active=active)
        return m


def _describe_exit(status):
    if status < 0:
        try:
            return "killed by signal %s" % signal.Signals(-status).name
        except ValueError:
            return "killed by signal %d" % -status
    return "exit status %d" % status


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for i, b in enumerate(getattr(item, "juno_brokers", [])):
            report.sections.append(("broker %d log (%s)" % (i, " ".join(b.command())),
                                    b.read_log()[-20000:]))


@pytest.fixture
def broker_factory(request):
    """start_broker(**kwargs) -> a started Broker (or, with launch=False, one
    to start with .start()); every broker still running at the end of the test
    is stopped with SIGTERM and must exit 0; every broker's log must be clean."""
    brokers = []
    request.node.juno_brokers = brokers

    def start(*, wait_ready=True, launch=True, **kwargs):
        b = Broker(**kwargs)
        brokers.append(b)
        if launch:
            b.start(wait_ready=wait_ready)
        return b

    yield start

    problems = []
    try:
        for b in brokers:
            if b.proc is None:
                continue
            if b.returncode is None:
                if b.proc.poll() is not None:
                    problems.append("broker died during the test: %s"
                                    % _describe_exit(b.proc.returncode))
                    b.log.close()
                    continue
                try:
                    status = b.stop()
                except AssertionError as exc:
                    problems.append(str(exc))
                    continue
                if status != 0:
                    problems.append("broker %s on SIGTERM" % _describe_exit(status))
            try:
                check_log_clean(b.read_log())
            except AssertionError as exc:
                problems.append(str(exc))
    finally:
        for b in brokers:
            b.cleanup()
    assert not problems, "\n".join(problems)


@pytest.fixture
def broker(broker_factory):
    """A broker listening on a Unix socket with default options."""
    return broker_factory()


def rss_kib(pid):
    """Resident set size of process @pid in KiB."""
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def no_quarantine_env():
    """ASan keeps freed memory in quarantine, which would look like growth in
    a memory test: turn it off (harmless without ASan)."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (opts + ":" if opts else "") +
            "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"}
