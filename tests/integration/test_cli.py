# SPDX-License-Identifier: LGPL-2.1-or-later
"""The command line: --version, --help, bad options, signals, readiness."""

import os
import re
import resource
import signal
import tempfile
from pathlib import Path

import pytest

from conftest import check_log_clean, project_version, run_juno

OPTIONS = ["--socket-location", "--port", "--bind-addr", "--verbose", "--version",
           "--call-timeout", "--max-message-size", "--max-calls-in-flight",
           "--max-connections", "--max-output-backlog"]
SHORT = ["-s", "-p", "-V", "-v"]


@pytest.mark.parametrize("flag", ["--version", "-v"])
def test_version(flag):
    r = run_juno([flag])
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "juno %s\n" % project_version()


def test_help_lists_every_option():
    r = run_juno(["--help"])
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    missing = [o for o in OPTIONS if not re.search(re.escape(o) + r"\b", text)]
    assert not missing, "--help does not mention %s:\n%s" % (missing, text)
    for short, long_ in [("-s", "--socket-location"), ("-p", "--port"),
                         ("-V", "--verbose"), ("-v", "--version")]:
        assert re.search(re.escape(short) + r",\s*" + re.escape(long_), text), \
            "%s is not shown as the short form of %s:\n%s" % (short, long_, text)


@pytest.mark.parametrize("args", [
    ["--no-such-option"],
    ["-x"],
    ["stray-argument"],
    ["-p", "abc"],
    ["-p", "70000"],
    ["-p", "-1"],
    ["--port", "1.5"],
    ["--call-timeout", "abc"],
    ["--call-timeout", "-1"],
    ["--max-message-size", "abc"],
    ["--max-message-size", "-5"],
    ["--max-calls-in-flight", "many"],
    ["--max-calls-in-flight", "-2"],
    ["--max-connections", "x"],
    ["--max-output-backlog", "1k"],
    ["--max-output-backlog", "-1"],
    ["--max-connections"],
], ids=" ".join)
def test_bad_command_line_exits_2(args):
    with tempfile.TemporaryDirectory(prefix="juno-it-") as d:
        sock = os.path.join(d, "juno.sock")
        r = run_juno(["-s", sock] + args, cwd=d, env={"XDG_RUNTIME_DIR": d})
        assert r.returncode == 2, "exit status %d for %s\nstderr: %s" % (
            r.returncode, args, r.stderr.decode(errors="replace"))
        err = r.stderr.decode(errors="replace")
        assert re.search(r"^juno: \S", err, re.M), \
            "no 'juno: <what>' message on stderr: %r" % err
        assert not os.path.exists(sock), "a socket was created despite the bad option"
        check_log_clean(err)


def test_default_socket_in_xdg_runtime_dir(broker_factory):
    b = broker_factory(unix=False, launch=False)
    b.extra_env["XDG_RUNTIME_DIR"] = str(b.dir)
    b.start()
    assert b.socket_path == b.dir / "juno.sock"
    assert b.socket_path.is_socket()
    m = b.module("m")
    m.ping()
    assert "Listening on unix:%s" % b.socket_path in b.read_log()


def test_listening_log_line(broker):
    assert "Listening on unix:%s" % broker.socket_path in broker.read_log()
    assert "Listening on tcp:" not in broker.read_log()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_signal_shuts_down_cleanly(broker, signum):
    m = broker.module("m")
    m.declare("f")
    caller = broker.module("caller")
    caller.send_call("m.f")
    m.expect_call("f")
    raw = broker.connect()
    raw.send_raw(b'{"partial":')
    assert broker.socket_path.exists()
    assert broker.lock_path.exists()
    assert broker.stop(signum) == 0
    assert not broker.socket_path.exists(), "socket file left behind"
    assert not broker.lock_path.exists(), "lock file left behind"
    broker.read_notifications(1.0)
    assert "STOPPING=1" in broker.notifications
    for conn in (m, caller, raw):
        conn.expect_closed()


def test_idle_shutdown(broker):
    assert broker.stop() == 0
    assert not broker.socket_path.exists()
    assert not broker.lock_path.exists()


@pytest.mark.parametrize("flags", [["-V"], ["-VV"], ["--verbose", "--verbose"]], ids=" ".join)
def test_verbose_flags(broker_factory, flags):
    b = broker_factory(args=flags)
    m = b.module("m")
    m.ping()


def test_ready_is_sent_once_listening(broker_factory):
    b = broker_factory()
    # READY=1 was received by the fixture; the socket must work right away.
    assert "READY=1" in b.notifications
    b.connect().register("immediately")


def test_raises_nofile_soft_limit_to_hard(broker_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= 256:
        pytest.skip("hard RLIMIT_NOFILE is %s" % hard)

    def lower():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    b = broker_factory(preexec_fn=lower)
    limits = Path("/proc/%d/limits" % b.proc.pid).read_text()
    line = next(l for l in limits.splitlines() if l.startswith("Max open files"))
    fields = line.split()
    assert int(fields[3]) == int(fields[4]) == hard, line


def test_options_with_values_are_accepted(broker_factory):
    b = broker_factory(args=["--call-timeout", "2.5", "--max-message-size", "2048",
                             "--max-calls-in-flight", "3", "--max-connections", "10",
                             "--max-output-backlog", "100000"])
    b.module("m").ping()


def test_abstract_notify_socket(broker_factory):
    """NOTIFY_SOCKET with a leading @ names an abstract socket."""
    import socket as so
    import select
    import time
    name = "juno-it-notify-%d-%d" % (os.getpid(), time.monotonic_ns())
    s = so.socket(so.AF_UNIX, so.SOCK_DGRAM)
    s.bind("\0" + name)
    try:
        b = broker_factory(launch=False)
        b.start(wait_ready=False, notify_socket="@" + name)
        r, _, _ = select.select([s], [], [], 20)
        assert r, "no notification on the abstract socket"
        assert "READY=1" in s.recv(4096).decode().split("\n")
        assert b.stop() == 0
    finally:
        s.close()
    # the factory checks the log


def test_sigterm_with_a_backlogged_reader(broker_factory):
    """Shutdown must not wait for a client that never reads."""
    b = broker_factory()
    slow = b.module("slow")
    slow.listen("src.big")
    src = b.module("src")
    payload = {"blob": "s" * 65536}
    for _ in range(20):  # ~1.3 MB queued for slow, well below the default backlog
        src.trigger("big", payload)
    assert b.stop() == 0
    assert not b.socket_path.exists()


def test_relative_socket_path(broker_factory):
    b = broker_factory(unix=False, args=["-s", "rel.sock"], launch=False)
    b.socket_path = b.dir / "rel.sock"
    b.lock_path = b.dir / "rel.sock.lock"
    b.start()
    b.module("m").ping()
    assert b.lock_path.exists()
    assert b.stop() == 0
    assert not b.socket_path.exists()
    assert not b.lock_path.exists()
