"""The Convention's rules as a carnet ledger: each rule accepted and refused with its code."""

from __future__ import annotations

import json

import pytest

from gateway import offices
from gateway.errors import Code, Refusal
from gateway.model import load_document
from gateway.rules import Where, cancel, replay
from tests.conftest import EXAMPLES
from tests.rules.helpers import ACT, EXP, doc, tx


def codes(d) -> list[int]:  # type: ignore[no-untyped-def]
    with pytest.raises(Refusal) as info:
        replay(d)
    return [p.code for p in info.value.problems]


INVALID = sorted(EXAMPLES.glob("invalid-*.json"))


def test_there_are_at_least_eight_invalid_examples() -> None:
    assert len(INVALID) >= 8


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_each_invalid_example_gives_its_code(path) -> None:  # type: ignore[no-untyped-def]
    expected = int(path.stem.split("-")[1])
    with pytest.raises(Refusal) as info:
        replay(load_document(path.read_bytes()), office_known=offices.known)
    first = info.value.problems[0]
    assert first.code == expected, info.value
    assert first.pointer.startswith("/")
    assert first.message


@pytest.mark.parametrize("name", ["journey-no-eu-ch.json", "journey-gb.json"])
def test_example_journeys_bring_every_item_home(name: str) -> None:
    ledger = replay(load_document((EXAMPLES / name).read_bytes()), office_known=offices.known)
    assert ledger.all_home()
    assert not ledger.open_positions()


def test_eu_is_one_customs_territory_import_de_reexport_fr() -> None:
    d = doc(
        tx(1, *ACT),
        tx(2, *EXP),
        tx(3, "importation", "DE004600", "2026-10-02"),
        tx(4, "re_exportation", "FR000630", "2026-10-20"),
    )
    ledger = replay(d)
    assert {p.where for p in ledger.positions.values()} == {Where.EXPORTED}


def test_reexport_from_another_territory_is_refused() -> None:
    d = doc(
        tx(1, *ACT),
        tx(2, *EXP),
        tx(3, "importation", "DE004600", "2026-10-02"),
        tx(4, "re_exportation", "CH001000", "2026-10-20"),
    )
    assert codes(d) == [Code.ITEM_STATE]


def test_several_consignments_and_another_office() -> None:
    d = doc(
        tx(1, *ACT),
        tx(2, *EXP),
        tx(3, "importation", "CH001000", "2026-10-02"),
        tx(4, "re_exportation", "CH002000", "2026-10-05", "1,3"),
    )
    ledger = replay(d)
    assert ledger.positions[1].where == Where.EXPORTED
    assert ledger.positions[2].where == Where.ADMITTED and ledger.positions[2].territory == "CH"
    # the second consignment may not repeat an item already re-exported
    d2 = doc(
        *[t for t in json.loads(d.model_dump_json())["transactions"]],
        tx(5, "re_exportation", "CH001000", "2026-10-06", "2-3"),
    )
    assert codes(d2) == [Code.ITEM_STATE]


def test_activation_comes_first_and_once() -> None:
    assert codes(doc(tx(1, *EXP))) == [Code.NOT_ACTIVATED]
    assert codes(doc(tx(1, *ACT), tx(2, *ACT))) == [Code.ALREADY_ACTIVATED]
    assert codes(doc(tx(1, "activation", "CH001000", "2026-10-01"))) == [Code.WRONG_TERRITORY]


def test_b2_default_deadline_is_twelve_months_capped_by_validity() -> None:
    d = doc(tx(1, *ACT), tx(2, *EXP), tx(3, "importation", "CH001000", "2026-10-02"))
    assert replay(d).positions[1].deadline.isoformat() == "2027-08-31"


def test_b1_minimum_period_is_six_months() -> None:
    short = {"final_date": "2027-01-01"}
    d = doc(
        tx(1, *ACT),
        tx(2, *EXP),
        tx(3, "importation", "CH001000", "2026-10-02", endorsement=short),
        annex="B1",
    )
    with pytest.raises(Refusal) as info:
        replay(d)
    assert info.value.problems[0].code == Code.DEADLINE_TOO_SHORT
    assert info.value.problems[0].article == "Annex B1 Art. 4.1"
    ok = doc(tx(1, *ACT), tx(2, *EXP), tx(3, "importation", "CH001000", "2026-10-02"), annex="B1")
    assert replay(ok).positions[1].deadline.isoformat() == "2027-04-02"


def test_transit_must_be_discharged_in_time_at_destination() -> None:
    transit = {"office_of_destination": "DE003400", "final_date": "2026-10-05", "seals": []}
    start = tx(3, "transit_start", "SE000300", "2026-10-02", transit=transit)
    late = tx(4, "transit_discharge", "DE003400", "2026-10-06")
    # late: recorded (the goods arrived) and flagged, never refused (tests/rules/test_flags.py)
    flagged = replay(doc(tx(1, *ACT), tx(2, *EXP), start, late))
    assert [n.code for n in flagged.notices] == [Code.TRANSIT_OVERDUE] * 4
    on_time = tx(4, "transit_discharge", "DE003400", "2026-10-04")
    assert replay(doc(tx(1, *ACT), tx(2, *EXP), start, on_time)).positions[1].where == Where.EXPORTED


def test_transit_destination_must_be_in_the_transit_territory() -> None:
    transit = {"office_of_destination": "CH001000", "final_date": "2026-10-05"}
    start = tx(3, "transit_start", "SE000300", "2026-10-02", transit=transit)
    assert codes(doc(tx(1, *ACT), tx(2, *EXP), start)) == [Code.WRONG_TERRITORY]


def test_eu_two_step_export() -> None:
    eu = {
        "carnet_id": "DE/2026/000001",
        "issuing_association": {"name": "DIHK", "country": "DE"},
        "countries_of_use": ["CH", "NO"],
        "guaranteeing_associations": [{"name": "SCF", "country": "CH"}, {"name": "OCC", "country": "NO"}],
    }
    act = tx(1, "activation", "DE004600", "2026-10-01")
    pre = tx(2, "pre_exportation", "DE004600", "2026-10-01")
    exit_ = tx(3, "exit", "FR000630", "2026-10-02")
    ledger = replay(doc(act, pre, exit_, **eu))
    assert ledger.positions[1].where == Where.EXPORTED
    assert codes(doc(act, exit_, **eu)) == [Code.ITEM_STATE]  # exit needs the pre-exportation
    assert codes(doc(tx(1, *ACT), tx(2, "pre_exportation", "NO000100", "2026-10-01"))) == [
        Code.WRONG_TERRITORY
    ]


def test_rejection_does_not_use_the_voucher() -> None:
    rejected = tx(3, "importation", "CH001000", "2026-10-02", state="rejected")
    rejected["rejection"] = {
        "office": "CH001000",
        "at": "2026-10-02T10:00:00Z",
        "code": 302,
        "reason": "item 5 unknown",
    }
    retried = tx(4, "importation", "CH001000", "2026-10-02")
    ledger = replay(doc(tx(1, *ACT), tx(2, *EXP), rejected, retried))
    assert ledger.positions[1].where == Where.ADMITTED
    assert [t.transaction_id for t in ledger.applied] == ["t1", "t2", "t4"]


def test_cancellation_rolls_back_with_code_and_reason() -> None:
    d = doc(tx(1, *ACT), tx(2, *EXP), tx(3, "importation", "CH001000", "2026-10-02"))
    after = cancel(d, "t3", "CX000003", "wrong items declared")
    assert replay(after).positions[1].where == Where.EXPORTED
    with pytest.raises(Refusal) as wrong_code:
        cancel(d, "t3", "CX999999", "wrong items")
    assert wrong_code.value.code == Code.CANCELLATION
    with pytest.raises(Refusal) as no_reason:
        cancel(d, "t3", "CX000003", "  ")
    assert no_reason.value.code == Code.MISSING


def test_cancellation_refused_when_later_transactions_depend_on_it() -> None:
    d = doc(
        tx(1, *ACT),
        tx(2, *EXP),
        tx(3, "importation", "CH001000", "2026-10-02"),
        tx(4, "re_exportation", "CH001000", "2026-10-03"),
    )
    with pytest.raises(Refusal) as info:
        cancel(d, "t3", "CX000003", "mistake")
    assert info.value.code == Code.CANCELLATION


def test_pre_exportation_cannot_be_cancelled_once_the_goods_exited() -> None:
    """Issue 14, item 8: cancelled only before the exit (tests/rules/test_two_step.py has both ways)."""
    eu = {
        "carnet_id": "DE/2026/000001",
        "issuing_association": {"name": "DIHK", "country": "DE"},
        "countries_of_use": ["CH"],
        "guaranteeing_associations": [{"name": "SCF", "country": "CH"}],
    }
    d = doc(
        tx(1, "activation", "DE004600", "2026-10-01"),
        tx(2, "pre_exportation", "DE004600", "2026-10-01"),
        tx(3, "exit", "FR000630", "2026-10-02"),
        **eu,
    )
    with pytest.raises(Refusal) as info:
        cancel(d, "t2", "CX000002", "mistake")
    assert info.value.code == Code.NOT_CANCELLABLE


@pytest.mark.parametrize("kind", ["home_use", "destruction", "abandonment"])
def test_home_use_destruction_abandonment_close_the_item(kind: str) -> None:
    d = doc(
        tx(1, *ACT),
        tx(2, *EXP),
        tx(3, "importation", "CH001000", "2026-10-02"),
        tx(4, kind, "CH001000", "2026-10-09", "2"),
    )
    ledger = replay(d)
    assert ledger.positions[2].where == Where.CLOSED and ledger.positions[2].closed_by == kind
    assert ledger.positions[1].where == Where.ADMITTED


def test_replacement_carnet_carries_open_items_over() -> None:
    old = json.loads(
        doc(
            tx(1, *ACT), tx(2, *EXP), tx(3, "importation", "CH001000", "2026-10-02"), status="replaced"
        ).model_dump_json(by_alias=True)
    )
    new = {
        "schema": "eata/v1",
        "carnet": {
            **old["carnet"],
            "carnet_id": "NO/2027/000900",
            "replaces": "NO/2026/000123",
            "status": "issued",
            "issue_date": "2027-08-20",
            "valid_until": "2028-08-19",
            "signature": {"signer": "Ingrid Berg", "signed_at": "2027-08-20T10:00:00Z"},
        },
        "predecessor": old,
        "transactions": [tx(10, "re_exportation", "CH002000", "2027-09-15")],
    }
    ledger = replay(load_document(json.dumps(new)))
    assert ledger.positions[1].where == Where.EXPORTED
    new["carnet"]["replaces"] = None
    with pytest.raises(Refusal) as info:
        replay(load_document(json.dumps(new)))
    assert info.value.problems[0].article == "Annex A Art. 14"


def test_prepared_transactions_are_checked_not_applied() -> None:
    prepared = tx(3, "re_exportation", "CH001000", "2026-10-02", state="prepared")
    assert codes(doc(tx(1, *ACT), tx(2, *EXP), prepared)) == [Code.ITEM_STATE]


def test_transactions_out_of_date_order_are_refused() -> None:
    assert codes(doc(tx(1, *ACT), tx(2, "exportation", "NO000200", "2026-09-30"))) == [Code.ORDER]


@pytest.mark.parametrize("status", ["closed", "replaced"])
def test_a_closed_or_replaced_carnet_takes_no_new_voucher(status: str) -> None:
    data = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())
    data["carnet"]["status"] = status
    replay(load_document(json.dumps(data)))  # its history still stands
    pending = dict(data["transactions"][-1], transaction_id="tx-new", state="prepared")
    pending.pop("endorsement", None)
    data["transactions"].append(pending)
    with pytest.raises(Refusal) as info:
        replay(load_document(json.dumps(data)))
    problem = info.value.problems[0]
    assert (problem.code, problem.pointer) == (Code.CARNET_CLOSED, "/transactions/7/state")
