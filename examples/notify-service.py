#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A desktop notification service as a juno module, in Python with PyGObject.

Function notifications.notify {"summary": str, "body": str} -> {"id": int}
shows a desktop notification (org.freedesktop.Notifications on the session
bus, when there is one) and fires the hook notifications.notified with
{"id", "summary"}. Other modules listen to that hook to keep a history.

    python3 notify-service.py [--address PATH|HOST:PORT]

Run from a build tree with GI_TYPELIB_PATH and LD_LIBRARY_PATH pointing at
build/libjuno.
"""

import argparse
import json
import sys

import gi

gi.require_version("Juno", "1.0")
gi.require_version("Json", "1.0")
from gi.repository import Gio, GLib, Json, Juno  # noqa: E402


def to_node(value):
    return Json.from_string(json.dumps(value))


def from_node(node):
    return json.loads(Json.to_string(node, False))


class NotifyService:
    def __init__(self, address):
        self.loop = GLib.MainLoop()
        self.next_id = 1
        self.client = Juno.Client.new("notifications", "1.0.0")
        self.client.props.address = address
        self.client.declare_function("notify", self.on_notify)
        self.client.connect("activated", lambda c: print("notifications: active", flush=True))
        self.client.connect("disconnected", self.on_disconnected)
        try:
            self.bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        except GLib.Error:
            self.bus = None

    def run(self):
        self.client.connect_async(None, self.on_connected)
        self.loop.run()

    def on_connected(self, client, result):
        try:
            client.connect_finish(result)
        except GLib.Error as e:
            print("notifications: %s" % e.message, file=sys.stderr)
            self.loop.quit()

    def on_disconnected(self, client, error):
        print("notifications: broker lost (%s), reconnecting" % error.message, flush=True)

    def on_notify(self, client, invocation):
        args = from_node(invocation.get_arguments())
        summary = args.get("summary")
        if not isinstance(summary, str):
            invocation.return_error(Juno.Error.MALFORMED_REQUEST)
            return
        notification_id = self.next_id
        self.next_id += 1
        self.show(summary, str(args.get("body", "")))
        invocation.return_value(to_node({"id": notification_id}))
        client.trigger_async("notified", to_node({"id": notification_id, "summary": summary}),
                             None, None)

    def show(self, summary, body):
        if self.bus is None:
            print("notifications: %s: %s" % (summary, body), flush=True)
            return
        self.bus.call("org.freedesktop.Notifications", "/org/freedesktop/Notifications",
                      "org.freedesktop.Notifications", "Notify",
                      GLib.Variant("(susssasa{sv}i)", ("juno", 0, "", summary, body, [], {}, -1)),
                      None, Gio.DBusCallFlags.NONE, -1, None, None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", help="broker socket path or HOST:PORT")
    args = parser.parse_args()
    NotifyService(args.address).run()


if __name__ == "__main__":
    main()
