#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A counter as a juno module, in plain Python: the Juno protocol by hand,
no library needed, so it runs as a juno-module@ service with
DynamicUser=yes (docs/modules.md).

Functions (NAME is $JUNO_MODULE_ID, default "counter"):
    NAME.increment {"by": int (default 1)} -> {"value": int}
    NAME.get {} -> {"value": int}
Hook:
    NAME.changed {"value": int}, after every increment

The broker's socket is $JUNO_SOCKET (default $XDG_RUNTIME_DIR/juno.sock).
Runs until the broker closes the connection or SIGTERM.
"""

import json
import os
import signal
import socket
import sys


def main():
    module_id = os.environ.get("JUNO_MODULE_ID", "counter")
    path = os.environ.get("JUNO_SOCKET") or os.path.join(
        os.environ.get("XDG_RUNTIME_DIR", "."), "juno.sock")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    stream = sock.makefile("rwb", buffering=0)
    counter = {"value": 0, "next": 0}

    def encode(message):
        return json.dumps(message, separators=(",", ":")).encode() + b"\n"

    def send(message):
        stream.write(encode(message))

    def request(message):
        counter["next"] += 1
        message["requestId"] = "%s-%d" % (module_id, counter["next"])
        return message

    # Registering and declaring in one write: the broker reads them
    # together, so no one who sees the module active (junoctl wait, in
    # juno-module@.service's ExecStartPost) can call it before its
    # functions are declared.
    stream.write(b"".join(encode(request(m)) for m in (
        {"type": 1, "moduleId": module_id, "version": "1.0.0"},
        {"type": 9, "function": "increment"},
        {"type": 9, "function": "get"})))

    for line in stream:
        message = json.loads(line)
        kind = message.get("type")
        if kind == 0 and not str(message.get("requestId", "")).startswith("j"):
            print("%s: the broker refused a request: %r" % (module_id, message), file=sys.stderr)
            return 1
        if kind != 3:
            continue
        args = message.get("arguments") or {}
        if message["function"] == "increment":
            by = args.get("by", 1)
            if not isinstance(by, int):
                send({"requestId": message["requestId"], "type": 0, "error": 0})
                continue
            counter["value"] += by
            send(request({"type": 7, "hook": "changed", "data": {"value": counter["value"]}}))
        send({"requestId": message["requestId"], "type": 4, "data": {"value": counter["value"]}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
