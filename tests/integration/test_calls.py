# SPDX-License-Identifier: LGPL-2.1-or-later
"""Function calls: declare, routing, request id rewriting, errors 4 5 8 9 11."""

import time

import pytest

from junotest import (E_CALLEE_GONE, E_MALFORMED, E_REQUEST_ID, E_TIMEOUT,
                      E_TOO_MANY_CALLS, E_UNKNOWN_FUNCTION, E_UNKNOWN_MODULE,
                      T_CALL, T_DECLARE, decode, expect_nothing_all)


def pair(broker, fn="echo"):
    svc = broker.module("svc")
    svc.declare(fn)
    caller = broker.module("caller")
    return svc, caller


# -- declare -------------------------------------------------------------------

@pytest.mark.parametrize("fn", ["f", "do_it", "X9", "_", "a" * 200])
def test_declare_valid_names(broker, fn):
    m = broker.module("m")
    m.declare(fn)
    assert fn in m.module_info("m")["declaredFunctions"]


@pytest.mark.parametrize("fn", ["", "a.b", "a-b", "with space", "é", "a/b"])
def test_declare_invalid_name_is_error_5(broker, fn):
    m = broker.module("m")
    m.request_error({"type": T_DECLARE, "function": fn}, E_UNKNOWN_FUNCTION)


@pytest.mark.parametrize("value", [None, 5, ["f"], {"f": 1}, True])
def test_declare_bad_key_is_error_0(broker, value):
    m = broker.module("m")
    m.request_error({"type": T_DECLARE, "function": value}, E_MALFORMED)
    m.request_error({"type": T_DECLARE}, E_MALFORMED)


def test_declare_twice_is_fine(broker):
    m = broker.module("m")
    m.declare("twice")
    m.declare("twice")
    assert m.module_info("m")["declaredFunctions"] == ["twice"]


# -- routing -------------------------------------------------------------------

def test_call_roundtrip_with_rewritten_id(broker):
    svc, caller = pair(broker)
    caller.send_call("svc.echo", {"x": [1, 2, {"y": None}]}, request_id="client-id")
    call = svc.expect_call("echo", {"x": [1, 2, {"y": None}]}, "caller")
    assert call["requestId"] != "client-id"
    svc.respond(call["requestId"], {"ok": True, "n": 1.5, "s": "ü"})
    assert caller.recv() == {"requestId": "client-id", "type": 4,
                             "data": {"ok": True, "n": 1.5, "s": "ü"}}
    expect_nothing_all([svc, caller])


def test_tokens_are_unique_per_call(broker):
    svc, caller = pair(broker)
    rids = [caller.send_call("svc.echo", {"i": i}) for i in range(5)]
    calls = [svc.expect_call("echo", {"i": i}) for i in range(5)]
    tokens = [c["requestId"] for c in calls]
    assert len(set(tokens)) == 5
    assert not set(tokens) & set(rids)
    for c in reversed(calls):
        svc.respond(c["requestId"], c["arguments"]["i"])
    replies = sorted((caller.recv() for _ in rids), key=lambda r: r["data"])
    assert replies == [{"requestId": rids[i], "type": 4, "data": i} for i in range(5)]


@pytest.mark.parametrize("data", [None, 0, "text", [1, "two"], {"deep": {"er": [True]}}, -3])
def test_any_json_value_as_response_data(broker, data):
    svc, caller = pair(broker)
    rid = caller.send_call("svc.echo")
    call = svc.expect_call("echo")
    svc.respond(call["requestId"], data)
    assert caller.recv() == {"requestId": rid, "type": 4, "data": data}


def test_response_without_data_gives_null(broker):
    svc, caller = pair(broker)
    rid = caller.send_call("svc.echo")
    call = svc.expect_call("echo")
    svc.respond(call["requestId"])
    assert caller.recv() == {"requestId": rid, "type": 4, "data": None}


def test_same_request_id_from_two_callers(broker):
    svc = broker.module("svc")
    svc.declare("echo")
    c1 = broker.module("c1")
    c2 = broker.module("c2")
    c1.send_call("svc.echo", {"who": "c1"}, request_id="same")
    first = svc.expect_call("echo", {"who": "c1"}, "c1")
    c2.send_call("svc.echo", {"who": "c2"}, request_id="same")
    second = svc.expect_call("echo", {"who": "c2"}, "c2")
    assert first["requestId"] != second["requestId"]
    # Answer in the opposite order.
    svc.respond(second["requestId"], "for c2")
    svc.respond(first["requestId"], "for c1")
    assert c2.recv() == {"requestId": "same", "type": 4, "data": "for c2"}
    assert c1.recv() == {"requestId": "same", "type": 4, "data": "for c1"}
    expect_nothing_all([c1, c2, svc])


def start_victim_call(broker):
    svc = broker.module("svc")
    svc.declare("echo")
    evil = broker.module("evil")
    evil.declare("echo")
    caller = broker.module("caller")
    rid = caller.send_call("svc.echo", {"k": 1})
    call = svc.expect_call("echo", {"k": 1}, "caller")
    return svc, evil, caller, rid, call["requestId"]


def test_callee_cannot_answer_with_token_not_issued_to_it(broker):
    svc, evil, caller, rid, token = start_victim_call(broker)
    # Another module tries to answer with svc's token, and with the caller's
    # own id: both are refused with error 1 and nothing reaches the caller.
    evil.respond(token, "stolen")
    evil.expect_error(token, E_REQUEST_ID)
    evil.respond(rid, "stolen too")
    evil.expect_error(rid, E_REQUEST_ID)
    caller.expect_nothing()
    # The real answer still goes through, once.
    svc.respond(token, "real")
    assert caller.recv() == {"requestId": rid, "type": 4, "data": "real"}
    expect_nothing_all([caller, svc, evil])


def test_callee_cannot_fail_another_modules_call(broker):
    """A type 0 answer with a token not issued to the sender is refused with
    error 1 too: it would let one module answer another's call."""
    svc, evil, caller, rid, token = start_victim_call(broker)
    evil.send({"requestId": token, "type": 0, "error": 3})
    evil.expect_error(token, E_REQUEST_ID)
    caller.expect_nothing()
    svc.respond(token, "real")
    assert caller.recv() == {"requestId": rid, "type": 4, "data": "real"}
    expect_nothing_all([caller, svc, evil])


def test_unknown_token_is_error_1(broker):
    svc = broker.module("svc")
    svc.respond("never-issued", 1)
    svc.expect_error("never-issued", E_REQUEST_ID)
    svc.respond("j999999", 1)
    svc.expect_error("j999999", E_REQUEST_ID)
    svc.ping()


def test_unknown_token_in_error_answer_is_error_1(broker):
    svc = broker.module("svc")
    svc.send({"requestId": "never-issued-2", "type": 0, "error": 5})
    svc.expect_error("never-issued-2", E_REQUEST_ID)
    svc.ping()


def test_answering_twice_reaches_the_caller_once(broker):
    svc, caller = pair(broker)
    rid = caller.send_call("svc.echo")
    token = svc.expect_call("echo")["requestId"]
    svc.respond(token, 1)
    assert caller.recv() == {"requestId": rid, "type": 4, "data": 1}
    svc.respond(token, 2)
    # The spent token is either refused (error 1) or silently dropped; the
    # caller never sees a second answer.
    line = svc.recv_line(0.3)
    if line is not None:
        assert decode(line) == {"requestId": token, "type": 0, "error": E_REQUEST_ID}
    caller.expect_nothing()
    svc.ping()


@pytest.mark.parametrize("sent,received", [
    (42, 42), (0, 0), (8, 8), ("x", 0), (None, 0), (1.5, 0), ([1], 0),
])
def test_callee_error_is_routed_to_caller(broker, sent, received):
    svc, caller = pair(broker)
    rid = caller.send_call("svc.echo")
    token = svc.expect_call("echo")["requestId"]
    svc.send({"requestId": token, "type": 0, "error": sent})
    assert caller.recv() == {"requestId": rid, "type": 0, "error": received}
    expect_nothing_all([svc, caller])


def test_callee_error_without_code(broker):
    svc, caller = pair(broker)
    rid = caller.send_call("svc.echo")
    token = svc.expect_call("echo")["requestId"]
    svc.send({"requestId": token, "type": 0})
    assert caller.recv() == {"requestId": rid, "type": 0, "error": 0}


@pytest.mark.parametrize("args", ["MISSING", None, [1, 2], "str", 7, True])
def test_arguments_default_to_empty_object(broker, args):
    svc, caller = pair(broker)
    if args == "MISSING":
        caller.send_call("svc.echo")
    else:
        caller.send_call("svc.echo", args)
    svc.expect_call("echo", {}, "caller")


def test_module_may_call_itself(broker):
    m = broker.module("self")
    m.declare("me")
    rid = m.send_call("self.me", {"a": 1})
    call = m.expect_call("me", {"a": 1}, "self")
    assert call["requestId"] != rid
    m.respond(call["requestId"], "mine")
    assert m.recv() == {"requestId": rid, "type": 4, "data": "mine"}


def test_module_with_dash_and_underscore_is_callable(broker):
    svc = broker.module("my-svc_2")
    svc.declare("fn_1")
    caller = broker.module("caller")
    rid = caller.send_call("my-svc_2.fn_1")
    call = svc.expect_call("fn_1", {}, "caller")
    svc.respond(call["requestId"], True)
    assert caller.recv() == {"requestId": rid, "type": 4, "data": True}


def test_unknown_module_is_error_4(broker):
    caller = broker.module("caller")
    caller.request_error({"type": T_CALL, "function": "nosuch.fn"}, E_UNKNOWN_MODULE)
    # An unregistered connection is not a module either.
    broker.connect()
    caller.request_error({"type": T_CALL, "function": "conn.fn"}, E_UNKNOWN_MODULE)


def test_undeclared_function_is_error_5(broker):
    svc, caller = pair(broker)
    caller.request_error({"type": T_CALL, "function": "svc.other"}, E_UNKNOWN_FUNCTION)
    caller.request_error({"type": T_CALL, "function": "juno.nothing"}, E_UNKNOWN_FUNCTION)
    svc.expect_nothing()


@pytest.mark.parametrize("fn", [
    "a", "a.b.c", "a.", ".b", "a.b-c", "", ".", "svc.echo.x", "sv c.echo",
    "svc.ec ho", "svc.", "é.f", "nosuch.b-c",
])
def test_bad_function_name_is_error_5(broker, fn):
    svc, caller = pair(broker)
    caller.request_error({"type": T_CALL, "function": fn}, E_UNKNOWN_FUNCTION)
    svc.expect_nothing()


@pytest.mark.parametrize("value", ["MISSING", None, 5, ["svc.echo"], {"f": "svc.echo"}])
def test_function_not_a_string_is_error_0(broker, value):
    svc, caller = pair(broker)
    msg = {"type": T_CALL}
    if value != "MISSING":
        msg["function"] = value
    caller.request_error(msg, E_MALFORMED)


# -- error 8: callee goes away -------------------------------------------------

def test_callee_disconnect_fails_all_pending_calls(broker):
    svc = broker.module("svc")
    svc.declare("slow")
    other = broker.module("other")
    other.declare("fast")
    callers = [broker.module("c%d" % i) for i in range(3)]
    pending = []
    for c in callers:
        for j in range(2):
            rid = c.send_call("svc.slow", {"j": j})
            pending.append((c, rid))
            svc.expect_call("slow")
    # A call to another callee must not be affected.
    rid_other = callers[0].send_call("other.fast")
    other_token = other.expect_call("fast")["requestId"]
    svc.close()
    for c in callers:
        got = sorted([c.recv(), c.recv()], key=lambda m: m["requestId"])
        want = sorted(({"requestId": rid, "type": 0, "error": E_CALLEE_GONE}
                       for cc, rid in pending if cc is c), key=lambda m: m["requestId"])
        assert got == want
    expect_nothing_all(callers)
    other.respond(other_token, "fine")
    assert callers[0].recv() == {"requestId": rid_other, "type": 4, "data": "fine"}


def test_caller_disconnect_then_answer_is_harmless(broker):
    svc, caller = pair(broker)
    caller.send_call("svc.echo")
    token = svc.expect_call("echo")["requestId"]
    svc.listen("juno.moduleDisconnected")
    caller.close()
    # Wait until the broker has seen the caller go, then answer: the answer
    # has nobody to go to, the broker survives.
    svc.expect_hook("juno.moduleDisconnected")
    svc.respond(token, "late")
    svc.ping()


# -- error 9: call timeout -----------------------------------------------------

def test_call_timeout(broker_factory):
    b = broker_factory(args=["--call-timeout", "0.5"])
    svc = b.module("svc")
    svc.declare("hang")
    caller = b.module("caller")
    start = time.monotonic()
    rid = caller.send_call("svc.hang")
    token = svc.expect_call("hang")["requestId"]
    assert caller.recv(timeout=10) == {"requestId": rid, "type": 0, "error": E_TIMEOUT}
    elapsed = time.monotonic() - start
    assert elapsed >= 0.45, "timed out after %.2f s, configured 0.5 s" % elapsed
    # The late answer is dropped: the caller gets exactly one answer.
    svc.respond(token, "too late")
    expect_nothing_all([caller, svc], 0.5)
    # Calls still work and a timely answer is not affected by the timer.
    rid2 = caller.send_call("svc.hang")
    token2 = svc.expect_call("hang")["requestId"]
    svc.respond(token2, "quick")
    assert caller.recv() == {"requestId": rid2, "type": 4, "data": "quick"}
    expect_nothing_all([caller, svc], 0.8)


def test_timeout_after_the_queue_emptied(broker_factory):
    """The deadline timer is not moved back when calls are answered: it fires
    at an answered call's old deadline, finds nothing due, and must then
    still time out a later call at that call's own deadline."""
    b = broker_factory(args=["--call-timeout", "0.6"])
    svc = b.module("svc")
    svc.declare("f")
    caller = b.module("caller")
    rid = caller.send_call("svc.f")
    svc.respond(svc.expect_call("f")["requestId"], "ok")
    assert caller.recv() == {"requestId": rid, "type": 4, "data": "ok"}
    time.sleep(0.3)  # the answered call's deadline comes first
    start = time.monotonic()
    rid = caller.send_call("svc.f")
    svc.expect_call("f")
    assert caller.recv(timeout=10) == {"requestId": rid, "type": 0, "error": E_TIMEOUT}
    elapsed = time.monotonic() - start
    assert elapsed >= 0.55, "timed out after %.2f s, configured 0.6 s" % elapsed
    expect_nothing_all([caller, svc], 0.3)


def test_no_timeout_with_zero(broker_factory):
    b = broker_factory(args=["--call-timeout", "0"])
    svc = b.module("svc")
    svc.declare("hang")
    caller = b.module("caller")
    rid = caller.send_call("svc.hang")
    token = svc.expect_call("hang")["requestId"]
    caller.expect_nothing(1.5)
    svc.respond(token, "eventually")
    assert caller.recv() == {"requestId": rid, "type": 4, "data": "eventually"}


def test_timeout_then_callee_disconnect_gives_one_answer(broker_factory):
    b = broker_factory(args=["--call-timeout", "0.3"])
    svc = b.module("svc")
    svc.declare("hang")
    caller = b.module("caller")
    rid = caller.send_call("svc.hang")
    svc.expect_call("hang")
    caller.expect_error(rid, E_TIMEOUT)
    svc.close()
    caller.expect_nothing(0.5)


# -- error 11: calls in flight ---------------------------------------------------

def test_max_calls_in_flight(broker_factory):
    b = broker_factory(args=["--max-calls-in-flight", "2"])
    svc = b.module("svc")
    svc.declare("hang")
    caller = b.module("caller")
    r1 = caller.send_call("svc.hang", {"n": 1})
    r2 = caller.send_call("svc.hang", {"n": 2})
    t1 = svc.expect_call("hang", {"n": 1})["requestId"]
    svc.expect_call("hang", {"n": 2})
    r3 = caller.send_call("svc.hang", {"n": 3})
    caller.expect_error(r3, E_TOO_MANY_CALLS)
    svc.expect_nothing()
    # Name, target and function are checked before the in-flight limit.
    caller.request_error({"type": T_CALL, "function": "nosuch.f"}, E_UNKNOWN_MODULE)
    caller.request_error({"type": T_CALL, "function": "svc.undeclared"}, E_UNKNOWN_FUNCTION)
    caller.request_error({"type": T_CALL, "function": "bad"}, E_UNKNOWN_FUNCTION)
    caller.request_error({"type": T_CALL}, E_MALFORMED)
    # The limit is per caller.
    other = b.module("other")
    r4 = other.send_call("svc.hang", {"n": 4})
    t4 = svc.expect_call("hang", {"n": 4}, "other")["requestId"]
    # One answer frees one slot.
    svc.respond(t1, "one")
    assert caller.recv() == {"requestId": r1, "type": 4, "data": "one"}
    r5 = caller.send_call("svc.hang", {"n": 5})
    svc.expect_call("hang", {"n": 5})
    r6 = caller.send_call("svc.hang", {"n": 6})
    caller.expect_error(r6, E_TOO_MANY_CALLS)
    svc.respond(t4, "four")
    assert other.recv() == {"requestId": r4, "type": 4, "data": "four"}
    # The callee going away frees everything.
    svc.close()
    got = sorted([caller.recv(), caller.recv()], key=lambda m: m["requestId"])
    assert got == sorted([{"requestId": r, "type": 0, "error": E_CALLEE_GONE}
                          for r in (r2, r5)], key=lambda m: m["requestId"])
    svc2 = b.module("svc2")
    svc2.declare("f")
    rids = [caller.send_call("svc2.f") for _ in range(2)]
    for _ in rids:
        svc2.expect_call("f")
    svc2.expect_nothing()


def test_timed_out_call_frees_its_slot(broker_factory):
    b = broker_factory(args=["--call-timeout", "1", "--max-calls-in-flight", "1"])
    svc = b.module("svc")
    svc.declare("hang")
    caller = b.module("caller")
    r1 = caller.send_call("svc.hang")
    svc.expect_call("hang")
    caller.expect_error(r1, E_TIMEOUT)
    r2 = caller.send_call("svc.hang")
    token = svc.expect_call("hang")["requestId"]
    svc.respond(token, 2)
    assert caller.recv() == {"requestId": r2, "type": 4, "data": 2}


def test_caller_and_callee_both_leave_with_calls_pending(broker):
    svc = broker.module("svc")
    svc.declare("f")
    caller = broker.module("caller")
    for _ in range(3):
        caller.send_call("svc.f")
        svc.expect_call("f")
    other = broker.module("other")
    other.listen("juno.moduleDisconnected")
    rid = other.send_call("svc.f")
    svc.expect_call("f")
    caller.close()
    svc.close()
    msgs = [other.recv() for _ in range(3)]
    assert {"requestId": rid, "type": 0, "error": E_CALLEE_GONE} in msgs, msgs
    assert sum(1 for m in msgs if m.get("hook") == "juno.moduleDisconnected") == 2, msgs
    assert sorted(o["moduleId"] for o in other.list_modules()) == ["juno", "other"]


def test_empty_request_id_is_a_valid_id(broker):
    svc, caller = pair(broker)
    caller.send_call("svc.echo", request_id="")
    call = svc.expect_call("echo")
    assert call["requestId"] != ""
    svc.respond(call["requestId"], "e")
    assert caller.recv() == {"requestId": "", "type": 4, "data": "e"}


def test_many_timeouts_each_answered_once_and_not_early(broker_factory):
    b = broker_factory(args=["--call-timeout", "1.0"])
    svc = b.module("svc")
    svc.declare("f")
    caller = b.module("caller")
    sent_at = {}
    answered = set()
    for batch in range(2):
        for i in range(10):
            n = batch * 10 + i
            rid = caller.send_call("svc.f", {"n": n})
            sent_at[rid] = time.monotonic()
            token = svc.expect_call("f", {"n": n})["requestId"]
            if n % 5 == 0:
                svc.respond(token, "ok")  # answered well before its deadline
                answered.add(rid)
        if batch == 0:
            time.sleep(0.5)  # a second batch with later deadlines
    got = {}
    deadline = time.monotonic() + 15
    while len(got) < len(sent_at):
        msg = caller.recv(max(0.1, deadline - time.monotonic()))
        rid = msg["requestId"]
        assert rid in sent_at and rid not in got, "second answer for %r: %r" % (rid, msg)
        got[rid] = (msg, time.monotonic())
    for rid, (msg, at) in got.items():
        if rid in answered:
            assert msg == {"requestId": rid, "type": 4, "data": "ok"}
        else:
            assert msg == {"requestId": rid, "type": 0, "error": E_TIMEOUT}
            assert at - sent_at[rid] >= 0.95, "timed out after %.2f s" % (at - sent_at[rid])
    expect_nothing_all([caller, svc], 0.5)
