# SPDX-License-Identifier: LGPL-2.1-or-later
"""The units in data/ pass `systemd-analyze verify` (with ExecStart pointing
at the built broker), and carry what the integration promises."""

import os
import re
import shutil
import subprocess
from pathlib import Path

from junodbus import broker_path

DATA = Path(os.environ.get("JUNO_SOURCE_ROOT", Path(__file__).resolve().parents[2])) / "data"


def build_bindir(tmp_path):
    """A directory with the built juno and junoctl, as @bindir@ would be."""
    bindir = tmp_path / "bin"
    if not bindir.exists():
        bindir.mkdir()
        broker = Path(broker_path()).resolve()
        (bindir / "juno").symlink_to(broker)
        (bindir / "junoctl").symlink_to(broker.parents[2] / "tools" / "junoctl")
    return str(bindir)


def lay_out(tmp_path, kind):
    """Copies data/<kind>/ into tmp_path with @bindir@ set to the build."""
    bindir = build_bindir(tmp_path)
    out = tmp_path / kind
    out.mkdir()
    for src in (DATA / kind).iterdir():
        name = src.name[:-3] if src.name.endswith(".in") else src.name
        (out / name).write_text(src.read_text().replace("@bindir@", bindir))
    return out


def verify(args, units, **extra_env):
    env = dict(os.environ, SYSTEMD_LOG_LEVEL="notice", **extra_env)
    r = subprocess.run(["systemd-analyze"] + args + ["verify", "--man=no"] + [str(u) for u in units],
                       capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    # lines about units that are not ours (the host's) are not our business
    ours = [line for line in (r.stdout + r.stderr).splitlines()
            if "juno" in line and "Failed to put bus name" not in line]
    return r.returncode, ours


def test_system_units_verify(tmp_path):
    out = lay_out(tmp_path, "system")
    status, problems = verify([], sorted(out.iterdir()))
    assert problems == [], "\n".join(problems)
    assert status == 0


def test_user_units_verify(tmp_path):
    out = lay_out(tmp_path, "user")
    env_runtime = tmp_path / "runtime"
    env_runtime.mkdir(mode=0o700)
    status, problems = verify(["--user"], sorted(out.iterdir()), XDG_RUNTIME_DIR=str(env_runtime))
    assert problems == [], "\n".join(problems)
    assert status == 0


def test_system_service_is_hardened():
    text = (DATA / "system" / "juno.service.in").read_text()
    for setting in ("Type=notify", "User=juno", "ProtectSystem=strict", "NoNewPrivileges=yes",
                    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "ProtectHome=yes",
                    "PrivateDevices=yes", "CapabilityBoundingSet=", "WatchdogSec=",
                    "ExecStart=@bindir@/juno --bus=system"):
        assert re.search("^%s" % re.escape(setting), text, re.M), setting


def test_system_service_reads_the_system_settings():
    # juno runs as the user juno, not root: the default path of juno.conf(5)
    # would be that user's; the unit points it at /etc/juno/juno.conf
    text = (DATA / "system" / "juno.service.in").read_text()
    assert re.search(r"^Environment=XDG_CONFIG_HOME=@sysconfdir@$", text, re.M)
    assert "unit_conf.set('sysconfdir'" in (DATA / "meson.build").read_text()


def test_sockets_are_named():
    assert "FileDescriptorName=unix" in (DATA / "system" / "juno.socket").read_text()
    tcp = (DATA / "system" / "juno-tcp.socket").read_text()
    assert "FileDescriptorName=tcp" in tcp and "Service=juno.service" in tcp
    user = (DATA / "user" / "juno.socket").read_text()
    assert "ListenStream=%t/juno.sock" in user


def test_dbus_activation_file_names_the_service():
    text = (DATA / "org.juno.Broker1.system.service.in").read_text()
    assert "Name=org.juno.Broker1" in text and "SystemdService=juno.service" in text


def test_sysusers_entry():
    assert re.search(r"^u juno ", (DATA / "juno.sysusers").read_text(), re.M)
    assert shutil.which("systemd-analyze")


def test_journal_catalog(tmp_path):
    """journalctl compiles data/juno.catalog, and it explains every
    MESSAGE_ID in src/common/juno-names.h."""
    names = (DATA.parent / "src" / "common" / "juno-names.h").read_text()
    ids = set(re.findall(r'JUNO_MESSAGE_ID_\w+\s+"([0-9a-f]{32})"', names))
    assert len(ids) >= 3
    catalog_dir = tmp_path / "usr" / "lib" / "systemd" / "catalog"
    catalog_dir.mkdir(parents=True)
    (tmp_path / "var" / "lib" / "systemd" / "catalog").mkdir(parents=True)
    shutil.copy(DATA / "juno.catalog", catalog_dir)
    r = subprocess.run(["journalctl", "--root=%s" % tmp_path, "--update-catalog"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    listed = subprocess.run(["journalctl", "--root=%s" % tmp_path, "--list-catalog"],
                            capture_output=True, text=True, timeout=60).stdout
    found = {line.split()[0] for line in listed.splitlines() if " juno: " in line}
    assert found == ids, (found, ids)
