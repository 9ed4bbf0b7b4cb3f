"""A customs claim travels customs → guaranteeing association → issuing association; proof assembled from
the endorsement log travels back and closes it (Annex A Art. 8-11)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from decimal import Decimal

import pytest
from chain_helpers import wait_for

from gateway.chain.relay import ChainRelay, chain_queue
from gateway.claims.flow import ClaimFlow, route
from gateway.errors import Code, Refusal
from gateway.model import CarnetDocument, Claim, load_document
from tests.broker import depth
from tests.conftest import EXAMPLES

CARNET = "NO/2026/000123"
PARTIES = ("customs-CH", "CH-SCF", "NO-OCC")


def journey(**changes: object) -> CarnetDocument:
    d = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())
    if changes.get("no_reexport"):
        reexport = d["transactions"].pop(5)  # no re-export voucher from CH ...
        d["transactions"][5]["date"] = reexport["date"]  # ... but the re-importation in Norway is endorsed
    if changes.get("never_left"):
        d["transactions"] = d["transactions"][:5]
    return load_document(json.dumps(d))


def claim(**over: object) -> Claim:
    data = {
        "claim_id": "CH-2027-17",
        "territory": "CH",
        "carnet_id": CARNET,
        "items": "1-2",
        "duties": "1000.00",
        "amount": "1100.00",
        "currency": "CHF",
        "notified_on": "2027-09-15",
    }
    data.update(over)
    return Claim.model_validate_json(json.dumps(data))


@contextmanager
def chain_running(relay: ChainRelay, flow: ClaimFlow) -> Iterator[None]:
    with ExitStack() as stack:
        for p in PARTIES:
            stack.enter_context(relay.consumer(p, flow.handler).running())
        yield


def test_route_follows_the_carnet() -> None:
    r = route(journey().carnet, "CH")
    assert (r.customs, r.guaranteeing, r.issuing) == ("customs-CH", "CH-SCF", "NO-OCC")
    assert route(journey().carnet, "FR").guaranteeing == "DE-DIHK"  # the EU is one customs territory
    with pytest.raises(Refusal) as info:
        route(journey().carnet, "US")
    assert info.value.code == Code.TERRITORY_NOT_COVERED


def test_claim_flows_through_the_chain_and_automatic_proof_closes_it(relay: ChainRelay) -> None:
    flow = ClaimFlow(relay, {CARNET: journey()}, today=lambda: date(2027, 10, 1))
    with chain_running(relay, flow):
        notified = flow.notify(claim())
        wait_for(lambda: (c := relay.chain.claim("CH-2027-17")) is not None and c.state == "closed")
        wait_for(lambda: not relay.pending())
    row = relay.chain.claim("CH-2027-17")
    assert row is not None
    assert [h["state"] for h in row.history] == [
        "notified",
        "with_issuing",
        "proof_sent",
        "proof_forwarded",
        "closed",
    ]
    assert row.claim["status"] == "proof_furnished" and row.claim["proof_furnished_on"] == "2027-10-01"
    assert {e["transaction_id"] for e in row.evidence or []} == {"tx-006"}  # the CH re-export endorsement
    assert {e["article"] for e in row.evidence or []} == {"Annex A Art. 10.1"}
    assert row.regularisation_fee is None
    sent = relay.chain.sent_rows(CARNET)
    hops = [(s.kind, s.sender, s.recipient) for s in sent]
    assert hops == [
        ("claim_notified", "customs-CH", "CH-SCF"),
        ("claim_notified", "CH-SCF", "NO-OCC"),
        ("claim_proof", "NO-OCC", "CH-SCF"),
        ("claim_proof", "CH-SCF", "customs-CH"),
    ]
    assert all(s.ack_status == "accepted" for s in sent)
    assert sent[0].message_id == notified.message_id


def test_proof_by_later_importation_records_the_regularisation_fee(relay: ChainRelay) -> None:
    flow = ClaimFlow(
        relay,
        {CARNET: journey(no_reexport=True)},
        regularisation_fee=Decimal("75.00"),
        today=lambda: date(2027, 10, 1),
    )
    with chain_running(relay, flow):
        flow.notify(claim())
        wait_for(lambda: (c := relay.chain.claim("CH-2027-17")) is not None and c.state == "closed")
    row = relay.chain.claim("CH-2027-17")
    assert row is not None and row.regularisation_fee == "75.00"  # Art. 11
    assert row.claim["regularisation_fee"] == "75.00"
    assert {e["article"] for e in row.evidence or []} == {"Annex A Art. 10.2"}


def test_no_proof_in_the_log_leaves_the_proof_window_running(relay: ChainRelay) -> None:
    flow = ClaimFlow(relay, {CARNET: journey(never_left=True)}, today=lambda: date(2027, 10, 1))
    with chain_running(relay, flow):
        flow.notify(claim())
        wait_for(lambda: (c := relay.chain.claim("CH-2027-17")) is not None and c.state == "proof_missing")
        wait_for(lambda: not relay.pending())
    forwarded = relay.chain.sent_rows(CARNET)[1]
    assert forwarded.recipient == "NO-OCC" and forwarded.ack_status == "accepted"
    ack, _ = relay.open(relay.chain.received_ack("NO-OCC", forwarded.message_id)[1])  # type: ignore[index,arg-type]
    assert ack["Payload"]["proof"] == "missing" and ack["Payload"]["proof_due"] == "2028-03-15"  # Art. 9.1a


def test_barred_claim_is_refused_and_nothing_is_published(relay: ChainRelay) -> None:
    flow = ClaimFlow(relay, {CARNET: journey()})
    with pytest.raises(Refusal) as info:
        flow.notify(claim(notified_on="2028-09-01"))  # the carnet expired 2027-08-31
    p = info.value.problems[0]
    assert (p.code, p.article, p.pointer) == (Code.CLAIM_BARRED, "Annex A Art. 8.4", "/notified_on")
    assert "2028-08-31" in p.message
    assert relay.chain.sent_rows() == [] and relay.chain.claim("CH-2027-17") is None
    assert depth(relay.url, chain_queue("CH-SCF")) == 0


def test_claim_over_the_cap_goes_capped(relay: ChainRelay) -> None:
    flow = ClaimFlow(relay, {CARNET: journey()})
    flow.notify(claim(amount="1100.01"))  # Annex A Art. 8.2 caps the liability; the claim stands
    row = relay.chain.claim("CH-2027-17")
    assert row is not None and row.claim["capped_at"] == "1100.00" and row.claim["amount"] == "1100.01"


def test_notifying_twice_is_one_notification(relay: ChainRelay) -> None:
    flow = ClaimFlow(relay, {CARNET: journey()}, today=lambda: date(2027, 10, 1))
    first = flow.notify(claim())
    again = flow.notify(claim())
    assert first.message_id == again.message_id
    with chain_running(relay, flow):
        wait_for(lambda: (c := relay.chain.claim("CH-2027-17")) is not None and c.state == "closed")
        wait_for(lambda: not relay.pending())
    assert len(relay.chain.sent_rows(CARNET)) == 4


def test_demo_flow_shows_an_acked_notice_and_a_claim_closed_by_proof(rabbit, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from devtools.chain_demo import demo_flow

    out = demo_flow(rabbit.url, tmp_path / "chain.db", tmp_path / "chain-keys")
    assert out["carnet_issued"]["ack"] == "accepted"
    assert out["claim"]["state"] == "closed" and out["claim"]["status"] == "proof_furnished"
    assert out["claim"]["proof"] == ["tx-006"] and out["claim"]["route"] == ["customs-CH", "CH-SCF", "NO-OCC"]
    assert out["pending"] == 0 and all(m["ack"] == "accepted" for m in out["messages"])


def test_proof_after_the_deposit_became_final_does_not_close_the_claim(relay: ChainRelay) -> None:
    # Art. 9.1c: a deposit paid 2028-03-20 became final on 2028-06-20; proof arriving in July is too late
    flow = ClaimFlow(relay, {CARNET: journey()}, today=lambda: date(2028, 7, 1))
    with chain_running(relay, flow):
        flow.notify(claim(deposit_paid_on="2028-03-20", status="deposit_paid"))
        wait_for(lambda: len(relay.chain.sent_rows(CARNET)) == 4 and not relay.pending())
    last = relay.chain.sent_rows(CARNET)[-1]
    assert (last.kind, last.recipient, last.ack_status) == ("claim_proof", "customs-CH", "refused")
    assert last.ack_code == Code.DEADLINE_PASSED and "2028-06-20" in (last.ack_detail or "")
    row = relay.chain.claim("CH-2027-17")
    assert row is not None and row.state == "proof_forwarded"


def test_proof_within_three_months_of_the_deposit_recovers_it(relay: ChainRelay) -> None:
    flow = ClaimFlow(relay, {CARNET: journey()}, today=lambda: date(2028, 5, 1))
    with chain_running(relay, flow):
        flow.notify(claim(deposit_paid_on="2028-03-20", status="deposit_paid"))
        wait_for(lambda: (c := relay.chain.claim("CH-2027-17")) is not None and c.state == "closed")
    row = relay.chain.claim("CH-2027-17")
    assert row is not None and row.claim["status"] == "proof_furnished"
    proof = relay.chain.sent_rows(CARNET)[-1]
    assert proof.ack_status == "accepted"
