# SPDX-License-Identifier: LGPL-2.1-or-later
"""juno-module@.service: an instance passes `systemd-analyze verify`, and its
commands, run as the unit runs them (environment, ExecStart, ExecStartPost),
bring the example module up: ExecStartPost returns
once the module is active, and the module answers.

The tests cannot run the unit under a service manager here (systemd is not
PID 1), so the unit identity part of the policy is covered by the matcher's
unit tests (tests/unit/test-policy.c, /core/policy/verdict/unit-*)."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from test_units import DATA, build_bindir, lay_out, verify

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from junobroker import Broker  # noqa: E402
from junotest import Module  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "counter-module.py"


def instantiate(tmp_path, kind, instance):
    text = (DATA / kind / "juno-module@.service.in").read_text()
    text = text.replace("@bindir@", build_bindir(tmp_path))
    unit = tmp_path / kind / ("juno-module@%s.service" % instance)
    unit.parent.mkdir(exist_ok=True)
    unit.write_text(text)
    return unit


def test_instances_verify(tmp_path):
    """An instance, with the broker's units it requires beside it."""
    system_units = lay_out(tmp_path, "system")
    system = instantiate(tmp_path, "system", "counter")
    status, problems = verify([], [system] + sorted(system_units.glob("juno.s*")))
    assert problems == [], "\n".join(problems)
    assert status == 0
    user_units = lay_out(tmp_path, "user")
    user = instantiate(tmp_path, "user", "counter")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    status, problems = verify(["--user"], [user] + sorted(user_units.glob("juno.s*")),
                              XDG_RUNTIME_DIR=str(runtime))
    assert problems == [], "\n".join(problems)
    assert status == 0


def test_template_is_hardened_and_supervised():
    text = (DATA / "system" / "juno-module@.service.in").read_text()
    for setting in ("Requires=juno.socket", "After=juno.socket", "DynamicUser=yes", "NoNewPrivileges=yes",
                    "ProtectSystem=strict", "Restart=on-failure",
                    "EnvironmentFile=/etc/juno/modules/%i.conf", "ExecStartPost=+"):
        assert re.search("^%s" % re.escape(setting), text, re.M), setting
    user = (DATA / "user" / "juno-module@.service.in").read_text()
    assert "EnvironmentFile=%E/juno/modules/%i.conf" in user


def unit_settings(text, key):
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


def expand(value, env, instance):
    """systemd's %i and ${VAR} substitution, as far as the template uses them."""
    value = value.replace("%i", instance)
    return re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], value)


def test_unit_commands_bring_the_module_up(tmp_path):
    instance = "counter"
    text = instantiate(tmp_path, "system", instance).read_text()
    broker = Broker(args=["--bus=none", "--policy-dir", str(tmp_path / "none")])
    try:
        broker.start()
        # the unit's Environment=, then its EnvironmentFile= (JUNO_MODULE_EXEC)
        env = dict(os.environ)
        for assignment in shlex.split(unit_settings(text, "Environment")[0]):
            key, value = assignment.split("=", 1)
            env[key] = value
        env["JUNO_SOCKET"] = str(broker.socket_path)  # the test's broker, not /run/juno
        env["JUNO_MODULE_EXEC"] = "%s %s" % (sys.executable, EXAMPLE)
        env["JUNO_MODULE_ID"] = expand("%i", env, instance)

        start = shlex.split(expand(unit_settings(text, "ExecStart")[0], env, instance))
        module = subprocess.Popen(start, env=env, stdin=subprocess.DEVNULL)
        try:
            post = shlex.split(expand(unit_settings(text, "ExecStartPost")[0].lstrip("+"), env, instance))
            r = subprocess.run(post, env=env, capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            # active now: it answers, and it registered as the unit's instance
            m = Module(str(broker.socket_path))
            m.register("probe")
            assert m.call_ok("counter.increment", {"by": 2}) == {"value": 2}
            assert m.call_ok("counter.get", {}) == {"value": 2}
            assert m.module_info("counter")["peer"]["pid"] == module.pid
            m.close()
        finally:
            module.terminate()
            module.wait(10)
        assert broker.stop() == 0
    finally:
        broker.cleanup()
