# SPDX-License-Identifier: LGPL-2.1-or-later
"""When stderr is the journal, log entries carry JUNO_MODULE and
JUNO_CONNECTION (so `journalctl JUNO_MODULE=x` works).

The broker's stderr is made "the journal" as systemd does: a socket
connected to journald's stdout socket.  Without a journald on this machine, the test plays journald
on its socket (/run/systemd/journal/socket) and reads the native-protocol
datagrams; with one, it asks journalctl -t juno.  It runs as root
(tests/lib/as-root.sh: through sudo for a user): /run/systemd is root's."""

import json
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

from junodbus import Broker, wait_readable

JOURNAL_DIR = Path("/run/systemd/journal")
JOURNAL_SOCKET = JOURNAL_DIR / "socket"
JOURNAL_STDOUT = JOURNAL_DIR / "stdout"


def parse_native(datagram):
    """The journal native protocol: KEY=value lines, or KEY\\n<le64 size>value\\n."""
    fields = {}
    data = datagram
    while data:
        nl = data.find(b"\n")
        line = data[:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            fields[key.decode()] = value.decode(errors="replace")
            data = data[nl + 1:]
        else:
            size = int.from_bytes(data[nl + 1:nl + 9], "little")
            fields[line.decode()] = data[nl + 9:nl + 9 + size].decode(errors="replace")
            data = data[nl + 9 + size + 1:]
    return fields


def run_broker_with_journal_stderr(module_id, stderr_sock=None):
    """With @stderr_sock (a socket connected to our fake journal's stdout
    socket) as stderr; without, under systemd-cat (the real journal)."""
    b = Broker(None, args=["--bus=none", "-V"],
               stderr=stderr_sock.fileno() if stderr_sock is not None else None)
    if stderr_sock is None:
        b.command = ["systemd-cat", "-t", "juno-test"] + b.argv()
    b.start()
    m = b.module(module_id)
    m.send_raw(b"not json at all\n")  # a peer log line (rate limited, with fields)
    m.ping()
    return b


def test_structured_fields(tmp_path):
    module_id = "jt" + uuid.uuid4().hex[:10]
    if JOURNAL_SOCKET.exists() or JOURNAL_STDOUT.exists():
        b = run_broker_with_journal_stderr(module_id)
        try:
            assert b.stop() == 0
        finally:
            b.cleanup()
        deadline = time.monotonic() + 10
        while True:
            out = subprocess.run(["journalctl", "-o", "json", "--no-pager", "-t", "juno",
                                  "JUNO_MODULE=" + module_id],
                                 capture_output=True, text=True, timeout=30).stdout
            entries = [json.loads(line) for line in out.splitlines() if line.strip()]
            if entries or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    else:
        created_dir = not JOURNAL_DIR.exists()
        JOURNAL_DIR.mkdir(parents=True, exist_ok=True)
        journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        journal.bind(str(JOURNAL_SOCKET))
        # GLib takes stderr for the journal when it is a socket connected
        # to /run/systemd/journal/stdout
        stdout_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stdout_listener.bind(str(JOURNAL_STDOUT))
        stdout_listener.listen(1)
        stderr_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stderr_sock.connect(str(JOURNAL_STDOUT))
        stream, _ = stdout_listener.accept()
        entries = []
        # read while the broker runs, as journald does: a datagram socket
        # queues few datagrams (net.unix.max_dgram_qlen), then the
        # broker's next log line would wait
        done = threading.Event()

        def read_journal():
            while not done.is_set() or wait_readable(journal, 0):
                if wait_readable(journal, 0.1):
                    entries.append(parse_native(journal.recv(1 << 20)))
        reader = threading.Thread(target=read_journal)
        reader.start()
        try:
            try:
                b = run_broker_with_journal_stderr(module_id, stderr_sock)
                try:
                    assert b.stop() == 0
                finally:
                    b.cleanup()
            finally:
                done.set()
                reader.join()
        finally:
            for s in (journal, stdout_listener, stderr_sock, stream):
                s.close()
            JOURNAL_SOCKET.unlink()
            JOURNAL_STDOUT.unlink()
            if created_dir:
                JOURNAL_DIR.rmdir()
        entries = [e for e in entries if e.get("JUNO_MODULE") == module_id]
    assert entries, "no journal entry with JUNO_MODULE=%s" % module_id
    messages = [e["MESSAGE"] for e in entries]
    assert any("registered on connection" in msg and "(unix, pid " in msg for msg in messages), messages
    assert any("not JSON" in msg for msg in messages), messages
    assert all(e.get("JUNO_CONNECTION", "").isdigit() for e in entries), entries
    # journalctl -t juno finds them, not under systemd-cat's identifier
    assert all(e.get("SYSLOG_IDENTIFIER") == "juno" for e in entries), entries
    names = (Path(__file__).resolve().parents[2] / "src" / "common" / "juno-names.h").read_text()
    registered_id = names.split("JUNO_MESSAGE_ID_MODULE_REGISTERED")[1].split('"')[1]
    assert any(e.get("MESSAGE_ID") == registered_id for e in entries), entries
