# SPDX-License-Identifier: LGPL-2.1-or-later
"""The built-in module juno: listModules and getModuleInfo."""

import grp
import os
import pwd

import pytest

from conftest import project_version
from junotest import MODULE_OBJECT_KEYS, PEER_KEY, T_CALL, E_NOT_ACTIVE


def check_module_object(obj):
    assert isinstance(obj, dict), obj
    if obj.get("connectionId") == "0":
        assert set(obj) == MODULE_OBJECT_KEYS, obj
    else:
        assert set(obj) == MODULE_OBJECT_KEYS | {PEER_KEY}, obj
        assert obj[PEER_KEY]["transport"] in ("unix", "tcp"), obj
    assert isinstance(obj["moduleId"], str)
    assert isinstance(obj["connectionId"], str) and obj["connectionId"].isdigit(), obj
    assert isinstance(obj["version"], str)
    assert isinstance(obj["dependencies"], dict)
    assert all(isinstance(v, str) for v in obj["dependencies"].values())
    assert isinstance(obj["registered"], bool)
    assert isinstance(obj["declaredFunctions"], list)
    assert all(isinstance(v, str) for v in obj["declaredFunctions"])
    assert isinstance(obj["registeredHooks"], list)
    assert all(isinstance(v, str) for v in obj["registeredHooks"])


def test_juno_module_object(broker):
    m = broker.module("m")
    info = m.module_info("juno")
    check_module_object(info)
    assert info["moduleId"] == "juno"
    assert info["connectionId"] == "0"
    assert info["version"] == project_version()
    assert info["registered"] is True
    assert info["dependencies"] == {}
    assert sorted(info["declaredFunctions"]) == ["getModuleInfo", "getStats", "listModules"]


def test_list_modules(broker):
    a = broker.module("a", "1.2.3")
    a.declare("f1")
    a.declare("f2")
    a.listen("b.ev")
    a.listen("a.own")
    b = broker.connect()
    b.register("b", "0.1.0-rc.1", {"a": "^1.0.0", "zz": ">=2.0.0 <3.0.0"}, active=False)
    broker.connect()  # an unregistered connection is not a module
    modules = a.list_modules()
    for obj in modules:
        check_module_object(obj)
    by_id = {obj["moduleId"]: obj for obj in modules}
    assert sorted(by_id) == ["a", "b", "juno"]
    assert len(modules) == 3
    assert by_id["juno"]["registered"] is True
    assert by_id["a"]["version"] == "1.2.3"
    assert by_id["a"]["registered"] is True
    assert by_id["a"]["dependencies"] == {}
    assert sorted(by_id["a"]["declaredFunctions"]) == ["f1", "f2"]
    assert sorted(by_id["a"]["registeredHooks"]) == ["a.own", "b.ev"]
    assert by_id["b"] == {
        "moduleId": "b", "connectionId": by_id["b"]["connectionId"],
        "version": "0.1.0-rc.1",
        "dependencies": {"a": "^1.0.0", "zz": ">=2.0.0 <3.0.0"},
        "registered": False, "declaredFunctions": [], "registeredHooks": [],
        "peer": by_id["b"]["peer"]}
    # the broker's tests run modules as themselves
    assert by_id["b"]["peer"]["uid"] == os.getuid()
    assert by_id["b"]["peer"]["pid"] == os.getpid()
    assert by_id["b"]["peer"]["gid"] == os.getgid()
    assert by_id["a"]["connectionId"] != by_id["b"]["connectionId"]
    assert by_id["juno"]["connectionId"] == "0"


def test_list_modules_ignores_arguments(broker):
    a = broker.module("a")
    ids = sorted(o["moduleId"] for o in a.call_ok("juno.listModules", {"x": 1}))
    assert ids == ["a", "juno"]
    ids = sorted(o["moduleId"] for o in a.call_ok("juno.listModules", [1]))
    assert ids == ["a", "juno"]


def test_disconnected_module_is_forgotten(broker):
    a = broker.module("a")
    w = broker.module("w")
    w.listen("juno.moduleDisconnected")
    a.close()
    w.expect_hook("juno.moduleDisconnected")
    assert sorted(o["moduleId"] for o in w.list_modules()) == ["juno", "w"]
    assert w.module_info("a") is None


def test_get_module_info(broker):
    a = broker.module("a", "2.0.0", {"juno": "*"})
    a.declare("go")
    info = a.module_info("a")
    check_module_object(info)
    assert info == {"moduleId": "a", "connectionId": info["connectionId"],
                    "version": "2.0.0", "dependencies": {"juno": "*"},
                    "registered": True, "declaredFunctions": ["go"],
                    "registeredHooks": [], "peer": info["peer"]}
    peer = info["peer"]
    assert peer["transport"] == "unix"
    assert (peer["uid"], peer["gid"]) == (os.getuid(), os.getgid())
    assert peer["user"] == pwd.getpwuid(os.getuid()).pw_name
    assert peer["group"] == grp.getgrgid(os.getgid()).gr_name


@pytest.mark.parametrize("args", [
    {"moduleId": "unknown"}, {"moduleId": ""}, {"moduleId": "a.b"}, {}, "MISSING",
    {"moduleId": 5}, {"moduleId": None}, {"moduleId": ["a"]}, [],
])
def test_get_module_info_unknown_is_null(broker, args):
    a = broker.module("a")
    if args == "MISSING":
        assert a.call_ok("juno.getModuleInfo") is None
    else:
        assert a.call_ok("juno.getModuleInfo", args) is None


def test_get_module_info_of_inactive_and_unregistered(broker):
    a = broker.module("a")
    raw = broker.connect()
    assert a.module_info("raw") is None
    idle = broker.connect()
    idle.register("idle", "1.0.0", {"nope": "*"}, active=False)
    info = a.module_info("idle")
    check_module_object(info)
    assert info["registered"] is False
    raw.close()


def test_builtin_call_needs_activity(broker):
    idle = broker.connect()
    idle.register("idle", "1.0.0", {"nope": "*"}, active=False)
    idle.request_error({"type": T_CALL, "function": "juno.listModules"}, E_NOT_ACTIVE)


def test_builtin_reply_keeps_caller_request_id(broker):
    a = broker.module("a")
    a.send({"requestId": "my-own-id", "type": 3, "function": "juno.getModuleInfo",
            "arguments": {"moduleId": "a"}})
    reply = a.recv()
    assert reply["requestId"] == "my-own-id" and reply["type"] == 4
    assert reply["data"]["moduleId"] == "a"
