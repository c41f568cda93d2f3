# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real nats-server cluster for the federation tests.

NatsCluster(size) writes one configuration file per node (client port,
monitoring port and, with more than one node, a `cluster {}` block whose
routes name every other node), all on 127.0.0.1 ports chosen free when the
cluster is made. start() launches the nodes and waits until each answers on
its monitoring endpoint and, for a cluster, has a route to every other node
(/routez). kill(i) ends a node with SIGKILL, restart(i) starts it again on
the same ports and waits for its routes, stop() ends them all. Each node
logs to a file of its own; the fixtures attach the logs to the report of a
failing test.

The binary is $NATS_SERVER, else nats-server on $PATH or /usr/sbin (Debian's
package, 2.9). Fixtures (import them in a conftest.py):

    nats_factory(size=3, *, start=True, **options)  -> NatsCluster
    nats_cluster                                     -> a started 3-node cluster
    nats_server                                      -> a started single node
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

START_TIMEOUT = float(os.environ.get("JUNO_TEST_NATS_TIMEOUT", "20"))
# nats-server's own bound is 1 MiB; the tests raise it so that a payload
# larger than juno's --max-message-size can reach a broker at all.
MAX_PAYLOAD = 4 << 20


def nats_server_path():
    path = os.environ.get("NATS_SERVER") or shutil.which("nats-server")
    if path:
        return path
    assert os.access("/usr/sbin/nats-server", os.X_OK), \
        "nats-server not found: install it (scripts/deps.sh test) or set $NATS_SERVER"
    return "/usr/sbin/nats-server"


def free_ports(count):
    """@count distinct TCP ports on 127.0.0.1 that were free a moment ago."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def http_json(port, path, timeout=2.0):
    """GET http://127.0.0.1:@port@path as JSON, or None when nobody answers."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
            return json.loads(r.read())
    except (urllib.error.URLError, ConnectionError, socket.timeout, ValueError):
        return None


class NatsNode:
    """One nats-server process of a cluster."""

    def __init__(self, cluster, index, port, http_port, cluster_port):
        self.cluster = cluster
        self.index = index
        self.name = "n%d" % (index + 1)
        self.port = port
        self.http_port = http_port
        self.cluster_port = cluster_port
        self.config_path = cluster.dir / ("%s.conf" % self.name)
        self.log_path = cluster.dir / ("%s.log" % self.name)
        self.proc = None
        self.server_id = None
        self.expected_down = False
        self.saved_log = None

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def describe(self):
        return "nats-server %s (client %d, cluster %d, http %d)" % (
            self.name, self.port, self.cluster_port, self.http_port)

    def write_config(self, others, options):
        lines = [
            "server_name: %s" % self.name,
            "listen: 127.0.0.1:%d" % self.port,
            "http: 127.0.0.1:%d" % self.http_port,
            "max_payload: %d" % options.get("max_payload", MAX_PAYLOAD),
            "logtime: true",
        ]
        if options.get("debug"):
            lines.append("debug: true")
        if self.cluster.size > 1:
            routes = ", ".join("nats-route://127.0.0.1:%d" % o.cluster_port for o in others)
            lines += [
                "cluster {",
                "  name: %s" % self.cluster.name,
                "  listen: 127.0.0.1:%d" % self.cluster_port,
                "  routes: [%s]" % routes,
                "}",
            ]
        lines += options.get("extra_config", [])
        self.config_path.write_text("\n".join(lines) + "\n")

    def launch(self):
        assert not self.alive(), "%s is already running" % self.name
        with open(self.log_path, "ab") as log:
            log.write(b"--- start ---\n")
            log.flush()
            self.proc = subprocess.Popen([nats_server_path(), "-c", str(self.config_path)],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        self.expected_down = False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def varz(self):
        return http_json(self.http_port, "/varz")

    def routez(self):
        return http_json(self.http_port, "/routez")

    def connz(self):
        return http_json(self.http_port, "/connz")

    def num_clients(self):
        """Client connections open on this node now (-1 when it does not answer)."""
        v = self.varz()
        return v["connections"] if v else -1

    def route_peers(self):
        """server_ids of the nodes this node has a route to."""
        r = self.routez()
        if not r:
            return set()
        return {route.get("remote_id") for route in r.get("routes") or []}

    def kill(self):
        """SIGKILL: no goodbye to its clients or routes."""
        self.expected_down = True
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout=10):
        """SIGTERM; returns a problem found, or None."""
        if self.proc is None:
            return None
        died = self.proc.poll() is not None and not self.expected_down
        self.expected_down = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return "%s did not stop within %d s of SIGTERM" % (self.name, timeout)
        if died:
            return "%s died during the test (status %d)" % (self.name, self.proc.returncode)
        return None

    def read_log(self):
        if self.saved_log is not None:
            return self.saved_log
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class NatsCluster:
    """@size nats-server nodes, routed to each other when more than one.

    @options: max_payload (bytes), debug (bool), extra_config (lines added
    to every node's file)."""

    def __init__(self, size=3, **options):
        assert size >= 1
        self.size = size
        self.options = options
        self.dir = Path(tempfile.mkdtemp(prefix="juno-nats-"))
        self.name = "juno-test-%s" % os.urandom(4).hex()
        ports = free_ports(3 * size)
        self.nodes = [NatsNode(self, i, *ports[3 * i:3 * i + 3]) for i in range(size)]
        for n in self.nodes:
            n.write_config([o for o in self.nodes if o is not n], options)

    def __getitem__(self, i):
        return self.nodes[i]

    def __len__(self):
        return self.size

    def urls(self, first=0):
        """Every node's URL, comma-separated, node @first first."""
        order = self.nodes[first:] + self.nodes[:first]
        return ",".join(n.url for n in order)

    # -- lifecycle ------------------------------------------------------------

    def start(self, timeout=START_TIMEOUT):
        for n in self.nodes:
            if not n.alive():
                n.launch()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=START_TIMEOUT, nodes=None):
        """Waits until every running node (or those of @nodes) serves its
        monitoring endpoint and, in a cluster, has a route to every other
        running node."""
        deadline = time.monotonic() + timeout
        watched = nodes if nodes is not None else self.nodes
        while True:
            running = [n for n in self.nodes if n.alive()]
            for n in watched:
                assert n.alive(), "%s exited with status %s:\n%s" % (
                    n.name, n.proc.returncode if n.proc else None, n.read_log()[-4000:])
            missing = []
            for n in running:
                v = n.varz()
                if v is None:
                    missing.append("%s: no /varz" % n.name)
                    continue
                n.server_id = v.get("server_id")
            if not missing and self.size > 1:
                for n in running:
                    want = {o.server_id for o in running if o is not n}
                    have = n.route_peers()
                    if not want <= have:
                        missing.append("%s: routes to %d of %d nodes" % (
                            n.name, len(want & have), len(want)))
            if not missing:
                return
            if time.monotonic() >= deadline:
                raise AssertionError("nats cluster not ready within %.0f s: %s\n%s" % (
                    timeout, "; ".join(missing), self.logs_text()))
            time.sleep(0.05)

    def kill(self, i):
        """SIGKILL node @i."""
        self.nodes[i].kill()

    def restart(self, i, timeout=START_TIMEOUT):
        """Starts node @i again (after kill or stop) on its ports; waits for
        its routes to every other running node."""
        n = self.nodes[i]
        if n.alive():
            n.kill()
        n.launch()
        self.wait_ready(timeout, nodes=[n])

    def stop(self):
        """Stops every node; returns the problems found (a node that died on
        its own)."""
        problems = []
        for n in self.nodes:
            p = n.stop()
            if p:
                problems.append(p)
        return problems

    def cleanup(self):
        for n in self.nodes:
            if n.alive():
                n.proc.kill()
                n.proc.wait()
        for n in self.nodes:
            n.saved_log = n.read_log()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- diagnostics ----------------------------------------------------------

    def logs_text(self, tail=8000):
        return "\n".join("--- %s ---\n%s" % (n.describe(), n.read_log()[-tail:])
                         for n in self.nodes)


def _attach(request, obj):
    """Has junofixtures' report hook attach @obj's logs when the test fails."""
    logs = getattr(request.node, "juno_logs", None)
    if logs is None:
        logs = request.node.juno_logs = []
    logs.append(obj)


class _NodeLog:
    def __init__(self, node):
        self.node = node

    def describe(self):
        return self.node.describe()

    def read_log(self):
        return self.node.read_log()


@pytest.fixture
def nats_factory(request):
    clusters = []

    def make(size=3, *, start=True, **options):
        c = NatsCluster(size, **options)
        clusters.append(c)
        for n in c.nodes:
            _attach(request, _NodeLog(n))
        if start:
            c.start()
        return c

    yield make

    problems = []
    try:
        for c in clusters:
            problems += c.stop()
    finally:
        for c in clusters:
            c.cleanup()
    assert not problems, "\n".join(problems)


@pytest.fixture
def nats_cluster(nats_factory):
    """A started three-node cluster."""
    return nats_factory(3)


@pytest.fixture
def nats_server(nats_factory):
    """A started single node."""
    return nats_factory(1)
