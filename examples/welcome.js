#!/usr/bin/gjs
// SPDX-License-Identifier: LGPL-2.1-or-later
// A juno module in GJS, on libjuno: "welcome" (version 1.0.0) depends on
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
imports.gi.versions.Json = '1.0';
const {GLib, Json, Juno} = imports.gi;

const loop = new GLib.MainLoop(null, false);
const client = new Juno.Client({module_id: 'welcome', version: '1.0.0', address: ARGV[0] ?? null});
let greeted = 0;

client.add_dependency('greeter', '^1.0.0');
client.declare_function('count', (_client, invocation) => {
    invocation.return_value(Json.from_string(JSON.stringify({greeted})));
});
client.listen('greeter.greeted');
client.connect('hook-triggered::greeter.greeted', (_client, _hook, data) => {
    greeted++;
    print(`welcome: greeter greeted ${JSON.parse(Json.to_string(data, false)).name}`);
});
client.connect('deactivated', () => print('welcome: waiting for greeter'));
client.connect('activated', c => {
    print('welcome: active');
    c.call_json_async('greeter.greet', JSON.stringify({name: 'GJS'}), -1, null, (c2, result) => {
        try {
            print(`welcome: ${JSON.parse(Json.to_string(c2.call_json_finish(result), false)).greeting}`);
        } catch (e) {
            printerr(`welcome: greeter.greet failed: ${e.message}`);
        }
    });
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
