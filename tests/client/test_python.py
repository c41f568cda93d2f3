# SPDX-License-Identifier: LGPL-2.1-or-later
"""libjuno through its typelib from Python (PyGObject), against the real broker.

The module under test runs in this process; a raw protocol module on the
other side checks what reached the broker. The example notification service
runs as a separate process.
"""

import os
import subprocess
import sys
from pathlib import Path

import gi
import pytest

gi.require_version("Juno", "1.0")
gi.require_version("Json", "1.0")
from gi.repository import GLib, Juno  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clienttest import TIMEOUT, Broker, RawModule, wait_until  # noqa: E402
from junogi import node, run_until, value  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def broker():
    b = Broker().start()
    yield b
    b.cleanup()


def test_module(broker):
    peer = RawModule(broker, "peer", {"echo": lambda a: {"type": 4, "data": a}})
    assert peer.request({"type": 5, "hook": "pymod.changed"})["type"] == 6

    client = Juno.Client.new("pymod", "2.1.0")
    client.props.address = str(broker.socket_path)
    seen = []

    def add(c, invocation):
        args = value(invocation.get_arguments())
        assert invocation.get_caller() == "peer"
        assert invocation.get_function() == "add"
        invocation.return_value(node(args["a"] + args["b"]))

    held = []
    client.declare_function("add", add)
    client.declare_function("later", lambda c, inv: held.append(inv))
    client.listen("peer.tick")
    client.connect("hook-triggered::peer.tick", lambda c, h, d: seen.append((h, value(d))))
    with pytest.raises(GLib.Error) as e:
        client.listen("notahook")
    assert e.value.matches(Juno.error_quark(), Juno.Error.INVALID_ARGUMENT)

    results = []
    client.connect_async(None, lambda c, r: results.append(c.connect_finish(r)))
    run_until(lambda: results)
    assert results == [True] and client.props.active
    client.roundtrip_sync(None)

    info = peer.module("pymod")
    assert info["version"] == "2.1.0" and sorted(info["declaredFunctions"]) == ["add", "later"]
    assert info["registeredHooks"] == ["peer.tick"]

    # Called through the broker from the raw module (it blocks; answered here).
    import threading
    answers = []
    t = threading.Thread(target=lambda: answers.append(peer.call("pymod.add", {"a": 2, "b": 40})))
    t.start()
    run_until(lambda: answers)
    t.join()
    assert answers == [42]

    t = threading.Thread(target=lambda: answers.append(peer.call("pymod.later")))
    t.start()
    run_until(lambda: held)
    held.pop().return_value(node({"done": True}))
    run_until(lambda: len(answers) == 2)
    t.join()
    assert answers[1] == {"done": True}

    # Hooks, detailed signal.
    peer.request({"type": 7, "hook": "tick", "data": {"n": 1}})
    run_until(lambda: seen)
    assert seen == [("peer.tick", {"n": 1})]
    client.trigger_sync("changed", node({"k": "v"}), None)
    peer.wait_for(lambda: any(h["hook"] == "pymod.changed" for h in peer.hooks), "hook")
    assert [h["data"] for h in peer.hooks if h["hook"] == "pymod.changed"] == [{"k": "v"}]

    # Calls out, async and sync, and errors in the JUNO_ERROR domain.
    out = []
    client.call_async("peer.echo", node({"x": [1, 2]}), -1, None,
                      lambda c, r: out.append(value(c.call_finish(r))))
    run_until(lambda: out)
    assert out == [{"x": [1, 2]}]
    assert value(client.call_sync("peer.echo", None, -1, None)) == {}
    with pytest.raises(GLib.Error) as e:
        client.call_sync("nobody.fn", None, -1, None)
    assert e.value.matches(Juno.error_quark(), Juno.Error.UNKNOWN_MODULE)
    with pytest.raises(GLib.Error) as e:
        client.call_sync("peer.absent", None, -1, None)
    assert e.value.code == Juno.Error.UNKNOWN_FUNCTION

    client.close()
    assert not client.props.active
    peer.close()


def test_overrides(broker):
    """The PyGObject overrides (gi/overrides/Juno.py, from the source tree):
    Python values in and out, and a handler that raises answers its caller
    with an error at once instead of leaving it to the broker's timeout."""
    import threading

    peer = RawModule(broker, "peer", {"echo": lambda a: {"type": 4, "data": a}})
    assert peer.request({"type": 5, "hook": "pyover.changed"})["type"] == 6
    client = Juno.Client("pyover", "1.2.3", address=str(broker.socket_path))
    assert client.props.module_id == "pyover" and client.props.version == "1.2.3"

    def boom(args):
        raise RuntimeError("boom")

    def raw(c, invocation):
        raise ValueError("raw handler")

    def coded(args):
        raise GLib.Error.new_literal(Juno.error_quark(), "no such user", Juno.Error.UNKNOWN_MODULE)

    def later(c, invocation):
        held.append(invocation)

    held = []
    client.declare("greet", lambda args: {"greeting": "Hello, " + args["name"], "n": args.get("n")})
    client.declare("nothing", lambda args: None)
    client.declare("boom", boom)
    client.declare("inf", lambda args: float("inf"))
    client.declare_function("raw", raw)
    client.declare_function("later", later)
    client.declare("coded", coded)
    ticks = []
    client.listen("peer.tick", lambda data, hook: ticks.append((hook, data)))
    client.connect_sync(None)
    client.roundtrip_sync(None)

    # Calls out: Python values both ways, errors as GLib.Error.
    value_in = {"name": "x", "n": [1, 2.5, None, True, "é"], "o": {}}
    assert client.call("peer.echo", value_in) == value_in
    assert client.call("peer.echo") == {}
    with pytest.raises(GLib.Error) as e:
        client.call("nobody.fn", {})
    assert e.value.matches(Juno.error_quark(), Juno.Error.UNKNOWN_MODULE)
    with pytest.raises(ValueError):
        client.call("peer.echo", {"x": float("inf")})

    # Triggers and listeners.
    assert client.trigger("changed", {"k": "v"})
    peer.wait_for(lambda: any(h["hook"] == "pyover.changed" for h in peer.hooks), "hook")
    assert [h["data"] for h in peer.hooks if h["hook"] == "pyover.changed"] == [{"k": "v"}]
    peer.request({"type": 7, "hook": "tick", "data": {"n": 1}})
    run_until(lambda: ticks)
    assert ticks == [("peer.tick", {"n": 1})]

    # Calls in, from the raw module in a thread, handled in this context.
    replies = {}

    def calls():
        for name, args in [("greet", {"name": "Py", "n": 3}), ("nothing", {}), ("boom", {}),
                           ("inf", {}), ("raw", {}), ("coded", {}), ("later", {"a": 1})]:
            replies[name] = peer.request({"type": 3, "function": "pyover." + name, "arguments": args})

    t = threading.Thread(target=calls)
    t.start()
    run_until(lambda: held)
    assert held[0].args == {"a": 1}
    held.pop().return_value({"late": True})
    run_until(lambda: len(replies) == 7)
    t.join()
    assert replies["greet"]["type"] == 4 and replies["greet"]["data"] == {"greeting": "Hello, Py", "n": 3}
    assert replies["nothing"]["type"] == 4 and replies["nothing"]["data"] is None
    # a raised exception answers at once, with HANDLER_FAILED or a Juno code
    assert replies["boom"]["type"] == 0 and replies["boom"]["error"] == Juno.Error.HANDLER_FAILED
    assert replies["inf"]["type"] == 0 and replies["inf"]["error"] == Juno.Error.HANDLER_FAILED
    assert replies["raw"]["type"] == 0 and replies["raw"]["error"] == Juno.Error.HANDLER_FAILED
    assert replies["coded"]["type"] == 0 and replies["coded"]["error"] == Juno.Error.UNKNOWN_MODULE
    assert replies["later"]["type"] == 4 and replies["later"]["data"] == {"late": True}

    # GVariant values through the plain bindings.
    answer = client.call_variant_sync("peer.echo", GLib.Variant("a{sv}", {"x": GLib.Variant("i", 3)}), -1, None)
    assert answer.unpack() == {"x": 3}
    with pytest.raises(GLib.Error) as e:
        client.call_variant_sync("peer.echo", GLib.Variant("as", ["x"]), -1, None)
    assert e.value.matches(Juno.error_quark(), Juno.Error.INVALID_ARGUMENT)

    # The caller's side of a failed handler: a GLib.Error naming it.
    with pytest.raises(GLib.Error) as e:
        client.call("pyover.boom", {})
    assert e.value.matches(Juno.error_quark(), Juno.Error.HANDLER_FAILED)
    assert "handler failed" in e.value.message

    client.close()
    peer.close()


def test_sync_call_keeps_the_main_context_still(broker):
    """A blocking call runs no source of the application's main context: not
    an idle, not a timeout, not a call of the client's own function that
    comes in meanwhile (peer.relay calls pysync.note before answering)."""
    holder = []

    def relay(arguments):
        holder[0]._send({"type": 3, "requestId": "in1", "function": "pysync.note", "arguments": {"k": 1}})
        return {"type": 4, "data": arguments}

    peer = RawModule(broker, "peer", {"relay": relay})
    holder.append(peer)
    client = Juno.Client("pysync", "1.0.0", address=str(broker.socket_path))
    noted = []
    client.declare("note", lambda args: noted.append(args))
    client.connect_sync(None)
    client.roundtrip_sync(None)

    ran = []
    GLib.idle_add(lambda: ran.append("idle"))
    GLib.timeout_add(0, lambda: ran.append("timeout"))
    assert client.call("peer.relay", {"x": 1}) == {"x": 1}
    assert ran == [] and noted == []
    run_until(lambda: noted and len(ran) == 2)
    assert noted == [{"k": 1}] and sorted(ran) == ["idle", "timeout"]
    peer.wait_for(lambda: "in1" in peer.answers, "the answer to the call that came in")
    assert peer.answers["in1"]["type"] == 4
    client.close()
    peer.close()


def test_module_comes_back_after_a_broker_restart(broker):
    """The broker restarts under a PyGObject module: a call in flight fails
    at once, and the module comes back by itself, registered, declared and
    listening again."""
    client = Juno.Client.new("pyback", "1.0.0")
    client.props.address = str(broker.socket_path)
    seen = []
    held = []
    client.declare_function("add", lambda c, inv: inv.return_value(node(sum(value(inv.get_arguments())["n"]))))
    client.declare_function("hold", lambda c, inv: held.append(inv))
    client.listen("peer.tick")
    client.connect("hook-triggered::peer.tick", lambda c, h, d: seen.append(value(d)))
    results = []
    client.connect_async(None, lambda c, r: results.append(c.connect_finish(r)))
    run_until(lambda: results)
    assert client.props.active

    failed = []

    def finished(c, r):
        try:
            c.call_finish(r)
            failed.append(None)
        except GLib.Error as e:
            failed.append(e)
    client.call_async("pyback.hold", None, -1, None, finished)
    run_until(lambda: held)
    broker.stop()
    run_until(lambda: failed)
    assert failed[0] is not None and failed[0].matches(Juno.error_quark(), Juno.Error.DISCONNECTED)
    assert not client.props.active

    broker.start()
    run_until(lambda: client.props.active)
    client.roundtrip_sync(None)
    peer = RawModule(broker, "peer")
    info = peer.module("pyback")
    assert info["registered"] and sorted(info["declaredFunctions"]) == ["add", "hold"]
    assert info["registeredHooks"] == ["peer.tick"]

    import threading
    answers = []
    t = threading.Thread(target=lambda: answers.append(peer.call("pyback.add", {"n": [1, 2, 39]})))
    t.start()
    run_until(lambda: answers)
    t.join()
    assert answers == [42]
    peer.request({"type": 7, "hook": "tick", "data": {"n": 7}})
    run_until(lambda: seen)
    assert seen == [{"n": 7}]
    client.close()
    peer.close()


def test_example_notify_service(broker):
    watcher = RawModule(broker, "history")
    env = dict(os.environ)
    proc = subprocess.Popen(["/usr/bin/python3", str(EXAMPLES / "notify-service.py"),
                             "--address", str(broker.socket_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_until(lambda: (watcher.module("notifications") or {}).get("registered"),
                   "the service to be active")
        wait_until(lambda: "notify" in watcher.module("notifications")["declaredFunctions"],
                   "the service's function")
        assert watcher.request({"type": 5, "hook": "notifications.notified"})["type"] == 6
        assert watcher.call("notifications.notify", {"summary": "Build done", "body": "ok"}) == {"id": 1}
        assert watcher.call("notifications.notify", {"summary": "Again"}) == {"id": 2}
        watcher.wait_for(lambda: len([h for h in watcher.hooks if h["hook"] == "notifications.notified"]) == 2,
                         "two hooks")
        got = [h["data"] for h in watcher.hooks if h["hook"] == "notifications.notified"]
        assert got == [{"id": 1, "summary": "Build done"}, {"id": 2, "summary": "Again"}]
        bad = watcher.request({"type": 3, "function": "notifications.notify", "arguments": {}})
        assert bad["type"] == 0 and bad["error"] == 0
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=TIMEOUT)
        watcher.close()
    assert "Traceback" not in err, err
    assert "notifications: active" in out
