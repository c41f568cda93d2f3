# SPDX-License-Identifier: LGPL-2.1-or-later
"""Registration (type 1): replies, moduleId rules, duplicates, bad keys."""

import pytest

from junotest import (E_DUPLICATE, E_MALFORMED, E_MODULE_ID, T_REGISTER,
                      new_id)


DROP = object()  # a field value meaning "leave the key out"


def register_error(m, code, **fields):
    """Send a register request ("m" 1.0.0 unless @fields say otherwise) and
    assert the answer is error @code."""
    msg = {"type": T_REGISTER, "moduleId": "m", "version": "1.0.0"}
    msg.update(fields)
    msg = {k: v for k, v in msg.items() if v is not DROP}
    m.request_error(msg, code)


def test_register_replies_type2_then_activated(broker):
    m = broker.connect()
    rid = new_id()
    m.send({"requestId": rid, "type": 1, "moduleId": "alpha", "version": "1.0.0"})
    assert m.recv() == {"requestId": rid, "type": 2}
    activated = m.expect_activated()
    assert activated["requestId"] != rid
    m.expect_nothing()


def test_register_with_empty_or_null_dependencies(broker):
    broker.module("with-empty", deps={})
    broker.module("with-null", deps=None)
    m = broker.connect()
    m.register("with-null-explicit", "1.0.0", None)


def test_register_keys_in_any_order_and_unknown_keys_ignored(broker):
    m = broker.connect()
    m.send_raw(b'{"version":"2.0.0","extra":[1,{"x":2}],"moduleId":"ordered",'
               b'"type":1,"dependencies":{},"requestId":"r-order"}\n')
    assert m.recv() == {"requestId": "r-order", "type": 2}
    m.expect_activated()
    assert m.module_info("ordered")["version"] == "2.0.0"


@pytest.mark.parametrize("module_id", [
    "a", "A-Z_0-9", "x" * 128, "under_score", "dash-ed", "123",
])
def test_valid_module_ids(broker, module_id):
    m = broker.module(module_id)
    info = m.module_info(module_id)
    assert info["moduleId"] == module_id


@pytest.mark.parametrize("module_id", [
    "", "a.b", "x" * 129, "with space", "slash/ed", "colon:x", "é", "tab\t",
    "a\nb", "star*",
])
def test_invalid_module_id_is_error_6(broker, module_id):
    m = broker.connect()
    register_error(m, E_MODULE_ID, moduleId=module_id)
    # The connection is still unregistered and may register properly.
    m.register("fine")


def test_juno_is_reserved(broker):
    m = broker.connect()
    register_error(m, E_DUPLICATE, moduleId="juno")
    m.register("notjuno")


def test_taken_module_id_is_error_7(broker):
    first = broker.module("taken")
    second = broker.connect()
    register_error(second, E_DUPLICATE, moduleId="taken")
    # The first registration is untouched, the second connection can pick
    # another name.
    first.ping()
    second.register("other")
    assert second.module_info("taken")["connectionId"] == \
        first.module_info("taken")["connectionId"]


def test_second_register_on_same_connection_is_error_7(broker):
    m = broker.module("once")
    register_error(m, E_DUPLICATE, moduleId="another")
    # Even with an invalid id, "already registered" is checked first.
    register_error(m, E_DUPLICATE, moduleId="bad.id")
    register_error(m, E_DUPLICATE, moduleId="once")
    assert m.module_info("another") is None
    assert m.module_info("once")["moduleId"] == "once"


def test_name_is_free_again_after_disconnect(broker):
    a = broker.module("reuse")
    watcher = broker.module("watcher")
    watcher.listen("juno.moduleDisconnected")
    a.close()
    watcher.expect_hook("juno.moduleDisconnected")
    broker.module("reuse")


def test_name_of_failed_register_is_not_taken(broker):
    a = broker.connect()
    register_error(a, E_MALFORMED, moduleId="half", version="nope")
    broker.module("half")


@pytest.mark.parametrize("fields", [
    {"moduleId": DROP},
    {"moduleId": 5},
    {"moduleId": None},
    {"moduleId": ["a"]},
    {"version": DROP},
    {"version": 1},
    {"version": None},
    {"version": ""},
    {"version": "1.2"},
    {"version": "1"},
    {"version": "1.2.3.4"},
    {"version": "v1.2.3"},
    {"version": "01.2.3"},
    {"version": "1.2.3-"},
    {"version": "abc"},
    {"dependencies": "x"},
    {"dependencies": []},
    {"dependencies": 3},
    {"dependencies": {"dep": 1}},
    {"dependencies": {"dep": None}},
    {"dependencies": {"dep": {"v": "1"}}},
    {"dependencies": {"dep": "not a requirement"}},
    {"dependencies": {"dep": ">>1.0.0"}},
    {"dependencies": {"dep": "1.2.3.4"}},
    {"dependencies": {"dep": "^"}},
], ids=repr)
def test_malformed_register_is_error_0(broker, fields):
    m = broker.connect()
    register_error(m, E_MALFORMED, **fields)
    m.register("ok-after")


def test_missing_module_id_is_0_even_with_bad_version(broker):
    m = broker.connect()
    register_error(m, E_MALFORMED, moduleId=DROP, version="bad")


def test_invalid_module_id_checked_before_version(broker):
    # Check order: moduleId (6) before version (0).
    m = broker.connect()
    register_error(m, E_MODULE_ID, moduleId="a.b", version="bad")
    register_error(m, E_DUPLICATE, moduleId="juno", version="bad")
    broker.module("taken")
    register_error(m, E_DUPLICATE, moduleId="taken", version="bad")
    register_error(m, E_DUPLICATE, moduleId="taken", dependencies="bad")
    register_error(m, E_MALFORMED, moduleId="free", version="bad", dependencies="bad")


@pytest.mark.parametrize("version", [
    "0.0.0", "1.2.3-alpha.1", "1.0.0+build.5", "10.20.30-rc.1+meta", "999999.0.0",
])
def test_valid_versions(broker, version):
    m = broker.module("v", version)
    assert m.module_info("v")["version"] == version


def test_registered_module_is_listed_with_its_version(broker):
    m = broker.module("listed", "3.1.4", {"juno": "*"})
    info = m.module_info("listed")
    assert info["version"] == "3.1.4"
    assert info["dependencies"] == {"juno": "*"}
    assert info["registered"] is True


def test_empty_request_id_is_accepted(broker):
    m = broker.connect()
    m.send({"requestId": "", "type": 1, "moduleId": "empty-rid", "version": "1.0.0"})
    assert m.recv() == {"requestId": "", "type": 2}
    m.expect_activated()


def test_simultaneous_registrations_of_one_name(broker):
    conns = [broker.connect() for _ in range(10)]
    for i, c in enumerate(conns):
        c.send({"requestId": "same-%d" % i, "type": 1, "moduleId": "contested",
                "version": "1.0.0"})
    winners = []
    for i, c in enumerate(conns):
        reply = c.recv()
        if reply == {"requestId": "same-%d" % i, "type": 2}:
            winners.append(c)
        else:
            assert reply == {"requestId": "same-%d" % i, "type": 0, "error": E_DUPLICATE}
    assert len(winners) == 1
    winners[0].expect_activated()
    for c in conns:
        c.expect_nothing(0.05)
