# SPDX-License-Identifier: LGPL-2.1-or-later
"""juno.conf(5): every option in a key file, the command line over it,
lists added to, the user's default file, and errors that name the file."""

import os

import pytest

from conftest import run_juno

E_LIMIT_REACHED = 12
E_ACCESS_DENIED = 13


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def declare_limit(broker, module_id):
    """How many functions a module may declare (--max-names), found by
    declaring until error 12."""
    m = broker.module(module_id)
    for n in range(10):
        rid = m.request({"type": 9, "function": "f%d" % n})
        reply = m.recv()
        if reply.get("type") == 0:
            assert reply == {"requestId": rid, "type": 0, "error": E_LIMIT_REACHED}, reply
            return n
    raise AssertionError("no limit within 10 names")


def test_settings_from_the_file(broker_factory, tmp_path):
    sock = tmp_path / "from-config.sock"
    conf = write(tmp_path / "juno.conf", "[juno]\nsocket-location=%s\nmax-names=2\nbus=none\n" % sock)
    b = broker_factory(unix=False, socket_path=sock, args=["--config", str(conf)])
    assert sock.is_socket()
    assert declare_limit(b, "m") == 2


def test_command_line_overrides_the_file(broker_factory, tmp_path):
    conf = write(tmp_path / "juno.conf", "[juno]\nmax-names=2\nbus=none\n")
    b = broker_factory(args=["--config=%s" % conf, "--max-names", "4"])
    assert declare_limit(b, "m") == 4


def test_lists_add_to_the_file(broker_factory, tmp_path):
    me = os.geteuid()
    for name in ("file", "cli"):
        write(tmp_path / name / ("50-deny-%s.conf" % name),
              "[Deny %s]\nUser=%d\nOwn=%s-denied\n" % (name, me, name))
    conf = write(tmp_path / "juno.conf",
                 "[juno]\nbus=none\npolicy-dir=%s\n" % (tmp_path / "file"))
    b = broker_factory(args=["--config", str(conf), "--policy-dir", str(tmp_path / "cli")])
    for name in ("file", "cli"):
        m = b.connect()
        m.request_error({"type": 1, "moduleId": "%s-denied" % name, "version": "1.0.0"}, E_ACCESS_DENIED)
    b.module("allowed")


def test_default_file_of_a_user_broker(broker_factory, tmp_path):
    write(tmp_path / "config" / "juno" / "juno.conf", "[juno]\nmax-names=3\nbus=none\n")
    b = broker_factory(env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert declare_limit(b, "m") == 3


def test_no_default_file_is_fine(broker_factory, tmp_path):
    """Without a file the defaults hold (--max-names 4096)."""
    b = broker_factory(args=["--bus=none"], env={"XDG_CONFIG_HOME": str(tmp_path / "empty")})
    m = b.module("m")
    for n in range(20):
        m.declare("f%d" % n)


@pytest.mark.parametrize("text, message", [
    ("[juno]\nmax-namez=3\n", "unknown setting 'max-namez' in [juno]"),
    ("[juno]\nversion=true\n", "unknown setting 'version' in [juno]"),
    ("[juno]\nconfig=/etc/other\n", "unknown setting 'config' in [juno]"),
    ("[broker]\nport=1\n", "unknown group [broker]"),
    ("[juno]\nmax-names=many\n", "--max-names"),
    ("[juno]\nport=70000\n", "port number between 0 and 65535"),
    ("[juno]\nverbose=maybe\n", "'verbose' must be true, false or a count"),
    ("max-names=3\n", "juno.conf"),
])
def test_bad_file_is_a_usage_error(tmp_path, text, message):
    conf = write(tmp_path / "juno.conf", text)
    r = run_juno(["--config", str(conf)])
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert str(conf) in err and message in err, err


def test_a_named_file_must_exist(tmp_path):
    r = run_juno(["--config", str(tmp_path / "missing.conf")])
    err = r.stderr.decode()
    assert r.returncode == 2 and "missing.conf" in err, err


def test_a_broken_default_file_stops_the_broker(tmp_path):
    """A default file that exists is read like a named one: a mistake in
    it is reported, not ignored."""
    write(tmp_path / "config" / "juno" / "juno.conf", "[juno]\nmax-names=-\n")
    r = run_juno(["--bus=none"], env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    err = r.stderr.decode()
    assert r.returncode == 2 and "juno.conf" in err, err
