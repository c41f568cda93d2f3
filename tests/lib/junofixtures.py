# SPDX-License-Identifier: LGPL-2.1-or-later
"""pytest fixtures shared by every Python suite; a suite's conftest.py
imports them:

    from junofixtures import broker, broker_factory, bus, pytest_runtest_makereport

broker_factory(bus=None, *, launch=True, wait_ready=True, **kwargs) starts a
Broker (see junobroker.py for @kwargs); with launch=False it is returned
unstarted, to start with .start(). At the end of the test every broker still
running must stop on SIGTERM with status 0, every broker's log must be free
of sanitizer reports and criticals, and a failing test's report carries each
broker's log and the log of every other process a fixture put in the test's
juno_logs list (objects with describe() and read_log(), such as the
nats-server nodes of natscluster.py). bus is a private dbus-daemon for the
test; broker is a broker with default options.
"""

import pytest

from junobroker import Broker, PrivateBus


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for i, b in enumerate(getattr(item, "juno_brokers", [])):
            report.sections.append(("broker %d log (%s)" % (i, " ".join(b.argv())),
                                    b.read_log()[-20000:]))
        for other in getattr(item, "juno_logs", []):
            report.sections.append(("log of " + other.describe(), other.read_log()[-20000:]))


@pytest.fixture
def bus():
    b = PrivateBus()
    yield b
    b.stop()


@pytest.fixture
def broker_factory(request):
    brokers = []
    request.node.juno_brokers = brokers

    def start(bus=None, *, launch=True, wait_ready=True, start=None, **kwargs):
        # start= is the name the D-Bus suites used for launch=
        b = Broker(bus, **kwargs)
        brokers.append(b)
        if launch and start is not False:
            b.start(wait_ready=wait_ready)
        return b

    yield start

    problems = []
    try:
        for b in brokers:
            problems += b.finish()
    finally:
        for b in brokers:
            b.cleanup()
    assert not problems, "\n".join(problems)


@pytest.fixture
def broker(broker_factory):
    """A broker with default options, on no bus (the D-Bus suite's conftest
    puts it on the test's bus)."""
    return broker_factory()
