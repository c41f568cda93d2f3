# SPDX-License-Identifier: LGPL-2.1-or-later
"""One nats-server of a test's own, on a free loopback port: for the tests of
a federated broker that need one NATS server, not a cluster.

NatsServer(log_path).start() runs $NATS_SERVER (or nats-server from PATH)
and waits until it accepts connections; .url is its nats:// URL; .stop()
ends it (start() again runs it on the same port). federation_args() gives
a broker's options to join a federation with short timings.
"""

import os
import secrets
import shutil
import socket
import subprocess
import time

START_TIMEOUT = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def federation_name():
    """A federation of the test's own: brokers of other tests are not seen."""
    return "test-" + secrets.token_hex(4)


def federation_args(url, federation, broker_name):
    return ["--nats", url, "--federation", federation, "--broker-name", broker_name,
            "--federation-heartbeat", "0.5", "--federation-timeout", "2"]


class NatsServer:
    def __init__(self, log_path):
        self.path = os.environ.get("NATS_SERVER") or shutil.which("nats-server")
        assert self.path, "nats-server is needed (NATS_SERVER or PATH)"
        self.port = free_port()
        self.url = "nats://127.0.0.1:%d" % self.port
        self.log_path = log_path
        self.proc = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([self.path, "-a", "127.0.0.1", "-p", str(self.port)],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.proc.poll() is None, "nats-server exited:\n" + self.log_path.read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return self
            except OSError:
                assert time.monotonic() < deadline, "nats-server does not listen on %d" % self.port
                time.sleep(0.05)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(START_TIMEOUT)
