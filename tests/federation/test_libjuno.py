# SPDX-License-Identifier: LGPL-2.1-or-later
"""libjuno (through its typelib, from Python) on both ends of a call
between brokers: a libjuno module on b1 serves a raw caller on b2, and
calls a raw module on b3."""

import threading

import gi

gi.require_version("Juno", "1.0")
gi.require_version("Json", "1.0")
from gi.repository import GLib, Juno  # noqa: E402

from junofederation import Responder, wait_brokers  # noqa: E402
from junogi import node, run_until, value  # noqa: E402


def test_libjuno_across_brokers(federation):
    b1, b2, b3 = federation.brokers
    peer = Responder(b3, "peer")
    wait_brokers(b1, "peer", ["b3"])

    client = Juno.Client.new("calc", "1.0.0")
    client.props.address = str(b1.socket_path)

    def add(c, invocation):
        args = value(invocation.get_arguments())
        assert invocation.get_caller() == "remote"
        invocation.return_value(node(args["a"] + args["b"]))

    client.declare_function("add", add)
    client.connect_sync(None)
    client.roundtrip_sync(None)
    try:
        wait_brokers(b2, "calc", ["b1"])
        # a raw module on b2 calls the libjuno module on b1
        caller = b2.module("remote")
        answers = []
        t = threading.Thread(target=lambda: answers.append(caller.call_ok("calc.add", {"a": 2, "b": 40})))
        t.start()
        run_until(lambda: answers)
        t.join()
        assert answers == [42]

        # the libjuno module calls the raw module on b3, and meets errors
        assert value(client.call_sync("peer.echo", node({"x": [1, 2]}), -1, None)) == \
            {"by": "b3", "arguments": {"x": [1, 2]}}
        try:
            client.call_sync("peer.absent", None, -1, None)
            raise AssertionError("a call to an undeclared function succeeded")
        except GLib.Error as e:
            assert e.code == Juno.Error.UNKNOWN_FUNCTION, e
    finally:
        client.close()
    peer.close()
