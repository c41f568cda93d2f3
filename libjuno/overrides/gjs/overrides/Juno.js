// SPDX-License-Identifier: LGPL-2.1-or-later
// GJS overrides for Juno: JavaScript values instead of Json.Node.
//
// Loaded by `imports.gi.Juno` and `import Juno from 'gi://Juno'`. Adds:
//
//   new Juno.Client({module_id, version, address})   (plain GObject)
//   client.call(fn, args = {}, timeout = -1)          blocking; returns the result
//   client.callAsync(fn, args = {}, timeout = -1, cancellable = null)
//                                                     a Promise of the result
//   client.trigger(hook, data = {})
//   client.declare(name, args => result)              the handler may return a
//       Promise; a throw (or a rejection) answers the caller at once with an
//       error: Juno.Error.HANDLER_FAILED, or the code of a thrown GLib.Error
//       of the Juno domain
//   client.declare_function(name, (client, invocation) => ...)
//                                                     as in C; a throw answers too
//   client.listen(hook, (data, hook) => ...)          the callback is optional
//   invocation.args                                   the arguments, an object
//   invocation.return_value(value)                    a JS value or a Json.Node

const {GLib, Json} = imports.gi;

function _stringify(value) {
    const text = JSON.stringify(value === undefined ? null : value);
    if (text === undefined)
        throw new TypeError('The value has no JSON form');
    return text;
}

function _parseNode(node) {
    return node === null ? null : JSON.parse(Json.to_string(node, false));
}

function _init() {
    const Juno = this;
    const Client = Juno.Client.prototype;
    const Invocation = Juno.Invocation.prototype;
    const declareFunction = Client.declare_function;
    const listen = Client.listen;
    const returnValue = Invocation.return_value;

    function errorCode(e) {
        if (e instanceof GLib.Error && e.domain === Juno.error_quark() &&
            e.code >= 0 && e.code < Juno.Error.DISCONNECTED)
            return e.code;
        return Juno.Error.HANDLER_FAILED;
    }

    function fail(invocation, e) {
        if (!invocation.get_answered())
            invocation.return_error(errorCode(e));
        logError(e, `juno: handler of '${invocation.get_function()}' failed`);
    }

    Object.defineProperty(Invocation, 'args', {
        get() {
            return JSON.parse(this.dup_arguments_json());
        },
        configurable: true,
    });

    Invocation.return_value = function (value = null) {
        if (value === null || value instanceof Json.Node)
            return returnValue.call(this, value);
        return this.return_json(_stringify(value));
    };

    Client.call = function (fn, args = {}, timeout = -1, cancellable = null) {
        return _parseNode(this.call_json_sync(fn, _stringify(args ?? {}), timeout, cancellable));
    };

    Client.callAsync = function (fn, args = {}, timeout = -1, cancellable = null) {
        return new Promise((resolve, reject) => {
            this.call_json_async(fn, _stringify(args ?? {}), timeout, cancellable, (client, result) => {
                try {
                    resolve(_parseNode(client.call_json_finish(result)));
                } catch (e) {
                    reject(e);
                }
            });
        });
    };

    Client.trigger = function (hook, data = {}, cancellable = null) {
        return this.trigger_json_sync(hook, _stringify(data ?? {}), cancellable);
    };

    Client.declare_function = function (name, handler) {
        return declareFunction.call(this, name, (client, invocation) => {
            try {
                handler(client, invocation);
            } catch (e) {
                fail(invocation, e);
            }
        });
    };

    Client.declare = function (name, handler) {
        return this.declare_function(name, (_client, invocation) => {
            const result = handler(invocation.args);
            if (result instanceof Promise) {
                result.then(value => {
                    try {
                        invocation.return_value(value);
                    } catch (e) {
                        fail(invocation, e);
                    }
                }, e => fail(invocation, e));
            } else {
                invocation.return_value(result);
            }
        });
    };

    Client.listen = function (hook, callback = null) {
        const ok = listen.call(this, hook);
        if (callback !== null)
            this.connect(`hook-triggered::${hook}`, (_client, name, data) => callback(_parseNode(data), name));
        return ok;
    };
}
