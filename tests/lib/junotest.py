# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers for the juno integration tests: a raw module client.

A Module is a plain socket speaking the Juno wire protocol (one JSON object per
line).  It keeps its own line buffer, so messages split over several reads or
packed into one read are both handled, and every wait is bounded.
"""

import itertools
import json
import select
import socket
import sys
import time

# The broker passes numbers through; let json parse integers of any length.
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)

DEFAULT_TIMEOUT = 5.0

# Error codes (PROTOCOL.md and the broker's additions).
E_MALFORMED = 0
E_REQUEST_ID = 1
E_TYPE = 2
E_NOT_ACTIVE = 3
E_UNKNOWN_MODULE = 4
E_UNKNOWN_FUNCTION = 5
E_MODULE_ID = 6
E_DUPLICATE = 7
E_CALLEE_GONE = 8
E_TIMEOUT = 9
E_TOO_LARGE = 10
E_TOO_MANY_CALLS = 11
E_LIMIT = 12

# Message types.
T_ERROR = 0
T_REGISTER = 1
T_REGISTERED = 2
T_CALL = 3
T_RESPONSE = 4
T_LISTEN = 5
T_LISTENING = 6
T_TRIGGER = 7
T_TRIGGERED = 8
T_DECLARE = 9
T_DECLARED = 10

HOOK_KEYS = {"requestId", "type", "hook", "data"}
FORWARDED_CALL_KEYS = {"requestId", "type", "function", "arguments", "caller"}
MODULE_OBJECT_KEYS = {"moduleId", "connectionId", "version", "dependencies",
                      "registered", "declaredFunctions", "registeredHooks"}
# a module on a connection also carries "peer": who is at the other end
PEER_KEY = "peer"

_MISSING = object()
_ids = itertools.count(1)


def new_id(prefix="req"):
    """A requestId unique within this test process."""
    return "%s-%d" % (prefix, next(_ids))


class ConnectionClosed(AssertionError):
    pass


class Module:
    """A raw module connection to the broker."""

    def __init__(self, address, *, tcp=False, name=None, rcvbuf=None):
        family = socket.AF_INET if tcp else socket.AF_UNIX
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(DEFAULT_TIMEOUT)
        self.sock.connect(address)
        self.sock.setblocking(False)
        self.buf = bytearray()
        self.closed_by_peer = False
        self.module_id = None
        self.name = name or "conn"

    @classmethod
    def from_socket(cls, sock, *, name=None):
        """A module on a socket connected elsewhere (by another user, say)."""
        self = cls.__new__(cls)
        self.sock = sock
        self.sock.setblocking(False)
        self.buf = bytearray()
        self.closed_by_peer = False
        self.module_id = None
        self.name = name or "conn"
        return self

    def __repr__(self):
        return "<Module %s%s>" % (self.name,
                                  " (%s)" % self.module_id if self.module_id else "")

    # -- raw I/O -----------------------------------------------------------

    def send_raw(self, data):
        send_blocking(self.sock, data)

    def send(self, obj):
        self.send_raw(encode(obj))

    def _fill(self, deadline):
        """Read once into the buffer.  Returns False on timeout, raises
        ConnectionClosed on EOF."""
        if self.closed_by_peer:
            raise ConnectionClosed("%r: connection closed by the broker" % self)
        remaining = deadline - time.monotonic()
        if remaining < 0:
            remaining = 0
        if not wait_readable(self.sock, remaining):
            return False
        try:
            chunk = self.sock.recv(1 << 20)
        except BlockingIOError:
            return True
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.closed_by_peer = True
            raise ConnectionClosed("%r: connection closed by the broker" % self)
        self.buf += chunk
        return True

    def recv_line(self, timeout=DEFAULT_TIMEOUT):
        """The next complete line (without the newline), or None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line = bytes(self.buf[:nl])
                del self.buf[:nl + 1]
                return line
            if not self._fill(deadline) and time.monotonic() >= deadline:
                return None

    def recv(self, timeout=DEFAULT_TIMEOUT):
        """The next message, parsed.  Fails the test on timeout."""
        line = self.recv_line(timeout)
        if line is None:
            raise AssertionError("%r: no message from the broker within %.1f s"
                                 % (self, timeout))
        return decode(line)

    def expect_nothing(self, timeout=0.3):
        """Assert that no message arrives (and the connection stays open)
        within @timeout seconds."""
        line = self.recv_line(timeout)
        if line is not None:
            raise AssertionError("%r: unexpected message %s" % (self, line[:500]))

    def has_pending(self):
        """True when a complete line is already available (no waiting)."""
        if self.buf.find(b"\n") >= 0:
            return True
        try:
            self._fill(time.monotonic())
        except ConnectionClosed:
            return False
        return self.buf.find(b"\n") >= 0

    def expect_closed(self, timeout=DEFAULT_TIMEOUT):
        """Wait until the broker closes the connection.  Returns the messages
        that arrived before the end of stream (not parsed)."""
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            nl = self.buf.find(b"\n")
            while nl >= 0:
                lines.append(bytes(self.buf[:nl]))
                del self.buf[:nl + 1]
                nl = self.buf.find(b"\n")
            try:
                if not self._fill(deadline) and time.monotonic() >= deadline:
                    raise AssertionError("%r: the broker did not close the "
                                         "connection within %.1f s" % (self, timeout))
            except ConnectionClosed:
                return lines

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- protocol conveniences -------------------------------------------

    def expect_error(self, request_id, code, timeout=DEFAULT_TIMEOUT):
        msg = self.recv(timeout)
        assert msg == {"requestId": request_id, "type": T_ERROR, "error": code}, \
            "expected error %d for %r, got %r" % (code, request_id, msg)
        return msg

    def request(self, obj):
        """Send @obj with a fresh requestId; returns the id."""
        rid = new_id()
        obj = dict(obj)
        obj["requestId"] = rid
        self.send(obj)
        return rid

    def request_error(self, obj, code):
        """Send @obj and assert the answer is error @code."""
        rid = self.request(obj)
        self.expect_error(rid, code)

    def expect_hook(self, hook, data=_MISSING, timeout=DEFAULT_TIMEOUT):
        """Assert the next message is a delivered hook @hook."""
        msg = self.recv(timeout)
        assert isinstance(msg, dict) and msg.get("type") == T_TRIGGERED \
            and msg.get("hook") == hook, \
            "%r: expected hook %s, got %r" % (self, hook, msg)
        assert set(msg) == HOOK_KEYS, "bad hook delivery keys: %r" % msg
        assert isinstance(msg["requestId"], str) and msg["requestId"], msg
        if data is not _MISSING:
            assert msg["data"] == data, "hook %s: data %r, expected %r" % (
                hook, msg["data"], data)
        return msg

    def expect_activated(self, timeout=DEFAULT_TIMEOUT):
        return self.expect_hook("juno.activated", {}, timeout)

    def expect_deactivated(self, timeout=DEFAULT_TIMEOUT):
        return self.expect_hook("juno.deactivated", {}, timeout)

    def register(self, module_id, version="1.0.0", deps=_MISSING, *, active=True):
        """Register; asserts the type 2 reply and then, if @active is True, the
        forced juno.activated hook; if @active is False, that nothing follows;
        if None, nothing more is checked."""
        msg = {"requestId": new_id("reg"), "type": T_REGISTER,
               "moduleId": module_id, "version": version}
        if deps is not _MISSING:
            msg["dependencies"] = deps
        self.send(msg)
        reply = self.recv()
        assert reply == {"requestId": msg["requestId"], "type": T_REGISTERED}, \
            "register %s: unexpected reply %r" % (module_id, reply)
        self.module_id = module_id
        if active is True:
            self.expect_activated()
        elif active is False:
            self.expect_nothing()
        return reply

    def declare(self, function):
        rid = self.request({"type": T_DECLARE, "function": function})
        reply = self.recv()
        assert reply == {"requestId": rid, "type": T_DECLARED, "function": function}, \
            "declare %s: unexpected reply %r" % (function, reply)

    def listen(self, hook):
        rid = self.request({"type": T_LISTEN, "hook": hook})
        reply = self.recv()
        assert reply == {"requestId": rid, "type": T_LISTENING}, \
            "listen %s: unexpected reply %r" % (hook, reply)

    def trigger(self, hook, data=_MISSING):
        """Trigger @hook; asserts the ack {"requestId", "type": 8} comes next."""
        msg = {"type": T_TRIGGER, "hook": hook}
        if data is not _MISSING:
            msg["data"] = data
        rid = self.request(msg)
        reply = self.recv()
        assert reply == {"requestId": rid, "type": T_TRIGGERED}, \
            "trigger %s: expected the ack, got %r" % (hook, reply)

    def send_call(self, function, arguments=_MISSING, request_id=None):
        """Send a call without waiting; returns the requestId used."""
        rid = request_id if request_id is not None else new_id("call")
        msg = {"requestId": rid, "type": T_CALL, "function": function}
        if arguments is not _MISSING:
            msg["arguments"] = arguments
        self.send(msg)
        return rid

    def call(self, function, arguments=_MISSING, timeout=DEFAULT_TIMEOUT):
        """Call and return the reply message (whatever its type)."""
        rid = self.send_call(function, arguments)
        reply = self.recv(timeout)
        assert reply.get("requestId") == rid, \
            "call %s: reply for another request: %r" % (function, reply)
        return reply

    def call_ok(self, function, arguments=_MISSING, timeout=DEFAULT_TIMEOUT):
        """Call and return the data of a type 4 reply."""
        reply = self.call(function, arguments, timeout)
        assert reply.get("type") == T_RESPONSE and set(reply) == {
            "requestId", "type", "data"}, \
            "call %s: expected a response, got %r" % (function, reply)
        return reply["data"]

    def expect_call(self, function=None, arguments=_MISSING, caller=None,
                    timeout=DEFAULT_TIMEOUT):
        """Assert the next message is a forwarded call; returns it."""
        msg = self.recv(timeout)
        assert isinstance(msg, dict) and msg.get("type") == T_CALL, \
            "%r: expected a forwarded call, got %r" % (self, msg)
        assert set(msg) == FORWARDED_CALL_KEYS, "bad forwarded call keys: %r" % msg
        assert isinstance(msg["requestId"], str) and msg["requestId"], msg
        if function is not None:
            assert msg["function"] == function, msg
        if arguments is not _MISSING:
            assert msg["arguments"] == arguments, msg
        if caller is not None:
            assert msg["caller"] == caller, msg
        return msg

    def respond(self, token, data=_MISSING):
        msg = {"requestId": token, "type": T_RESPONSE}
        if data is not _MISSING:
            msg["data"] = data
        self.send(msg)

    def module_info(self, module_id):
        return self.call_ok("juno.getModuleInfo", {"moduleId": module_id})

    def list_modules(self):
        modules = self.call_ok("juno.listModules")
        assert isinstance(modules, list), modules
        return modules

    def ping(self):
        """A round trip through the broker (it is alive and answering)."""
        data = self.call_ok("juno.getModuleInfo", {"moduleId": "juno"})
        assert isinstance(data, dict) and data.get("moduleId") == "juno", data


def send_blocking(sock, data, timeout=30):
    """Writes all of @data to @sock, a non-blocking socket the caller
    reads with select(), blocking at most @timeout seconds meanwhile."""
    sock.setblocking(True)
    sock.settimeout(timeout)
    try:
        sock.sendall(data)
    finally:
        sock.setblocking(False)


def wait_readable(sock, timeout):
    """poll() (not select(), which cannot watch descriptors above 1023)."""
    p = select.poll()
    p.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(p.poll(max(0, timeout) * 1000))


def encode(obj):
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def decode(line):
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise AssertionError("broker sent invalid UTF-8: %r" % line[:500])
    try:
        msg = json.loads(text)
    except ValueError:
        raise AssertionError("broker sent invalid JSON: %r" % line[:500])
    assert isinstance(msg, dict), "broker sent a non-object: %r" % line[:500]
    assert isinstance(msg.get("requestId"), str), "no string requestId: %r" % msg
    assert isinstance(msg.get("type"), int), "no integer type: %r" % msg
    return msg


def expect_nothing_all(modules, timeout=0.3):
    """Assert that none of @modules receives anything within @timeout (one
    shared wait, not one per module)."""
    deadline = time.monotonic() + timeout
    for m in modules:
        m.expect_nothing(max(0.0, deadline - time.monotonic()))


def collect(module, count, timeout=DEFAULT_TIMEOUT):
    """The next @count messages of @module."""
    deadline = time.monotonic() + timeout
    return [module.recv(max(0.01, deadline - time.monotonic())) for _ in range(count)]


def wait_for(predicate, timeout, what):
    """Poll a condition that has no message to wait for (e.g. a file
    disappearing); bounded."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(0.02)
