// SPDX-License-Identifier: LGPL-2.1-or-later
// A juno module in GJS, driven by test_gjs.py: it declares greet and quit,
// checks calling and hooks, and exits 0 when the driver calls quit. Any
// failed check exits 1 with a message.
imports.gi.versions.Juno = '1.0';
imports.gi.versions.Json = '1.0';
const {GLib, Json, Juno} = imports.gi;
const System = imports.system;

const address = ARGV[0];
const loop = new GLib.MainLoop(null, false);
let status = 1;

function check(condition, what) {
    if (!condition) {
        printerr(`gjs-module: check failed: ${what}`);
        System.exit(1);
    }
}

const node = value => Json.from_string(JSON.stringify(value));
const value = n => JSON.parse(Json.to_string(n, false));

const client = new Juno.Client({module_id: 'gjsmod', version: '3.0.0', address});
check(client.module_id === 'gjsmod', 'module-id property');
check(!client.active, 'inactive before connecting');

client.declare_function('greet', (_c, invocation) => {
    const args = value(invocation.get_arguments());
    invocation.return_value(node({greeting: `Hello, ${args.name}`, caller: invocation.get_caller()}));
});
client.declare_function('fail', (_c, invocation) => invocation.return_error(Juno.Error.UNKNOWN_MODULE));
client.declare_function('quit', (_c, invocation) => {
    invocation.return_value(null);
    status = 0;
    GLib.idle_add(GLib.PRIORITY_LOW, () => {
        loop.quit();
        return GLib.SOURCE_REMOVE;
    });
});

client.listen('driver.go');
client.connect('hook-triggered::driver.go', (c, hook, data) => {
    check(hook === 'driver.go', 'detailed hook name');
    // Answer the hook with a call to the driver, then a trigger.
    c.call_async('driver.echo', node(value(data)), -1, null, (c2, res) => {
        const answer = value(c2.call_finish(res));
        check(answer.n === value(data).n, 'echoed data');
        try {
            c2.call_sync('nobody.fn', null, -1, null);
            check(false, 'call to an unknown module must fail');
        } catch (e) {
            check(e.matches(Juno.error_quark(), Juno.Error.UNKNOWN_MODULE), `error domain: ${e}`);
        }
        c2.trigger_async('went', node({n: answer.n + 1}), null, (c3, r3) => {
            check(c3.trigger_finish(r3), 'trigger');
        });
    });
});

client.connect_async(null, (c, res) => {
    check(c.connect_finish(res), 'connect');
    check(c.active, 'active after connect');
    c.trigger_async('ready', null, null, (c2, r2) => c2.trigger_finish(r2));
});

loop.run();
System.exit(status);
