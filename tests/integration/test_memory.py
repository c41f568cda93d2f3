# SPDX-License-Identifier: LGPL-2.1-or-later
"""Memory stays bounded: a closed connection's state is freed, and a client
that floods the broker without reading cannot make it grow without bound.

These use generous bounds on the broker's resident size, so they only catch
gross growth (state kept per dead connection, unbounded output queues)."""

import errno
import socket
import time
from pathlib import Path

from conftest import no_quarantine_env, rss_kib
from junotest import T_DECLARE, T_LISTEN, T_REGISTER, T_RESPONSE, encode


def churn(b, start, count):
    names = ["function_%03d_" % i + "f" * 180 for i in range(40)]
    for n in range(start, start + count):
        m = b.connect()
        data = encode({"requestId": "r", "type": T_REGISTER, "moduleId": "churn%d" % n,
                       "version": "1.0.0", "dependencies": {"juno": "*"}})
        for i, name in enumerate(names):
            data += encode({"requestId": "d%d" % i, "type": T_DECLARE, "function": name})
            data += encode({"requestId": "l%d" % i, "type": T_LISTEN,
                            "hook": "mod%d.%s" % (i, name)})
        m.send_raw(data)
        # Wait for the last reply: everything was processed.
        replies = 0
        while replies < 2 + 2 * len(names):
            m.recv(10)
            replies += 1
        m.close()
        b.clients.remove(m)


def test_closed_connections_are_forgotten(broker_factory):
    b = broker_factory(env=no_quarantine_env())
    w = b.module("w")
    w.listen("juno.moduleDisconnected")
    churn(b, 0, 100)
    for _ in range(100):
        w.expect_hook("juno.moduleDisconnected", timeout=10)
    before = rss_kib(b.proc.pid)
    count = 1000
    churn(b, 100, count)
    for _ in range(count):
        w.expect_hook("juno.moduleDisconnected", timeout=10)
    after = rss_kib(b.proc.pid)
    # Each module held about 40 * 2 * 200 bytes = 16 KB of names: keeping
    # them would add 16 MB.
    assert after - before < 8 * 1024, \
        "broker grew by %d KiB over %d closed modules" % (after - before, count)
    assert sorted(o["moduleId"] for o in w.list_modules()) == ["juno", "w"]


def test_flooding_client_that_never_reads(broker_factory):
    """Every request gets an error reply the client never reads.  The broker
    either stops reading from it (backpressure) or cuts it off; it must not
    queue the replies without bound, and it stays responsive."""
    b = broker_factory(args=["--max-output-backlog", "65536"], env=no_quarantine_env())
    w = b.module("w")
    before = rss_kib(b.proc.pid)
    flood = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    flood.connect(str(b.socket_path))
    flood.setblocking(False)
    chunk = b"[1]\n" * 16384  # 64 KiB of requests, ~800 KiB of replies
    sent = 0
    stalled_since = None
    closed = False
    deadline = time.monotonic() + 60
    while sent < 64 * 1024 * 1024 and time.monotonic() < deadline:
        try:
            sent += flood.send(chunk)
            stalled_since = None
        except BlockingIOError:
            if stalled_since is None:
                stalled_since = time.monotonic()
            elif time.monotonic() - stalled_since > 2:
                break  # backpressure: the broker stopped reading
            time.sleep(0.01)
        except OSError as exc:
            assert exc.errno in (errno.EPIPE, errno.ECONNRESET), exc
            closed = True
            break
    w.ping()
    after = rss_kib(b.proc.pid)
    assert after - before < 32 * 1024, \
        "broker grew by %d KiB while a client flooded it (%d bytes sent)" % (
            after - before, sent)
    assert closed or sent < 64 * 1024 * 1024, \
        "the broker accepted 64 MiB of requests whose replies nobody read"
    flood.close()
    w.ping()


def minor_faults(pid):
    """Minor page faults of process @pid so far (proc(5), field 10)."""
    stat = Path("/proc/%d/stat" % pid).read_text()
    return int(stat[stat.rindex(")") + 2:].split()[7])


def test_long_lines_reuse_their_buffers(broker_factory):
    """Lines longer than the read buffer pass through buffers of 128 KiB
    and more, which malloc maps afresh each time: the broker keeps them for
    the next long line instead, so a stream of long calls does not fault
    every page of its buffers in again (a page fault per 4 KiB, each
    dearer than copying the page)."""
    b = broker_factory(env=no_quarantine_env())
    callee = b.module("bulk")
    callee.declare("echo")
    caller = b.module("client")
    text = "x" * 70_000

    def round_trip():
        rid = caller.send_call("bulk.echo", {"text": text})
        call = callee.expect_call()
        assert call["arguments"] == {"text": text}
        callee.respond(call["requestId"], {"text": text})
        reply = caller.recv()
        assert reply == {"requestId": rid, "type": T_RESPONSE, "data": {"text": text}}

    round_trip()  # the buffers exist from here on
    before = minor_faults(b.proc.pid)
    calls = 20
    for _ in range(calls):
        round_trip()
    per_call = (minor_faults(b.proc.pid) - before) / calls
    # without the kept buffers: 34 faults per call on glibc (a 70 KB line
    # fills the 64 KiB read buffer, its partial line grows to 128 KiB,
    # malloc's mmap threshold, and is unmapped at its end); with them: none
    assert per_call < 8, "%.1f page faults per long call" % per_call
