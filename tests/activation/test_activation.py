# SPDX-License-Identifier: LGPL-2.1-or-later
"""Socket activation under systemd-socket-activate: the broker adopts the
sockets it is given (Unix, TCP, named or not), serves modules on them, and
never removes a socket file it did not create."""

import os
import socket
import stat

from junodbus import Module, Proxy, broker_path

PASS_ENV = ("G_DEBUG", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "XDG_RUNTIME_DIR",
            "DBUS_SESSION_BUS_ADDRESS")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def activate(broker_factory, listen, fdnames=None, args=(), bus=None):
    """A broker started by systemd-socket-activate on the @listen addresses."""
    b = broker_factory(bus, start=False)
    cmd = ["systemd-socket-activate"]
    for address in listen:
        cmd += ["-l", str(address).replace("SOCK", str(b.socket_path))]
    if fdnames:
        cmd.append("--fdname=" + ":".join(fdnames))
    cmd += ["-E", "NOTIFY_SOCKET=%s" % b.notify_path]
    env = dict(os.environ, G_DEBUG="fatal-criticals", XDG_RUNTIME_DIR="/nonexistent-juno-test")
    if bus is not None:
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.address
    b.env.update({k: env[k] for k in PASS_ENV if k in env})
    for key in PASS_ENV:
        if key in b.env:
            cmd += ["-E", key]
    cmd += [broker_path(), "-V"] + list(args)
    b.command = cmd
    b.start(wait_ready=False)
    return b


def wait_listening(b, path):
    """systemd-socket-activate binds and listens on each address in turn,
    logging "Listening on ADDRESS as FD." after listen(): the socket file
    exists earlier, when a connect is still refused. Wait for every line."""
    from junodbus import wait_until
    count = b.argv().count("-l")

    def listening():
        log = b.read_log()
        return "Listening on %s " % path in log and log.count("Listening on ") >= count
    wait_until(lambda: listening() or b.proc.poll() is not None, what="the sockets")
    assert b.proc.poll() is None, b.read_log()


def first_module(b, module_id, *, tcp_port=None):
    """Connecting starts the broker (systemd-socket-activate waits for a
    first connection); then READY=1 comes and the module registers."""
    if tcp_port:
        m = Module(("127.0.0.1", tcp_port), tcp=True, name=module_id)
    else:
        m = Module(str(b.socket_path), name=module_id)
    b.clients.append(m)
    b.wait_notify("READY=1")
    m.register(module_id)
    return m


def test_unix_named(broker_factory):
    b = activate(broker_factory, ["SOCK"], ["unix"])
    wait_listening(b, b.socket_path)
    m = first_module(b, "alpha")
    m.ping()
    log = b.read_log()
    assert "Adopted socket 'unix'" in log and "Listening on unix:%s" % b.socket_path in log
    assert not os.path.exists(str(b.socket_path) + ".lock")
    assert b.stop() == 0
    assert os.path.exists(b.socket_path), "the broker removed a socket systemd created"


def test_tcp_and_unix(broker_factory):
    port = free_port()
    b = activate(broker_factory, ["SOCK", "127.0.0.1:%d" % port], ["unix", "tcp"])
    wait_listening(b, b.socket_path)
    tcp = first_module(b, "over-tcp", tcp_port=port)
    unix = Module(str(b.socket_path), name="over-unix")
    b.clients.append(unix)
    unix.register("over-unix")
    unix.declare("f")
    rid = tcp.send_call("over-unix.f", {"x": 1})
    call = unix.expect_call("f", {"x": 1}, caller="over-tcp")
    unix.respond(call["requestId"], "ok")
    assert tcp.recv() == {"requestId": rid, "type": 4, "data": "ok"}
    log = b.read_log()
    assert "Listening on tcp:127.0.0.1:%d" % port in log
    assert "Adopted socket 'tcp'" in log
    assert b.stop() == 0
    assert os.path.exists(b.socket_path)


def test_unnamed_fds_told_apart_by_family(broker_factory):
    port = free_port()
    b = activate(broker_factory, ["127.0.0.1:%d" % port, "SOCK"])
    wait_listening(b, b.socket_path)
    first_module(b, "alpha").ping()
    second = Module(str(b.socket_path))
    b.clients.append(second)
    second.register("beta")
    assert "Listening on tcp:127.0.0.1:%d" % port in b.read_log()


def test_misleading_name_is_served_by_family(broker_factory):
    b = activate(broker_factory, ["SOCK"], ["tcp"])
    wait_listening(b, b.socket_path)
    first_module(b, "alpha").ping()
    assert "is a unix socket; serving it as unix" in b.read_log()


def test_activation_ignores_socket_option(broker_factory, tmp_path):
    other = tmp_path / "other.sock"
    b = activate(broker_factory, ["SOCK"], ["unix"], args=["-s", str(other)])
    wait_listening(b, b.socket_path)
    first_module(b, "alpha").ping()
    assert not other.exists()
    assert "are ignored" in b.read_log()


def test_activation_keeps_the_socket_mode(broker_factory):
    """The socket unit's SocketMode= (here systemd-socket-activate's 0666
    less the umask) stays: --socket-mode applies to sockets juno binds."""
    b = activate(broker_factory, ["SOCK"], ["unix"], args=["--socket-mode", "0600"])
    wait_listening(b, b.socket_path)
    before = stat.S_IMODE(os.stat(b.socket_path).st_mode)
    assert before != 0o600, oct(before)
    first_module(b, "alpha").ping()
    assert stat.S_IMODE(os.stat(b.socket_path).st_mode) == before
    log = b.read_log()
    assert "--socket-location, --socket-mode and --port are ignored" in log, log


def test_activation_with_dbus(bus, broker_factory):
    b = activate(broker_factory, ["SOCK"], ["unix"], args=["--bus=session"], bus=bus)
    wait_listening(b, b.socket_path)
    first_module(b, "alpha")
    assert Proxy(bus).get("Addresses") == ["unix:%s" % b.socket_path]
    (modules,) = Proxy(bus).call("ListModules")
    assert modules[0][0] == "alpha"
