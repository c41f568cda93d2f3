# SPDX-License-Identifier: LGPL-2.1-or-later
"""Limits: message size (error 10), connections, slow consumers."""

import time

import pytest

from junotest import (E_CALLEE_GONE, E_TOO_LARGE, collect, decode, encode,
                      expect_nothing_all)

TOO_LARGE = {"requestId": "undefined", "type": 0, "error": E_TOO_LARGE}


def padded_register(rid, module_id, size):
    """A register line of exactly @size bytes (without the newline)."""
    head = '{"requestId":"%s","type":1,"moduleId":"%s","version":"1.0.0","pad":"' % (
        rid, module_id)
    tail = '"}'
    pad = size - len(head) - len(tail)
    assert pad >= 0
    line = (head + "p" * pad + tail).encode()
    assert len(line) == size
    return line + b"\n"


def test_line_at_the_limit_is_accepted(broker_factory):
    b = broker_factory(args=["--max-message-size", "1024"])
    m = b.connect()
    m.send_raw(padded_register("exact", "exact", 1024))
    assert m.recv() == {"requestId": "exact", "type": 2}
    m.expect_activated()


def test_line_over_the_limit_is_error_10(broker_factory):
    b = broker_factory(args=["--max-message-size", "1024"])
    m = b.connect()
    m.send_raw(padded_register("over", "over", 1025))
    assert m.recv() == TOO_LARGE
    m.expect_nothing()
    # The connection stays usable and the name was not taken.
    m.register("over")


def test_too_long_line_followed_by_valid_one_in_same_write(broker_factory):
    b = broker_factory(args=["--max-message-size", "1024"])
    m = b.connect()
    m.send_raw(padded_register("big", "big", 5000) +
               encode({"requestId": "small", "type": 1, "moduleId": "small",
                       "version": "1.0.0"}))
    assert m.recv() == TOO_LARGE
    assert m.recv() == {"requestId": "small", "type": 2}
    m.expect_activated()
    m.expect_nothing()


def test_huge_line_in_many_writes_gives_one_error(broker_factory):
    b = broker_factory(args=["--max-message-size", "4096"])
    m = b.module("m")
    m.send_raw(b'{"requestId":"huge","type":9,"function":"')
    chunk = b"x" * 65536
    for _ in range(64):  # 4 MiB
        m.send_raw(chunk)
    m.send_raw(b'"}\n')
    assert m.recv(10) == TOO_LARGE
    m.expect_nothing()
    m.declare("afterwards")
    m.ping()


def test_default_limit_is_one_mebibyte(broker):
    m = broker.module("m")
    limit = 1048576
    line = b'{"requestId":"r","type":9,"function":"f","pad":"'
    line += b"p" * (limit - len(line) - 2) + b'"}'
    assert len(line) == limit
    m.send_raw(line + b"\n")
    assert m.recv(10) == {"requestId": "r", "type": 10, "function": "f"}
    line = line[:-2] + b'p"}'
    assert len(line) == limit + 1
    m.send_raw(line + b"\n")
    assert m.recv(10) == TOO_LARGE
    m.ping()


def test_max_connections(broker_factory):
    b = broker_factory(args=["--max-connections", "5"])
    watcher = b.module("watcher")
    watcher.listen("juno.moduleDisconnected")
    mods = [b.module("m%d" % i) for i in range(4)]
    for m in mods:
        m.declare("f")
    # Five connections are open; the sixth is closed by the broker.
    extra = b.connect()
    extra.expect_closed()
    # The others keep working.
    rid = mods[0].send_call("m1.f", {"x": 1})
    call = mods[1].expect_call("f", {"x": 1}, "m0")
    mods[1].respond(call["requestId"], "ok")
    assert mods[0].recv() == {"requestId": rid, "type": 4, "data": "ok"}
    watcher.ping()
    # Once one leaves, there is room again.
    cid = watcher.module_info("m3")["connectionId"]
    mods[3].close()
    # Only moduleDisconnected for m3 (and none for a refused connection
    # after it).
    while True:
        msg = watcher.expect_hook("juno.moduleDisconnected")
        if msg["data"] == {"connectionId": cid}:
            break
    again = b.module("again")
    again.ping()
    b.connect().expect_closed()
    for m in mods[:3]:
        m.ping()


@pytest.mark.parametrize("args", [[], ["--max-connections", "0"]], ids=["default", "zero"])
def test_max_connections_follows_the_fd_limit(broker_factory, args):
    """By default the broker serves as many connections as its descriptor
    limit leaves room for (the limit less 32), so raising the limit is all
    a big deployment needs."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (96, 96))
    b = broker_factory(args=["-V"] + args, preexec_fn=limit)
    assert "Serving at most 64 connections at once" in b.read_log(), b.read_log()
    conns = [b.connect() for _ in range(63)]
    last = b.module("last")
    last.ping()
    b.connect().expect_closed()
    last.ping()
    assert len(conns) == 63


def test_max_connections_refused_client_sees_close_quickly(broker_factory):
    b = broker_factory(args=["--max-connections", "1"])
    only = b.module("only")
    for _ in range(5):
        b.connect().expect_closed(5)
    only.ping()


@pytest.mark.parametrize("args", [
    ["--max-output-backlog", "65536"],
    ["--max-output-backlog", "65536", "--max-message-size", "65536"],
], ids=" ".join)
def test_slow_consumer_is_cut_off(broker_factory, args):
    b = broker_factory(args=args)
    slow = b.connect(rcvbuf=4096, name="slow")
    slow.register("slow")
    slow.declare("f")
    slow.listen("pump.big")
    observer = b.module("observer")
    observer.listen("juno.moduleDisconnected")
    observer.listen("juno.moduleDeactivated")
    cid = observer.module_info("slow")["connectionId"]
    caller = b.module("caller")
    rid = caller.send_call("slow.f")
    pump = b.module("pump")
    payload = {"blob": "b" * 32768}
    # From here on the slow module never reads.  Each trigger queues 32 KiB
    # for it; socket buffers take a few hundred KiB, then the backlog grows
    # past 64 KiB and the broker must cut it off.
    for i in range(400):  # at most 12.5 MiB
        pump.trigger("big", payload)
        if observer.has_pending():
            break
    # It must have been cut off by now (or very soon after).
    hooks = [(m["hook"], m["data"]) for m in collect(observer, 2, timeout=10)]
    assert hooks == [("juno.moduleDeactivated", {"moduleId": "slow"}),
                     ("juno.moduleDisconnected", {"connectionId": cid})]
    # Its pending call is answered with error 8.
    assert caller.recv() == {"requestId": rid, "type": 0, "error": E_CALLEE_GONE}
    # The broker stays responsive and has forgotten the module.
    assert observer.module_info("slow") is None
    pump.trigger("big", {"small": True})
    caller.ping()
    # The slow side, reading at last, finds the end of the stream.
    slow.expect_closed(timeout=20)
    expect_nothing_all([caller, observer])


def test_fast_reader_is_not_cut_off(broker_factory):
    b = broker_factory(args=["--max-output-backlog", "65536", "--max-message-size", "65536"])
    src = b.module("src")
    dst = b.module("dst")
    dst.listen("src.big")
    payload = {"blob": "q" * 16384}
    for i in range(100):
        src.trigger("big", payload)
        dst.expect_hook("src.big", payload)
    dst.ping()


def test_closing_in_the_middle_of_a_too_long_line(broker_factory):
    b = broker_factory(args=["--max-message-size", "1024"])
    m = b.connect()
    m.send_raw(b"{" + b'"x":1,' * 1000)
    m.close()
    w = b.module("w")
    w.ping()


def test_too_long_is_checked_before_utf8_and_nesting(broker_factory):
    b = broker_factory(args=["--max-message-size", "1024"])
    m = b.connect()
    m.send_raw(b'{"requestId":"x","type":1,"pad":"' + b"\xff" * 2000 + b'"}\n')
    assert m.recv() == TOO_LARGE
    m.send_raw(b"[" * 2000 + b"]" * 2000 + b"\n")
    assert m.recv() == TOO_LARGE
    m.send_raw(b"x" * 2000 + b"\n")
    assert m.recv() == TOO_LARGE
    m.expect_nothing()
    m.register("fine")


def test_limit_boundary_with_newline_in_a_separate_write(broker_factory):
    b = broker_factory(args=["--max-message-size", "1024"])
    m = b.connect()
    exact = padded_register("edge", "edge", 1024)
    m.send_raw(exact[:-1])
    m.expect_nothing(0.2)
    m.send_raw(b"\n")
    assert m.recv() == {"requestId": "edge", "type": 2}
    m.expect_activated()
    over = padded_register("over", "over", 1025).replace(b'"type":1', b'"type":9')
    m.send_raw(over[:-1])
    time.sleep(0.1)
    m.send_raw(b"\n")
    assert m.recv() == TOO_LARGE
    # The byte after the limit arriving on its own.
    m.send_raw(over[:1024])
    time.sleep(0.1)
    m.send_raw(over[1024:])
    assert m.recv() == TOO_LARGE
    m.expect_nothing()
    m.ping()


def test_running_out_of_file_descriptors(broker_factory):
    """More connections than the broker has descriptors for: the ones it
    cannot accept wait or fail, the broker keeps serving the others and
    accepts again once descriptors are free."""
    import resource
    import socket

    def low():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    # a connection limit above the descriptors, so that they run out first
    b = broker_factory(preexec_fn=low, args=["--max-connections", "1000"])
    pinger = b.module("pinger")
    w = b.module("w")
    w.listen("juno.moduleConnected")
    extra = []
    for _ in range(100):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(str(b.socket_path))
            # a register attempt: announced once the broker reads it
            s.send(b'{"requestId":"r","type":1,"moduleId":"bad.id","version":"1.0.0"}\n')
        except (BlockingIOError, ConnectionRefusedError, OSError):
            pass  # the listen backlog is full: fine
        extra.append(s)
    # Some are accepted, until the descriptors run out.
    accepted = 0
    while True:
        line = w.recv_line(0.5 if accepted else 5)
        if line is None:
            break
        assert decode(line)["hook"] == "juno.moduleConnected"
        accepted += 1
    assert 0 < accepted < len(extra), accepted
    # The broker still answers while it is out of descriptors.
    pinger.ping()
    for s in extra:
        s.close()
    # Once descriptors are free, new modules get in (the broker may take a
    # moment to resume accepting).
    m = b.connect()
    m.send({"requestId": "late", "type": 1, "moduleId": "after", "version": "1.0.0"})
    assert m.recv(15) == {"requestId": "late", "type": 2}
    m.expect_activated()
    m.ping()
