# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures shared by the dbus and activation suites: a private dbus-daemon per test and a broker on it.  On teardown
the broker must stop on SIGTERM with status 0 and a clean log; its log is
attached to the report of a failing test."""


import pytest


from junodbus import Broker, PrivateBus, Proxy  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for i, b in enumerate(getattr(item, "juno_brokers", [])):
            report.sections.append(("broker %d log" % i, b.read_log()[-20000:]))


@pytest.fixture
def bus():
    b = PrivateBus()
    yield b
    b.stop()


@pytest.fixture
def broker_factory(request):
    brokers = []
    request.node.juno_brokers = brokers

    def start(bus=None, start=True, **kwargs):
        b = Broker(bus, **kwargs)
        brokers.append(b)
        if start:
            b.start()
        return b

    yield start
    problems = []
    try:
        for b in brokers:
            if b.proc is None:
                continue
            if b.proc.returncode is None:
                status = b.stop()
                if status != 0:
                    problems.append("broker exited with %d on SIGTERM" % status)
            b.check_clean()
    finally:
        for b in brokers:
            b.cleanup()
    assert not problems, "\n".join(problems)


@pytest.fixture
def broker(bus, broker_factory):
    return broker_factory(bus)


@pytest.fixture
def proxy(bus, broker):
    return Proxy(bus)
