# SPDX-License-Identifier: LGPL-2.1-or-later
"""PyGObject overrides for Juno: Python values instead of Json.Node.

Loaded by ``from gi.repository import Juno``. Adds to the plain bindings:

- ``Juno.Client(module_id, version, address=None)``
- ``client.call(function, arguments=None, timeout=-1)``: a blocking call,
  arguments and result as Python values (dict, list, str, int, float,
  bool, None)
- ``client.trigger(hook, data=None)``
- ``client.declare(name, handler)``: ``handler(args)`` gets the arguments as a
  dict and returns the result; an exception answers the caller at once with
  an error (``Juno.Error.HANDLER_FAILED``, or the code of a ``GLib.Error``
  of the Juno domain)
- ``client.declare_function(name, handler)``: as in C, ``handler(client,
  invocation)``; an exception answers at once too
- ``client.listen(hook, callback=None)``: ``callback(data, hook)`` with the
  data as a dict
- ``invocation.args`` (the arguments as a dict) and
  ``invocation.return_value(value)`` taking a Python value or a Json.Node
"""

import json
import sys
import traceback

from ..module import get_introspection_module
from ..overrides import override

Juno = get_introspection_module("Juno")

__all__ = []


def _dumps(value):
    # allow_nan=False: infinity and NaN have no JSON form
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def _loads_node(node):
    from gi.repository import Json

    if node is None:
        return None
    return json.loads(Json.to_string(node, False))


def _error_code(exc):
    from gi.repository import GLib

    if isinstance(exc, GLib.Error) and exc.domain == GLib.quark_to_string(Juno.error_quark()):
        code = exc.code
        if 0 <= code < Juno.Error.DISCONNECTED:
            return code
    return Juno.Error.HANDLER_FAILED


def _fail(invocation, exc):
    """Answers @invocation with the error for @exc (unless answered) and
    reports the exception as PyGObject would, without keeping it alive."""
    if not invocation.get_answered():
        invocation.return_error(_error_code(exc))
    print(f"juno: handler of '{invocation.get_function()}' failed:", file=sys.stderr)
    traceback.print_exception(type(exc), exc, exc.__traceback__)


class Client(Juno.Client):
    def __init__(self, module_id=None, version="0.0.0", address=None, **kwargs):
        if module_id is not None:
            kwargs["module_id"] = module_id
        kwargs.setdefault("version", version)
        super().__init__(**kwargs)
        if address is not None:
            self.set_address(address)

    def call(self, function, arguments=None, timeout=-1, cancellable=None):
        text = None if arguments is None else _dumps(arguments)
        return _loads_node(self.call_json_sync(function, text, timeout, cancellable))

    def trigger(self, hook, data=None, cancellable=None):
        text = None if data is None else _dumps(data)
        return self.trigger_json_sync(hook, text, cancellable)

    def declare_function(self, name, handler, *user_data):
        def run(client, invocation, *data):
            try:
                handler(client, invocation, *data)
            except Exception as exc:  # noqa: BLE001 - any failure answers the caller
                _fail(invocation, exc)
                del exc

        return Juno.Client.declare_function(self, name, run, *user_data)

    def declare(self, name, handler):
        def run(client, invocation):
            invocation.return_value(handler(invocation.args))

        return self.declare_function(name, run)

    def listen(self, hook, callback=None):
        result = Juno.Client.listen(self, hook)
        if callback is not None:
            self.connect("hook-triggered::" + hook,
                         lambda _client, name, data: callback(_loads_node(data), name))
        return result


Client = override(Client)
__all__.append("Client")


class Invocation(Juno.Invocation):
    @property
    def args(self):
        return json.loads(self.dup_arguments_json())

    def return_value(self, value=None):
        from gi.repository import Json

        if value is None or isinstance(value, Json.Node):
            return Juno.Invocation.return_value(self, value)
        return self.return_json(_dumps(value))


Invocation = override(Invocation)
__all__.append("Invocation")
