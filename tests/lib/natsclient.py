# SPDX-License-Identifier: LGPL-2.1-or-later
"""A small NATS client speaking the text protocol on a plain socket.

The federation tests use it to watch the subjects brokers publish on and to
publish what no broker would: garbage, oversized and forged messages. It is
deliberately raw: payloads are bytes, nothing is validated on the way out.

    c = NatsClient(port)                 # INFO read, CONNECT sent, PONG seen
    sid = c.sub("juno.fed.>")
    c.pub("juno.fed.hb", b"{}")
    c.flush()                            # the server has processed all of it
    msg = c.next_msg(timeout=2)          # NatsMsg(subject, sid, reply, data)

The protocol (https://docs.nats.io/reference/reference-protocols/nats-protocol):
the server greets with INFO {json}; the client sends CONNECT {json}; then
PUB <subject> [reply] <#bytes>\\r\\n<payload>\\r\\n, SUB <subject> [queue] <sid>,
UNSUB <sid> [max], PING/PONG; the server delivers
MSG <subject> <sid> [reply] <#bytes>\\r\\n<payload>\\r\\n and reports -ERR '...'.
"""

import collections
import itertools
import json
import os
import socket
import time

from junotest import send_blocking, wait_readable

DEFAULT_TIMEOUT = 5.0

NatsMsg = collections.namedtuple("NatsMsg", "subject sid reply data")


class NatsError(AssertionError):
    pass


class NatsClient:
    """One connection to a nats-server on 127.0.0.1:@port (or @host).

    @echo: whether the server may send this connection its own
    publications (NATS' default is yes)."""

    def __init__(self, port, *, host="127.0.0.1", name="juno-test", echo=True,
                 timeout=DEFAULT_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setblocking(False)
        self.buf = bytearray()
        self.msgs = collections.deque()
        self.errors = []
        self._pongs = 0
        self._sids = itertools.count(1)
        self.closed = False
        line = self._read_line(time.monotonic() + timeout)
        assert line is not None and line.startswith(b"INFO "), \
            "nats-server did not greet with INFO: %r" % line
        self.info = json.loads(line[5:])
        connect = {"verbose": False, "pedantic": False, "name": name,
                   "lang": "python-raw", "version": "0", "protocol": 1,
                   "echo": echo, "headers": False}
        self._send(b"CONNECT " + json.dumps(connect).encode() + b"\r\n")
        self.flush(timeout)

    @property
    def max_payload(self):
        return int(self.info.get("max_payload", 1 << 20))

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- sending -------------------------------------------------------------

    def _send(self, data):
        send_blocking(self.sock, data)

    def send_raw(self, data):
        """Bytes onto the wire as they are (protocol violations included)."""
        self._send(data)

    def pub(self, subject, payload=b"", reply=None):
        if isinstance(payload, str):
            payload = payload.encode()
        elif not isinstance(payload, (bytes, bytearray)):
            payload = json.dumps(payload, separators=(",", ":")).encode()
        head = "PUB %s%s %d\r\n" % (subject, " " + reply if reply else "", len(payload))
        self._send(head.encode() + bytes(payload) + b"\r\n")

    def sub(self, subject, queue=None):
        """Subscribes; returns the sid."""
        sid = str(next(self._sids))
        self._send(("SUB %s%s %s\r\n" % (subject, " " + queue if queue else "", sid)).encode())
        return sid

    def unsub(self, sid, max_msgs=None):
        self._send(("UNSUB %s%s\r\n" % (sid, " %d" % max_msgs if max_msgs else "")).encode())

    def flush(self, timeout=DEFAULT_TIMEOUT):
        """PING and wait for the PONG: the server has processed everything sent
        before (its subscriptions are in place, its publications routed)."""
        want = self._pongs + 1
        self._send(b"PING\r\n")
        deadline = time.monotonic() + timeout
        while self._pongs < want:
            if not self._process_one(deadline):
                raise NatsError("no PONG from nats-server within %.1f s (errors: %r)"
                                % (timeout, self.errors))

    # -- receiving -----------------------------------------------------------

    def _fill(self, deadline):
        if self.closed:
            raise NatsError("connection to nats-server closed (errors: %r)" % self.errors)
        if not wait_readable(self.sock, max(0.0, deadline - time.monotonic())):
            return False
        try:
            chunk = self.sock.recv(1 << 20)
        except BlockingIOError:
            return True
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.closed = True
            raise NatsError("nats-server closed the connection (errors: %r)" % self.errors)
        self.buf += chunk
        return True

    def _read_line(self, deadline):
        while True:
            nl = self.buf.find(b"\r\n")
            if nl >= 0:
                line = bytes(self.buf[:nl])
                del self.buf[:nl + 2]
                return line
            if not self._fill(deadline) and time.monotonic() >= deadline:
                return None

    def _read_exact(self, n, deadline):
        while len(self.buf) < n + 2:
            if not self._fill(deadline) and time.monotonic() >= deadline:
                raise NatsError("payload of %d bytes did not arrive" % n)
        data = bytes(self.buf[:n])
        assert self.buf[n:n + 2] == b"\r\n", "payload not followed by CRLF"
        del self.buf[:n + 2]
        return data

    def _process_one(self, deadline):
        """Reads and handles one protocol line; False on timeout."""
        line = self._read_line(deadline)
        if line is None:
            return False
        if line.startswith(b"MSG "):
            parts = line.decode().split(" ")
            if len(parts) == 5:
                _, subject, sid, reply, size = parts
            else:
                _, subject, sid, size = parts
                reply = None
            data = self._read_exact(int(size), max(deadline, time.monotonic() + DEFAULT_TIMEOUT))
            self.msgs.append(NatsMsg(subject, sid, reply, data))
        elif line == b"PING":
            self._send(b"PONG\r\n")
        elif line == b"PONG":
            self._pongs += 1
        elif line.startswith(b"-ERR"):
            self.errors.append(line.decode(errors="replace"))
        elif line.startswith(b"INFO ") or line == b"+OK":
            pass
        else:
            raise NatsError("unexpected line from nats-server: %r" % line[:200])
        return True

    def next_msg(self, timeout=DEFAULT_TIMEOUT):
        """The next delivered message, or None after @timeout seconds."""
        deadline = time.monotonic() + timeout
        while not self.msgs:
            if not self._process_one(deadline):
                return None
        return self.msgs.popleft()

    def poll(self, timeout=0.0):
        """Reads what arrives within @timeout seconds (messages are queued
        for next_msg and pending)."""
        deadline = time.monotonic() + timeout
        while self._process_one(deadline):
            pass

    def pending(self, timeout=0.0):
        """Every message that has arrived, after waiting up to @timeout for
        more (a short poll when 0)."""
        self.poll(timeout)
        out = list(self.msgs)
        self.msgs.clear()
        return out

    def request(self, subject, payload=b"", timeout=DEFAULT_TIMEOUT):
        """Publishes with a fresh inbox as reply subject; the first answer."""
        inbox = "_INBOX.%s" % os.urandom(8).hex()
        sid = self.sub(inbox)
        self.unsub(sid, 1)
        self.pub(subject, payload, reply=inbox)
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.msgs):
                if m.sid == sid:
                    del self.msgs[i]
                    return m
            if not self._process_one(deadline):
                raise NatsError("no answer on %s within %.1f s" % (subject, timeout))


def await_interest(publisher, subscribers, timeout=DEFAULT_TIMEOUT):
    """Waits until the subscriptions @subscribers made so far are known on
    @publisher's node (in a cluster, interest travels over the routes after
    the SUB returns). Each subscriber subscribes to a probe subject after its
    others; once a probe published through @publisher reaches it, its earlier
    subscriptions have reached that node too (routes keep the order)."""
    probe = "_PROBE.%s" % os.urandom(8).hex()
    sids = {}
    for s in subscribers:
        sids[s] = s.sub(probe)
        s.flush()
    waiting = set(subscribers)
    deadline = time.monotonic() + timeout
    while waiting:
        assert time.monotonic() < deadline, \
            "subscriptions did not reach the publisher's node within %.1f s" % timeout
        publisher.pub(probe, b"probe")
        publisher.flush()
        for s in list(waiting):
            s.poll(0.05)
            if any(m.sid == sids[s] for m in s.msgs):
                waiting.discard(s)
    for s in subscribers:
        s.unsub(sids[s])
        s.flush()
        # keep the subscriber's other messages, drop the probes
        kept = [m for m in s.msgs if m.sid != sids[s]]
        s.msgs.clear()
        s.msgs.extend(kept)
