# SPDX-License-Identifier: LGPL-2.1-or-later
"""pytest fixtures for the D-Bus tests: the shared ones (tests/lib), with the
broker on the test's private bus."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402

from junodbus import Proxy  # noqa: E402
from junofixtures import broker_factory, bus, pytest_runtest_makereport  # noqa: E402,F401


@pytest.fixture
def broker(bus, broker_factory):
    return broker_factory(bus)


@pytest.fixture
def proxy(bus, broker):
    return Proxy(bus)
