# SPDX-License-Identifier: LGPL-2.1-or-later
"""pytest fixtures for the D-Bus tests (see junofixtures.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from junofixtures import broker, broker_factory, bus, proxy, pytest_runtest_makereport  # noqa: E402,F401
