# SPDX-License-Identifier: LGPL-2.1-or-later
"""Installs that work (docs/install.md), tried as a new user would:

- this build, `meson install --destdir`: every file where the layout says,
  libjuno in Debian's multiarch libdir, an installed junoctl that runs, a
  pkg-config file pkg-config reads;
- the install plan of `-Dprefix=/usr` (the packaging path) and of the
  default prefix: the library, pkg-config file and typelib where the
  system's linker, pkg-config and libgirepository look, and the system bus
  policy in a directory dbus-daemon's system.conf includes;
- a fresh build installed for real into a temporary prefix: junoctl runs
  with nothing set (its run path), and Python and GJS load the Juno
  typelib with exactly the variables `meson setup` printed."""

import json
import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path


SOURCE_ROOT = Path(os.environ["JUNO_SOURCE_ROOT"])
BUILD_ROOT = Path(os.environ["JUNO_BUILD_ROOT"])
VERSION = os.environ["JUNO_VERSION"]
PREFIX = os.environ["JUNO_PREFIX"]
LIBDIR = os.environ["JUNO_LIBDIR"]
BINDIR = os.environ["JUNO_BINDIR"]
POLICY_DIR = os.environ["JUNO_DBUS_POLICY_DIR"]
POLICY = "org.juno.Broker1.conf"
# the federation module (juno(8)), in LIBDIR/juno when built with NATS
HAVE_NATS = os.environ["JUNO_HAVE_NATS"] == "1"
MODULE = "juno-federation.so"

PYTHON_IMPORT = """
import gi
gi.require_version("Juno", "1.0")
from gi.repository import Juno
print("python", Juno.Client.__gtype__.name, Juno._version)
"""
GJS_IMPORT = """
imports.gi.versions.Juno = '1.0';
const Juno = imports.gi.Juno;
print('gjs ' + Juno.Client.$gtype.name);
"""


def run(cmd, env=None, timeout=600, **kwargs):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, env=env, **kwargs)
    assert r.returncode == 0, "%s: exit %d\n%s\n%s" % (" ".join(map(str, cmd)), r.returncode, r.stdout, r.stderr)
    return r.stdout


def clean_env(**extra):
    """A new user's environment: none of the test build's variables."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_LIBRARY_PATH", "GI_TYPELIB_PATH", "PKG_CONFIG_PATH", "LD_PRELOAD",
                        "JUNO_MODULE_DIR")}
    env.update(extra)
    return env


def multiarch_libdir():
    return "lib/" + run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]).strip()


def dbus_system_dirs():
    """The directories dbus-daemon's system bus reads policies from."""
    conf = Path("/usr/share/dbus-1/system.conf")
    dirs = []
    for node in ET.parse(conf).getroot().iter("includedir"):
        d = node.text.strip()
        dirs.append(d if d.startswith("/") else str(conf.parent / d))
    assert dirs, "no <includedir> in %s" % conf
    return dirs


def typelib_search_dirs():
    """Where libgirepository looks besides GI_TYPELIB_PATH: its typelibdir
    (pkg-config) and /usr/lib/girepository-1.0."""
    typelibdir = run(["pkg-config", "--variable=typelibdir", "gobject-introspection-1.0"]).strip()
    return [typelibdir, "/usr/lib/girepository-1.0"]


def pkg_config_dirs():
    return run(["pkg-config", "--variable=pc_path", "pkg-config"]).strip().split(":")


def starts_federated(juno, env, tmp_path):
    """@juno --nats (to a port nothing listens on) finds its module and
    listens; it would exit at once without it."""
    sock = tmp_path / "juno-nats.sock"
    proc = subprocess.Popen([str(juno), "--bus=none", "--socket-location", str(sock), "--nats", "nats://127.0.0.1:1"],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not sock.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sock.exists(), "%s --nats did not start: %s" % (
            juno, proc.stderr.read() if proc.poll() is not None else "still starting")
    finally:
        proc.terminate()
        proc.wait(20)
        proc.stderr.close()


def test_destdir_install_of_this_build(tmp_path):
    destdir = tmp_path / "root"
    run(["meson", "install", "-C", BUILD_ROOT, "--no-rebuild", "--destdir", destdir])
    root = lambda path: destdir / path.lstrip("/")  # noqa: E731

    # Debian's multiarch libdir (dpkg-dev in scripts/deps.sh), not lib64
    assert LIBDIR == PREFIX + "/" + multiarch_libdir(), LIBDIR
    lib = root(LIBDIR) / "libjuno-1.0.so.0"
    assert lib.exists(), sorted(str(p) for p in destdir.rglob("libjuno*"))
    assert (root(LIBDIR) / "girepository-1.0" / "Juno-1.0.typelib").exists()
    assert (root(POLICY_DIR) / POLICY).exists()
    assert POLICY_DIR in dbus_system_dirs(), (POLICY_DIR, dbus_system_dirs())

    junoctl = root(BINDIR) / "junoctl"
    dynamic = run(["readelf", "-d", junoctl])
    if PREFIX != "/usr":
        # outside /usr junoctl finds libjuno by its run path
        assert re.search(r"(RUNPATH|RPATH).*\[%s\]" % re.escape(LIBDIR), dynamic), dynamic
    out = run([junoctl, "--version"], env=clean_env(LD_LIBRARY_PATH=str(root(LIBDIR))))
    assert VERSION in out, out
    out = run([root(BINDIR) / "juno", "--version"], env=clean_env())
    assert out.strip() == "juno " + VERSION, out
    if HAVE_NATS:
        module_dir = root(LIBDIR) / "juno"
        assert (module_dir / MODULE).exists(), sorted(str(p) for p in destdir.rglob("juno*.so"))
        assert "libnats" not in run(["ldd", root(BINDIR) / "juno"])
        # the installed juno loads the installed module (its compiled-in
        # directory is under the prefix, not the DESTDIR: named here)
        starts_federated(root(BINDIR) / "juno", clean_env(JUNO_MODULE_DIR=str(module_dir)), tmp_path)

    pcdir = root(LIBDIR) / "pkgconfig"
    out = run(["pkg-config", "--modversion", "libjuno-1.0"], env=clean_env(PKG_CONFIG_PATH=str(pcdir)))
    assert out.strip() == VERSION, out


def configure(tmp_path, name, *options):
    """A configuration only (no build): its install plan."""
    build = tmp_path / name
    out = run(["meson", "setup", build, SOURCE_ROOT, "-Dtests=false", "-Dvapi=disabled"] + list(options))
    plan = json.loads(run(["meson", "introspect", "--installed", build]))
    return out, {Path(dest).name: dest for dest in plan.values()}


def test_packaging_prefix_usr(tmp_path):
    out, plan = configure(tmp_path, "usr", "--prefix=/usr")
    libdir = "/usr/" + multiarch_libdir()
    assert Path(plan["libjuno-1.0.so.0"]).parent == Path(libdir), plan["libjuno-1.0.so.0"]
    # the system's linker searches it without a cache entry, pkg-config
    # and libgirepository without a variable, dbus-daemon reads the policy
    assert str(Path(plan["libjuno-1.0.pc"]).parent) in pkg_config_dirs(), plan["libjuno-1.0.pc"]
    assert str(Path(plan["Juno-1.0.typelib"]).parent) in typelib_search_dirs(), plan["Juno-1.0.typelib"]
    assert plan[POLICY] == "/usr/share/dbus-1/system.d/" + POLICY, plan[POLICY]
    assert str(Path(plan[POLICY]).parent) in dbus_system_dirs()
    assert "not searched by PyGObject and GJS" not in out, out


def test_default_prefix_plan(tmp_path):
    out, plan = configure(tmp_path, "local")
    libdir = "/usr/local/" + multiarch_libdir()
    assert Path(plan["libjuno-1.0.so.0"]).parent == Path(libdir), plan["libjuno-1.0.so.0"]
    # the linker's configuration has it (the install runs ldconfig)
    conf = "\n".join(p.read_text() for p in Path("/etc/ld.so.conf.d").glob("*.conf"))
    assert libdir in conf.split(), conf
    # the system bus reads /etc/dbus-1/system.d, not /usr/local/share/...
    assert plan[POLICY] == "/etc/dbus-1/system.d/" + POLICY, plan[POLICY]
    assert str(Path(plan[POLICY]).parent) in dbus_system_dirs()
    # the typelib is not where libgirepository looks: setup says so
    assert str(Path(plan["Juno-1.0.typelib"]).parent) not in typelib_search_dirs()
    assert "not searched by PyGObject and GJS: set GI_TYPELIB_PATH, see docs/install.md" in out, out
    assert "export GI_TYPELIB_PATH=%s/girepository-1.0" % libdir in out, out
    # the library is found through ldconfig's cache (the install runs it)
    assert "LD_LIBRARY_PATH" not in out, out
    if HAVE_NATS:
        assert plan[MODULE] == libdir + "/juno/" + MODULE, plan[MODULE]
        assert re.search(r"federation module\s*: %s" % re.escape("%s/juno/%s" % (libdir, MODULE)), out), out


def test_real_install_into_a_prefix(tmp_path):
    prefix = tmp_path / "prefix"
    build = tmp_path / "build"
    policy_dir = prefix / "share" / "dbus-1" / "system.d"
    setup = run(["meson", "setup", build, SOURCE_ROOT, "--prefix=%s" % prefix, "-Dtests=false", "-Dvapi=disabled",
         "-Ddbus_policy_dir=%s" % policy_dir,
         "-Dsystemdsystemunitdir=%s" % (prefix / "lib/systemd/system"),
         "-Dsystemduserunitdir=%s" % (prefix / "lib/systemd/user"),
         "-Dsysusersdir=%s" % (prefix / "lib/sysusers.d"),
         "-Dcatalogdir=%s" % (prefix / "lib/systemd/catalog")], env=clean_env())
    run(["ninja", "-C", build, "-j", "2"], env=clean_env())
    run(["meson", "install", "-C", build, "--no-rebuild"], env=clean_env())
    libdir = prefix / multiarch_libdir()
    typelibdir = libdir / "girepository-1.0"

    # junoctl and juno run with nothing set
    ver = run([prefix / "bin" / "junoctl", "--version"], env=clean_env())
    assert VERSION in ver, ver
    ver = run([prefix / "bin" / "juno", "--version"], env=clean_env())
    assert ver.strip() == "juno " + VERSION, ver
    if HAVE_NATS:
        # and --nats finds the module where it was installed
        starts_federated(prefix / "bin" / "juno", clean_env(), tmp_path)
    # pkg-config with the prefix's directory added
    pc = run(["pkg-config", "--modversion", "libjuno-1.0"], env=clean_env(PKG_CONFIG_PATH=str(libdir / "pkgconfig")))
    assert pc.strip() == VERSION, pc
    cflags = run(["pkg-config", "--cflags", "libjuno-1.0"], env=clean_env(PKG_CONFIG_PATH=str(libdir / "pkgconfig")))
    assert "-I%s/include/libjuno-1.0" % prefix in cflags, cflags

    # meson setup's summary says what to set, exactly
    exports = dict(re.findall(r"export (\w+)=([^\s;]+)", setup))
    assert exports.get("GI_TYPELIB_PATH") == str(typelibdir), setup
    assert exports.get("LD_LIBRARY_PATH") == str(libdir), setup
    assert "%s (not read by dbus-daemon: for --bus=system copy %s to /etc/dbus-1/system.d)" \
        % (policy_dir, POLICY) in setup, setup
    assert (policy_dir / POLICY).exists()

    # ... and with it Python and GJS load libjuno through the typelib
    env = clean_env(**exports)
    py = run(["/usr/bin/python3", "-c", PYTHON_IMPORT], env=env)
    assert py.startswith("python JunoClient 1.0"), py
    gjs = run(["gjs", "-c", GJS_IMPORT], env=env)
    assert gjs.strip() == "gjs JunoClient", gjs
    # without them, they do not: the message is needed
    r = subprocess.run(["/usr/bin/python3", "-c", PYTHON_IMPORT], capture_output=True, text=True,
                       env=clean_env(), timeout=60)
    assert r.returncode != 0 and "Juno" in r.stderr, (r.stdout, r.stderr)
