# SPDX-License-Identifier: LGPL-2.1-or-later
"""The activation tests use the shared fixtures (tests/lib) and the D-Bus
suite's helpers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dbus"))

from junofixtures import broker_factory, bus, pytest_runtest_makereport  # noqa: E402,F401
