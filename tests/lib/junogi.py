# SPDX-License-Identifier: LGPL-2.1-or-later
"""libjuno from Python (PyGObject) in tests: JSON values to and from
JsonNode, and running the default main context until something holds."""

import json

import gi

gi.require_version("Json", "1.0")
from gi.repository import GLib, Json  # noqa: E402


def node(value):
    """A JsonNode holding @value (any JSON-able Python value)."""
    return Json.from_string(json.dumps(value))


def value(n):
    """The Python value of JsonNode @n."""
    return json.loads(Json.to_string(n, False))


def run_until(predicate, timeout=10.0):
    """Iterates the default main context until @predicate() is true;
    fails after @timeout seconds."""
    ctx = GLib.MainContext.default()
    source = GLib.timeout_add(50, lambda: True)
    deadline = GLib.get_monotonic_time() + int(timeout * 1e6)
    try:
        while not predicate():
            assert GLib.get_monotonic_time() < deadline, "timed out"
            ctx.iteration(True)
    finally:
        GLib.source_remove(source)
