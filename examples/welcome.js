#!/usr/bin/gjs
// SPDX-License-Identifier: LGPL-2.1-or-later
// A juno module in GJS, on libjuno (with its overrides: JavaScript values
// in and out): "welcome" (version 1.0.0) depends on
// the greeter of examples/greeter.py, so the broker activates it only while
// a greeter ^1.0.0 is there. Once active it calls greeter.greet, then
// prints every greeter.greeted hook and counts them:
//
//   welcome.count {} -> {"greeted": number of greeter.greeted seen}
//
//   gjs examples/welcome.js [ADDRESS]
//
// ADDRESS is the broker's socket path or HOST:PORT (default: where the
// broker listens by default). Runs until Ctrl-C or SIGTERM. From a build
// tree: eval "$(meson devenv -C build --dump)" first (see README.md).

imports.gi.versions.Juno = '1.0';
const {GLib, Juno} = imports.gi;

const loop = new GLib.MainLoop(null, false);
const client = new Juno.Client({module_id: 'welcome', version: '1.0.0', address: ARGV[0] ?? null});
let greeted = 0;

client.add_dependency('greeter', '^1.0.0');
client.declare('count', () => ({greeted}));
client.listen('greeter.greeted', data => {
    greeted++;
    print(`welcome: greeter greeted ${data.name}`);
});
client.connect('deactivated', () => print('welcome: waiting for greeter'));
client.connect('activated', async c => {
    print('welcome: active');
    try {
        const answer = await c.callAsync('greeter.greet', {name: 'GJS'});
        print(`welcome: ${answer.greeting}`);
    } catch (e) {
        printerr(`welcome: greeter.greet failed: ${e.message}`);
    }
});
for (const signum of [2, 15]) {  // SIGINT, SIGTERM
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, () => {
        loop.quit();
        return GLib.SOURCE_REMOVE;
    });
}

client.connect_async(null, (c, result) => {
    try {
        c.connect_finish(result);
    } catch (e) {
        printerr(`welcome: ${e.message}`);
        loop.quit();
        imports.system.exit(1);
    }
});
loop.run();
client.close();
