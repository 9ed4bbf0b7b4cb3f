"""Worker outcomes: retry tiers then DLQ, replay, dedup, per-carnet order, graceful SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from relay_helpers import running, subprocess_env

from devtools.rabbit import RabbitNode
from gateway.errors import Code
from gateway.relay import Done, Envelope, Final, Outcome, Publisher, Retry, Store, Worker
from gateway.relay import dlq as dlq_ops
from gateway.relay.envelope import H_ATTEMPTS, H_CODE, H_REASON
from gateway.relay.sink import Sink
from gateway.relay.topology import EVENTS, Topology, dead_queue, work_queue
from tests.broker import depth, drain_queue

DELAYS = (100, 200)

pytestmark = pytest.mark.broker


def wait_for(cond: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def publish(url: str, store: Store, territory: str, envs: list[Envelope]) -> None:
    with Publisher(url, store, topology=Topology(delays_ms=DELAYS)) as pub:
        pub.declare([territory])
        pub.publish(envs)


def env(territory: str, carnet: str = "C1", body: bytes = b"<decl/>", **kw: object) -> Envelope:
    return Envelope(kind="declaration", territory=territory, carnet_id=carnet, body=body, **kw)  # type: ignore[arg-type]


def make_worker(
    url: str, territory: str, deliver: Callable[[Envelope], Outcome], store: Store, **kw: object
) -> Worker:
    return Worker(url, territory, deliver, store, delays_ms=DELAYS, **kw)  # type: ignore[arg-type]


def test_retry_tiers_then_dead_letter_with_reason_headers(
    rabbit: RabbitNode, store: Store, territory: str
) -> None:
    calls: Counter[str] = Counter()

    def failing(e: Envelope) -> Outcome:
        calls[e.message_id] += 1
        return Retry("customs down", Code.CUSTOMS_UNAVAILABLE)

    m = env(territory)
    publish(rabbit.url, store, territory, [m])
    with running(make_worker(rabbit.url, territory, failing, store, max_attempts=3)) as w:
        wait_for(lambda: w.stats["dead"] == 1, what="dead letter")
    assert calls[m.message_id] == 3
    letters = dlq_ops.list_letters(rabbit.url, territory)
    assert [x.message_id for x in letters] == [m.message_id]
    h = letters[0].headers
    assert h[H_ATTEMPTS] == "3" and h[H_CODE] == str(Code.CUSTOMS_UNAVAILABLE)
    assert "customs down" in str(h[H_REASON])
    assert depth(rabbit.url, work_queue(territory)) == 0
    assert store.outbox_counts()["holds"] == 0  # a dead letter releases its carnet


def test_final_and_poison_go_straight_to_the_dlq(rabbit: RabbitNode, store: Store, territory: str) -> None:
    bad, boom = env(territory, "C1"), env(territory, "C2")

    def deliver(e: Envelope) -> Outcome:
        if e.message_id == bad.message_id:
            return Final(Code.CUSTOMS_REJECTED, "schema says no")
        raise RuntimeError("adapter bug")

    publish(rabbit.url, store, territory, [bad, boom])
    with running(make_worker(rabbit.url, territory, deliver, store)) as w:
        wait_for(lambda: w.stats["dead"] == 2, what="two dead letters")
    by_id = {x.message_id: x for x in dlq_ops.list_letters(rabbit.url, territory)}
    assert by_id[bad.message_id].code == Code.CUSTOMS_REJECTED and by_id[bad.message_id].attempts == 1
    assert by_id[boom.message_id].code == Code.INTERNAL and "RuntimeError" in by_id[boom.message_id].reason


def test_dlq_replay_delivers(rabbit: RabbitNode, store: Store, territory: str) -> None:
    healthy = threading.Event()
    delivered: list[str] = []

    def deliver(e: Envelope) -> Outcome:
        if not healthy.is_set():
            return Final(Code.CUSTOMS_UNAVAILABLE, "down for maintenance")
        delivered.append(e.message_id)
        return Done(b'{"ok": true}')

    msgs = [env(territory, f"C{i}") for i in range(3)]
    publish(rabbit.url, store, territory, msgs)
    with running(make_worker(rabbit.url, territory, deliver, store)) as w:
        wait_for(lambda: w.stats["dead"] == 3, what="dead letters")
        healthy.set()
        assert dlq_ops.replay(rabbit.url, territory, {msgs[0].message_id}) == 1
        wait_for(lambda: delivered == [msgs[0].message_id], what="replayed message")
        assert dlq_ops.depth(rabbit.url, territory) == 2
        assert dlq_ops.replay(rabbit.url, territory) == 2
        wait_for(lambda: len(delivered) == 3, what="the rest")
    assert sorted(delivered) == sorted(m.message_id for m in msgs)
    assert dlq_ops.depth(rabbit.url, territory) == 0
    assert dlq_ops.purge(rabbit.url, territory) == 0


def test_dedup_skips_a_redelivered_message(rabbit: RabbitNode, store: Store, territory: str) -> None:
    calls: Counter[str] = Counter()

    def deliver(e: Envelope) -> Outcome:
        calls[e.message_id] += 1
        return Done(b"{}")

    m = env(territory)
    publish(rabbit.url, store, territory, [m])
    publish(rabbit.url, store, territory, [m, m])  # the same message ID again, as after a publisher crash
    with running(make_worker(rabbit.url, territory, deliver, store)) as w:
        wait_for(lambda: w.stats["done"] + w.stats["duplicate"] == 3, what="three copies handled")
        wait_for(lambda: depth(rabbit.url, work_queue(territory)) == 0, what="empty queue")
    assert calls == {m.message_id: 1}
    # the result event is re-sent on each duplicate (consumers dedupe by its message ID)
    assert w.stats["done"] == 1 and w.stats["duplicate"] == 2


def test_later_messages_of_a_carnet_wait_for_one_in_retry(
    rabbit: RabbitNode, store: Store, territory: str
) -> None:
    order: list[str] = []
    tries: Counter[str] = Counter()
    lock = threading.Lock()
    first = env(territory, "CA", b"1")

    def deliver(e: Envelope) -> Outcome:
        with lock:
            tries[e.message_id] += 1
            if e.message_id == first.message_id and tries[e.message_id] <= 2:
                return Retry("busy")
            order.append(f"{e.carnet_id}:{e.body.decode()}")
        return Done(None)

    msgs = [
        first,
        env(territory, "CA", b"2"),
        env(territory, "CB", b"1"),
        env(territory, "CA", b"3"),
        env(territory, "CB", b"2"),
    ]
    publish(rabbit.url, store, territory, msgs)
    with running(make_worker(rabbit.url, territory, deliver, store, concurrency=4)) as w:
        wait_for(lambda: len(order) == 5, what="all delivered")
    assert [x for x in order if x.startswith("CA")] == ["CA:1", "CA:2", "CA:3"]
    assert [x for x in order if x.startswith("CB")] == ["CB:1", "CB:2"]
    assert order.index("CB:2") < order.index("CA:1"), "another carnet must not wait"
    assert w.stats["parked"] == 2
    counts = store.outbox_counts()
    assert counts["holds"] == 0 and counts["parked"] == 0


def test_a_second_worker_stands_by_and_takes_over_in_order(
    rabbit: RabbitNode, db_url: str, territory: str
) -> None:
    """Two workers on one territory, each with its own engine on one store (as two processes would; a
    SQLite file, then PostgreSQL): one is active, the other stands by (single active consumer) and takes
    over when the first stops mid-stream. Every message once, each carnet's messages in publish order,
    retries included."""
    stores = [Store(db_url), Store(db_url)]
    order: dict[str, list[int]] = {}
    delivered: Counter[str] = Counter()
    by_worker: Counter[int] = Counter()
    lock = threading.Lock()

    def deliver_by(n: int) -> Callable[[Envelope], Outcome]:
        def deliver(e: Envelope) -> Outcome:
            seq = int(e.body)
            if seq % 7 == 0 and e.attempt == 1:
                return Retry("customs busy")  # its carnet's later messages must wait for it
            with lock:
                delivered[e.message_id] += 1
                by_worker[n] += 1
                order.setdefault(e.carnet_id, []).append(seq)
            time.sleep(0.002)
            return Done(None)

        return deliver

    msgs = [env(territory, f"C{i % 12}", str(i).encode()) for i in range(240)]
    publish(rabbit.url, stores[0], territory, msgs)
    first, standby = (
        make_worker(rabbit.url, territory, deliver_by(n), stores[n], concurrency=3, prefetch=8)
        for n in (0, 1)
    )
    active = running(first)
    active.__enter__()
    try:
        wait_for(lambda: by_worker[0] > 0, what="the first worker active")
        with running(standby):
            wait_for(lambda: by_worker[0] >= 60, timeout=60, what="the first worker under way")
            assert by_worker[1] == 0  # standing by while the first is active
            active.__exit__(None, None, None)  # the first goes away mid-stream
            wait_for(lambda: sum(delivered.values()) >= len(msgs), timeout=60, what="all delivered")
            time.sleep(0.5)  # nothing more may arrive
    finally:
        first.stop()
    assert set(delivered.values()) == {1} and len(delivered) == len(msgs)
    assert by_worker[1] > 0, by_worker  # the standby took over
    for carnet, seqs in order.items():
        assert seqs == sorted(seqs), (carnet, seqs)
    counts = stores[0].outbox_counts()
    assert counts["holds"] == 0 and counts["parked"] == 0
    for s in stores:
        s.dispose()


def test_result_events_are_published(rabbit: RabbitNode, store: Store, territory: str) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(rabbit.url))
    try:
        q = Topology().declare_events_queue(conn, f"test-{territory}", f"{territory}.#")
    finally:
        conn.close()
    m = env(territory)
    publish(rabbit.url, store, territory, [m])
    with running(make_worker(rabbit.url, territory, lambda e: Done(b'{"accepted": true}'), store)):
        wait_for(lambda: depth(rabbit.url, q) == 1, what="result event")
    [(props, body)] = drain_queue(rabbit.url, q)
    assert body == b'{"accepted": true}' and props.correlation_id == m.message_id
    assert EVENTS == "eata.events"


def test_sigterm_finishes_in_flight_and_exits_zero(rabbit: RabbitNode, tmp_path, territory: str) -> None:  # type: ignore[no-untyped-def]
    store_url = f"sqlite:///{tmp_path}/relay.db"
    n = 300
    msgs = [env(territory, f"C{i % 20}") for i in range(n)]
    publish(rabbit.url, Store(store_url), territory, msgs)
    with Sink() as sink:
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
            "relay_helpers:slow",
            "--delays",
            "100,200",
            "--amqp",
            rabbit.url,
            "--store",
            store_url,
        ]
        proc = subprocess.Popen(cmd, env=subprocess_env(EATA_SINK_URL=sink.url), stderr=subprocess.PIPE)
        wait_for(lambda: sink.state.snapshot()["effects"] >= 40, what="worker under way")  # type: ignore[operator]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err.decode()
        snap = sink.state.snapshot()
    effects = int(snap["effects"])  # type: ignore[call-overload]
    assert 40 <= effects < n
    assert snap["receipts"] == effects  # nothing delivered twice: in-flight work was finished and acked
    # everything not delivered is still queued (and nothing is left unacked: the consumer is gone)
    assert depth(rabbit.url, work_queue(territory)) == n - effects
    assert depth(rabbit.url, dead_queue(territory)) == 0


def test_a_consumer_channel_the_broker_closes_is_reopened(
    rabbit: RabbitNode, store: Store, territory: str
) -> None:
    """The broker closes a channel that acks a delivery tag it never gave (what an ack left over from the
    connection before a reconnect would be): the worker must open a new one and go on, not sit on a
    connection without a consumer while its queue fills (seen in the 3-node failover test)."""
    done: list[str] = []
    deliver = lambda e: done.append(e.message_id) or Done(b"{}")  # noqa: E731
    first = [env(territory, carnet=f"A{i}") for i in range(5)]
    publish(rabbit.url, store, territory, first)
    with running(make_worker(rabbit.url, territory, deliver, store)) as w:
        wait_for(lambda: len(done) == 5, what="the first five delivered")
        conn, ch = w._conn, w._ch
        assert conn is not None and ch is not None
        conn.add_callback_threadsafe(lambda: ch.basic_ack(987_654))  # PRECONDITION_FAILED: unknown tag
        wait_for(lambda: not ch.is_open, what="the broker closing the channel")
        later = [env(territory, carnet=f"B{i}") for i in range(5)]
        publish(rabbit.url, store, territory, later)
        wait_for(lambda: len(done) == 10, what="the later five delivered on a new channel")
    assert sorted(done) == sorted(e.message_id for e in first + later)
