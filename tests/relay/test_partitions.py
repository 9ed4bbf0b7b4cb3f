"""A territory over several workers: carnets hashed into N sub-queues, each with one active consumer.

Layout (sub-queues, no copy in the unpartitioned queue, publishers that do not know N), per-carnet order
with retries across N workers, DLQ replay to the carnet's partition, and kills of partition workers
(processes, as ``eata-gateway worker --partitions N`` runs them) losing nothing and duplicating no effect.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import pika
import pytest
from relay_helpers import running, subprocess_env

from devtools.rabbit import RabbitNode
from gateway.relay import Done, Envelope, Final, Outcome, Publisher, Retry, Store, Worker
from gateway.relay import dlq as dlq_ops
from gateway.relay.depths import queue_depths
from gateway.relay.sink import Sink
from gateway.relay.topology import (
    Topology,
    TopologyError,
    dead_queue,
    partition_count,
    retry_queue,
    work_queue,
)
from tests.broker import depth, drain_queue

pytestmark = pytest.mark.broker

DELAYS = (100, 200)
N = 3


def wait_for(cond: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def env(territory: str, carnet: str, body: bytes) -> Envelope:
    return Envelope(kind="declaration", territory=territory, carnet_id=carnet, body=body)


def consumers(url: str, queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(conn.channel().queue_declare(queue, passive=True).method.consumer_count)
    finally:
        conn.close()


def declare(url: str, territory: str, partitions: int) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        Topology(delays_ms=DELAYS, partitions={territory: partitions}).declare(conn, [territory])
    finally:
        conn.close()


def test_layout_carnets_stay_in_one_partition_and_publishers_need_not_know(
    rabbit: RabbitNode, store: Store, territory: str
) -> None:
    declare(rabbit.url, territory, N)
    declare(rabbit.url, territory, N)  # idempotent
    msgs = [env(territory, f"C{i % 30}", str(i).encode()) for i in range(300)]
    # the API's publisher declares with the default layout (N unknown to it): nothing is re-bound
    with Publisher(rabbit.url, store, topology=Topology(delays_ms=DELAYS)) as pub:
        pub.declare([territory])
        pub.publish(msgs)
    assert depth(rabbit.url, work_queue(territory)) == 0, "no copy in the unpartitioned queue"
    seen: dict[str, set[int]] = defaultdict(set)
    per_queue = Counter()
    for i in range(N):
        for props, _body in drain_queue(rabbit.url, work_queue(territory, i)):
            seen[props.headers["x-eata-carnet"]].add(i)
            per_queue[i] += 1
    assert sum(per_queue.values()) == 300 and len(per_queue) == N, per_queue
    assert all(len(parts) == 1 for parts in seen.values()), "a carnet in two partitions"
    conn = pika.BlockingConnection(pika.URLParameters(rabbit.url))
    try:
        assert partition_count(conn, territory) == N
    finally:
        conn.close()
    roles = [d.role for d in queue_depths(rabbit.url, [territory], DELAYS)]
    assert roles[0] == "work (unpartitioned)" and "work 2" in roles and "retry 1 200ms" in roles
    assert roles[-1] == "dead"
    with pytest.raises(TopologyError, match="partitions"):
        declare(rabbit.url, territory, N + 1)


def test_per_carnet_order_with_retries_over_n_workers(
    rabbit: RabbitNode, db_url: str, territory: str
) -> None:
    declare(rabbit.url, territory, N)
    stores = [Store(db_url) for _ in range(N)]
    order: dict[str, list[int]] = {}
    delivered: Counter[str] = Counter()
    by_partition: Counter[int] = Counter()
    lock = threading.Lock()

    def deliver_by(n: int) -> Callable[[Envelope], Outcome]:
        def deliver(e: Envelope) -> Outcome:
            seq = int(e.body)
            if seq % 7 == 0 and e.attempt == 1:
                return Retry("customs busy")  # its carnet's later messages must wait for it
            with lock:
                delivered[e.message_id] += 1
                by_partition[n] += 1
                order.setdefault(e.carnet_id, []).append(seq)
            return Done(None)

        return deliver

    msgs = [env(territory, f"C{i % 24}", str(i).encode()) for i in range(360)]
    with Publisher(rabbit.url, stores[0], topology=Topology(delays_ms=DELAYS)) as pub:
        pub.publish(msgs)
    workers = [
        Worker(
            rabbit.url,
            territory,
            deliver_by(n),
            stores[n],
            concurrency=3,
            prefetch=8,
            delays_ms=DELAYS,
            partitions=N,
            partition=n,
        )
        for n in range(N)
    ]
    ctx = [running(w) for w in workers]
    for c in ctx:
        c.__enter__()
    try:
        wait_for(lambda: sum(delivered.values()) >= len(msgs), timeout=60, what="all delivered")
        time.sleep(0.3)
    finally:
        for c in ctx:
            c.__exit__(None, None, None)
    assert set(delivered.values()) == {1} and len(delivered) == len(msgs)
    assert len(by_partition) == N, by_partition  # every partition worked
    for carnet, seqs in order.items():
        assert seqs == sorted(seqs), (carnet, seqs)
    assert sum(w.stats["retried"] for w in workers) == len([m for m in msgs if int(m.body) % 7 == 0])
    counts = stores[0].outbox_counts()
    assert counts["holds"] == 0 and counts["parked"] == 0
    for q in [retry_queue(territory, d, p) for d in DELAYS for p in range(N)]:
        assert depth(rabbit.url, q) == 0
    for s in stores:
        s.dispose()


def test_dead_letters_replay_to_their_partition(rabbit: RabbitNode, store: Store, territory: str) -> None:
    declare(rabbit.url, territory, N)
    msgs = [env(territory, f"C{i}", b"x") for i in range(12)]
    with Publisher(rabbit.url, store, topology=Topology(delays_ms=DELAYS)) as pub:
        pub.publish(msgs)
    home: dict[str, int] = {}
    lock = threading.Lock()

    def refuse_by(n: int) -> Callable[[Envelope], Outcome]:
        def deliver(e: Envelope) -> Outcome:
            with lock:
                home.setdefault(e.carnet_id, n)
            return Final(510, "refused")

        return deliver

    workers = [
        Worker(rabbit.url, territory, refuse_by(n), store, delays_ms=DELAYS, partitions=N, partition=n)
        for n in range(N)
    ]
    ctx = [running(w) for w in workers]
    for c in ctx:
        c.__enter__()
    try:
        wait_for(lambda: depth(rabbit.url, dead_queue(territory)) == len(msgs), what="dead letters")
    finally:
        for c in ctx:
            c.__exit__(None, None, None)
    letters = dlq_ops.list_letters(rabbit.url, territory)
    assert {str(letter.headers["x-eata-origin-queue"]) for letter in letters} <= {
        work_queue(territory, n) for n in range(N)
    }
    assert dlq_ops.replay(rabbit.url, territory) == len(msgs)
    for n in range(N):
        for props, _ in drain_queue(rabbit.url, work_queue(territory, n)):
            assert home[str(props.headers["x-eata-carnet"])] == n
    assert depth(rabbit.url, work_queue(territory)) == 0


@pytest.mark.slow
def test_killed_partition_workers_lose_nothing_and_keep_order(
    rabbit: RabbitNode, tmp_path: Path, territory: str
) -> None:
    """N worker processes on one territory (one per partition, plus a standby for partition 0); each is
    killed -9 mid-stream and started again: every message takes effect once, each carnet in order."""
    total, carnets = 1500, 60
    pub_store = Store(f"sqlite:///{tmp_path}/gateway.db")
    worker_store = f"sqlite:///{tmp_path}/worker.db"
    envs = [env(territory, f"C{i % carnets}", f"<decl n='{i}'/>".encode()) for i in range(total)]
    sent_order: dict[str, list[str]] = defaultdict(list)
    for e in envs:
        sent_order[e.carnet_id].append(e.message_id)
    declare(rabbit.url, territory, N)

    with contextlib.ExitStack() as stack, Sink() as sink:

        def start(partition: int) -> subprocess.Popen[bytes]:
            cmd = [sys.executable, "-m", "gateway", "worker", "-t", territory, "--concurrency", "4"]
            cmd += ["--deliver", "gateway.relay.sink:deliver", "--delays", ",".join(map(str, DELAYS))]
            cmd += ["--amqp", rabbit.url, "--store", worker_store]
            cmd += ["--partitions", str(N), "--partition", str(partition)]
            return subprocess.Popen(
                cmd, env=subprocess_env(EATA_SINK_URL=sink.url), stderr=subprocess.DEVNULL
            )

        def effects() -> int:
            return int(sink.state.snapshot()["effects"])  # type: ignore[call-overload]

        procs = {p: start(p) for p in range(N)}
        standby = start(0)
        started = [*procs.values(), standby]
        stack.callback(lambda: [p.kill() for p in started if p.poll() is None])  # never left behind

        def produce() -> None:
            with Publisher(rabbit.url, pub_store, topology=Topology(delays_ms=DELAYS)) as pub:
                for i in range(0, total, 100):
                    pub.publish(envs[i : i + 100])
                    time.sleep(0.1)

        producer = threading.Thread(target=produce, daemon=True)
        producer.start()
        deadline = time.monotonic() + 150
        for victim, threshold in zip(range(N), (300, 700, 1100), strict=True):
            while effects() < threshold:
                assert time.monotonic() < deadline, f"stuck at {effects()} effects"
                time.sleep(0.02)
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait(10)
            procs[victim] = start(victim)
            started.append(procs[victim])
        producer.join(60)
        while effects() < total:
            assert time.monotonic() < deadline, f"stuck at {effects()} of {total} effects"
            time.sleep(0.1)
        queues = [work_queue(territory, p) for p in range(N)] + [dead_queue(territory)]
        while sum(depth(rabbit.url, q) for q in queues):
            assert time.monotonic() < deadline, "messages left in queues"
            time.sleep(0.2)
        # the last one restarted consuming (so it has its signal handlers) before all are asked to stop
        # (a single-active-consumer queue counts its active consumer only)
        wait_for(
            lambda: [consumers(rabbit.url, work_queue(territory, p)) for p in range(N)] == [1, 1, 1],
            what=f"all workers consuming: {[consumers(rabbit.url, work_queue(territory, p)) for p in range(N)]}",
        )
        for p in [*procs.values(), standby]:
            p.send_signal(signal.SIGTERM)
        for p in [*procs.values(), standby]:
            assert p.wait(30) == 0
        snap = sink.state.snapshot()

    order: dict[str, list[str]] = snap["order"]  # type: ignore[assignment]
    assert sum(len(v) for v in order.values()) == total, "an effect lost or twice"
    assert order == sent_order, "per-carnet order broken"
    left = Store(worker_store).outbox_counts()
    assert left["holds"] == 0 and left["parked"] == 0


def test_worker_command_runs_one_process_per_partition(
    rabbit: RabbitNode, tmp_path: Path, territory: str
) -> None:
    cmd = [sys.executable, "-m", "gateway", "worker", "-t", territory, "--partitions", str(N)]
    cmd += ["--deliver", "relay_helpers:done", "--amqp", rabbit.url, "--store", f"sqlite:///{tmp_path}/w.db"]
    proc = subprocess.Popen(cmd, env=subprocess_env(), stderr=subprocess.PIPE)
    try:
        declare(rabbit.url, territory, N)
        wait_for(
            lambda: [consumers(rabbit.url, work_queue(territory, p)) for p in range(N)] == [1] * N,
            what="a consumer on every partition",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err.decode()
    assert all(f"worker {territory}.{p} stopped" in err.decode() for p in range(N)), err.decode()


def test_an_unpartitioned_worker_on_a_partitioned_territory_says_so(
    rabbit: RabbitNode, store: Store, territory: str, caplog: pytest.LogCaptureFixture
) -> None:
    declare(rabbit.url, territory, N)
    worker = Worker(rabbit.url, territory, lambda e: Done(None), store, delays_ms=DELAYS)
    with caplog.at_level(logging.WARNING, logger="eata.relay.worker"), running(worker):
        wait_for(lambda: "is partitioned on the broker" in caplog.text, what="the warning")
