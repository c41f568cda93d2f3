# SPDX-License-Identifier: LGPL-2.1-or-later
"""The access policy with real users: owning, calling, listening and
triggering allowed and denied as policy files say, denials answered with
error 13, logged with the peer and the rule, and SIGHUP reloads.

Test users and a group are created idempotently (useradd/groupadd, through
sudo when the tests do not run as root); clients connect as those users
with setpriv and hand the connection to the test (connect_as.py), so the
broker sees their credentials exactly as it would a real client's.
"""

import contextlib
import os
import pwd
import grp
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from junotest import ConnectionClosed, Module, wait_for

E_ACCESS_DENIED = 13

ALICE = "juno-test-alice"
BOB = "juno-test-bob"
CAROL = "juno-test-carol"
STAFF = "juno-test-staff"

HERE = Path(__file__).resolve().parent
CONNECT_AS = (HERE / "connect_as.py").read_text()


def privileged(cmd):
    return list(cmd) if os.geteuid() == 0 else ["sudo", "-n"] + list(cmd)


def _retry(cmd, exists):
    """Run an account command; another run may create the same account at
    the same moment, or hold the lock on /etc/passwd for a moment."""
    for _ in range(50):
        if exists():
            return
        r = subprocess.run(privileged(cmd), capture_output=True, text=True)
        if r.returncode == 0 or exists():
            return
        time.sleep(0.1)
    raise AssertionError("%s failed: %s" % (" ".join(cmd), r.stderr))


def _has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _has_group(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def ensure_accounts():
    _retry(["groupadd", "--system", STAFF], lambda: _has_group(STAFF))
    for name in (ALICE, BOB, CAROL):
        _retry(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                "--user-group", name], lambda n=name: _has_user(n))
    _retry(["usermod", "--append", "--groups", STAFF, BOB],
           lambda: BOB in grp.getgrnam(STAFF).gr_mem)


def me():
    return pwd.getpwuid(os.getuid()).pw_name


POLICY = """
# the test itself may do everything
[Allow tester]
User={me}
Own=*
Call=*
Listen=*
Trigger=*

[Allow alice owns auth]
User={alice}
Own=auth
Trigger=auth.*

[Allow staff]
Group={staff}
Own=staff-*
Call=auth.login
Listen=auth.changed
"""


@pytest.fixture(scope="module")
def accounts():
    ensure_accounts()


@pytest.fixture
def access_broker(broker_factory, accounts, tmp_path_factory):
    """A system-policy broker reading the policy directory of the test,
    its socket reachable by the test users."""
    def start(policy=POLICY, extra=()):
        policy_dir = tmp_path_factory.mktemp("policy")
        (policy_dir / "50-test.conf").write_text(
            policy.format(me=me(), alice=ALICE, staff=STAFF))
        b = broker_factory(launch=False, args=["--bus=none", "--policy=system",
                                               "--policy-dir", str(policy_dir)] + list(extra))
        b.policy_dir = policy_dir
        os.chmod(b.dir, 0o755)
        b.start()
        os.chmod(b.socket_path, 0o666)
        return b
    return start


def connect_as(broker, user, name=None, cgroup_procs=()):
    """A connection made by a process running as @user; with
    @cgroup_procs, one that first moves itself into those cgroups (the
    cgroup.procs files of unit_cgroup), as systemd puts a unit's process."""
    handoff_path = broker.dir / ("handoff-%s" % user)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(handoff_path))
    os.chmod(handoff_path, 0o666)
    listener.listen(1)
    listener.settimeout(20)
    try:
        cmd = ["setpriv", "--reuid", user, "--regid", user, "--init-groups",
               sys.executable, "-c", CONNECT_AS, str(broker.socket_path), str(handoff_path)]
        if cgroup_procs:
            cmd.append("--round-trip")
            # the shell writes its own pid, then becomes setpriv: same process
            cmd = ["sh", "-c", 'for f in $JUNO_TEST_CGROUPS; do echo $$ > "$f" || exit 1; done; exec "$@"',
                   "sh"] + cmd
            cmd = ["env", "JUNO_TEST_CGROUPS=%s" % " ".join(cgroup_procs)] + cmd
        cmd = privileged(cmd)
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        conn, _ = listener.accept()
        _, fds, _, _ = socket.recv_fds(conn, 1, 1)
        conn.close()
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, "connect_as %s failed: %s" % (user, err)
    finally:
        listener.close()
        handoff_path.unlink()
    assert len(fds) == 1
    m = Module.from_socket(socket.socket(fileno=fds[0]), name=name or user)
    broker.clients.append(m)
    return m


@contextlib.contextmanager
def unit_cgroup(unit, slice_="juno-test.slice"):
    """A cgroup named like systemd's for @unit in @slice_, in each hierarchy
    that sd_peer_get_unit(3) may read: the unified one (cgroup v2 at
    /sys/fs/cgroup), or the named "systemd" v1 hierarchy and, on hybrid
    hosts, /sys/fs/cgroup/unified. Yields the cgroup.procs files; removed
    afterwards."""
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():
        bases = [root]
    else:
        bases = [b for b in (root / "systemd", root / "unified") if b.is_dir()]
    assert bases, "no cgroup hierarchy of systemd's under /sys/fs/cgroup"
    dirs = [b / slice_ / unit for b in bases]
    subprocess.run(privileged(["mkdir", "-p"] + [str(d) for d in dirs]), check=True)
    try:
        yield [str(d / "cgroup.procs") for d in dirs]
    finally:
        for d in dirs:
            # empty once the connecting process has exited
            for _ in range(50):
                r = subprocess.run(privileged(["rmdir", str(d), str(d.parent)]), capture_output=True)
                if r.returncode == 0 or not d.exists():
                    break
                time.sleep(0.1)


def register_denied(m, module_id):
    m.request_error({"type": 1, "moduleId": module_id, "version": "1.0.0"}, E_ACCESS_DENIED)


def test_identity_of_another_user(access_broker):
    b = access_broker()
    bob = connect_as(b, BOB)
    bob.register("staff-bob")
    peer = bob.module_info("staff-bob")["peer"]
    pw = pwd.getpwnam(BOB)
    assert peer["uid"] == pw.pw_uid
    assert peer["gid"] == pw.pw_gid
    assert peer["user"] == BOB
    assert peer["group"] == grp.getgrgid(pw.pw_gid).gr_name
    assert peer["transport"] == "unix"
    assert peer["pid"] > 0


def test_owning(access_broker):
    b = access_broker()
    bob = connect_as(b, BOB)
    # bob may not take the moduleId reserved for alice ...
    register_denied(bob, "auth")
    # ... while alice registers it
    alice = connect_as(b, ALICE)
    alice.register("auth")
    # the staff group (bob's supplementary group) owns staff-*
    bob.register("staff-bob")
    alice2 = connect_as(b, ALICE)
    register_denied(alice2, "staff-alice")
    carol = connect_as(b, CAROL)
    register_denied(carol, "carol")
    # a refused connection may still register what it is allowed to
    alice.close()
    wait_for(lambda: "auth" not in [o["moduleId"] for o in bob.list_modules()], 10, "auth to leave")
    alice2.register("auth")
    log = b.read_log()
    assert "access denied: own 'auth'" in log
    assert "uid %d (%s)" % (pwd.getpwnam(BOB).pw_uid, BOB) in log
    assert "access denied: own 'carol' (no rule grants it)" in log


def test_calling(access_broker):
    b = access_broker()
    alice = connect_as(b, ALICE)
    alice.register("auth")
    alice.declare("login")
    alice.declare("secret")
    bob = connect_as(b, BOB)
    bob.register("staff-bob")
    # allowed: forwarded with the caller's module id, answered
    rid = bob.send_call("auth.login", {"user": "x"})
    call = alice.expect_call("login", {"user": "x"}, "staff-bob")
    alice.respond(call["requestId"], "ok")
    assert bob.recv() == {"requestId": rid, "type": 4, "data": "ok"}
    # denied: error 13 echoing the requestId; the callee sees nothing
    rid = bob.send_call("auth.secret", {})
    bob.expect_error(rid, E_ACCESS_DENIED)
    alice.expect_nothing()
    # denied whether or not the module exists: nothing is learnt from it
    rid = bob.send_call("nosuch.fn", {})
    bob.expect_error(rid, E_ACCESS_DENIED)
    # discovery is every local user's
    ids = sorted(o["moduleId"] for o in bob.list_modules())
    assert ids == ["auth", "juno", "staff-bob"]
    # alice may own auth but call nothing but discovery
    rid = alice.send_call("staff-bob.anything", {})
    alice.expect_error(rid, E_ACCESS_DENIED)
    assert "access denied: call 'auth.secret'" in b.read_log()


def test_listening_and_triggering(access_broker):
    b = access_broker()
    alice = connect_as(b, ALICE)
    alice.register("auth")
    bob = connect_as(b, BOB)
    bob.register("staff-bob")
    bob.listen("auth.changed")
    bob.request_error({"type": 5, "hook": "auth.private"}, E_ACCESS_DENIED)
    # alice triggers as auth: allowed, delivered to bob
    alice.trigger("changed", {"n": 1})
    bob.expect_hook("auth.changed", {"n": 1})
    # bob may not trigger hooks as staff-bob
    bob.request_error({"type": 7, "hook": "ping"}, E_ACCESS_DENIED)
    assert "access denied: listen 'auth.private'" in b.read_log()
    assert "access denied: trigger 'staff-bob.ping'" in b.read_log()


def test_tcp_peers_denied_by_system_defaults(access_broker):
    b = access_broker(extra=["-p", "0"])
    b.tcp = True
    b._find_port()
    m = b.connect(tcp=True)
    register_denied(m, "anything")


def test_sighup_reload(access_broker):
    b = access_broker()
    carol = connect_as(b, CAROL)
    register_denied(carol, "carol")

    # a good file: carol may own carol from the next request on
    (b.policy_dir / "60-carol.conf").write_text("[Allow carol]\nUser=%s\nOwn=carol\n" % CAROL)
    b.send_signal(signal.SIGHUP)
    wait_for(lambda: "Access policy reloaded" in b.read_log(), 10, "the reload")
    carol.register("carol")

    # a broken file: reported with file and line, the old policy stays
    (b.policy_dir / "70-broken.conf").write_text("[Allow x]\nOwn=x\nOwner=y\n")
    b.send_signal(signal.SIGHUP)
    wait_for(lambda: "not reloaded" in b.read_log(), 10, "the refused reload")
    log = b.read_log()
    assert "70-broken.conf:3: unknown key 'Owner'" in log
    assert log.count("Access policy reloaded") == 1
    carol2 = connect_as(b, CAROL)
    register_denied(carol2, "other")
    bob = connect_as(b, BOB)
    bob.register("staff-b")
    assert sorted(o["moduleId"] for o in bob.list_modules()) == ["carol", "juno", "staff-b"]


def test_broken_policy_at_start(broker_factory, tmp_path):
    (tmp_path / "10-bad.conf").write_text("# comment\n[Allow x]\nUser=root\n")
    b = broker_factory(launch=False, args=["--bus=none", "--policy-dir", str(tmp_path)])
    b.start(wait_ready=False)
    assert b.wait() == 1
    assert "10-bad.conf:3: rule 'Allow x' (line 2) names no action" in b.read_log()


QUOTA_POLICY = POLICY + """
[Allow everyone calls sink]
Group={staff};{alice}
Own=sink-*
Call=sink.*
"""


def test_connection_quota_per_user(access_broker):
    b = access_broker(extra=["--max-connections-per-user", "3"])
    alice = [connect_as(b, ALICE) for _ in range(3)]
    alice[0].register("auth")
    # the other two are observers (never registered): they count all the same
    assert alice[1].call_ok("juno.getStats")["modules"] == 1
    # the fourth connection of the same user: error 14, then closed
    refused = connect_as(b, ALICE)
    assert refused.recv() == {"requestId": "undefined", "type": 0, "error": 14}
    refused.expect_closed()
    # another user is still served
    bob = connect_as(b, BOB)
    bob.register("staff-bob")
    assert "its quota (--max-connections-per-user)" in b.read_log()
    # a connection closed gives its place back
    alice[2].close()

    def admitted():
        """A new connection of alice's is served: its request is answered
        (error 13: alice owns only auth), not refused with error 14."""
        m = connect_as(b, ALICE)
        try:
            m.send({"requestId": "r", "type": 1, "moduleId": "other", "version": "1.0.0"})
        except OSError:
            return False
        return m.recv() == {"requestId": "r", "type": 0, "error": E_ACCESS_DENIED}
    wait_for(admitted, 10, "alice's place to come back")


def test_call_quota_per_user(access_broker):
    b = access_broker(policy=QUOTA_POLICY, extra=["--max-calls-per-user", "2"])
    sink = b.module("sink")  # the test's own module, which never answers
    sink.declare("hold")
    a1 = connect_as(b, ALICE)
    a1.register("sink-a1")
    a2 = connect_as(b, ALICE)
    a2.register("sink-a2")
    a1.send_call("sink.hold", {})
    a2.send_call("sink.hold", {})
    sink.expect_call("hold")
    sink.expect_call("hold")
    # alice's third call, on either connection: error 11
    rid = a2.send_call("sink.hold", {})
    a2.expect_error(rid, 11)
    sink.expect_nothing()
    # bob, another user, is still served
    bob = connect_as(b, BOB)
    bob.register("staff-bob")
    bob.send_call("sink.hold", {})
    sink.expect_call("hold")
    assert "its quota (--max-calls-per-user)" in b.read_log()


OUTPUT_POLICY = POLICY + """
[Allow flood listeners]
Group={staff};{alice}
Own=sink-*
Listen=src.*
"""

HOOK_PAYLOAD = "x" * (256 * 1024)


def test_output_quota_per_user(access_broker):
    """One user's unread output is bounded across its connections, and the
    connection cut for it is one of that user's, even when another user
    holds a larger backlog (the total alone would cut that one)."""
    quota = 4 * 1024 * 1024
    b = access_broker(policy=OUTPUT_POLICY, extra=["--max-output-per-user", str(quota)])
    src = b.module("src")  # the broker's own user: not charged
    # bob: one connection that does not read, ~3 MiB of hooks queued
    bob = connect_as(b, BOB)
    bob.register("sink-bob")
    bob.listen("src.bobs")
    for i in range(12):
        src.trigger("bobs", {"i": i, "pad": HOOK_PAYLOAD})
    # alice: three connections that do not read, 2 MiB of hooks for each;
    # together more than her quota, each less than bob's backlog
    alice = []
    for n in range(3):
        m = connect_as(b, ALICE)
        m.register("sink-a%d" % n)
        m.listen("src.alices")
        alice.append(m)
    for i in range(8):
        src.trigger("alices", {"i": i, "pad": HOOK_PAYLOAD})
    src.ping()  # every delivery above is queued or written by now

    # bob was not cut: every hook arrives, in order
    for i in range(12):
        assert bob.expect_hook("src.bobs")["data"]["i"] == i
    # exactly one of alice's connections was cut (the remaining two hold at
    # most 2 x 2 MiB, within the quota); the other two get every hook
    cut, kept = [], []
    for m in alice:
        got = []
        try:
            while len(got) < 8:
                got.append(m.expect_hook("src.alices")["data"]["i"])
        except ConnectionClosed:
            cut.append(m)
            continue
        assert got == list(range(8))
        kept.append(m)
    assert len(cut) == 1 and len(kept) == 2, (cut, kept)
    log = b.read_log()
    assert "--max-output-per-user" in log
    # the rest keep working
    for m in kept:
        m.ping()
    bob.ping()


def test_unit_identity_from_the_cgroup(access_broker):
    """A process in the cgroup of unit juno-module@NAME.service is that
    unit: the system defaults let it own NAME, and only NAME, whatever its
    uid; the same user outside the unit owns nothing."""
    b = access_broker()
    with unit_cgroup("juno-module@probe.service") as procs:
        probe = connect_as(b, CAROL, name="probe", cgroup_procs=procs)
        other = connect_as(b, CAROL, name="probe-other", cgroup_procs=procs)
    with unit_cgroup("juno-module@clock.service") as procs:
        clock = connect_as(b, CAROL, name="clock", cgroup_procs=procs)
    plain = connect_as(b, CAROL)
    register_denied(plain, "probe")
    probe.register("probe")
    register_denied(other, "other")
    register_denied(plain, "clock")
    clock.register("clock")
    clock.declare("now")
    # unit modules call each other
    rid = probe.send_call("clock.now", {})
    token = clock.expect_call("now")["requestId"]
    clock.respond(token, {"t": 1})
    assert probe.recv() == {"requestId": rid, "type": 4, "data": {"t": 1}}
    peer = probe.module_info("probe")["peer"]
    assert peer["unit"] == "juno-module@probe.service", peer
    assert peer["slice"] == "juno-test.slice", peer
    assert peer["user"] == CAROL, peer
    denial = [l for l in b.read_log().splitlines() if "access denied: own 'other'" in l]
    assert denial and "juno-module@probe.service" in denial[0], denial
