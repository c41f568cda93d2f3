# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for the juno integration tests.

Each test starts the real broker binary through the shared harness
(tests/lib/junobroker.py: $JUNO_BROKER, a private temporary directory,
READY=1 on a notify socket owned by the test); on teardown it must stop on
SIGTERM with status 0 and a log free of sanitizer reports and GLib
criticals. The broker's log is attached to the report of a failing test.

Run by hand from the top of the tree:

    JUNO_BROKER=build/src/daemon/juno python3 -m pytest tests/integration

or through meson: meson test -C build --suite integration.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from junobroker import REPO_ROOT, broker_env, broker_path, check_log_clean  # noqa: E402,F401
from junofixtures import broker, broker_factory, pytest_runtest_makereport  # noqa: E402,F401


def project_version():
    """The broker's version, from the top-level meson.build."""
    text = (REPO_ROOT / "meson.build").read_text()
    m = re.search(r"project\([^)]*?version\s*:\s*'([^']+)'", text, re.S)
    assert m, "cannot find the project version in meson.build"
    return m.group(1)


def run_juno(args, *, timeout=15, env=None, cwd=None):
    """Run the broker to completion (for options that make it exit)."""
    try:
        return subprocess.run([str(broker_path())] + list(args),
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, env=broker_env(env), cwd=cwd)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("juno %s did not exit within %d s (stderr: %r)"
                             % (" ".join(args), timeout, exc.stderr)) from None


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
