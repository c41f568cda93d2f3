# SPDX-License-Identifier: LGPL-2.1-or-later
"""libjuno through its typelib from GJS, against the real broker.

gjs-module.js is the module under test; a raw protocol module drives it.
The example script examples/list-modules.js runs too.
"""

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clienttest import TIMEOUT, Broker, RawModule, wait_back  # noqa: E402

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parents[1] / "examples"
GJS = "/usr/bin/gjs"


@pytest.fixture
def broker():
    b = Broker().start()
    yield b
    b.cleanup()


def test_gjs_module(broker):
    driver = RawModule(broker, "driver", {"echo": lambda a: {"type": 4, "data": a}})
    for hook in ("gjsmod.ready", "gjsmod.went"):
        assert driver.request({"type": 5, "hook": hook})["type"] == 6
    proc = subprocess.Popen([GJS, str(HERE / "gjs-module.js"), str(broker.socket_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        driver.wait_for(lambda: any(h["hook"] == "gjsmod.ready" for h in driver.hooks), "ready")
        info = driver.module("gjsmod")
        assert info["version"] == "3.0.0"
        assert sorted(info["declaredFunctions"]) == ["fail", "greet", "quit"]
        assert info["registeredHooks"] == ["driver.go"]

        assert driver.call("gjsmod.greet", {"name": "GJS"}) == {"greeting": "Hello, GJS", "caller": "driver"}
        reply = driver.request({"type": 3, "function": "gjsmod.fail", "arguments": {}})
        assert reply["type"] == 0 and reply["error"] == 4

        driver.request({"type": 7, "hook": "go", "data": {"n": 41}})
        driver.wait_for(lambda: any(h["hook"] == "gjsmod.went" for h in driver.hooks), "went")
        assert [h["data"] for h in driver.hooks if h["hook"] == "gjsmod.went"] == [{"n": 42}]
        assert [c["arguments"] for c in driver.calls] == [{"n": 41}]

        # The broker restarts under the running script: it comes back by
        # itself, registered, declared and listening again.
        driver.close()
        broker.stop()
        broker.start()
        driver = RawModule(broker, "driver", {"echo": lambda a: {"type": 4, "data": a}})
        assert driver.request({"type": 5, "hook": "gjsmod.went"})["type"] == 6
        wait_back(driver, "gjsmod", ["fail", "greet", "quit"], ["driver.go"])
        assert driver.call("gjsmod.greet", {"name": "again"}) == {"greeting": "Hello, again", "caller": "driver"}
        driver.request({"type": 7, "hook": "go", "data": {"n": 1}})
        driver.wait_for(lambda: any(h["hook"] == "gjsmod.went" for h in driver.hooks), "went after the restart")
        assert [h["data"] for h in driver.hooks if h["hook"] == "gjsmod.went"] == [{"n": 2}]

        assert driver.call("gjsmod.quit") is None
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        driver.close()
    assert proc.returncode == 0, err
    assert "CRITICAL" not in err and "WARNING" not in err, err


def test_gjs_overrides(broker):
    """overrides/Juno.js from the source tree: JavaScript values in and out;
    a handler that throws, or whose promise rejects, answers at once."""
    driver = RawModule(broker, "driver", {"echo": lambda a: {"type": 4, "data": a}})
    for hook in ("gjsover.ready", "gjsover.ticked"):
        assert driver.request({"type": 5, "hook": hook})["type"] == 6
    proc = subprocess.Popen([GJS, str(HERE / "gjs-overrides.js"), str(broker.socket_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        driver.wait_for(lambda: any(h["hook"] == "gjsover.ready" for h in driver.hooks)
                        or proc.poll() is not None, "ready")
        assert proc.poll() is None, proc.communicate()

        def call(name, arguments=None):
            reply = driver.request({"type": 3, "function": "gjsover." + name, "arguments": arguments or {}})
            return reply["type"], reply.get("data", reply.get("error"))

        assert call("greet", {"name": "GJS"}) == (4, {"greeting": "Hello, GJS"})
        assert call("nothing") == (4, None)
        assert call("later", {"n": 41}) == (4, {"later": 42})
        assert call("boom") == (0, 1005)       # Juno.Error.HANDLER_FAILED
        assert call("rejected") == (0, 1005)
        assert call("raw") == (0, 1005)
        assert call("coded") == (0, 4)         # the code of a thrown GLib.Error

        driver.request({"type": 7, "hook": "tick", "data": {"n": 1}})
        driver.wait_for(lambda: any(h["hook"] == "gjsover.ticked" for h in driver.hooks), "ticked")
        assert [h["data"] for h in driver.hooks if h["hook"] == "gjsover.ticked"] == [{"n": 2, "hook": "driver.tick"}]

        assert driver.call("gjsover.quit") is None
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        driver.close()
    assert proc.returncode == 0, err
    assert "CRITICAL" not in err, err


def test_gjs_example(broker):
    m = RawModule(broker, "shown")
    r = subprocess.run([GJS, str(EXAMPLES / "list-modules.js"), "--once", str(broker.socket_path)],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["juno 0.1.0 active", "shown 1.0.0 active"]
    m.close()

    r = subprocess.run([GJS, str(EXAMPLES / "list-modules.js"), "--once", str(broker.dir / "absent")],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 1
    assert r.stderr.startswith("list-modules: ")
