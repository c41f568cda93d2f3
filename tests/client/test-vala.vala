// SPDX-License-Identifier: LGPL-2.1-or-later
// libjuno from Vala, through the generated VAPI: run by test_vala.py with
// the broker's socket path; exits 0 when every check passed.

int main (string[] args) {
    var loop = new MainLoop ();
    var client = new Juno.Client ("valamod", "1.0.0");
    client.address = args[1];

    try {
        client.declare_function ("square", (c, invocation) => {
            var n = invocation.get_arguments ().get_object ().get_int_member ("n");
            var result = new Json.Node (Json.NodeType.VALUE);
            result.set_int (n * n);
            invocation.return_value (result);
        });
        client.connect_sync (null);
        assert (client.active);

        var arguments = Json.from_string ("{\"n\": 7}");
        var answer = client.call_sync ("valamod.square", arguments, -1, null);
        if (answer.get_int () != 49) {
            printerr ("valamod: wrong answer %s\n", Json.to_string (answer, false));
            return 1;
        }
        var modules = client.call_sync ("juno.listModules", null, -1, null);
        if (modules.get_array ().get_length () != 3) {
            printerr ("valamod: expected three modules (juno, watcher, valamod)\n");
            return 1;
        }
    } catch (Error e) {
        printerr ("valamod: %s\n", e.message);
        return 1;
    }

    try {
        client.call_sync ("nobody.fn", null, -1, null);
        printerr ("valamod: a call to an unknown module succeeded\n");
        return 1;
    } catch (Juno.Error e) {
        if (!(e is Juno.Error.UNKNOWN_MODULE)) {
            printerr ("valamod: wrong error %s\n", e.message);
            return 1;
        }
    } catch (Error e) {
        printerr ("valamod: wrong domain %s\n", e.message);
        return 1;
    }

    int status = 1;
    client.trigger_async.begin ("done", null, null, (obj, res) => {
        try {
            status = client.trigger_async.end (res) ? 0 : 1;
        } catch (Error e) {
            printerr ("valamod: %s\n", e.message);
        }
        loop.quit ();
    });
    loop.run ();
    return status;
}
