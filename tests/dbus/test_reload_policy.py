# SPDX-License-Identifier: LGPL-2.1-or-later
"""ReloadPolicy: reads the policy files again, as SIGHUP does; a broken
file fails the call with its file and line, and the old policy stays."""

import os

from gi.repository import Gio, GLib

from junodbus import ERROR_PREFIX, Proxy


def test_reload_policy(bus, broker_factory, tmp_path):
    b = broker_factory(bus, args=["--policy-dir", str(tmp_path)])
    proxy = Proxy(bus)
    if os.geteuid() != 0:
        # root's method; the tests' session bus only has the caller's uid
        assert proxy.call_error("ReloadPolicy", None, ()) == ERROR_PREFIX + "AccessDenied"
        return

    (tmp_path / "50-good.conf").write_text("[Allow x]\nUser=nobody\nOwn=x\n")
    proxy.call("ReloadPolicy")
    # the 4 built-in rules of a per-user broker, and the file's
    assert "Access policy reloaded: 5 rules" in b.read_log()

    (tmp_path / "60-bad.conf").write_text("[Allow y]\n\nCall=a b\n")
    try:
        proxy.call("ReloadPolicy")
        raise AssertionError("ReloadPolicy accepted a broken file")
    except GLib.Error as exc:
        assert Gio.DBusError.get_remote_error(exc) == ERROR_PREFIX + "Failed"
        assert "60-bad.conf:3: Call=: 'a b' holds a space" in exc.message, exc.message
    assert b.read_log().count("Access policy reloaded") == 1
