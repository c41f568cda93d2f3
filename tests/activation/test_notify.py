# SPDX-License-Identifier: LGPL-2.1-or-later
"""sd_notify: READY=1, STATUS= that follows the modules, WATCHDOG=1 when
WATCHDOG_USEC is set, STOPPING=1 on shutdown; all on a test-owned
NOTIFY_SOCKET."""

import pytest

from junodbus import Proxy, wait_until


def statuses(b):
    return [n[len("STATUS="):] for n in b.notifications if n.startswith("STATUS=")]


def test_ready_status_stopping(broker_factory):
    b = broker_factory(None, args=["--bus=none"])
    assert "READY=1" in b.notifications
    assert statuses(b)[0] == "0 modules (0 active), 0 connections"
    m = b.module("alpha")
    b.module("beta", deps={"missing": "1"}, active=False)
    b.wait_notify("STATUS=2 modules (1 active), 2 connections")
    m.close()
    b.wait_notify("STATUS=1 modules (0 active), 1 connections")
    assert b.stop() == 0
    b.read_notifications(0)
    assert "STOPPING=1" in b.notifications
    assert b.notifications.index("STOPPING=1") > b.notifications.index("READY=1")


def test_ready_after_bus_name(bus, broker_factory):
    b = broker_factory(bus)
    # READY=1 came, so the name is already owned
    assert bus.has_owner()
    assert Proxy(bus).get("Version")
    assert "READY=1" in b.notifications


def test_status_is_not_per_message(broker_factory):
    b = broker_factory(None, args=["--bus=none"])
    m = b.module("alpha")
    b.wait_notify("STATUS=1 modules (1 active), 1 connections")
    for _ in range(200):
        m.ping()
    b.read_notifications(0.5)
    assert len(statuses(b)) <= 3, statuses(b)


def test_watchdog(broker_factory):
    b = broker_factory(None, start=False, args=["--bus=none"],
                       env={"WATCHDOG_USEC": "200000"})
    b.env["WATCHDOG_PID"] = ""  # set per process below
    b.env.pop("WATCHDOG_PID")
    b.start()
    before = b.notifications.count("WATCHDOG=1")
    b.wait_notify("WATCHDOG=1")
    b.read_notifications(0.5)
    assert b.notifications.count("WATCHDOG=1") >= max(before, 1) + 1, b.notifications


def test_watchdog_for_another_process(broker_factory):
    """WATCHDOG_PID naming another process means the watchdog is not ours."""
    b = broker_factory(None, start=False, args=["--bus=none"],
                       env={"WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"})
    b.start()
    b.module("alpha").ping()
    b.read_notifications(0.5)
    assert "WATCHDOG=1" not in b.notifications, b.notifications
    assert "READY=1" in b.notifications


@pytest.mark.parametrize("notify_socket", ["", "relative/path", "/nonexistent/juno-notify.sock",
                                           "@" + "x" * 200])
def test_unusable_notify_socket_is_fine(broker_factory, notify_socket):
    """Without a usable NOTIFY_SOCKET the broker starts and serves all the same."""
    b = broker_factory(None, start=False, args=["--bus=none"])
    b.start(wait_ready=False, notify_socket=notify_socket)
    wait_until(lambda: "Listening on unix" in b.read_log(), what="the broker to listen")
    b.module("alpha").ping()
    b.read_notifications(0.2)
    assert b.notifications == []
    assert b.stop() == 0
