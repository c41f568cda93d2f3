# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for the federation tests: a real nats-server cluster
(tests/lib/natscluster.py) and juno brokers attached to it.

Run by hand from the top of the tree:

    JUNO_BROKER=build/src/daemon/juno python3 -m pytest tests/federation

or through meson: meson test -C build --suite federation.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from junofixtures import broker_factory, pytest_runtest_makereport  # noqa: E402,F401
from natscluster import nats_cluster, nats_factory, nats_server  # noqa: E402,F401
from junofederation import federation, federation_factory  # noqa: E402,F401
