# SPDX-License-Identifier: LGPL-2.1-or-later
"""The mode of the socket file juno binds (--socket-mode): 0600 for a
per-user broker, 0666 for the system broker (its access policy decides who
may do what), or what the option says."""

import os
import socket
import stat
import subprocess

from conftest import broker_path, run_juno


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def as_root(cmd):
    """@cmd as root: directly, or through sudo as the README's test command
    runs when the tests run as a user with sudo."""
    return list(cmd) if os.geteuid() == 0 else ["sudo", "-n"] + list(cmd)


def test_user_broker_default_is_0600(broker_factory):
    b = broker_factory()
    assert mode_of(b.socket_path) == 0o600
    b.module("m").ping()


def test_explicit_mode(broker_factory):
    b = broker_factory(args=["--socket-mode", "0660"])
    assert mode_of(b.socket_path) == 0o660
    b.module("m").ping()


def test_explicit_mode_wider_than_the_umask(broker_factory):
    """The umask of the caller does not narrow an explicit mode."""
    b = broker_factory(launch=False, args=["--socket-mode", "666"])
    old = os.umask(0o077)
    try:
        b.start()
    finally:
        os.umask(old)
    assert mode_of(b.socket_path) == 0o666


def test_system_policy_default_is_0666(broker_factory, tmp_path):
    b = broker_factory(args=["--policy", "system", "--policy-dir", str(tmp_path), "--bus", "none"])
    assert mode_of(b.socket_path) == 0o666


def test_bad_modes_are_usage_errors(tmp_path):
    for bad in ("999", "01000", "rw", "", "-1", "0x1ff"):
        r = run_juno(["-s", str(tmp_path / "juno.sock"), "--socket-mode", bad], cwd=str(tmp_path))
        err = r.stderr.decode(errors="replace")
        assert r.returncode == 2, (bad, r.returncode, err)
        assert "--socket-mode must be octal permission bits between 0 and 0777, not '%s'" % bad in err, err
        assert not (tmp_path / "juno.sock").exists()


# Run as root in a mount namespace of its own with a fresh /run, so the
# default socket /run/juno/juno.sock is the broker's alone.
ROOT_SCRIPT = r"""
set -eu
mount -t tmpfs -o mode=0755 tmpfs /run
"$JUNO" --bus=none &
pid=$!
i=0
while [ ! -S /run/juno/juno.sock ] && [ $i -lt 600 ]; do
  kill -0 $pid
  sleep 0.05
  i=$((i + 1))
done
stat -c 'mode=%a' /run/juno/juno.sock
# another user connects (connect(2) needs write permission on the socket)
setpriv --reuid=65534 --regid=65534 --clear-groups "$PYTHON" -c '
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("/run/juno/juno.sock")
print("nobody connected")
'
kill -TERM $pid
wait $pid
echo "exit=$?"
"""


def test_root_broker_on_the_system_socket_is_0666():
    cmd = as_root(["env", "-u", "XDG_RUNTIME_DIR", "JUNO=%s" % broker_path(), "PYTHON=/usr/bin/python3",
                   "unshare", "--mount", "--propagation", "private", "sh", "-c", ROOT_SCRIPT])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "mode=666" in r.stdout.splitlines(), (r.stdout, r.stderr)
    assert "nobody connected" in r.stdout, (r.stdout, r.stderr)
    assert "exit=0" in r.stdout, (r.stdout, r.stderr)
