# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bad input: the check order of spec-notes.md, each with the exact error,
and the connection (and broker) keep working afterwards."""

import pytest

from junotest import (E_MALFORMED, E_NOT_ACTIVE, E_REQUEST_ID, E_TYPE, decode,
                      encode)

UNDEF = "undefined"


def err(rid, code):
    return {"requestId": rid, "type": 0, "error": code}


def still_works(m):
    """The connection is usable: it can still register (or, if registered,
    answer a call)."""
    if m.module_id is None:
        m.register("survivor")
    else:
        m.ping()


@pytest.fixture
def conn(broker):
    return broker.connect()


@pytest.mark.parametrize("line", [
    b"{not json", b"{\"requestId\":\"x\",\"type\":1", b"nul", b"[1,2", b"}",
    b"{\"a\":1}}", b"'single'", b"{\"requestId\":\"x\",}", b"tru", b"{\"k\" 1}",
], ids=repr)
def test_invalid_json_is_ignored(conn, line):
    conn.send_raw(line + b"\n")
    conn.expect_nothing()
    still_works(conn)


def test_invalid_json_from_registered_module_is_ignored(broker):
    m = broker.module("m")
    m.send_raw(b"{{{{\n")
    m.expect_nothing()
    m.ping()


@pytest.mark.parametrize("line", [
    b"[1,2]", b"42", b"\"str\"", b"null", b"true", b"[]", b"[{\"requestId\":\"x\",\"type\":1}]",
    b"-1.5e3",
], ids=repr)
def test_non_object_json_is_error_0_undefined(conn, line):
    conn.send_raw(line + b"\n")
    assert conn.recv() == err(UNDEF, E_MALFORMED)
    still_works(conn)


@pytest.mark.parametrize("obj", [
    {"type": 1, "moduleId": "m", "version": "1.0.0"},
    {"requestId": 5, "type": 1},
    {"requestId": None, "type": 1},
    {"requestId": ["a"], "type": 1},
    {"requestId": {"id": "a"}, "type": 1},
    {"requestId": True, "type": 1},
    {},
    {"requestId": 7},
], ids=repr)
def test_bad_request_id_is_error_1_undefined(conn, obj):
    conn.send(obj)
    assert conn.recv() == err(UNDEF, E_REQUEST_ID)
    still_works(conn)


@pytest.mark.parametrize("type_value", [
    "MISSING", None, "1", 1.5, -1, 11, 12, 99, True, [1], {"t": 1},
    4294967297, -4294967295, 1e300, 1.0e1,
])
def test_bad_type_is_error_2(conn, type_value):
    msg = {"requestId": "t-id", "moduleId": "m", "version": "1.0.0"}
    if type_value != "MISSING":
        msg["type"] = type_value
    if type_value == 1e300:
        conn.send_raw(b'{"requestId":"t-id","type":1e300,"moduleId":"m","version":"1.0.0"}\n')
    elif type_value == 1.0e1:
        # 10.0 is a valid type number written as a float: not an integer.
        conn.send_raw(b'{"requestId":"t-id","type":10.0,"moduleId":"m","version":"1.0.0"}\n')
    else:
        conn.send(msg)
    assert conn.recv() == err("t-id", E_TYPE)
    still_works(conn)


@pytest.mark.parametrize("type_value", [2, 6, 8, 10])
def test_broker_only_types_are_error_2(broker, type_value):
    unregistered = broker.connect()
    unregistered.send({"requestId": "b", "type": type_value})
    assert unregistered.recv() == err("b", E_TYPE)
    m = broker.module("m")
    m.send({"requestId": "b2", "type": type_value, "hook": "x.y", "function": "f"})
    assert m.recv() == err("b2", E_TYPE)
    m.ping()


def test_check_order_request_id_before_type(conn):
    conn.send({"requestId": 1, "type": "bad"})
    assert conn.recv() == err(UNDEF, E_REQUEST_ID)


def test_check_order_type_before_keys(conn):
    conn.send({"requestId": "x", "type": 42, "moduleId": 5})
    assert conn.recv() == err("x", E_TYPE)


def test_check_order_keys_before_state(conn):
    """An unregistered connection: malformed keys give 0, not 3."""
    conn.send({"requestId": "a", "type": 9})
    assert conn.recv() == err("a", E_MALFORMED)
    conn.send({"requestId": "b", "type": 3, "function": 1})
    assert conn.recv() == err("b", E_MALFORMED)
    conn.send({"requestId": "c", "type": 5, "hook": None})
    assert conn.recv() == err("c", E_MALFORMED)
    conn.send({"requestId": "d", "type": 7})
    assert conn.recv() == err("d", E_MALFORMED)
    conn.send({"requestId": "e", "type": 7, "hook": "ok"})
    assert conn.recv() == err("e", E_NOT_ACTIVE)
    still_works(conn)


@pytest.mark.parametrize("raw", [
    b'{"requestId":"x","type":1,"moduleId":"\xff","version":"1.0.0"}',
    b'{"requestId":"x","type":1,"moduleId":"m\xc3","version":"1.0.0"}',
    b'{"requestId":"x","type":1,"moduleId":"\xc0\xafm","version":"1.0.0"}',
    b'{"requestId":"x","type":1,"moduleId":"\xed\xa0\x80","version":"1.0.0"}',
    b'{"requestId":"x","type":1,"moduleId":"\xf4\x90\x80\x80","version":"1.0.0"}',
    b'\xfe\xff{"requestId":"x","type":1}',
    b'{"requestId":"x","type":1,"moduleId":"m\x00","version":"1.0.0"}',
    b'{"requestId":"x","type":1,"moduleId":"m","version":"1.0.0"}\x00',
    b'\x00',
    b'{"requestId":"x",\x00"type":1}',
    b'not json at all \xff',
], ids=repr)
def test_invalid_utf8_and_nul_are_error_0(conn, raw):
    conn.send_raw(raw + b"\n")
    assert conn.recv() == err(UNDEF, E_MALFORMED)
    still_works(conn)


def test_invalid_utf8_from_registered_module(broker):
    src = broker.module("src")
    dst = broker.module("dst")
    dst.listen("src.ev")
    src.send_raw(b'{"requestId":"x","type":7,"hook":"ev","data":{"s":"\xff\xfe"}}\n')
    assert src.recv() == err(UNDEF, E_MALFORMED)
    dst.expect_nothing()
    src.trigger("ev", {"s": "fine"})
    dst.expect_hook("src.ev", {"s": "fine"})


def nested(depth, open_=b"[", close=b"]"):
    return open_ * depth + close * depth


def test_deep_nesting_is_error_0(conn):
    conn.send_raw(nested(100000) + b"\n")
    assert conn.recv(10) == err(UNDEF, E_MALFORMED)
    still_works(conn)


def test_deep_object_nesting_inside_a_request(conn):
    inner = b'{"a":' * 100000 + b"1" + b"}" * 100000
    conn.send_raw(b'{"requestId":"deep","type":1,"moduleId":"m","version":"1.0.0","x":'
                  + inner + b"}\n")
    assert conn.recv(10) == err(UNDEF, E_MALFORMED)
    still_works(conn)


def test_deep_nesting_unbalanced_is_error_0(conn):
    # Nesting is checked before JSON validity.
    conn.send_raw(b"[" * 100000 + b"\n")
    assert conn.recv(10) == err(UNDEF, E_MALFORMED)
    still_works(conn)


def test_nesting_limit_is_64(broker):
    svc = broker.module("svc")
    svc.declare("f")
    caller = broker.module("caller")
    # Depth counts every open bracket, the request object being level 1: the
    # arguments value adds levels 2..N.
    ok_args = [0]
    for _ in range(64 - 3):
        ok_args = [ok_args]
    # {request {arguments [ ... ]}}: request object (1) + arguments object (2)
    # + 62 arrays = 64.
    rid = caller.send_call("svc.f", {"v": ok_args})
    call = svc.expect_call("f")
    assert call["arguments"] == {"v": ok_args}
    svc.respond(call["requestId"], None)
    assert caller.recv()["requestId"] == rid
    # One level more is refused.
    caller.send_call("svc.f", {"v": [ok_args]})
    assert caller.recv() == err(UNDEF, E_MALFORMED)
    svc.expect_nothing()


def test_brackets_inside_strings_do_not_count_as_nesting(broker):
    src = broker.module("src")
    dst = broker.module("dst")
    dst.listen("src.ev")
    text = "[{" * 1000 + "\\\"[" * 100
    src.trigger("ev", {"s": text})
    dst.expect_hook("src.ev", {"s": text})


@pytest.mark.parametrize("number,refused", [
    (b"1e300", False), (b"123456789012345678901234567890", True), (b"18446744073709551617", True),
    (b"-9223372036854775809", True), (b"1" * 5000, True), (b"1" * 5000 + b".5", True),
    (b"0.000000000000000000000000000000000001", False),
    (b"1e400", True), (b"-1e400", True), (b"1e-400", False), (b"1.7976931348623159e308", True),
], ids=lambda n: n[:30].decode() if isinstance(n, bytes) else str(n))
def test_huge_numbers_are_refused_with_an_error(broker, number, refused):
    src = broker.module("src")
    dst = broker.module("dst")
    dst.listen("src.ev")
    src.send_raw(b'{"requestId":"n","type":7,"hook":"ev","data":{"n":' + number + b"}}\n")
    # Numbers json-glib cannot represent (an integer beyond 64 bits, a
    # number beyond a double) are refused with error 0 and the request's
    # id; the others are delivered as they were written.
    if refused:
        assert src.recv() == err("n", E_MALFORMED)
        dst.expect_nothing(0.1)
    else:
        assert src.recv() == {"requestId": "n", "type": 8}
        raw = dst.recv_line()
        assert b'"n":' + number + b"}" in raw
    dst.ping()
    src.trigger("ev", {"after": 1})
    dst.expect_hook("src.ev", {"after": 1})


def test_representable_big_numbers_survive(broker):
    src = broker.module("src")
    dst = broker.module("dst")
    dst.listen("src.ev")
    data = {"big": 9007199254740993, "neg": -9223372036854775808, "max": 9223372036854775807,
            "float": 1.7976931348623157e308, "tiny": 5e-324}
    src.trigger("ev", data)
    got = dst.expect_hook("src.ev")["data"]
    assert got["neg"] == data["neg"] and got["max"] == data["max"]
    assert got["big"] == data["big"]
    assert got["float"] == data["float"] and got["tiny"] == data["tiny"]


def test_huge_request_id_and_unicode_keys(broker):
    m = broker.module("m")
    rid = "r" * 10000 + "\u2603"
    m.send({"requestId": rid, "type": 9, "function": "f", "\u00fcnknown": [1]})
    assert m.recv() == {"requestId": rid, "type": 10, "function": "f"}


def test_duplicate_keys_do_not_crash(broker):
    m = broker.module("m")
    m.send_raw(b'{"requestId":"d1","requestId":"d2","type":9,"type":9,"function":"f"}\n')
    reply = m.recv()
    # RFC 8259 leaves duplicate names to the parser: either the request is
    # taken (one of the values wins) or refused as malformed.
    assert (reply["type"] == 10 and reply["requestId"] in ("d1", "d2")) or \
        reply in (err("d1", E_MALFORMED), err("d2", E_MALFORMED), err(UNDEF, E_MALFORMED)), reply
    m.expect_nothing()
    m.ping()


def test_flood_of_garbage_then_valid(conn):
    junk = b"".join([b"garbage %d\n" % i for i in range(2000)])
    junk += b"[1]\n" * 50
    conn.send_raw(junk + encode({"requestId": "ok", "type": 1, "moduleId": "after",
                                 "version": "1.0.0"}))
    for _ in range(50):
        assert conn.recv() == err(UNDEF, E_MALFORMED)
    assert conn.recv() == {"requestId": "ok", "type": 2}
    conn.expect_activated()


def test_client_closing_mid_line_is_harmless(broker):
    m = broker.connect()
    m.send_raw(b'{"requestId":"x","type":1,"moduleId":"cut')
    m.close()
    w = broker.module("w")
    w.ping()
    assert w.module_info("cut") is None


# -- JSON text forms: escapes and whitespace must mean what JSON says ----------

def test_escaped_strings_are_decoded(broker):
    m = broker.connect()
    m.send_raw(b'{"requestId":"reg","type":1,"moduleId":"\\u0065sc\\u005fmod",'
               b'"version":"1.0.\\u0030"}\n')
    assert m.recv() == {"requestId": "reg", "type": 2}
    m.expect_activated()
    info = m.module_info("esc_mod")
    assert info["moduleId"] == "esc_mod" and info["version"] == "1.0.0"
    m.send_raw(b'{"requestId":"d","type":9,"function":"f\\u006e"}\n')
    assert m.recv() == {"requestId": "d", "type": 10, "function": "fn"}
    caller = broker.module("caller")
    caller.send_raw(b'{"requestId":"c","type":3,"function":"esc\\u005fmod.\\u0066n"}\n')
    call = m.expect_call("fn", {}, "caller")
    m.respond(call["requestId"], "ok")
    assert caller.recv() == {"requestId": "c", "type": 4, "data": "ok"}


def test_escaped_request_id_round_trips(broker):
    m = broker.module("m")
    rid = 'quote" backslash\\ slash/ nl\n tab\t uni\u00e9 snow\u2603 emoji\U0001F600 ctl\u0001'
    m.send({"requestId": rid, "type": 9, "function": "f"})
    assert m.recv() == {"requestId": rid, "type": 10, "function": "f"}
    m.send({"requestId": rid, "type": 99})
    assert m.recv() == err(rid, E_TYPE)
    raw_rid = b'"\\u0041\\u00e9\\ud83d\\ude00"'
    m.send_raw(b'{"requestId":' + raw_rid + b',"type":9,"function":"g"}\n')
    assert m.recv() == {"requestId": "A\u00e9\U0001F600", "type": 10, "function": "g"}


def test_whitespace_between_tokens(broker):
    m = broker.connect()
    m.send_raw(b' \t{ "requestId" :\t"ws" ,' +
               b' "type" : 1 , "moduleId" : "ws" , "version" : "1.0.0" ,'
               b' "dependencies" : { } }\t \n')
    assert m.recv() == {"requestId": "ws", "type": 2}
    m.expect_activated()


def test_escaped_hook_names(broker):
    src = broker.module("src")
    dst = broker.module("dst")
    dst.send_raw(b'{"requestId":"l","type":5,"hook":"\\u0073rc.e\\u0076"}\n')
    assert dst.recv() == {"requestId": "l", "type": 6}
    src.send_raw(b'{"requestId":"t","type":7,"hook":"e\\u0076","data":{"k":"\\u00e9"}}\n')
    assert src.recv() == {"requestId": "t", "type": 8}
    dst.expect_hook("src.ev", {"k": "\u00e9"})


def test_escaped_dot_in_module_id_is_still_a_dot(broker):
    m = broker.connect()
    m.send_raw(b'{"requestId":"x","type":1,"moduleId":"a\\u002eb","version":"1.0.0"}\n')
    assert m.recv() == err("x", 6)


def test_answers_from_an_unregistered_connection_are_error_1(conn):
    conn.send({"requestId": "j1", "type": 4, "data": 1})
    assert conn.recv() == err("j1", E_REQUEST_ID)
    conn.send({"requestId": "x", "type": 0, "error": 2})
    assert conn.recv() == err("x", E_REQUEST_ID)
    still_works(conn)
