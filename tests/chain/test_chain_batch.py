"""Batched chain sending and receiving: send_many records a batch in one transaction and publishes it with
one wait for all confirms; what the broker does not confirm stays in the outbox and is sent again, and the
receiver's dedup by MessageID keeps every notice's effect single."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import pytest
from chain_helpers import wait_for
from lxml import etree

from devtools.rabbit import RabbitNode
from gateway.chain import ChainKind
from gateway.chain.relay import (
    ChainRelay,
    Incoming,
    Notice,
    batched,
    chain_queue,
    dispatch,
    record_lifecycle,
)
from gateway.chain.tx import ChainTx
from gateway.errors import Code, refuse
from gateway.relay.publisher import PublishError
from tests.broker import depth

POLICY = "eata-test-chain-limit"


def _limit(rabbit: RabbitNode, queue: str, max_length: int | None) -> None:
    """A policy that makes the broker refuse (nack) publishes past ``max_length`` ready messages."""
    if max_length is None:
        rabbit.ctl("clear_policy", POLICY)
    else:
        definition = json.dumps({"max-length": max_length, "overflow": "reject-publish"})
        rabbit.ctl("set_policy", "--apply-to", "queues", POLICY, f"^{queue}$", definition)

    def applied() -> bool:
        for line in rabbit.ctl("list_queues", "-q", "name", "policy").splitlines():
            name, _, policy = line.partition("\t")
            if name == queue:
                return (policy.strip() == POLICY) == (max_length is not None)
        return False

    wait_for(applied)


def test_broker_refusing_mid_batch_loses_no_notice_and_handles_none_twice(
    rabbit: RabbitNode, relay: ChainRelay
) -> None:
    # Batches for two parties; WCF's queue refuses (nacks) publishes once it holds one message, so a batch
    # is partly confirmed (CH-SCF's notices, WCF's first) and partly not.
    _limit(rabbit, chain_queue("WCF"), 1)
    notices: list[Notice] = []
    failures: dict[str, str] = {}
    try:
        for b in range(5):
            batch = [
                Notice(ChainKind.CARNET_ISSUED, f"NO/2026/{b}{i:05d}", "NO-OCC", ("WCF", "CH-SCF")[i % 2], {})
                for i in range(8)
            ]
            notices += batch
            try:
                relay.send_many(batch)
            except PublishError as exc:
                failures = exc.failures
                break
    finally:
        _limit(rabbit, chain_queue("WCF"), None)
    assert failures and set(failures.values()) == {"nacked by the broker"}
    rows = {r.message_id: r for r in relay.chain.sent_rows()}
    assert len(rows) == len(notices)  # every notice was recorded before anything was published
    assert {rows[m].recipient for m in failures} == {"WCF"}  # CH-SCF's half of the batch went through
    queued = depth(relay.url, chain_queue("WCF")) + depth(relay.url, chain_queue("CH-SCF"))
    assert queued + relay.store.outbox_counts()["outbox_pending"] == len(notices)  # nothing dropped
    assert relay.publisher.drain() == len(failures)  # the outbox sends the refused ones again
    assert relay.store.outbox_counts()["outbox_pending"] == 0
    relay.resend(next(iter(failures)))  # at-least-once: one notice arrives twice

    effects: dict[str, list[str]] = {"WCF": [], "CH-SCF": []}

    def counting(inc: Incoming) -> dict[str, str]:
        effects[inc.party].append(inc.message_id)
        return dict(record_lifecycle(inc))

    wcf = relay.consumer("WCF", counting)
    with ExitStack() as stack:
        for c in (relay.consumer("NO-OCC"), wcf, relay.consumer("CH-SCF", counting)):
            stack.enter_context(c.running())
        wait_for(lambda: not relay.pending() and wcf.stats.get("duplicate", 0) == 1)
    for party in effects:  # each notice handled exactly once, by its recipient
        assert sorted(effects[party]) == sorted(m for m, r in rows.items() if r.recipient == party)
        assert relay.chain.received_count(party) == len(effects[party])
    assert all(r.ack_status == "accepted" for r in relay.chain.sent_rows())
    assert all(relay.chain.carnet_status(n.to, n.carnet_id) == "issued" for n in notices)


def test_one_batch_of_deliveries_decided_together(relay: ChainRelay) -> None:
    """A batch holding a new message, a copy of it, one the handler crashes on and an unsigned one: each
    gets its own result, the copy the very ack bytes of the first, and nothing else is disturbed."""
    calls: list[str] = []

    def handler(inc: Incoming) -> dict[str, int]:
        calls.append(inc.message_id)
        if inc.payload.get("crash"):
            raise RuntimeError("disk full")
        return {"n": len(calls)}

    first_id, first = relay.seal(ChainKind.CARNET_ISSUED, "NO/2026/000001", "NO-OCC", "WCF", {})
    _, crashing = relay.seal(ChainKind.CARNET_ISSUED, "NO/2026/000002", "NO-OCC", "WCF", {"crash": True})
    root = etree.fromstring(first)
    for sig in root.findall("{http://www.w3.org/2000/09/xmldsig#}Signature"):
        root.remove(sig)
    unsigned = etree.tostring(root)
    results = relay.consumer("WCF", handler).process_many([first, first, crashing, unsigned])
    ok, copy, crashed, invalid = results
    assert not isinstance(ok, Exception) and not isinstance(copy, Exception)
    assert (ok.outcome, copy.outcome) == ("accepted", "duplicate")
    assert ok.ack is not None and ok.ack == copy.ack and ok.ack_id == copy.ack_id
    assert isinstance(crashed, RuntimeError)
    assert not isinstance(invalid, Exception) and invalid.outcome == "invalid"
    assert calls.count(first_id) == 1 and len(calls) == 2
    assert relay.chain.received_count("WCF") == 1  # the crashed one is not recorded: it is requeued
    again = relay.consumer("WCF", handler).process_many([first])[0]
    assert not isinstance(again, Exception) and again.outcome == "duplicate" and again.ack == ok.ack


def test_connection_lost_mid_batch_redelivers_without_a_second_effect(
    rabbit: RabbitNode, relay: ChainRelay
) -> None:
    """The broker drops every connection while the chain's consumer is inside a batch: the batch's
    deliveries come again, and each gets its recorded ack back instead of a second effect."""
    effects: list[str] = []

    def dropping(inc: Incoming) -> dict[str, str]:
        effects.append(inc.message_id)
        if len(effects) == 3:
            rabbit.ctl("close_all_connections", "test: connection lost mid-batch")
        return dict(record_lifecycle(inc))

    sent = relay.send_many(
        [Notice(ChainKind.CARNET_ISSUED, f"NO/2026/{i:06d}", "NO-OCC", "WCF", {}) for i in range(10)]
    )  # queued before the consumer starts: they arrive together
    wcf = relay.consumer("WCF", dropping, reconnect_delay=0.1)
    with relay.consumer("NO-OCC", reconnect_delay=0.1).running(), wcf.running():
        wait_for(
            lambda: (
                not relay.pending() and wcf.stats.get("reconnects", 0) >= 1 and wcf.stats.get("duplicate")
            ),
            timeout=60,
        )
    assert sorted(effects) == sorted(r.message_id for r in sent)  # each handled exactly once
    assert relay.chain.received_count("WCF") == 10
    assert all(r.ack_status == "accepted" for r in relay.chain.sent_rows())


def test_a_batch_that_fails_to_commit_leaves_neither_effect_nor_record(
    relay: ChainRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The life-cycle handler writes in the batch's transaction: a crash before the dedup records commit
    undoes its carnet writes too, so the redelivery handles each message once, from scratch."""
    bodies = [
        relay.seal(ChainKind.CARNET_ISSUED, f"NO/2026/{i:06d}", "NO-OCC", "WCF", {"i": i})[1]
        for i in range(3)
    ]
    real = ChainTx.many

    def failing(self: ChainTx, sql: str, rows: Sequence[dict[str, Any]]) -> None:
        if sql.startswith("INSERT INTO chain_received"):
            raise OSError("disk full")
        real(self, sql, rows)

    monkeypatch.setattr(ChainTx, "many", failing)
    with pytest.raises(OSError):
        relay.consumer("WCF").process_many(bodies)
    assert [relay.chain.carnet_status("WCF", f"NO/2026/{i:06d}") for i in range(3)] == [None] * 3
    assert relay.chain.received_count("WCF") == 0
    monkeypatch.setattr(ChainTx, "many", real)
    again = relay.consumer("WCF").process_many(bodies)
    assert [r.outcome for r in again if not isinstance(r, Exception)] == ["accepted"] * 3
    assert [relay.chain.carnet_status("WCF", f"NO/2026/{i:06d}") for i in range(3)] == ["issued"] * 3


def test_a_batched_handler_refusing_after_a_write_has_it_undone(relay: ChainRelay) -> None:
    """A handler in the batch's transaction that writes and then refuses (or crashes) leaves nothing: its
    savepoint is rolled back, the rest of the batch is kept."""

    def half(inc: Incoming) -> dict[str, str]:
        record_lifecycle(inc)  # the carnet is written…
        if inc.payload.get("refuse"):
            raise refuse(Code.BAD_VALUE, "/ChainMessage/Payload", "changed my mind")  # …then refused
        if inc.payload.get("crash"):
            raise RuntimeError("disk full")
        return {}

    batched(half)
    bodies = [
        relay.seal(ChainKind.CARNET_ISSUED, f"NO/2026/{i:06d}", "NO-OCC", "WCF", p)[1]
        for i, p in enumerate([{}, {"refuse": True}, {"crash": True}, {}])
    ]
    ok, refused, crashed, ok2 = relay.consumer("WCF", dispatch({ChainKind.CARNET_ISSUED: half})).process_many(
        bodies
    )
    assert isinstance(crashed, RuntimeError)
    assert not isinstance(refused, Exception) and refused.outcome == "refused"
    assert [r.outcome for r in (ok, ok2) if not isinstance(r, Exception)] == ["accepted", "accepted"]
    statuses = [relay.chain.carnet_status("WCF", f"NO/2026/{i:06d}") for i in range(4)]
    assert statuses == ["issued", None, None, "issued"]
    assert relay.chain.received_count("WCF") == 3  # the crashed one is requeued, not recorded
