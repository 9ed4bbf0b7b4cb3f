"""A three-node cluster with quorum queues: kill -9 of the queue leader's node loses no confirmed message."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator

import pika
import pytest

from gateway.relay import Envelope
from gateway.relay.node import RabbitCluster
from gateway.relay.publisher import ConfirmChannel, Outgoing
from gateway.relay.topology import OUTBOUND, Topology, work_queue
from tests.broker import drain_queue
from tests.conftest import need_rabbit

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
