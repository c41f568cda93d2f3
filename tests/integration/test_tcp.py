# SPDX-License-Identifier: LGPL-2.1-or-later
"""TCP listener, alone and together with the Unix one."""

import socket

from conftest import project_version


def test_tcp_and_unix_together(broker_factory):
    b = broker_factory(tcp=True)
    assert b.port and b.tcp_host == "127.0.0.1"
    log = b.read_log()
    assert "Listening on unix:%s" % b.socket_path in log
    assert "Listening on tcp:127.0.0.1:%d" % b.port in log

    on_tcp = b.module("on-tcp", tcp=True)
    on_unix = b.module("on-unix")
    on_tcp.declare("ping")
    on_unix.declare("pong")
    on_tcp.listen("on-unix.ev")
    on_unix.listen("on-tcp.ev")

    rid = on_unix.send_call("on-tcp.ping", {"from": "unix"})
    call = on_tcp.expect_call("ping", {"from": "unix"}, "on-unix")
    on_tcp.respond(call["requestId"], "pong via tcp")
    assert on_unix.recv() == {"requestId": rid, "type": 4, "data": "pong via tcp"}

    rid = on_tcp.send_call("on-unix.pong", {"from": "tcp"})
    call = on_unix.expect_call("pong", {"from": "tcp"}, "on-tcp")
    on_unix.respond(call["requestId"], "ping via unix")
    assert on_tcp.recv() == {"requestId": rid, "type": 4, "data": "ping via unix"}

    on_tcp.trigger("ev", {"t": 1})
    on_unix.expect_hook("on-tcp.ev", {"t": 1})
    on_unix.trigger("ev", {"u": 1})
    on_tcp.expect_hook("on-unix.ev", {"u": 1})

    ids = sorted(m["moduleId"] for m in on_tcp.list_modules())
    assert ids == ["juno", "on-tcp", "on-unix"]


def test_tcp_dependencies_across_transports(broker_factory):
    b = broker_factory(tcp=True)
    dep = b.connect(tcp=True)
    dep.register("dependent", "1.0.0", {"provider": "^2.0.0"}, active=False)
    provider = b.module("provider", "2.1.0")
    dep.expect_activated()
    provider.close()
    dep.expect_deactivated()


def test_tcp_only(broker_factory):
    b = broker_factory(unix=False, tcp=True, launch=False)
    b.extra_env["XDG_RUNTIME_DIR"] = str(b.dir)
    b.start()
    m = b.module("m", tcp=True)
    assert m.module_info("juno")["version"] == project_version()
    assert not (b.dir / "juno.sock").exists(), "-p alone must not open a Unix socket"
    assert "Listening on unix:" not in b.read_log()
    assert b.stop() == 0


def test_bind_addr(broker_factory):
    b = broker_factory(tcp=True, args=["--bind-addr", "127.0.0.1"])
    assert b.tcp_host == "127.0.0.1"
    b.module("m", tcp=True).ping()


def test_tcp_framing_and_big_message(broker_factory):
    b = broker_factory(tcp=True)
    svc = b.module("svc", tcp=True)
    svc.declare("big")
    caller = b.module("caller", tcp=True)
    caller.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    blob = "t" * (256 * 1024)
    rid = caller.send_call("svc.big", {"blob": blob})
    call = svc.expect_call("big", {"blob": blob}, "caller", timeout=10)
    svc.respond(call["requestId"], {"back": blob})
    assert caller.recv(10) == {"requestId": rid, "type": 4, "data": {"back": blob}}


def test_tcp_client_disconnect_fires_hooks(broker_factory):
    b = broker_factory(tcp=True)
    w = b.module("w")
    w.listen("juno.moduleConnected")
    w.listen("juno.moduleDisconnected")
    t = b.connect(tcp=True)
    t.register("t")
    cid = w.expect_hook("juno.moduleConnected")["data"]["connectionId"]
    t.close()
    w.expect_hook("juno.moduleDisconnected", {"connectionId": cid})


def test_tcp_reset_by_client(broker_factory):
    import struct
    b = broker_factory(tcp=True)
    w = b.module("w")
    w.listen("juno.moduleDisconnected")
    for i in range(5):
        t = b.connect(tcp=True)
        t.register("reset%d" % i)
        t.send_raw(b'{"requestId":"half","type":9,"func')
        t.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        t.close()
        w.expect_hook("juno.moduleDisconnected")
    assert sorted(o["moduleId"] for o in w.list_modules()) == ["juno", "w"]


def test_tcp_peer_identity(broker_factory):
    """A TCP module's object names the peer's address and port; no uid."""
    b = broker_factory(tcp=True)
    on_tcp = b.module("on-tcp", tcp=True)
    host, port = on_tcp.sock.getsockname()[:2]
    peer = on_tcp.module_info("on-tcp")["peer"]
    assert peer == {"transport": "tcp", "address": host, "port": port}
