# SPDX-License-Identifier: LGPL-2.1-or-later
"""--bus choices, and the broker outliving its bus or its name."""

import os

from junobroker import PrivateBus
from junodbus import Proxy, wait_until


def test_bus_none(bus, broker_factory):
    b = broker_factory(bus, args=["--bus=none"])
    m = b.module("alpha")
    m.ping()
    assert not bus.has_owner()
    assert "D-Bus" not in b.read_log()


def test_default_without_session_bus(broker_factory):
    b = broker_factory(None)  # no DBUS_SESSION_BUS_ADDRESS, no XDG_RUNTIME_DIR/bus
    b.module("alpha").ping()
    lines = [line for line in b.read_log().splitlines() if "D-Bus" in line]
    assert len(lines) == 1 and "No D-Bus session bus reachable" in lines[0], lines


def test_default_with_session_bus(bus, broker_factory):
    b = broker_factory(bus, bus_arg=False)
    assert "--bus" not in " ".join(b.command)
    assert bus.has_owner()
    assert Proxy(bus).get("Version")


def test_bad_bus_value(broker_factory):
    b = broker_factory(None, start=False, args=["--bus=nowhere"])
    b.start(wait_ready=False)
    assert b.proc.wait(20) == 2
    assert "juno: --bus must be" in b.read_log()


def test_session_bus_unreachable_still_serves(broker_factory, tmp_path):
    b = broker_factory(None, args=["--bus=session"],
                       env={"DBUS_SESSION_BUS_ADDRESS": "unix:path=%s/none" % tmp_path})
    b.module("alpha").ping()
    assert "control plane is off" in b.read_log()


def test_name_taken_still_serves(bus, broker_factory):
    first = broker_factory(bus)
    second = broker_factory(bus)
    second.module("alpha").ping()
    # the message names the owner: a broker is there
    wait_until(lambda: "waiting in the queue" in second.read_log(), what="the reason in the log")
    assert "owns it; waiting in the queue" in second.read_log(), second.read_log()
    assert "(pid %d)" % first.proc.pid in second.read_log(), second.read_log()
    assert "policy" not in second.read_log(), second.read_log()
    # the second is queued: it takes over the name when the first leaves
    assert first.stop() == 0
    wait_until(lambda: "Owning the D-Bus name" in second.read_log(), what="the second broker to own the name")
    (modules,) = Proxy(bus).call("ListModules")
    assert [mod[0] for mod in modules] == ["alpha"]


DENY_OWN = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:tmpdir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <deny own="org.juno.Broker1"/>
  </policy>
</busconfig>
"""


def test_name_denied_by_the_bus_policy(broker_factory, tmp_path):
    """A bus that will not let juno own its name (the system bus without
    org.juno.Broker1.conf): the broker says so and names the file, and
    does not blame another broker."""
    config = tmp_path / "bus.conf"
    config.write_text(DENY_OWN.format(dir=tmp_path))
    bus = PrivateBus(config)
    try:
        b = broker_factory(bus)
        b.module("alpha").ping()
        wait_until(lambda: "AccessDenied" in b.read_log(), what="the reason in the log")
        log = b.read_log()
        assert "Cannot own the D-Bus name org.juno.Broker1: the bus's policy does not allow it to uid %d " \
            "(AccessDenied)" % os.geteuid() in log, log
        assert "/org.juno.Broker1.conf must be installed" in log, log
        assert "owns it" not in log and "another broker" not in log, log
        assert not bus.has_owner()
    finally:
        bus.stop()


def test_bus_dies_broker_goes_on(bus, broker_factory):
    b = broker_factory(bus)
    m = b.module("alpha")
    bus.stop()
    wait_until(lambda: "Lost the D-Bus connection" in b.read_log(), what="the broker to notice")
    m.ping()
    b.module("beta").ping()
    assert b.proc.poll() is None
