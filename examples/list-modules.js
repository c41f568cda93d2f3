#!/usr/bin/gjs
// SPDX-License-Identifier: LGPL-2.1-or-later
// A GJS script on libjuno: prints the modules a juno broker knows, then
// follows modules coming and going until interrupted (or, with --once, exits).
//
//   gjs list-modules.js [--once] [ADDRESS]

imports.gi.versions.Juno = '1.0';
imports.gi.versions.Json = '1.0';
const {GLib, Json, Juno} = imports.gi;

const once = ARGV.includes('--once');
const address = ARGV.filter(a => a !== '--once')[0] ?? null;
const loop = new GLib.MainLoop(null, false);
const client = Juno.Client.new(`list-modules-${new Date().getTime()}`, '1.0.0');
client.address = address;
client.reconnect = false;

function fail(error) {
    printerr(`list-modules: ${error.message}`);
    loop.quit();
    imports.system.exit(1);
}

client.connect('hook-triggered::juno.moduleActivated', (_c, _hook, data) => {
    print(`+ ${JSON.parse(Json.to_string(data, false)).moduleId}`);
});
client.connect('hook-triggered::juno.moduleDeactivated', (_c, _hook, data) => {
    print(`- ${JSON.parse(Json.to_string(data, false)).moduleId}`);
});
client.connect('disconnected', (_c, error) => fail(error));

client.connect_async(null, (c, result) => {
    try {
        c.connect_finish(result);
    } catch (e) {
        fail(e);
        return;
    }
    c.call_async('juno.listModules', null, -1, null, (c2, res) => {
        let modules;
        try {
            modules = JSON.parse(Json.to_string(c2.call_finish(res), false));
        } catch (e) {
            fail(e);
            return;
        }
        for (const m of modules) {
            if (m.moduleId === c2.module_id)
                continue;
            print(`${m.moduleId} ${m.version} ${m.registered ? 'active' : 'inactive'}`);
        }
        if (once) {
            loop.quit();
            return;
        }
        c2.listen('juno.moduleActivated');
        c2.listen('juno.moduleDeactivated');
    });
});
loop.run();
