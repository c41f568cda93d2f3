# SPDX-License-Identifier: LGPL-2.1-or-later
"""junoctl against federated brokers (two, through a real nats-server):
list's BROKER column, info's Brokers, the federation's part of stats."""

import json

import pytest

from clienttest import Broker, RawModule, junoctl, wait_until
from natsserver import NatsServer, federation_args, federation_name


class FederatedBroker(Broker):
    def __init__(self, nats, federation, name):
        super().__init__()
        self.args += ["--bus=none"] + federation_args(nats.url, federation, name)


@pytest.fixture
def nats(tmp_path):
    server = NatsServer(tmp_path / "nats.log").start()
    yield server
    server.stop()


@pytest.fixture
def brokers(nats):
    federation = federation_name()
    started = []
    try:
        for name in ("b1", "b2"):
            started.append(FederatedBroker(nats, federation, name).start())
        yield started
    finally:
        for b in reversed(started):
            b.cleanup()


def modules(broker):
    r = junoctl(broker, "--json", "list")
    assert r.returncode == 0, r.stderr
    return {m["moduleId"]: m for m in json.loads(r.stdout)}


def test_federated(nats, brokers):
    b1, b2 = brokers
    local = RawModule(b1, "local", {})
    remote = RawModule(b2, "remote", {})
    wait_until(lambda: "remote" in modules(b1), "the remote module on b1")

    r = junoctl(b1, "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["MODULE", "VERSION", "CONN", "BROKER", "ACTIVE", "FUNCTIONS", "HOOKS",
                                "DEPENDENCIES"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["local"][3] == "b1" and rows["remote"][3] == "b2" and rows["juno"][3] == "b1"
    col = lines[0].index("BROKER")
    assert all(line[col - 2:col] == "  " and line[col] != " " for line in lines[1:])

    r = junoctl(b1, "info", "remote")
    assert r.returncode == 0, r.stderr
    fields = dict(line.split(None, 1) for line in r.stdout.splitlines())
    assert fields["Brokers:"] == "b2"

    r = junoctl(b1, "--json", "stats", "-n", "1")
    assert r.returncode == 0, r.stderr
    sample = json.loads(r.stdout)
    assert sample["federation"] == "connected" and sample["brokerName"] == "b1"
    assert sample["remoteModules"] >= 1 and sample["federationBrokers"] == 1

    r = junoctl(b1, "stats", "-n", "1")
    assert r.returncode == 0, r.stderr
    words = r.stdout.split()
    at = words.index("federation")
    assert words[at:at + 6] == ["federation", "connected", "broker-name", "b1", "nats-server", nats.url]
    assert words[words.index("brokers") + 1] == "1"
    for label in ("remote-modules", "remote-calls-out", "remote-calls-in", "remote-calls-failed",
                  "remote-hooks-out", "remote-hooks-in", "nats-reconnects", "federation-dropped"):
        assert words[words.index(label) + 1].isdigit(), label
    local.close()
    remote.close()


def test_not_federated():
    b = Broker().start()
    try:
        m = RawModule(b, "local", {})
        r = junoctl(b, "list")
        assert "BROKER" not in r.stdout.splitlines()[0].split()
        r = junoctl(b, "info", "local")
        assert "Brokers:" not in r.stdout
        r = junoctl(b, "stats", "-n", "1")
        assert "federation" not in r.stdout.split() and "remote-modules" not in r.stdout.split()
        m.close()
    finally:
        b.cleanup()
