"""Fault tests: crashes of workers and of the broker lose nothing and take effect exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from relay_helpers import subprocess_env

from devtools.rabbit import RabbitNode
from gateway.relay import Envelope, Publisher, PublishError, Store, Topology
from gateway.relay.sink import Sink
from gateway.relay.topology import dead_queue, retry_queue, work_queue
from tests.broker import depth

pytestmark = [pytest.mark.slow, pytest.mark.broker]

N = 5000
CARNETS = 200
DELAYS = (200, 1000)


def _unacked(node: RabbitNode, territory: str) -> int:
    out = node.ctl("list_queues", "name", "messages_unacknowledged", "--no-table-headers", "-q")
    return sum(int(line.split()[1]) for line in out.splitlines() if territory in line and line.strip())


def test_worker_kills_and_a_broker_crash_lose_nothing_and_duplicate_no_effect(
    rabbit: RabbitNode, tmp_path: Path, territory: str
) -> None:
    pub_store = Store(f"sqlite:///{tmp_path}/gateway.db")
    worker_store = f"sqlite:///{tmp_path}/worker.db"
    envs = [
        Envelope(
            kind="declaration",
            territory=territory,
            carnet_id=f"C{i % CARNETS}",
            body=f"<decl n='{i}'/>".encode(),
        )
        for i in range(N)
    ]
    sent_order: dict[str, list[str]] = defaultdict(list)
    for e in envs:
        sent_order[e.carnet_id].append(e.message_id)

    publisher_errors: list[str] = []

    def produce() -> None:
        pub = Publisher(rabbit.url, pub_store, topology=Topology(delays_ms=DELAYS))
        for start in range(0, N, 250):
            try:
                pub.publish(envs[start : start + 250])
            except (PublishError, ConnectionError) as exc:
                publisher_errors.append(type(exc).__name__)
                # the rows are in the outbox: keep draining until the broker is back (in order)
                while pub_store.outbox_counts()["outbox_pending"]:
                    time.sleep(0.5)
                    pub.drain()
            time.sleep(0.6)  # paced (~400 msg/s) so the broker crash lands mid-stream
        pub.close()

    with Sink() as sink:

        def start_worker() -> subprocess.Popen[bytes]:
            cmd = [
                sys.executable,
                "-m",
                "gateway",
                "worker",
                "-t",
                territory,
                "--concurrency",
                "4",
                "--deliver",
                "gateway.relay.sink:deliver",
                "--delays",
                ",".join(map(str, DELAYS)),
                "--amqp",
                rabbit.url,
                "--store",
                worker_store,
            ]
            return subprocess.Popen(
                cmd, env=subprocess_env(EATA_SINK_URL=sink.url), stderr=subprocess.DEVNULL
            )

        def effects() -> int:
            return int(sink.state.snapshot()["effects"])  # type: ignore[call-overload]

        with Publisher(rabbit.url, pub_store, topology=Topology(delays_ms=DELAYS)) as p:
            p.declare([territory])
        producer = threading.Thread(target=produce, daemon=True)
        producer.start()
        worker = start_worker()
        kills, broker_restarted = 0, False
        deadline = time.monotonic() + 150
        for threshold in (700, 1800, 3200):
            while effects() < threshold:
                assert time.monotonic() < deadline, f"stuck at {effects()} effects"
                assert worker.poll() is None, "worker died on its own"
                time.sleep(0.02)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            kills += 1
            if threshold == 1800 and not broker_restarted:
                rabbit.kill()  # kill -9 of the beam: only what was confirmed to fsync'd quorum logs survives
                rabbit.start()
                broker_restarted = True
            worker = start_worker()
        producer.join(120)
        assert not producer.is_alive()
        while effects() < N:
            assert time.monotonic() < deadline, f"stuck at {effects()} of {N} effects"
            assert worker.poll() is None, "worker died on its own"
            time.sleep(0.1)
        # let the last acks land, then check the broker holds nothing for this territory
        queues = [work_queue(territory), dead_queue(territory), *(retry_queue(territory, d) for d in DELAYS)]
        while sum(depth(rabbit.url, q) for q in queues) or _unacked(rabbit, territory):
            assert time.monotonic() < deadline, "messages left in queues"
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
        snap = sink.state.snapshot()

    counts: dict[str, int] = snap["counts"]  # type: ignore[assignment]
    order: dict[str, list[str]] = snap["order"]  # type: ignore[assignment]
    assert kills == 3 and broker_restarted
    assert set(counts) == {e.message_id for e in envs}, "lost or foreign messages"
    assert sum(len(v) for v in order.values()) == N, "an effect happened twice"
    assert pub_store.outbox_counts()["outbox_pending"] == 0
    left = Store(worker_store).outbox_counts()
    assert left["holds"] == 0 and left["parked"] == 0
    assert order == sent_order, "per-carnet order broken"
    print(
        f"\nreceipts {snap['receipts']} for {N} messages (redeliveries {int(snap['receipts']) - N}); "
        f"publisher errors {publisher_errors}"
    )  # type: ignore[call-overload]
