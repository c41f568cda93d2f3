# SPDX-License-Identifier: LGPL-2.1-or-later
"""junoctl against the real broker: every verb, every error path, exit statuses.

Exit statuses (docs/junoctl.1): 0 ok, 1 error answer, 2 usage or JSON,
3 no broker, 4 broker lost, 5 timed out.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clienttest import (Broker, RawModule, TIMEOUT, assert_clean,  # noqa: E402
                        assert_one_line_error, junoctl, junoctl_popen, wait_until)

REPO = Path(__file__).resolve().parents[2]
VERBS = ["list", "info juno", "call juno.listModules", "trigger x.y", "listen a.b",
         "monitor", "stats"]
LIFECYCLE = ["juno.moduleConnected", "juno.moduleDisconnected", "juno.moduleActivated",
             "juno.moduleDeactivated"]


@pytest.fixture
def broker():
    b = Broker().start()
    yield b
    b.cleanup()


def echo(arguments):
    return {"type": 4, "data": arguments}


def fail(arguments):
    return {"type": 0, "error": arguments.get("code", 0)}


def hold(arguments):
    return None


@pytest.fixture
def service(broker):
    m = RawModule(broker, "service", {"echo": echo, "fail": fail, "hold": hold})
    yield m
    m.close()


# -- global options -----------------------------------------------------------

def test_version_and_usage(broker):
    r = subprocess.run([os.environ["JUNOCTL"], "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("junoctl ")
    r = subprocess.run([os.environ["JUNOCTL"]], capture_output=True, text=True)
    assert r.returncode == 2
    assert_one_line_error(r.stderr, "junoctl: no command given")
    r = junoctl(broker, "frobnicate")
    assert r.returncode == 2
    assert_one_line_error(r.stderr, "junoctl: unknown command 'frobnicate'")
    r = junoctl(broker, "list", "--tcp", "127.0.0.1:1")
    assert r.returncode == 2
    assert_one_line_error(r.stderr, "junoctl: list: --socket and --tcp exclude each other")
    r = junoctl(broker, "list", "--bogus")
    assert r.returncode == 2
    assert_one_line_error(r.stderr, "junoctl: list: Unknown option --bogus")
    r = subprocess.run([os.environ["JUNOCTL"], "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "monitor" in r.stdout and "Exit status" in r.stdout


@pytest.mark.parametrize("verb", VERBS)
def test_no_broker(broker, verb):
    r = junoctl(broker, *verb.split(), socket_path=broker.dir / "absent.sock")
    assert r.returncode == 3, r.stderr
    assert_one_line_error(r.stderr, "junoctl: %s: cannot connect to the broker at " % verb.split()[0])


def test_default_socket(broker, service):
    """Without --socket: $XDG_RUNTIME_DIR/juno.sock, for the observer
    commands as for call."""
    env = dict(os.environ, XDG_RUNTIME_DIR=str(broker.socket_path.parent))
    assert broker.socket_path.name == "juno.sock"
    for args in (["--json", "list"], ["wait", "service", "--timeout", "10"],
                 ["--json", "call", "service.echo", '{"a": 1}']):
        r = subprocess.run([os.environ["JUNOCTL"]] + args, capture_output=True, text=True,
                           env=env, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, (args, r.stderr)
    assert json.loads(r.stdout) == {"a": 1}


def test_tcp():
    b = Broker(tcp=True).start()
    try:
        cmd = [os.environ["JUNOCTL"], "--tcp", "127.0.0.1:%d" % b.port, "--json", "list"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode == 0, r.stderr
        assert [m["moduleId"] for m in json.loads(r.stdout)] == ["juno"]
    finally:
        b.cleanup()


# -- list, info ----------------------------------------------------------------

def test_list(broker, service):
    r = junoctl(broker, "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["MODULE", "VERSION", "CONN", "ACTIVE", "FUNCTIONS", "HOOKS", "DEPENDENCIES"]
    assert "\033[" not in r.stdout  # no colour when not a terminal
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {"juno", "service"}  # junoctl's own connection left out
    assert rows["service"][1:4] == ["1.0.0", rows["service"][2], "yes"]
    assert sorted(rows["service"][4].split(",")) == ["echo", "fail", "hold"]
    # Columns are aligned: every row's VERSION starts at the header's.
    col = lines[0].index("VERSION")
    assert all(line[col - 2:col] == "  " and line[col] != " " for line in lines[1:])

    r = junoctl(broker, "--json", "list")
    assert r.returncode == 0
    modules = json.loads(r.stdout)
    assert [m["moduleId"] for m in modules] == ["juno", "service"]
    assert sorted(modules[1]["declaredFunctions"]) == ["echo", "fail", "hold"]

    r = junoctl(broker, "list", "extra")
    assert r.returncode == 2
    assert_one_line_error(r.stderr, "junoctl: list: too many arguments")


def test_info(broker, service):
    r = junoctl(broker, "info", "service")
    assert r.returncode == 0, r.stderr
    fields = dict(line.split(None, 1) for line in r.stdout.splitlines())
    assert fields["Module:"] == "service"
    assert fields["Active:"] == "yes"
    assert sorted(fields["Functions:"].split(", ")) == ["echo", "fail", "hold"]
    # who is at the other end: the test process, over the Unix socket
    assert fields["Peer:"].startswith("unix, pid %d, uid %d (" % (os.getpid(), os.getuid())), fields
    r = junoctl(broker, "info", "service", "--json")
    assert json.loads(r.stdout)["moduleId"] == "service"

    r = junoctl(broker, "info", "nobody")
    assert r.returncode == 1
    assert_one_line_error(r.stderr, "junoctl: info: nobody: no such module")
    r = junoctl(broker, "info")
    assert r.returncode == 2
    assert_one_line_error(r.stderr, "junoctl: info: no module given")


# -- call -------------------------------------------------------------------------

def test_call(broker, service):
    r = junoctl(broker, "--json", "call", "service.echo", '{"a": [1, "x"]}')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"a": [1, "x"]}
    assert len(r.stdout.splitlines()) == 1
    assert service.calls[-1]["caller"].startswith("junoctl-")

    r = junoctl(broker, "call", "service.echo")
    assert r.returncode == 0
    assert json.loads(r.stdout) == {}

    r = junoctl(broker, "call", "juno.getModuleInfo", '{"moduleId": "service"}')
    assert r.returncode == 0
    assert json.loads(r.stdout)["moduleId"] == "service"
    assert len(r.stdout.splitlines()) > 1  # pretty-printed for people


def test_call_sends_the_json_as_written(broker, service):
    # No round trip through a JSON library: numbers keep their digits,
    # escapes stay as they were; only the whitespace between tokens goes.
    text = '{ "n": 1.50, "e": 1E+2, "max": 9223372036854775807,\n "s": "\\u00e9\\n", "t": 0.1 }'
    r = junoctl(broker, "--json", "call", "service.echo", text)
    assert r.returncode == 0, r.stderr
    sent = [line for line in service.raw_lines if b'"type":3' in line]
    assert len(sent) == 1
    assert (b'"arguments":{"n":1.50,"e":1E+2,"max":9223372036854775807,"s":"\\u00e9\\n","t":0.1}'
            in sent[0]), sent[0]


@pytest.mark.parametrize("args,status,message", [
    (["nobody.fn"], 1, "junoctl: call: nobody.fn: Unknown module"),
    (["service.absent"], 1, "junoctl: call: service.absent: Unknown function"),
    (["service.fail", '{"code": 7}'], 1, "junoctl: call: service.fail: A module with this id"),
    (["service.fail", '{"code": 77}'], 1, "junoctl: call: service.fail: The module answered with error 77"),
    (["service.echo", "{bad"], 2, "junoctl: call: invalid JSON arguments: "),
    (["service.echo", "[1]"], 2, "junoctl: call: invalid JSON arguments: the text is not a JSON object"),
    # the broker's grammar: what it would refuse is refused here, with a reason
    (["service.echo", '{"name": 1e400}'], 2,
     "junoctl: call: invalid JSON arguments: the text holds a number out of range"),
    (["service.echo", '{"n": -1e400}'], 2,
     "junoctl: call: invalid JSON arguments: the text holds a number out of range"),
    (["service.echo", '{"n": 18446744073709551616}'], 2,
     "junoctl: call: invalid JSON arguments: the text holds a number out of range"),
    (["service.echo", "{'a': 1}"], 2, "junoctl: call: invalid JSON arguments: the text is not valid JSON"),
    (["service.echo", '{"a": 01}'], 2, "junoctl: call: invalid JSON arguments: the text is not valid JSON"),
    (["service.echo", '{"a": "\t"}'], 2, "junoctl: call: invalid JSON arguments: the text is not valid JSON"),
    (["service.echo", '{"a": 1} {}'], 2, "junoctl: call: invalid JSON arguments: the text is not valid JSON"),
    (["service.echo", "[" * 65 + "]" * 65], 2,
     "junoctl: call: invalid JSON arguments: the text is nested deeper than 64 levels"),
    (["service.echo", ""], 2, "junoctl: call: invalid JSON arguments: "),
    (["nodot"], 2, "junoctl: call: the function must be given as MODULE.FUNCTION"),
    ([], 2, "junoctl: call: no function given"),
    (["a.b", "{}", "extra"], 2, "junoctl: call: too many arguments"),
    (["service.hold", "--timeout", "0.2"], 5, "junoctl: call: service.hold: The call timed out"),
])
def test_call_errors(broker, service, args, status, message):
    r = junoctl(broker, "call", *args)
    assert r.returncode == status, r.stderr
    assert_one_line_error(r.stderr, message)
    assert r.stdout == ""


def test_call_default_timeout_is_finite(broker):
    r = junoctl(broker, "call", "--help")
    assert "default 35" in r.stdout, r.stdout


def test_call_broker_dies(broker, service):
    p = junoctl_popen(broker, "call", "service.hold")
    service.wait_for(lambda: service.calls, "the call to arrive")
    broker.stop()
    out, err = p.communicate(timeout=TIMEOUT)
    assert_clean(err)
    assert p.returncode == 4, err
    assert_one_line_error(err, "junoctl: call: service.hold: Connection to the broker lost")


# -- trigger ----------------------------------------------------------------------

def test_trigger(broker):
    listener = RawModule(broker, "listener")
    assert listener.request({"type": 5, "hook": "sensor.temp"})["type"] == 6
    assert listener.request({"type": 5, "hook": "junoctl.beep"})["type"] == 6

    r = junoctl(broker, "trigger", "sensor.temp", '{"c": 21}')
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    r = junoctl(broker, "trigger", "--as", "sensor", "temp")
    assert r.returncode == 0, r.stderr
    r = junoctl(broker, "trigger", "beep")
    assert r.returncode == 0, r.stderr
    listener.wait_for(lambda: len([h for h in listener.hooks if h["hook"] != "juno.activated"]) == 3,
                      "three hooks")
    got = [(h["hook"], h["data"]) for h in listener.hooks if h["hook"] != "juno.activated"]
    assert got == [("sensor.temp", {"c": 21}), ("sensor.temp", {}), ("junoctl.beep", {})]
    listener.close()


def test_trigger_as_a_connected_module(broker, service):
    """--as works whether or not the module is connected; the module itself
    is not disturbed."""
    listener = RawModule(broker, "listener")
    assert listener.request({"type": 5, "hook": "service.ping"})["type"] == 6
    r = junoctl(broker, "trigger", "--as", "service", "ping", '{"n": 1}')
    assert r.returncode == 0, r.stderr
    listener.wait_for(lambda: any(h["hook"] == "service.ping" for h in listener.hooks), "the hook")
    assert [h["data"] for h in listener.hooks if h["hook"] == "service.ping"] == [{"n": 1}]
    assert [m["moduleId"] for m in listener.call("juno.listModules")] == ["juno", "listener", "service"]
    listener.close()


@pytest.mark.parametrize("args,status,message", [
    (["x.y", "{bad"], 2, "junoctl: trigger: invalid JSON data: "),
    (["x.y", "3"], 2, "junoctl: trigger: invalid JSON data: the text is not a JSON object"),
    (["x.y", '{"t": 1e400}'], 2, "junoctl: trigger: invalid JSON data: the text holds a number out of range"),
    (["x.y", "{/* c */}"], 2, "junoctl: trigger: invalid JSON data: the text is not valid JSON"),
    ([], 2, "junoctl: trigger: no hook given"),
    (["x."], 2, "junoctl: trigger: the hook must be given as HOOK or MODULE.HOOK"),
    (["--as", "a", "b.c"], 2, "junoctl: trigger: --as contradicts the module in MODULE.HOOK"),
    (["bad id.ping"], 2, "junoctl: trigger: the hook must be given as HOOK or MODULE.HOOK"),
    # the broker's own hooks can never be forged
    (["juno.moduleActivated", '{"moduleId": "x"}'], 1,
     "junoctl: trigger: juno.moduleActivated: Access denied"),
])
def test_trigger_errors(broker, service, args, status, message):
    r = junoctl(broker, "trigger", *args)
    assert r.returncode == status, r.stderr
    assert_one_line_error(r.stderr, message)


# -- listen -----------------------------------------------------------------------

def test_listen(broker, service):
    mark = service.mark()
    p = junoctl_popen(broker, "listen", "--count", "3", "service.ping", "service.pong")
    service.wait_lines_read(mark, 2)
    assert service.request({"type": 7, "hook": "ping", "data": {"n": 1}})["type"] == 8
    assert service.request({"type": 7, "hook": "other"})["type"] == 8
    assert service.request({"type": 7, "hook": "pong"})["type"] == 8
    assert service.request({"type": 7, "hook": "ping"})["type"] == 8
    out, err = p.communicate(timeout=TIMEOUT)
    assert_clean(err)
    assert p.returncode == 0, err
    assert out.splitlines() == ['service.ping {"n":1}', "service.pong {}", "service.ping {}"]

    mark = service.mark()
    p = junoctl_popen(broker, "--json", "listen", "-n", "1", "service.ping")
    service.wait_lines_read(mark, 1)
    r = junoctl(broker, "trigger", "service.ping", '{"x": [1], "n": 1e5}')
    assert r.returncode == 0, r.stderr
    out, err = p.communicate(timeout=TIMEOUT)
    assert_clean(err)
    assert p.returncode == 0, err
    assert json.loads(out) == {"hook": "service.ping", "data": {"x": [1], "n": 1e5}}
    assert '"n":1e5' in out  # as the broker sent it


def test_listen_globs_and_all(broker, service):
    other = RawModule(broker, "other")
    mark = service.mark()
    p = junoctl_popen(broker, "listen", "-n", "3", "service.*", "*.tick")
    service.wait_lines_read(mark, 2)
    service.request({"type": 7, "hook": "tick"})   # matches both: printed once
    other.request({"type": 7, "hook": "tock"})     # matches neither
    other.request({"type": 7, "hook": "tick"})
    service.request({"type": 7, "hook": "ping"})
    out, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 0, err
    assert out.splitlines() == ["service.tick {}", "other.tick {}", "service.ping {}"]

    mark = service.mark()
    p = junoctl_popen(broker, "--json", "listen", "--all", "-n", "3")
    service.wait_lines_read(mark, 1)
    other.request({"type": 7, "hook": "tock"})
    other.close()
    out, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 0, err
    assert [json.loads(line)["hook"] for line in out.splitlines()] == \
        ["other.tock", "juno.moduleDeactivated", "juno.moduleDisconnected"]


def test_listen_until_signal(broker, service):
    mark = service.mark()
    p = junoctl_popen(broker, "listen", "service.ping")
    service.wait_lines_read(mark, 1)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=TIMEOUT)
    assert_clean(err)
    assert p.returncode == 0, err
    assert out == ""


def test_listen_broker_dies(broker, service):
    mark = service.mark()
    p = junoctl_popen(broker, "listen", "service.ping")
    service.wait_lines_read(mark, 1)
    broker.stop()
    out, err = p.communicate(timeout=TIMEOUT)
    assert_clean(err)
    assert p.returncode == 4, err
    assert_one_line_error(err, "junoctl: listen: the broker closed the connection")


@pytest.mark.parametrize("args,message", [
    ([], "junoctl: listen: no hook given"),
    (["nodot"], "junoctl: listen: 'nodot' is not a hook pattern"),
    (["a.b.c"], "junoctl: listen: 'a.b.c' is not a hook pattern"),
    (["--all", "a.b"], "junoctl: listen: --all takes no pattern"),
    (["-n", "-1", "a.b"], "junoctl: listen: --count must not be negative"),
])
def test_listen_errors(broker, args, message):
    r = junoctl(broker, "listen", *args)
    assert r.returncode == 2, r.stderr
    assert_one_line_error(r.stderr, message)


# -- monitor ----------------------------------------------------------------------

def test_monitor(broker):
    watcher = RawModule(broker, "watcher")
    mark = watcher.mark()
    p = junoctl_popen(broker, "--json", "monitor", "--count", "4")
    watcher.wait_lines_read(mark, 4)
    m = RawModule(broker, "visitor")
    m.close()
    out, err = p.communicate(timeout=TIMEOUT)
    assert_clean(err)
    assert p.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    conn = events[0]["connectionId"]
    assert events == [
        {"event": "moduleConnected", "connectionId": conn},
        {"event": "moduleActivated", "moduleId": "visitor"},
        {"event": "moduleDeactivated", "moduleId": "visitor"},
        {"event": "moduleDisconnected", "connectionId": conn},
    ]

    mark = watcher.mark()
    p = junoctl_popen(broker, "monitor", "-n", "2")
    watcher.wait_lines_read(mark, 4)
    RawModule(broker, "second").close()
    out, err = p.communicate(timeout=TIMEOUT)
    assert_clean(err)
    assert p.returncode == 0, err
    lines = out.splitlines()
    assert lines[0].split()[1:3] == ["connected", "connection"]
    assert lines[1].split()[1:] == ["activated", "module", "second"]
    watcher.close()


def test_monitor_errors(broker):
    r = junoctl(broker, "monitor", "extra")
    assert r.returncode == 2
    assert_one_line_error(r.stderr, "junoctl: monitor: too many arguments")
    watcher = RawModule(broker, "watcher")
    mark = watcher.mark()
    p = junoctl_popen(broker, "monitor")
    watcher.wait_lines_read(mark, 4)
    broker.stop()
    out, err = p.communicate(timeout=TIMEOUT)
    assert_clean(err)
    assert p.returncode == 4, err
    assert_one_line_error(err, "junoctl: monitor: the broker closed the connection")


# -- stats ------------------------------------------------------------------------

def test_stats(broker, service):
    listener = RawModule(broker, "listener")
    assert listener.request({"type": 5, "hook": "service.ping"})["type"] == 6
    r = junoctl(broker, "--json", "stats", "--count", "2", "--interval", "0.05")
    assert r.returncode == 0, r.stderr
    samples = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(samples) == 2
    for s in samples:
        # the broker's own counters, those of D-Bus GetStats; junoctl's
        # observer connection counts as a connection, not as a module
        assert s["modules"] == 2 and s["activeModules"] == 2 and s["connections"] == 3
        assert s["version"] and s["messagesIn"] > 0 and s["accessDenied"] == 0
    assert samples[1]["messagesIn"] > samples[0]["messagesIn"]

    r = junoctl(broker, "stats", "-n", "1")
    assert r.returncode == 0, r.stderr
    words = r.stdout.split()
    assert words[:6] == ["connections", "3", "connections-total", words[3], "modules", "2"]
    assert words[6:8] == ["active", "2"] and "hooks-delivered" in words
    listener.close()


def test_stats_errors(broker):
    for args, message in [(["--interval", "0"], "--interval must be between"),
                          (["-n", "-2"], "--count must not be negative"),
                          (["x"], "too many arguments")]:
        r = junoctl(broker, "stats", *args)
        assert r.returncode == 2
        assert_one_line_error(r.stderr, "junoctl: stats: " + message)

    p = junoctl_popen(broker, "stats", "--interval", "0.05")
    assert p.stdout.readline().startswith("connections")
    broker.stop()
    out, err = p.communicate(timeout=TIMEOUT)
    assert_clean(err)
    assert p.returncode == 4, err
    assert_one_line_error(err, "junoctl: stats: ")
    assert len(err.splitlines()) == 1, err


# -- wait -------------------------------------------------------------------------

def test_wait(broker, service):
    r = junoctl(broker, "wait", "service")  # already active: 0 at once
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""

    mark = service.mark()
    p = junoctl_popen(broker, "wait", "late", "--timeout", "20")
    service.wait_lines_read(mark, 2)  # its listen and its first look
    assert p.poll() is None
    late = RawModule(broker, "late")
    out, err = p.communicate(timeout=TIMEOUT)
    assert_clean(err)
    assert p.returncode == 0, err
    late.close()


def test_wait_for_the_socket_to_appear():
    b = Broker()
    try:
        p = subprocess.Popen([os.environ["JUNOCTL"], "--socket", str(b.socket_path), "wait", "late",
                              "--timeout", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        b.start()
        late = RawModule(b, "late")
        out, err = p.communicate(timeout=TIMEOUT)
        assert p.returncode == 0, err
        late.close()
    finally:
        b.cleanup()


def test_wait_across_a_broker_restart(broker, service):
    mark = service.mark()
    p = junoctl_popen(broker, "wait", "late", "--timeout", "30")
    service.wait_lines_read(mark, 2)
    service.close()
    broker.stop()
    assert p.poll() is None
    broker.start()
    late = RawModule(broker, "late")
    out, err = p.communicate(timeout=TIMEOUT)
    assert_clean(err)
    assert p.returncode == 0, err
    late.close()


def test_wait_is_not_fooled_by_a_forged_hook(broker, service):
    mark = service.mark()
    p = junoctl_popen(broker, "wait", "ghost", "--timeout", "2")
    service.wait_lines_read(mark, 2)
    r = junoctl(broker, "trigger", "juno.moduleActivated", '{"moduleId": "ghost"}')
    assert r.returncode == 1
    # a module may trigger only its own hooks: ghost.x is no activation
    assert service.request({"type": 7, "hook": "moduleActivated", "data": {"moduleId": "ghost"}})["type"] == 8
    out, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 5, err
    assert_one_line_error(err, "junoctl: wait: ghost: not active after 2 s")


def test_wait_errors(broker, service):
    r = junoctl(broker, "wait", "never", "--timeout", "0.3")
    assert r.returncode == 5
    assert_one_line_error(r.stderr, "junoctl: wait: never: not active after 0.3 s")
    r = junoctl(broker, "wait", "never", "--timeout", "0.3", socket_path=broker.dir / "absent.sock")
    assert r.returncode == 5
    assert_one_line_error(r.stderr, "junoctl: wait: never: no broker after 0.3 s")
    r = junoctl(broker, "wait")
    assert r.returncode == 2
    assert_one_line_error(r.stderr, "junoctl: wait: no module given")
    r = junoctl(broker, "wait", "x", "--timeout", "-1")
    assert r.returncode == 2
    r = junoctl(broker, "wait", "bad.id")
    assert r.returncode == 2

    mark = service.mark()
    p = junoctl_popen(broker, "wait", "never")
    service.wait_lines_read(mark, 2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 0, err


# -- the C example module, driven with junoctl -------------------------------------

def test_example_clock_module(broker):
    proc = subprocess.Popen([os.environ["JUNO_CLOCK_MODULE"], "--address", str(broker.socket_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        r = junoctl(broker, "wait", "clock", "--timeout", "10")
        assert r.returncode == 0, r.stderr
        r = junoctl(broker, "--json", "call", "clock.now")
        assert r.returncode == 0, r.stderr
        now = json.loads(r.stdout)
        assert isinstance(now["unix"], int) and now["time"].endswith("Z")
        r = junoctl(broker, "--json", "listen", "-n", "1", "clock.tick", timeout=20)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["hook"] == "clock.tick"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT)
        assert_clean(err)
    assert proc.returncode == 0, err
    assert "clock-module: active" in out


# -- terminal output and shell completion -------------------------------------------

def test_colour_only_on_tty(broker, service):
    import pty
    master, slave = pty.openpty()
    cmd = [os.environ["JUNOCTL"], "--socket", str(broker.socket_path), "list"]
    env = dict(os.environ, TERM="xterm")
    env.pop("NO_COLOR", None)
    p = subprocess.Popen(cmd, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert p.wait(TIMEOUT) == 0
    os.close(master)
    assert b"\033[1mMODULE" in out
    env["NO_COLOR"] = "1"
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert "\033[" not in r.stdout


def complete(broker, line):
    """Runs the bash completion for @line; returns the candidates."""
    program_name = line.split()[0]
    script = REPO / "tools" / ("%s.bash-completion" % program_name)
    program = """
        source /usr/share/bash-completion/bash_completion
        source "$SCRIPT"
        COMP_LINE="$LINE"; COMP_POINT=${#COMP_LINE}
        read -ra COMP_WORDS <<< "$LINE"
        [[ $LINE == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        _$NAME $NAME "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\\n' "${COMPREPLY[@]}"
    """
    env = dict(os.environ, SCRIPT=str(script), LINE=line, NAME=program_name,
               PATH=os.pathsep.join([str(Path(os.environ["JUNOCTL"]).parent),
                                     str(Path(os.environ["JUNOCTL"]).parents[1] / "src" / "daemon"),
                                     os.environ["PATH"]]))
    r = subprocess.run(["bash", "-c", program], capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    return sorted(w for w in r.stdout.splitlines() if w)


def test_bash_completion(broker, service):
    sock = str(broker.socket_path)
    assert complete(broker, "junoctl li") == ["list", "listen"]
    assert complete(broker, "junoctl --socket %s info " % sock) == ["juno", "service"]
    assert complete(broker, "junoctl --socket=%s info " % sock) == ["juno", "service"]
    assert complete(broker, "junoctl -s %s --json wait s" % sock) == ["service"]
    assert complete(broker, "junoctl --socket %s call service." % sock) == \
        ["service.echo", "service.fail", "service.hold"]
    # the JSON argument and what follows it: nothing to offer
    assert complete(broker, "junoctl -s %s call service.echo " % sock) == []
    assert complete(broker, "junoctl -s %s info service " % sock) == []
    assert complete(broker, "junoctl -s %s trigger " % sock) == ["service."]
    assert complete(broker, "junoctl -s %s trigger --as " % sock) == ["juno", "service"]
    assert complete(broker, "junoctl -s %s listen " % sock) == ["*", "juno.*", "service.*"]
    # per-verb options
    assert complete(broker, "junoctl stats --") == sorted(
        ["--socket", "--tcp", "--json", "--help", "--count", "--interval"])
    assert "--all" in complete(broker, "junoctl listen --")
    assert "--as" in complete(broker, "junoctl trigger --")
    assert "--timeout" in complete(broker, "junoctl call --") and "--timeout" in complete(broker, "junoctl wait --")
    assert "--all" not in complete(broker, "junoctl call --")
    # values of options: HOST:PORT and numbers are not guessed, paths are files
    assert complete(broker, "junoctl -t 127.0.0.1:1 wait ") == []
    assert complete(broker, "junoctl --tcp ") == []
    assert sock in complete(broker, "junoctl --socket=%s" % sock[:-3])


def test_bash_completion_of_juno(broker):
    opts = complete(broker, "juno --")
    assert "--socket-location=" in opts and "--max-connections=" in opts and "--help" in opts
    assert complete(broker, "juno --bus ") == ["none", "session", "system"]
    assert complete(broker, "juno --bus=s") == ["session", "system"]
    assert complete(broker, "juno --policy=") == ["system", "user"]


def test_inspection_fires_no_hooks(broker, service):
    """list, info, stats, monitor, listen, wait and the completion helper
    observe without joining: no lifecycle hook reaches a listener, no
    module is listed, no line about junoctl in the broker's log."""
    watcher = RawModule(broker, "watcher")
    for hook in LIFECYCLE:
        assert watcher.request({"type": 5, "hook": hook})["type"] == 6
    for args in (["list"], ["--json", "list"], ["info", "service"], ["stats", "-n", "1"],
                 ["wait", "service"], ["__complete", "modules"], ["__complete", "functions"],
                 ["listen", "-n", "1", "--all"], ["monitor", "-n", "1"]):
        if args[0] in ("listen", "monitor"):
            mark = watcher.mark()
            p = junoctl_popen(broker, *args)
            watcher.wait_lines_read(mark, 1)
            p.send_signal(signal.SIGINT)
            p.communicate(timeout=TIMEOUT)
            assert p.returncode == 0
        else:
            r = junoctl(broker, *args)
            assert r.returncode == 0, (args, r.stderr)
    watcher.call("juno.getStats")  # a round trip: any hook would have come before it
    assert [h["hook"] for h in watcher.hooks] == ["juno.activated"]
    assert [m["moduleId"] for m in watcher.call("juno.listModules")] == ["juno", "service", "watcher"]
    assert "junoctl" not in broker.read_log()
    watcher.close()


def test_potfiles_lists_client_sources():
    """Every libjuno and junoctl source with translatable strings is in POTFILES.in."""
    listed = set((REPO / "po" / "POTFILES.in").read_text().split())
    for folder in ("libjuno", "tools"):
        for source in sorted((REPO / folder).glob("*.c")):
            if '_("' in source.read_text() or 'N_("' in source.read_text():
                assert "%s/%s" % (folder, source.name) in listed, source
