# SPDX-License-Identifier: LGPL-2.1-or-later
"""Churn: 10 000 connect/register/declare/listen/disconnect cycles leave the
broker with the descriptors and the anonymous memory it had before.

The baseline is taken after a warm-up of 1 000 cycles, once the allocator
has grown its arenas to what this traffic needs; the 9 000 cycles after it
must then give back everything they took. A cycle that leaked even its
connection, endpoint and module records (about 500 bytes, more with its
names) would leave 4 MiB behind; the tolerance of 1 MiB catches a leak of
about 120 bytes per cycle while leaving room for allocator noise (free
lists, a fragmented top chunk), which stays well under it in practice."""

import os
import socket

from conftest import no_quarantine_env
from junotest import T_DECLARE, T_LISTEN, T_REGISTER, encode, wait_for

CYCLES = 10000
WARM_UP = 1000
BATCH = 50
TOLERANCE_KIB = 1024


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_anon_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon for pid %d" % pid)


def run_cycles(path, start, count):
    """@count cycles, @BATCH connections at a time: each registers a module,
    declares a function, listens for a hook, reads the four replies and
    disconnects."""
    for base in range(start, start + count, BATCH):
        socks = []
        for n in range(base, min(base + BATCH, start + count)):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            s.sendall(encode({"requestId": "r", "type": T_REGISTER, "moduleId": "churn%d" % n,
                              "version": "1.0.0"}) +
                      encode({"requestId": "d", "type": T_DECLARE, "function": "f%d" % n}) +
                      encode({"requestId": "l", "type": T_LISTEN, "hook": "other.h%d" % n}))
            socks.append(s)
        for s in socks:
            s.settimeout(30)
            data = b""
            while data.count(b"\n") < 4:   # registered, activated, declared, listening
                chunk = s.recv(4096)
                assert chunk, "the broker closed a churn connection"
                data += chunk
            assert b'"type":0' not in data, data
            s.close()


def test_churn_returns_to_baseline(broker_factory):
    b = broker_factory(env=no_quarantine_env())
    pid = b.proc.pid
    watcher = b.module("watcher")
    path = str(b.socket_path)

    run_cycles(path, 0, WARM_UP)
    watcher.ping()
    wait_for(lambda: len(watcher.list_modules()) == 2, 30, "the warm-up modules to leave")
    fds_before = fd_count(pid)
    rss_before = rss_anon_kib(pid)

    run_cycles(path, WARM_UP, CYCLES - WARM_UP)
    wait_for(lambda: fd_count(pid) == fds_before, 30,
             "the broker's descriptors to return to %d" % fds_before)
    assert [m["moduleId"] for m in watcher.list_modules()] == ["juno", "watcher"]
    rss_after = rss_anon_kib(pid)
    print("churn: %d fds; RssAnon %d KiB before, %d KiB after %d cycles"
          % (fds_before, rss_before, rss_after, CYCLES - WARM_UP))
    assert rss_after - rss_before < TOLERANCE_KIB, \
        "RssAnon grew by %d KiB over %d cycles" % (rss_after - rss_before, CYCLES - WARM_UP)
