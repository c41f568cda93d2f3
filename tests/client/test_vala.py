# SPDX-License-Identifier: LGPL-2.1-or-later
"""libjuno from Vala (the generated VAPI), against the real broker."""

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clienttest import TIMEOUT, Broker, RawModule  # noqa: E402


def test_vala_module():
    broker = Broker().start()
    try:
        watcher = RawModule(broker, "watcher")
        assert watcher.request({"type": 5, "hook": "valamod.done"})["type"] == 6
        r = subprocess.run([os.environ["JUNO_VALA_TEST"], str(broker.socket_path)],
                           capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode == 0, r.stderr
        watcher.wait_for(lambda: any(h["hook"] == "valamod.done" for h in watcher.hooks), "done")
        watcher.close()
    finally:
        broker.cleanup()
