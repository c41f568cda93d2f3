# SPDX-License-Identifier: LGPL-2.1-or-later
"""The federation module, juno-federation.so, is loaded for --nats only
(juno(8), docs/federation.md): a broker that is not federated maps neither
it nor libnats and OpenSSL; one with --nats maps them and federates; a
--nats (or nats= in juno.conf) whose module is missing, does not load or is
not juno's stops juno with exit status 1 and a message naming the path,
before it listens."""

import ctypes.util
import shutil
import subprocess
from pathlib import Path

from junobroker import broker_env, broker_path
from junofederation import wait_brokers

MODULE_FILE = "juno-federation.so"
# what --nats brings into the process, and only --nats
NATS_OBJECTS = (MODULE_FILE, "libnats.so", "libssl.so", "libcrypto.so")


def mapped(pid):
    """The NATS_OBJECTS that /proc/PID/maps lists, by their file names."""
    found = set()
    for line in Path("/proc/%d/maps" % pid).read_text().splitlines():
        fields = line.split()
        if len(fields) < 6:
            continue
        name = Path(fields[5]).name
        for obj in NATS_OBJECTS:
            if name.startswith(obj):
                found.add(obj)
    return found


def run_juno(tmp_path, module_dir, args):
    """juno with --nats to a port nothing listens on, the module looked for
    in @module_dir; what it prints and its exit status."""
    sock = tmp_path / "juno.sock"
    env = broker_env({"JUNO_MODULE_DIR": str(module_dir), "LC_ALL": "C", "LANGUAGE": ""})
    proc = subprocess.run([str(broker_path()), "--bus=none", "--socket-location", str(sock)] + args,
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert not sock.exists(), "juno listened before it had its federation module"
    return proc


def test_idle_broker_maps_no_nats(broker_factory):
    b = broker_factory()
    b.module("idle")
    assert mapped(b.proc.pid) == set()


def test_federated_broker_maps_the_module_and_federates(federation_factory):
    fed = federation_factory(size=2)
    b1, b2 = fed.brokers
    for b in fed.brokers:
        assert mapped(b.proc.pid) == set(NATS_OBJECTS), b.name
    b1.module("seen-elsewhere")
    wait_brokers(b2, "seen-elsewhere", ["b1"])


def test_missing_module(tmp_path):
    empty = tmp_path / "modules"
    empty.mkdir()
    proc = run_juno(tmp_path, empty, ["--nats", "nats://127.0.0.1:1"])
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ("juno: --nats needs the federation module %s, which is missing "
                           "(JUNO_MODULE_DIR names the directory to look in)\n" % (empty / MODULE_FILE))


def test_missing_module_with_nats_in_the_configuration(tmp_path):
    empty = tmp_path / "modules"
    empty.mkdir()
    conf = tmp_path / "juno.conf"
    conf.write_text("[juno]\nnats=nats://127.0.0.1:1\n")
    proc = run_juno(tmp_path, empty, ["--config", str(conf)])
    assert proc.returncode == 1, proc.stderr
    assert "federation module %s, which is missing" % (empty / MODULE_FILE) in proc.stderr


def test_module_that_does_not_load(tmp_path):
    bad = tmp_path / "modules"
    bad.mkdir()
    (bad / MODULE_FILE).write_text("not a shared object\n")
    proc = run_juno(tmp_path, bad, ["--nats", "nats://127.0.0.1:1"])
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("juno: cannot load the federation module %s: " % (bad / MODULE_FILE)), \
        proc.stderr


def test_shared_object_that_is_not_the_module(tmp_path):
    other = tmp_path / "modules"
    other.mkdir()
    # a real shared object that loads, without the module's entry point:
    # libnats, where this process maps it
    libnats = ctypes.util.find_library("nats")
    assert libnats, "libnats not found by ctypes"
    ctypes.CDLL(libnats)
    lib_path = next(line.split()[5] for line in Path("/proc/self/maps").read_text().splitlines()
                    if len(line.split()) >= 6 and Path(line.split()[5]).name.startswith("libnats.so"))
    shutil.copy(lib_path, other / MODULE_FILE)
    proc = run_juno(tmp_path, other, ["--nats", "nats://127.0.0.1:1"])
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("juno: %s is not juno's federation module: " % (other / MODULE_FILE)), \
        proc.stderr


def test_no_module_needed_without_nats(tmp_path, broker_factory):
    empty = tmp_path / "modules"
    empty.mkdir()
    b = broker_factory(env={"JUNO_MODULE_DIR": str(empty)})
    b.module("local")
    assert mapped(b.proc.pid) == set()
