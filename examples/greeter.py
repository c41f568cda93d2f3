#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A juno module in Python, on libjuno through PyGObject (with libjuno's
overrides: Python values in and out, no Json.Node).

Module "greeter" (version 1.0.0):
    greeter.greet {"name": str} -> {"greeting": "Hello, NAME!"}
        fires the hook greeter.greeted {"name": str} after answering
    greeter.greet with anything else than a string "name" fails with
        error 0 (malformed request)

    python3 examples/greeter.py [--address PATH|HOST:PORT]

Without --address it connects where the broker listens by default
($XDG_RUNTIME_DIR/juno.sock, /run/juno/juno.sock for root). It runs until
Ctrl-C or SIGTERM, and comes back by itself when the broker restarts. From
a build tree, run it with the build's libjuno and typelib:
eval "$(meson devenv -C build --dump)" first (see README.md).
"""

import argparse
import signal
import sys

import gi

gi.require_version("Juno", "1.0")
from gi.repository import GLib, Juno  # noqa: E402


def greet(client, invocation):
    name = invocation.args.get("name")
    if not isinstance(name, str):
        invocation.return_error(Juno.Error.MALFORMED_REQUEST)
        return
    invocation.return_value({"greeting": "Hello, %s!" % name})
    client.trigger("greeted", {"name": name})


def main():
    parser = argparse.ArgumentParser(description="The greeter module of juno's examples.")
    parser.add_argument("--address", help="the broker's socket path, or HOST:PORT")
    args = parser.parse_args()

    loop = GLib.MainLoop()
    client = Juno.Client("greeter", "1.0.0", address=args.address)
    client.declare_function("greet", greet)
    client.connect("activated", lambda c: print("greeter: active", flush=True))
    lost = client.connect("disconnected",
                          lambda c, error: print("greeter: %s; waiting for the broker" % error.message, flush=True))
    for signum in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, lambda: loop.quit() or GLib.SOURCE_REMOVE)

    try:
        client.connect_sync(None)
    except GLib.Error as e:
        print("greeter: %s" % e.message, file=sys.stderr)
        return 1
    loop.run()
    client.disconnect(lost)
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
