"""A three-node cluster with quorum queues: kill -9 of the queue leader's node loses no confirmed message."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator

import pika
import pytest

from gateway.relay import Done, Envelope, Publisher, Store, Worker
from gateway.relay.connect import connect, node_urls
from gateway.relay.node import RabbitCluster
from gateway.relay.publisher import ConfirmChannel, Outgoing
from gateway.relay.topology import OUTBOUND, Topology, work_queue
from tests.broker import drain_queue
from tests.conftest import need_rabbit
from tests.relay.relay_helpers import running

pytestmark = [pytest.mark.slow, pytest.mark.broker]


@pytest.fixture(scope="module")
def cluster() -> Iterator[RabbitCluster]:
    need_rabbit()
    data = tempfile.mkdtemp(prefix="eata-cluster-")
    c = RabbitCluster(data, 3, prefix=f"eatacl{int(time.time()) % 100000}x")
    try:
        c.start()
        yield c
    finally:
        c.stop()
        shutil.rmtree(data, ignore_errors=True)


def _leader(cluster: RabbitCluster, queue: str) -> str:
    for node in cluster.nodes:
        if not node.running:
            continue
        out = node.ctl("list_queues", "name", "leader", "--no-table-headers", "-q")
        for line in out.splitlines():
            parts = line.split()
            if parts and parts[0] == queue:
                return parts[1]
    raise AssertionError(f"no leader for {queue}")


def test_kill_of_the_leader_loses_no_confirmed_message(cluster: RabbitCluster) -> None:
    territory = "QQ"
    first = cluster.nodes[0]
    conn = pika.BlockingConnection(pika.URLParameters(first.url))
    Topology(delays_ms=(1000,)).declare(conn, [territory])  # declared on `first`: its leader is there
    conn.close()
    queue = work_queue(territory)
    leader = cluster.node_named(_leader(cluster, queue))
    publish_to = next(n for n in cluster.nodes if n is not leader)

    confirmed: set[str] = set()
    attempted = 0
    stop = threading.Event()

    def produce() -> None:
        nonlocal attempted
        chan: ConfirmChannel | None = None
        while not stop.is_set():
            try:
                chan = (
                    chan if chan is not None and chan.is_open else ConfirmChannel(publish_to.url, timeout=15)
                )
            except ConnectionError:
                time.sleep(0.2)
                continue
            batch = [
                Envelope(kind="d", territory=territory, carnet_id=f"C{i}", body=b"x" * 300)
                for i in range(200)
            ]
            results = chan.send([Outgoing(OUTBOUND, e.routing_key, e) for e in batch])
            attempted += len(batch)
            confirmed.update(e.message_id for e, err in zip(batch, results, strict=True) if err is None)
        if chan is not None:
            chan.close()

    t = threading.Thread(target=produce, daemon=True)
    t.start()
    while len(confirmed) < 2000:
        time.sleep(0.02)
    leader.kill()  # kill -9 of the leader's Erlang VM, mid-stream
    killed_at = len(confirmed)
    deadline = time.monotonic() + 60
    while len(confirmed) < killed_at + 2000:  # publishing goes on once a new leader is elected
        assert time.monotonic() < deadline, "no progress after the leader died"
        time.sleep(0.05)
    stop.set()
    t.join(30)
    new_leader = _leader(cluster, queue)
    assert new_leader != leader.nodename

    got = {props.message_id for props, _body in drain_queue(publish_to.url, queue)}
    missing = confirmed - got
    assert not missing, f"{len(missing)} confirmed messages lost of {len(confirmed)}"
    print(f"\nconfirmed {len(confirmed)} of {attempted} attempted; leader {leader.nodename} → {new_leader}")
    leader.start()  # rejoins the cluster, so teardown stops three healthy nodes


def test_a_worker_whose_node_dies_goes_on_through_another(cluster: RabbitCluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """EATA_AMQP_URL lists the three nodes: publisher and worker are on the first that answers; kill -9
    of the worker's node, and worker and publisher go on through another, nothing lost or done twice."""
    url = ",".join(cluster.urls)
    assert node_urls(url) == list(cluster.urls)
    territory = "QF"
    calls: list[tuple[str, str, int]] = []
    lock = threading.Lock()

    def deliver(env: Envelope) -> Done:
        time.sleep(0.002)  # slow enough that the kill lands mid-stream
        with lock:
            calls.append((env.message_id, env.carnet_id, int(env.body)))
        return Done(None)

    store = Store(f"sqlite:///{tmp_path / 'relay.db'}")
    publisher = Publisher(url, store)
    worker = Worker(url, territory, deliver, store, concurrency=4, reconnect_delay=0.2)
    envs = [
        Envelope(kind="d", territory=territory, carnet_id=f"C{i % 40}", body=str(i).encode())
        for i in range(3000)
    ]
    try:
        publisher.declare([territory])
        publisher.publish(envs[:1500])
        with running(worker):
            while len(calls) < 300:
                time.sleep(0.01)
            port = worker._conn._impl.params.port  # type: ignore[union-attr]  # the node it consumes on
            victim = next(n for n in cluster.nodes if n.port == port)
            victim.kill()
            publisher.accept(envs[1500:])  # accepted while a node is down: the drainer sends them
            deadline = time.monotonic() + 90
            while publisher.drain():
                pass
            while store.outbox_counts()["outbox_pending"]:
                assert time.monotonic() < deadline, publisher.drain_error
                time.sleep(0.2)
                publisher.drain()
            while len({c[0] for c in calls}) < len(envs) and time.monotonic() < deadline:
                time.sleep(0.05)
            moved_to = worker._conn._impl.params.port  # type: ignore[union-attr]
        ids = [c[0] for c in calls]
        missing = {e.message_id for e in envs} - set(ids)
        assert not missing, f"{len(missing)} of {len(envs)} never delivered"
        assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} delivered twice"
        seqs: dict[str, list[int]] = {}
        for _mid, carnet, seq in calls:
            seqs.setdefault(carnet, []).append(seq)
        assert all(s == sorted(s) for s in seqs.values()), "a carnet's order broke"
        assert moved_to != port and worker.stats["reconnects"] >= 1
        print(f"\nworker moved from node :{port} to :{moved_to}; {len(ids)} delivered once each, in order")
    finally:
        publisher.close()
        store.dispose()
        for node in cluster.nodes:
            if not node.running:
                node.start()  # rejoins, so the next test and teardown see three nodes
    conn = connect(url)
    conn.close()
