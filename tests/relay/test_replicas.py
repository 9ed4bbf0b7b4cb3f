"""Several replicas on one PostgreSQL: outbox drainers and chain consumers racing (threads + barrier, each
with its own engine, as separate processes would be) never publish or handle anything twice."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest

from conformance.testpki import make_test_pki
from devtools.rabbit import RabbitNode
from gateway.chain import ChainKind
from gateway.chain.relay import ChainRelay, KeyRing
from gateway.relay import Envelope, Publisher, Store
from gateway.relay.topology import work_queue
from tests.broker import drain_queue

pytestmark = [pytest.mark.broker, pytest.mark.postgres]


def _race(n: int, fn) -> list[object]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)
    out: list[object] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(10)
            out[i] = fn(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return out


def test_two_drainers_publish_each_outbox_row_once_in_order(
    rabbit: RabbitNode, pg_url: str, territory: str
) -> None:
    stores = [Store(pg_url), Store(pg_url)]  # two replicas: two engines, two pools
    envs = [
        Envelope(kind="declaration", territory=territory, carnet_id=f"C{i % 25}", body=str(i).encode())
        for i in range(3000)
    ]
    publishers = [Publisher(rabbit.url, s) for s in stores]
    try:
        publishers[0].declare([territory])
        publishers[0].accept(envs)
        for _ in range(3):  # a few rounds, both drainers started together each time
            _race(2, lambda i: publishers[i].drain(batch=200))
        sent = [p.failures_total for p in publishers]
        assert sent == [0, 0]
        assert stores[0].outbox_counts()["outbox_pending"] == 0
    finally:
        for p in publishers:
            p.close()
        for s in stores:
            s.dispose()
    got = drain_queue(rabbit.url, work_queue(territory))
    ids = Counter(props.message_id for props, _ in got)
    assert len(got) == len(envs), f"{len(got)} published for {len(envs)} accepted"
    assert set(ids.values()) == {1}, [m for m, n in ids.items() if n > 1][:5]
    order: dict[str, list[int]] = {}
    for props, body in got:
        order.setdefault(props.headers["x-eata-carnet"] if props.headers else "", []).append(int(body))
    for carnet, seqs in order.items():
        assert seqs == sorted(seqs), carnet


def test_two_chain_consumers_handle_a_duplicate_once(rabbit: RabbitNode, pg_url: str, tmp_path: Path) -> None:
    make_test_pki(tmp_path, ["no-occ", "wcf"])
    relays = [ChainRelay(rabbit.url, pg_url, KeyRing(tmp_path)) for _ in range(2)]
    effects: Counter[str] = Counter()
    lock = threading.Lock()

    def counting(inc):  # type: ignore[no-untyped-def]
        with lock:
            effects[inc.message_id] += 1
        threading.Event().wait(0.2)  # long enough for the racing copy to arrive meanwhile
        return {"seen": effects[inc.message_id]}

    try:
        consumers = [r.consumer("WCF", counting) for r in relays]
        for round_ in range(5):
            _mid, body = relays[0].seal(ChainKind.CARNET_ISSUED, f"NO/2026/{round_:06d}", "NO-OCC", "WCF", {})
            results = _race(2, lambda i, b=body: consumers[i].process(b))
            outcomes = sorted(r.outcome for r in results)  # type: ignore[attr-defined]
            assert outcomes == ["accepted", "duplicate"], outcomes
            assert results[0].ack == results[1].ack  # type: ignore[attr-defined]  # byte-identical
        assert set(effects.values()) == {1} and len(effects) == 5, effects
    finally:
        for r in relays:
            r.close()
