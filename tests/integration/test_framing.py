# SPDX-License-Identifier: LGPL-2.1-or-later
"""Line framing: packed messages, split messages, big messages, whole writes."""

import time

from junotest import encode, expect_nothing_all, new_id, wait_readable


def test_several_messages_in_one_write(broker):
    m = broker.connect()
    r1, r2, r3, r4 = (new_id() for _ in range(4))
    m.send_raw(
        encode({"requestId": r1, "type": 1, "moduleId": "packed", "version": "1.0.0"}) +
        encode({"requestId": r2, "type": 9, "function": "f"}) +
        encode({"requestId": r3, "type": 5, "hook": "packed.h"}) +
        encode({"requestId": r4, "type": 7, "hook": "h", "data": {"z": 1}}))
    assert m.recv() == {"requestId": r1, "type": 2}
    m.expect_activated()
    assert m.recv() == {"requestId": r2, "type": 10, "function": "f"}
    assert m.recv() == {"requestId": r3, "type": 6}
    assert m.recv() == {"requestId": r4, "type": 8}
    m.expect_hook("packed.h", {"z": 1})
    m.expect_nothing()


def test_message_split_byte_by_byte(broker):
    m = broker.connect()
    data = encode({"requestId": "split", "type": 1, "moduleId": "slowwriter",
                   "version": "1.0.0", "dependencies": {}})
    for i in range(len(data)):
        m.send_raw(data[i:i + 1])
        if i < len(data) - 1:
            time.sleep(0.002)
            # Nothing may be answered before the line is complete.
            assert not m.has_pending()
    assert m.recv() == {"requestId": "split", "type": 2}
    m.expect_activated()


def test_two_messages_split_across_the_boundary(broker):
    m = broker.module("m")
    data = (encode({"requestId": "one", "type": 9, "function": "a"}) +
            encode({"requestId": "two", "type": 9, "function": "b"}))
    cut = data.index(b"\n") + 5
    m.send_raw(data[:cut])
    assert m.recv() == {"requestId": "one", "type": 10, "function": "a"}
    m.expect_nothing(0.1)
    m.send_raw(data[cut:])
    assert m.recv() == {"requestId": "two", "type": 10, "function": "b"}


def test_multibyte_utf8_split_between_writes(broker):
    src = broker.module("src")
    dst = broker.module("dst")
    dst.listen("src.ev")
    data = encode({"requestId": "u", "type": 7, "hook": "ev",
                   "data": {"s": "\u00e9\u2603\U0001F600"}}).replace(
        b"\\u00e9\\u2603\\ud83d\\ude00", "\u00e9\u2603\U0001F600".encode())
    assert "\u2603".encode() in data
    cut = data.index("\u2603".encode()) + 1  # inside the 3-byte sequence
    src.send_raw(data[:cut])
    time.sleep(0.05)
    src.send_raw(data[cut:])
    assert src.recv() == {"requestId": "u", "type": 8}
    dst.expect_hook("src.ev", {"s": "\u00e9\u2603\U0001F600"})


def test_big_call_and_response_arrive_whole(broker):
    svc = broker.module("svc")
    svc.declare("big")
    caller = broker.module("caller")
    blob = "".join(chr(ord("a") + i % 26) for i in range(200 * 1024))
    rid = caller.send_call("svc.big", {"blob": blob, "tail": "end"})
    call = svc.expect_call("big", {"blob": blob, "tail": "end"}, "caller", timeout=10)
    answer = {"echo": blob[::-1], "list": list(range(20000))}
    svc.respond(call["requestId"], answer)
    assert caller.recv(10) == {"requestId": rid, "type": 4, "data": answer}


def test_big_hook_to_many_listeners(broker):
    src = broker.module("src")
    listeners = [broker.module("l%d" % i) for i in range(4)]
    for l in listeners:
        l.listen("src.big")
    payload = {"blob": "x" * (300 * 1024)}
    src.trigger("big", payload)
    for l in listeners:
        l.expect_hook("src.big", payload, timeout=10)


def test_messages_are_written_whole(broker):
    """Clients that read naively (the Node one) must see whole lines: every
    message that fits in the socket buffer is written at once, so every read
    of a Unix socket ends at a line boundary."""
    src = broker.module("src")
    dst = broker.module("dst")
    dst.listen("src.ev")
    total = 20
    for i in range(total):
        src.trigger("ev", {"i": i, "pad": "p" * 3000})
    got = 0
    buf = dst.buf
    assert not buf
    deadline = time.monotonic() + 10
    while got < total:
        r = wait_readable(dst.sock, deadline - time.monotonic())
        assert r, "only %d of %d deliveries arrived" % (got, total)
        chunk = dst.sock.recv(1 << 22)
        assert chunk, "connection closed"
        assert chunk.endswith(b"\n"), \
            "a read ended inside a message (%d bytes, ends %r)" % (len(chunk), chunk[-40:])
        got += chunk.count(b"\n")
    assert got == total


def test_blank_lines_are_ignored(broker):
    m = broker.connect()
    m.send_raw(b"\n\n   \n")
    m.expect_nothing()
    m.register("after-blank")


def test_pipelined_triggers_keep_their_order(broker):
    src = broker.module("src")
    dst = broker.module("dst")
    dst.listen("src.seq")
    count = 300
    src.send_raw(b"".join(encode({"requestId": "p%d" % i, "type": 7, "hook": "seq",
                                  "data": {"i": i}}) for i in range(count)))
    for i in range(count):
        assert src.recv() == {"requestId": "p%d" % i, "type": 8}
    for i in range(count):
        dst.expect_hook("src.seq", {"i": i})
    expect_nothing_all([src, dst])


def test_pipelined_calls_keep_their_order(broker):
    svc = broker.module("svc")
    svc.declare("f")
    caller = broker.module("caller")
    count = 200
    caller.send_raw(b"".join(encode({"requestId": "c%d" % i, "type": 3, "function": "svc.f",
                                     "arguments": {"i": i}}) for i in range(count)))
    tokens = [svc.expect_call("f", {"i": i}, "caller")["requestId"] for i in range(count)]
    svc.send_raw(b"".join(encode({"requestId": t, "type": 4, "data": i})
                          for i, t in enumerate(tokens)))
    for i in range(count):
        assert caller.recv() == {"requestId": "c%d" % i, "type": 4, "data": i}
