# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bounds on what a peer controls, and the small holes an attacker finds:
names per module (error 12), discovery answers within the line limit
(paged juno.listModules), the totals of queued output and of partial lines
across connections, half-closed connections, one spelling per call token,
forged tokens of finished calls, raw carriage returns and byte-order marks.

The memory tests reproduce attacks that grew the broker by hundreds of MiB
and assert that its resident size stays within the configured total plus a
fixed allowance for the allocator and the Python side of the test."""

import json
import os
import socket
import time

from conftest import no_quarantine_env, rss_kib
from junotest import (E_LIMIT, E_MALFORMED, E_REQUEST_ID, T_CALL, T_DECLARE, T_ERROR,
                      T_LISTEN, T_REGISTER, T_RESPONSE, encode)

MIB = 1024 * 1024


def declare_raw(m, name, rid):
    m.send({"requestId": rid, "type": T_DECLARE, "function": name})


# -- names per module -------------------------------------------------------

def test_names_per_module_count_functions_and_hooks_together(broker_factory):
    b = broker_factory(args=["--max-names", "6"])
    m = b.module("m")
    for i in range(4):
        m.declare("f%d" % i)
    m.listen("a.h0")
    m.listen("a.h1")
    m.request_error({"type": T_DECLARE, "function": "f9"}, E_LIMIT)
    m.request_error({"type": T_LISTEN, "hook": "a.h9"}, E_LIMIT)
    # a name already held does not count again
    m.declare("f0")
    m.listen("a.h0")
    info = m.module_info("m")
    assert info["declaredFunctions"] == ["f0", "f1", "f2", "f3"]
    assert info["registeredHooks"] == ["a.h0", "a.h1"]
    # the module stays usable
    m.ping()


def test_name_length_limit(broker_factory):
    b = broker_factory(args=["--max-name-length", "16"])
    m = b.module("m")
    m.declare("f" * 16)
    m.request_error({"type": T_DECLARE, "function": "f" * 17}, E_LIMIT)
    m.listen("abcdefgh.ijklmno")           # 16 bytes as a whole
    m.request_error({"type": T_LISTEN, "hook": "abcdefgh.ijklmnop"}, E_LIMIT)
    assert m.module_info("m")["declaredFunctions"] == ["f" * 16]


def test_default_name_limits(broker):
    m = broker.module("m")
    m.declare("f" * 256)
    m.request_error({"type": T_DECLARE, "function": "f" * 257}, E_LIMIT)


def test_huge_names_do_not_grow_the_broker(broker_factory):
    """400 declares of 100 kB names each: every one is refused, and the
    broker keeps none of them (this once cost 384 MiB with 1 MB names)."""
    b = broker_factory(env=no_quarantine_env())
    m = b.module("m")
    m.ping()
    before = rss_kib(b.proc.pid)
    count = 400
    for i in range(count):
        declare_raw(m, "f%03d" % i + "x" * 100000, "d%d" % i)
        assert m.recv(30) == {"requestId": "d%d" % i, "type": T_ERROR, "error": E_LIMIT}
    after = rss_kib(b.proc.pid)
    print("huge names: broker grew by %d KiB" % (after - before))
    assert m.module_info("m")["declaredFunctions"] == []
    # 40 MB of names went by; the line buffers they passed through are
    # reused, so anything near their size means they were kept.
    assert after - before < 8 * 1024, "broker grew by %d KiB" % (after - before)


# -- discovery ----------------------------------------------------------------

def fill_module(m, name_len, prefix):
    """Declares names of @name_len bytes until error 12; returns how many
    were accepted.  Pipelined in batches."""
    accepted = 0
    i = 0
    while True:
        batch = b"".join(encode({"requestId": "d%d" % (i + k), "type": T_DECLARE,
                                 "function": "%s%05d" % (prefix, i + k) +
                                 "x" * (name_len - len(prefix) - 5)})
                         for k in range(64))
        m.send_raw(batch)
        limited = False
        for _ in range(64):
            msg = m.recv(30)
            if msg["type"] == T_ERROR:
                assert msg["error"] == E_LIMIT, msg
                limited = True
            else:
                assert not limited, "a declare succeeded after a refusal: %r" % msg
                accepted += 1
        i += 64
        if limited:
            return accepted


def raw_call(m, function, arguments, rid):
    m.send({"requestId": rid, "type": T_CALL, "function": function, "arguments": arguments})
    line = m.recv_line(30)
    assert line is not None, "no answer to %s" % function
    return line, json.loads(line)


def test_module_declaring_the_maximum_leaves_discovery_working(broker):
    """A module declares 256-byte names until it is refused: the refusal
    comes at most at --max-names, and both discovery functions still answer
    every caller within --max-message-size (1 MiB by default)."""
    big = broker.module("big")
    accepted = fill_module(big, 256, "f")
    assert 0 < accepted <= 4096
    other = broker.module("other")
    line, msg = raw_call(other, "juno.getModuleInfo", {"moduleId": "big"}, "q1")
    assert msg["type"] == T_RESPONSE
    assert len(msg["data"]["declaredFunctions"]) == accepted
    assert len(line) <= MIB
    line, msg = raw_call(other, "juno.listModules", {}, "q2")
    assert msg["type"] == T_RESPONSE and len(line) <= MIB
    ids = [o["moduleId"] for o in msg["data"]]
    if "next" in msg:
        line, more = raw_call(other, "juno.listModules", {"after": msg["next"]}, "q3")
        assert len(line) <= MIB
        ids += [o["moduleId"] for o in more["data"]]
    assert ids == ["juno", "big", "other"]
    other.ping()


def test_list_modules_is_paged_within_the_line_limit(broker_factory):
    limit = 16384
    b = broker_factory(args=["--max-message-size", str(limit)])
    expected = ["juno"]
    for i in range(6):
        m = b.module("m%d" % i)
        fill_module(m, 200, "g")
        expected.append("m%d" % i)
    caller = b.module("zcaller")
    expected.append("zcaller")
    seen = []
    after = None
    pages = 0
    while True:
        line, msg = raw_call(caller, "juno.listModules",
                             {"after": after} if after else {}, "p%d" % pages)
        pages += 1
        assert msg["type"] == T_RESPONSE, msg
        assert len(line) <= limit, "page of %d bytes" % len(line)
        seen += [o["moduleId"] for o in msg["data"]]
        if "next" not in msg:
            break
        assert msg["next"] == msg["data"][-1]["moduleId"]
        after = msg["next"]
        assert pages < 50
    assert seen == expected
    assert pages >= 6   # each filled module takes most of a page


def test_module_object_always_fits_get_module_info(broker_factory):
    limit = 8192
    b = broker_factory(args=["--max-message-size", str(limit)])
    m = b.module("m")
    fill_module(m, 100, "h")
    # hooks count into the same object
    m.request_error({"type": T_LISTEN, "hook": "m." + "k" * 98}, E_LIMIT)
    line, msg = raw_call(m, "juno.getModuleInfo", {"moduleId": "m"}, "i")
    assert msg["type"] == T_RESPONSE and len(line) <= limit


def test_discovery_with_a_request_id_too_long_for_any_answer(broker_factory):
    limit = 4096
    b = broker_factory(args=["--max-message-size", str(limit)])
    m = b.module("m")
    rid = "r" * (limit - 200)
    m.send({"requestId": rid, "type": T_CALL, "function": "juno.listModules"})
    m.expect_error(rid, E_LIMIT)
    m.ping()


# -- totals --------------------------------------------------------------------

def test_listeners_that_never_read_and_a_flooder(broker_factory):
    """48 listeners that never read and one module flooding hooks (this
    once grew the broker by 742 MiB): the output of all connections stays
    under --max-total-buffer, the largest backlogs are cut off, and a module
    that reads is served throughout."""
    total = 4 * MIB
    b = broker_factory(args=["--max-output-backlog", str(4 * MIB),
                             "--max-total-buffer", str(total)],
                       env=no_quarantine_env())
    flooder = b.module("flooder")
    reader = b.module("reader")
    reader.listen("flooder.tick")
    sleepers = []
    for i in range(48):
        s = b.connect(name="sleeper%d" % i, rcvbuf=4096)
        s.register("sleeper%d" % i)
        s.listen("flooder.tick")
        sleepers.append(s)
    reader.ping()
    before = rss_kib(b.proc.pid)
    data = {"blob": "x" * 16000}
    for i in range(400):            # 400 x 16 kB x 49 listeners = 300 MiB offered
        flooder.trigger("tick", data)
        reader.expect_hook("flooder.tick", timeout=30)
    after = rss_kib(b.proc.pid)
    reader.ping()
    cut = 0
    for s in sleepers:
        try:
            s.expect_closed(timeout=0.2)
            cut += 1
        except AssertionError:
            pass
    print("flooder: broker grew by %d KiB, %d listeners cut" % (after - before, cut))
    assert cut >= 40, "only %d of 48 silent listeners were cut off" % cut
    # the total plus what the allocator keeps around (the 4 MiB per-connection
    # backlog alone would have allowed 192 MiB)
    assert after - before < (total // 1024) + 24 * 1024, \
        "broker grew by %d KiB with a total of %d KiB" % (after - before, total // 1024)
    assert "--max-total-buffer" in b.read_log()


def test_partial_lines_of_all_connections_are_bounded(broker_factory):
    """200 connections each holding a ~1 MiB line without its newline (this
    once grew the broker by 177 MiB): past --max-total-buffer, a growing
    line is dropped with error 12 and its connection stays usable."""
    total = 16 * MIB
    b = broker_factory(args=["--max-output-backlog", str(4 * MIB),
                             "--max-total-buffer", str(total)],
                       env=no_quarantine_env())
    watcher = b.module("watcher")
    before = rss_kib(b.proc.pid)
    conns = [b.connect(name="p%d" % i) for i in range(200)]
    chunk = b'{"requestId":"x","type":1,"moduleId":"' + b"a" * (MIB - 100)
    for c in conns:
        c.send_raw(chunk)
    watcher.ping()
    after = rss_kib(b.proc.pid)
    # at most total / 1 MiB lines fit
    need = 200 - total // MIB
    refused = set()
    deadline = time.monotonic() + 30
    while len(refused) < need and time.monotonic() < deadline:
        for i, c in enumerate(conns):
            if i not in refused and c.has_pending():
                line = c.recv_line(0)
                assert json.loads(line) == {"requestId": "undefined", "type": T_ERROR,
                                            "error": E_LIMIT}
                refused.add(i)
        time.sleep(0.05)
    print("partial lines: broker grew by %d KiB, %d lines refused" % (after - before, len(refused)))
    assert len(refused) >= need, "only %d lines refused" % len(refused)
    assert after - before < (total // 1024) + 24 * 1024, \
        "broker grew by %d KiB with a total of %d KiB" % (after - before, total // 1024)
    # a refused connection is usable once its line ends
    c = conns[min(refused)]
    c.send_raw(b"\n")
    c.register("late")
    c.ping()


# -- half-close ------------------------------------------------------------------

def test_half_closed_connection_gets_every_answer(broker):
    callee = broker.module("svc")
    callee.declare("slow")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(broker.socket_path))
    s.sendall(encode({"requestId": "r", "type": T_REGISTER, "moduleId": "oneshot",
                      "version": "1.0.0"}) +
              encode({"requestId": "c", "type": T_CALL, "function": "svc.slow"}) +
              # the last line without its newline still counts
              encode({"requestId": "i", "type": T_CALL, "function": "juno.getModuleInfo",
                      "arguments": {"moduleId": "svc"}}).rstrip(b"\n"))
    s.shutdown(socket.SHUT_WR)
    call = callee.expect_call("slow")
    time.sleep(0.3)                 # the caller waits with its write side shut
    callee.respond(call["requestId"], "late but here")
    s.settimeout(10)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    msgs = [json.loads(line) for line in data.splitlines()]
    by_id = {m["requestId"]: m for m in msgs if m["requestId"] in ("r", "c", "i")}
    assert by_id["r"]["type"] == 2
    assert by_id["c"] == {"requestId": "c", "type": T_RESPONSE, "data": "late but here"}
    assert by_id["i"]["type"] == T_RESPONSE and by_id["i"]["data"]["moduleId"] == "svc"


def test_half_close_with_socat(broker):
    """The one-shot form from the documentation: printf ... | socat."""
    line = encode({"requestId": "q", "type": T_REGISTER, "moduleId": "shot", "version": "1.0.0"})
    line += encode({"requestId": "l", "type": T_CALL, "function": "juno.listModules"})
    import subprocess
    out = subprocess.run(["socat", "-t", "10", "-", "UNIX-CONNECT:%s" % broker.socket_path],
                         input=line, capture_output=True, timeout=30).stdout
    msgs = [json.loads(x) for x in out.splitlines()]
    assert [m["requestId"] for m in msgs if m["requestId"] in ("q", "l")] == ["q", "l"]
    assert [o["moduleId"] for o in msgs[-1]["data"]] == ["juno", "shot"]


def test_half_closed_connection_is_closed_when_done(broker):
    watcher = broker.module("watcher")
    watcher.listen("juno.moduleDisconnected")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(broker.socket_path))
    s.sendall(encode({"requestId": "r", "type": T_REGISTER, "moduleId": "x", "version": "1.0.0"}))
    s.shutdown(socket.SHUT_WR)
    s.settimeout(10)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    assert json.loads(data.splitlines()[0]) == {"requestId": "r", "type": 2}
    watcher.expect_hook("juno.moduleDisconnected")
    s.close()


# -- call tokens ---------------------------------------------------------------------

def test_a_token_has_one_spelling(broker):
    svc = broker.module("svc")
    svc.declare("f")
    caller = broker.module("caller")
    caller.send_call("svc.f", {}, "c1")
    token = svc.expect_call("f")["requestId"]
    assert token.startswith("j") and token[1:].isdigit()
    n = int(token[1:])
    for alias in ("j0" + token[1:], "j%d" % (n + 2 ** 64), "j%d" % (n + 2 ** 65),
                  "j%s" % ("0" * 30 + token[1:]), "\\u006a" + token[1:]):
        svc.send_raw(b'{"requestId":"' + alias.encode() + b'","type":4,"data":"alias"}\n')
        svc.expect_error(json.loads('"%s"' % alias), E_REQUEST_ID)
    caller.expect_nothing()
    svc.respond(token, "real")
    assert caller.recv() == {"requestId": "c1", "type": T_RESPONSE, "data": "real"}


def test_forged_token_of_a_finished_call_is_error_1(broker):
    svc = broker.module("svc")
    svc.declare("f")
    caller = broker.module("caller")
    forger = broker.module("forger")
    caller.send_call("svc.f", {}, "c1")
    token = svc.expect_call("f")["requestId"]
    svc.respond(token, 1)
    caller.recv()
    # another module naming the finished call
    forger.respond(token, "forged")
    forger.expect_error(token, E_REQUEST_ID)
    # the callee answering it a second time
    svc.respond(token, 2)
    svc.expect_error(token, E_REQUEST_ID)
    caller.expect_nothing()


def test_late_answer_after_a_timeout_is_dropped_quietly(broker_factory):
    b = broker_factory(args=["--call-timeout", "0.2"])
    svc = b.module("svc")
    svc.declare("f")
    caller = b.module("caller")
    forger = b.module("forger")
    caller.send_call("svc.f", {}, "c1")
    token = svc.expect_call("f")["requestId"]
    caller.expect_error("c1", 9)
    forger.respond(token, "forged")
    forger.expect_error(token, E_REQUEST_ID)
    svc.respond(token, "late")
    svc.expect_nothing()
    caller.expect_nothing()
    # once only: a second late answer is an answer to no call
    svc.respond(token, "again")
    svc.expect_error(token, E_REQUEST_ID)


# -- carriage returns and byte-order marks ---------------------------------------------

def test_raw_carriage_return_inside_a_line_is_error_0(broker):
    svc = broker.module("svc")
    svc.declare("f")
    caller = broker.module("caller")
    injected = (b'{"requestId":"c","type":3,"function":"svc.f","arguments":{"x":\r'
                b'{"requestId":"j1","type":4,"data":1}\r}}\n')
    caller.send_raw(injected)
    caller.expect_error("undefined", E_MALFORMED)
    svc.expect_nothing()


def test_crlf_line_end_is_accepted(broker):
    m = broker.connect()
    m.send_raw(encode({"requestId": "r", "type": T_REGISTER, "moduleId": "crlf",
                       "version": "1.0.0"}).replace(b"\n", b"\r\n"))
    assert m.recv() == {"requestId": "r", "type": 2}


def test_leading_byte_order_mark_is_stripped(broker):
    m = broker.connect()
    m.send_raw(b"\xef\xbb\xbf" + encode({"requestId": "r", "type": T_REGISTER,
                                         "moduleId": "bom", "version": "1.0.0"}))
    assert m.recv() == {"requestId": "r", "type": 2}
    m.expect_activated()
    # with CRLF too, and on every line
    m.send_raw(b"\xef\xbb\xbf" + encode({"requestId": "d", "type": T_DECLARE,
                                         "function": "f"}).replace(b"\n", b"\r\n"))
    assert m.recv() == {"requestId": "d", "type": 10, "function": "f"}
    # a second mark is not JSON: no reply, as for any other non-JSON line
    m.send_raw(b"\xef\xbb\xbf\xef\xbb\xbf" + encode({"requestId": "x", "type": 9,
                                                     "function": "g"}))
    m.expect_nothing()
    m.ping()


# -- TCP binds -------------------------------------------------------------------------

def test_non_loopback_bind_is_warned_about(broker_factory):
    b = broker_factory(tcp=True, args=["--bind-addr", "0.0.0.0"])
    m = b.module("m", tcp=True)
    m.ping()
    assert "TCP has no access control" in b.read_log()


def test_loopback_bind_is_not_warned_about(broker_factory):
    b = broker_factory(tcp=True)
    b.module("m", tcp=True).ping()
    assert "TCP has no access control" not in b.read_log()


# -- the lock file -----------------------------------------------------------------------

def test_symlinked_lock_file_is_refused(broker_factory, tmp_path):
    target = tmp_path / "victim"
    b = broker_factory(launch=False)
    os.symlink(str(target), str(b.lock_path))
    from conftest import run_juno
    r = run_juno(["-s", str(b.socket_path), "--bus", "none"])
    assert r.returncode == 1, r
    assert b"lock file" in r.stderr
    assert not target.exists()


def test_deleted_lock_file_does_not_unseat_a_live_broker(broker_factory):
    a = broker_factory()
    m = a.module("m")
    os.unlink(str(a.lock_path))
    from conftest import run_juno
    r = run_juno(["-s", str(a.socket_path), "--bus", "none"])
    assert r.returncode == 1, r
    assert b"is in use: a process answers on it but holds no lock" in r.stderr, r.stderr
    # the first broker's socket is still there and serving
    assert a.socket_path.exists()
    m.ping()
    a.connect().register("again")


def test_stale_socket_without_a_broker_is_replaced(broker_factory):
    b = broker_factory(launch=False)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(b.socket_path))
    s.close()                       # a socket file nobody listens on
    b.start()
    b.module("m").ping()

