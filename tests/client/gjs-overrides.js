// SPDX-License-Identifier: LGPL-2.1-or-later
// A juno module in GJS written with the overrides (overrides/Juno.js):
// JavaScript values in and out, handlers that throw. Driven by
// test_gjs.py; exits 0 when the driver calls quit, 1 on a failed check.
imports.gi.versions.Juno = '1.0';
const {GLib, Juno} = imports.gi;
const System = imports.system;

const address = ARGV[0];
const loop = new GLib.MainLoop(null, false);
let status = 1;

function check(condition, what) {
    if (!condition) {
        printerr(`gjs-overrides: check failed: ${what}`);
        System.exit(1);
    }
}

const client = new Juno.Client({module_id: 'gjsover', version: '1.0.0', address});
client.declare('greet', args => ({greeting: `Hello, ${args.name}`}));
client.declare('nothing', () => undefined);
client.declare('boom', () => {
    throw new Error('boom');
});
client.declare('coded', () => {
    throw new GLib.Error(Juno.error_quark(), Juno.Error.UNKNOWN_MODULE, 'no such user');
});
client.declare('later', args => new Promise(resolve => {
    GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
        resolve({later: args.n + 1});
        return GLib.SOURCE_REMOVE;
    });
}));
client.declare('rejected', async () => {
    throw new Error('async boom');
});
client.declare_function('raw', () => {
    throw new Error('raw handler');
});
client.declare_function('quit', (_c, invocation) => {
    invocation.return_value(null);
    status = 0;
    GLib.idle_add(GLib.PRIORITY_LOW, () => {
        loop.quit();
        return GLib.SOURCE_REMOVE;
    });
});
client.listen('driver.tick', (data, hook) => client.trigger('ticked', {n: data.n + 1, hook}));

check(client.connect_sync(null), 'connect');
client.roundtrip_sync(null);

const sent = {a: [1, 2.5, null, true, 'é'], o: {}};
check(JSON.stringify(client.call('driver.echo', sent)) === JSON.stringify(sent), 'values through a call');
check(JSON.stringify(client.call('driver.echo')) === '{}', 'no arguments');
try {
    client.call('nobody.fn', {});
    check(false, 'a call to an unknown module must fail');
} catch (e) {
    check(e.matches(Juno.error_quark(), Juno.Error.UNKNOWN_MODULE), `unknown module: ${e}`);
}
try {
    client.call('gjsover.boom');
    check(false, 'a handler that throws must fail the call');
} catch (e) {
    check(e.matches(Juno.error_quark(), Juno.Error.HANDLER_FAILED), `handler failed: ${e}`);
}

// A blocking call does not run the main context (no re-entrancy in a UI).
let idleRan = false;
GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
    idleRan = true;
    return GLib.SOURCE_REMOVE;
});
client.call('driver.echo', {});
check(!idleRan, 'a blocking call ran an idle source of the main context');

client.callAsync('driver.echo', {b: 1}).then(answer => {
    check(answer.b === 1, 'callAsync');
    check(idleRan, 'the idle source ran once the main loop did');
    client.trigger('ready', {});
}).catch(e => {
    printerr(`gjs-overrides: ${e}`);
    System.exit(1);
});

loop.run();
System.exit(status);
