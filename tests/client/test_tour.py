# SPDX-License-Identifier: LGPL-2.1-or-later
"""The tour of README.md, command by command, against a real broker.

Each command below is checked to be in README.md as written, then run the
way the README says: from the top of the source tree, in a shell that ran
`eval "$(meson devenv -C build --dump)"`, with the broker on its default
socket ($XDG_RUNTIME_DIR/juno.sock, a temporary runtime directory here) and
on a session bus (a private dbus-daemon). The examples it starts,
examples/greeter.py (PyGObject) and examples/welcome.js (GJS), are the real
ones. What the README's comments promise is what is asserted.
"""

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import junobroker  # noqa: E402
from clienttest import TIMEOUT, RawModule  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DEVENV = 'eval "$(meson devenv -C build --dump)"'


def in_readme(command):
    assert command in README, "README.md no longer has: " + command
    return command


class Background:
    """A command of the tour that runs until stopped, its output collected."""

    def __init__(self, tour, command):
        self.proc = subprocess.Popen(tour.shell("exec " + command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=tour.env, cwd=str(ROOT), stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self.lines = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def has(self, text):
        with self.cond:
            return any(text in line for line in self.lines)

    def wait_for(self, text, timeout=TIMEOUT):
        with self.cond:
            ok = self.cond.wait_for(lambda: any(text in line for line in self.lines), timeout)
            assert ok, "no %r in the output of %s:\n%s" % (text, self.proc.args, "\n".join(self.lines))

    def stop(self, signum=signal.SIGTERM):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signum)
        try:
            status = self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("%s did not stop:\n%s" % (self.proc.args, "\n".join(self.lines)))
        self.thread.join(TIMEOUT)
        return status

    def output(self):
        with self.cond:
            return "\n".join(self.lines)


class Tour:
    def __init__(self, tmp):
        self.bus = junobroker.PrivateBus()
        self.runtime = Path(tmp) / "runtime"
        self.runtime.mkdir(mode=0o700)
        self.broker = junobroker.Broker(self.bus, socket_path=self.runtime / "juno.sock",
                                        prefix="juno-tour-").start()
        self.env = dict(os.environ, XDG_RUNTIME_DIR=str(self.runtime), LANG="C.UTF-8",
                        DBUS_SESSION_BUS_ADDRESS=self.bus.address, JUNO_BUILD_ROOT=os.environ["JUNO_BUILD_ROOT"])
        for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "JUNO_LOCALEDIR"):
            self.env.pop(name, None)
        self.background = []

    def shell(self, command):
        # The README's `-C build`, for the build directory under test.
        devenv = in_readme(DEVENV).replace("-C build", '-C "$JUNO_BUILD_ROOT"')
        return ["/bin/sh", "-ec", devenv + "\n" + command]

    def run(self, command, status=0):
        r = subprocess.run(self.shell(in_readme(command)), capture_output=True, text=True, env=self.env,
                           cwd=str(ROOT), stdin=subprocess.DEVNULL, timeout=TIMEOUT * 3)
        assert r.returncode == status, "%s exited %d:\n%s%s" % (command, r.returncode, r.stdout, r.stderr)
        for bad in ("CRITICAL", "-WARNING", "Sanitizer", "runtime error"):
            assert bad not in r.stderr, r.stderr
        return r

    def start(self, command):
        line = in_readme(command + " &")
        assert line.endswith(" &")
        b = Background(self, command)
        self.background.append(b)
        return b

    def close(self):
        for b in self.background:
            if b.proc.poll() is None:
                b.stop(signal.SIGKILL)
        problems = self.broker.finish()
        self.broker.cleanup()
        self.bus.stop()
        assert not problems, "\n".join(problems)


@pytest.fixture
def tour():
    with tempfile.TemporaryDirectory(prefix="juno-tour-") as tmp:
        t = Tour(tmp)
        try:
            yield t
        finally:
            t.close()


def test_tour(tour):
    # junoctl
    r = tour.run("junoctl list")
    assert [line.split()[0] for line in r.stdout.splitlines()[1:]] == ["juno"], r.stdout
    r = tour.run("junoctl info juno")
    assert "juno" in r.stdout.splitlines()[0], r.stdout
    r = tour.run("junoctl call juno.listModules")
    # (junoctl itself, when it joins as a module to call, is left out)
    assert [m["moduleId"] for m in json.loads(r.stdout) if not m["moduleId"].startswith("junoctl")] == ["juno"]

    # A Python module
    greeter = tour.start("examples/greeter.py")
    greeter.wait_for("greeter: active")
    r = tour.run("""junoctl call greeter.greet '{"name": "Ann"}'""")
    assert json.loads(r.stdout) == {"greeting": "Hello, Ann!"}
    r = tour.run("""junoctl call greeter.greet '{"name": 4}'""", status=1)
    assert r.stderr.startswith("junoctl: call: greeter.greet: Malformed request"), r.stderr

    # Watching: from when each watcher is in place (probed by the test: the
    # README's reader just waits a moment).
    listen = Background(tour, in_readme("junoctl listen greeter.greeted"))
    deadline = time.monotonic() + TIMEOUT
    while not listen.has('greeter.greeted {"name":"Ann"}'):
        assert time.monotonic() < deadline, listen.output()
        tour.run("""junoctl call greeter.greet '{"name": "Ann"}'""")
        time.sleep(0.1)
    monitor = Background(tour, in_readme("junoctl monitor"))
    n = 0
    while not monitor.has("probe"):
        assert time.monotonic() < deadline, monitor.output()
        n += 1
        RawModule(tour.broker, "probe%d" % n).close()
        time.sleep(0.1)
    gdbus_monitor = Background(tour, in_readme("gdbus monitor --session --dest org.juno.Broker1"))
    gdbus_monitor.wait_for("Monitoring signals")
    # gdbus subscribes to the signals before saying so; the name owner is
    # looked up too: one round trip through the bus after it says so.
    tour.run("busctl --user tree org.juno.Broker1")

    # A GJS module
    welcome = tour.start("examples/welcome.js")
    tour.run("junoctl wait welcome --timeout 10")
    welcome.wait_for("welcome: active")
    welcome.wait_for("welcome: Hello, GJS!")
    welcome.wait_for("welcome: greeter greeted GJS")
    r = tour.run("""junoctl call greeter.greet '{"name": "Bob"}'""")
    welcome.wait_for("welcome: greeter greeted Bob")
    r = tour.run("junoctl call welcome.count")
    assert json.loads(r.stdout) == {"greeted": 2}
    monitor.wait_for("module welcome")
    listen.wait_for('greeter.greeted {"name":"Bob"}')

    # D-Bus
    r = tour.run("busctl --user tree org.juno.Broker1")
    assert "/org/juno/Broker1/module/greeter" in r.stdout and "/org/juno/Broker1/module/welcome" in r.stdout
    r = tour.run("busctl --user call org.juno.Broker1 /org/juno/Broker1 org.juno.Broker1 CallFunction ss "
                 """greeter.greet '{"name":"D-Bus"}'""")
    assert json.loads(shlex.split(r.stdout)[1]) == {"greeting": "Hello, D-Bus!"}
    welcome.wait_for("welcome: greeter greeted D-Bus")
    r = tour.run("gdbus call --session --dest org.juno.Broker1 --object-path /org/juno/Broker1 "
                 "--method org.juno.Broker1.ListModules")
    assert "'greeter', '1.0.0', true" in r.stdout and "'welcome', '1.0.0', true" in r.stdout, r.stdout

    # Stop greeter: welcome waits, the monitors see both go
    assert "kill %1" in README
    assert greeter.stop() == 0, greeter.output()
    welcome.wait_for("welcome: waiting for greeter")
    monitor.wait_for("deactivated   module greeter")
    monitor.wait_for("deactivated   module welcome")
    gdbus_monitor.wait_for("ModuleDeactivated ('greeter',)")
    gdbus_monitor.wait_for("ModuleDeactivated ('welcome',)")
    # ... and welcome comes back with a greeter
    greeter = tour.start("examples/greeter.py")
    greeter.wait_for("greeter: active")
    tour.run("junoctl wait welcome --timeout 10")
    r = tour.run("junoctl call welcome.count")
    assert json.loads(r.stdout)["greeted"] >= 3

    for b in (welcome, greeter):
        assert b.stop() == 0, b.output()
    for b in (listen, monitor):
        assert b.stop(signal.SIGINT) == 0, b.output()
    gdbus_monitor.stop(signal.SIGINT)
    for b in (welcome, greeter, listen, monitor):
        for bad in ("CRITICAL", "WARNING", "Traceback", "Sanitizer"):
            assert bad not in b.output(), b.output()
