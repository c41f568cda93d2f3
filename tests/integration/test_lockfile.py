# SPDX-License-Identifier: LGPL-2.1-or-later
"""The lock beside the socket: second instance, stale socket files."""

import fcntl
import os
import signal
import socket

from conftest import check_log_clean, run_juno


def test_lock_file_exists_while_running(broker):
    assert broker.lock_path == broker.socket_path.with_name("juno.sock.lock")
    assert broker.lock_path.exists()
    # It is locked: we cannot take the lock ourselves.
    fd = os.open(broker.lock_path, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        else:
            raise AssertionError("the lock file is not locked by the broker")
    finally:
        os.close(fd)


def test_second_broker_on_same_socket_exits_1(broker):
    first = broker.module("first")
    r = run_juno(["-s", str(broker.socket_path)], cwd=str(broker.dir))
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 1, "exit status %d, stderr: %s" % (r.returncode, err)
    assert "juno: another broker is running on %s" % broker.socket_path in err, err
    check_log_clean(err)
    # The first broker is untouched: its socket is still there and serves new
    # connections as well as the old one.
    assert broker.socket_path.is_socket()
    assert broker.lock_path.exists()
    first.ping()
    second = broker.module("second")
    second.ping()


def test_second_broker_with_tcp_too_exits_1(broker):
    r = run_juno(["-s", str(broker.socket_path), "-p", "0"], cwd=str(broker.dir))
    assert r.returncode == 1, r.stderr
    assert b"another broker is running" in r.stderr
    broker.module("still-here").ping()


def make_stale_socket(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()
    assert path.is_socket()


def test_stale_socket_file_is_replaced(broker_factory):
    b = broker_factory(launch=False)
    make_stale_socket(b.socket_path)
    b.start()
    b.module("m").ping()
    log = b.read_log()
    assert "Replacing the stale socket %s: no broker holds its lock and nothing answers on it" \
        % b.socket_path in log, log
    assert "another broker" not in log, log


def test_live_socket_without_lock_is_not_called_a_broker(tmp_path):
    """Another program listening on the path: in use, not "another broker"."""
    sock = tmp_path / "juno.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(sock))
    listener.listen(4)
    try:
        r = run_juno(["-s", str(sock), "--bus", "none"], cwd=str(tmp_path))
        err = r.stderr.decode(errors="replace")
        assert r.returncode == 1, "exit status %d, stderr: %s" % (r.returncode, err)
        assert "juno: %s is in use: a process answers on it but holds no lock %s.lock" % (sock, sock) in err, err
        assert "another broker is running" not in err, err
        assert sock.is_socket(), "the live socket of another program was removed"
    finally:
        listener.close()


def test_stale_socket_and_unlocked_lock_file(broker_factory):
    b = broker_factory(launch=False)
    make_stale_socket(b.socket_path)
    b.lock_path.write_text("")
    b.start()
    b.module("m").ping()
    assert b.stop() == 0
    assert not b.socket_path.exists()
    assert not b.lock_path.exists()


def test_restart_after_a_crash(broker_factory):
    first = broker_factory()
    first.module("m").ping()
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL
    # The crash left the socket file behind.
    assert first.socket_path.exists()
    second = broker_factory(socket_path=first.socket_path)
    second.module("m").ping()
    assert second.stop() == 0
    assert not first.socket_path.exists()
    assert not first.lock_path.exists()


def test_two_brokers_on_different_sockets(broker_factory):
    a = broker_factory()
    b = broker_factory()
    ma = a.module("same-name")
    mb = b.module("same-name")
    ma.ping()
    mb.ping()


def test_held_lock_refuses_even_without_socket_file(tmp_path):
    sock = tmp_path / "juno.sock"
    lock = tmp_path / "juno.sock.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        r = run_juno(["-s", str(sock)], cwd=str(tmp_path))
        err = r.stderr.decode(errors="replace")
        assert r.returncode == 1, "exit status %d, stderr: %s" % (r.returncode, err)
        # a held lock with nothing answering is no proof of a broker: say so
        assert "juno: %s is locked by another process" % lock in err, err
        assert "nothing answers on %s" % sock in err, err
        assert "another broker is running" not in err, err
        assert not sock.exists()
    finally:
        os.close(fd)
    assert lock.exists(), "the lock file of the other owner was removed"
