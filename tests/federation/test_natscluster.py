# SPDX-License-Identifier: LGPL-2.1-or-later
"""The test fixtures themselves: a real nats-server cluster (natscluster.py)
and the raw NATS client (natsclient.py). The federation tests rely on both;
these show they do what they claim."""

import os

from natsclient import NatsClient, await_interest
from junotest import wait_for


def unique(prefix):
    return "%s.%s" % (prefix, os.urandom(4).hex())


def test_publish_on_one_node_receive_on_others(nats_cluster):
    subject = unique("fixture")
    subs = []
    for node in nats_cluster.nodes[1:]:
        c = NatsClient(node.port)
        c.sub(subject + ".>")
        c.flush()
        subs.append(c)
    with NatsClient(nats_cluster[0].port) as pub:
        await_interest(pub, subs)
        pub.pub(subject + ".a", b"hello\r\nworld", reply="reply.here")
        pub.flush()
        for c in subs:
            m = c.next_msg(5)
            assert m is not None, "no message routed to a subscriber on another node"
            assert m.subject == subject + ".a"
            assert m.data == b"hello\r\nworld"
            assert m.reply == "reply.here"
            assert c.next_msg(0.2) is None, "message delivered twice"
    for c in subs:
        c.close()


def test_queue_group_delivers_once(nats_cluster):
    subject = unique("queue")
    members = []
    for node in nats_cluster.nodes:
        c = NatsClient(node.port)
        c.sub(subject, queue="q")
        c.flush()
        members.append(c)
    with NatsClient(nats_cluster[0].port) as pub:
        await_interest(pub, members)
        for i in range(30):
            pub.pub(subject, str(i))
        pub.flush()
        got = []
        for c in members:
            got += [m.data for m in c.pending(0.5)]
    assert sorted(got, key=int) == [str(i).encode() for i in range(30)]
    for c in members:
        c.close()


def test_request_reply_across_nodes(nats_cluster):
    subject = unique("svc")
    server = NatsClient(nats_cluster[2].port)
    server.sub(subject)
    server.flush()
    client = NatsClient(nats_cluster[0].port)
    await_interest(client, [server])

    import threading
    answered = []

    def serve():
        m = server.next_msg(5)
        server.pub(m.reply, b"pong:" + m.data)
        server.flush()
        answered.append(m)

    t = threading.Thread(target=serve)
    t.start()
    reply = client.request(subject, b"x")
    t.join()
    assert reply.data == b"pong:x"
    server.close()
    client.close()


def test_kill_and_restart_node(nats_cluster):
    victim = nats_cluster[1]
    c = NatsClient(victim.port)
    nats_cluster.kill(1)
    assert not victim.alive()
    try:
        for _ in range(3):
            c.flush(1)
        raise AssertionError("connection to a killed node still answers")
    except AssertionError as exc:
        assert "closed" in str(exc) or "PONG" in str(exc), exc
    c.close()
    # the others lose their route to it
    for n in (nats_cluster[0], nats_cluster[2]):
        wait_for(lambda: victim.server_id not in n.route_peers(), 10, "route to be dropped")
    nats_cluster.restart(1)
    assert victim.alive()
    subject = unique("back")
    c = NatsClient(victim.port)
    c.sub(subject)
    c.flush()
    with NatsClient(nats_cluster[0].port) as pub:
        await_interest(pub, [c])
        pub.pub(subject, b"again")
        m = c.next_msg(5)
        assert m is not None and m.data == b"again"
    c.close()


def test_single_node_and_payload_bound(nats_server):
    assert len(nats_server) == 1
    c = NatsClient(nats_server[0].port)
    assert c.max_payload >= 2 << 20, "the test nodes allow payloads above juno's 1 MiB"
    subject = unique("big")
    c.sub(subject)
    big = os.urandom(2 << 20)
    c.pub(subject, big)
    m = c.next_msg(5)
    assert m is not None and m.data == big
    c.close()


def test_cluster_not_started_has_no_listener(nats_factory):
    cluster = nats_factory(3, start=False)
    import socket
    for n in cluster.nodes:
        s = socket.socket()
        try:
            assert s.connect_ex(("127.0.0.1", n.port)) != 0, "something listens on %d" % n.port
        finally:
            s.close()
    cluster.start()
    with NatsClient(cluster[2].port) as c:
        assert c.info.get("cluster") == cluster.name
