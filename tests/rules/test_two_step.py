"""EU two-step exit (issue 14, item 8), both ways: an EU carnet's exportation and a non-EU carnet's
re-exportation from the EU — declared at an inland office, then confirmed at the border office of exit.
The goods leave at the exit, not at the first step; the re-export deadline is judged at the exit; the first
step is cancelled only before the exit, the exit with the holder's code."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.errors import Code, Refusal
from gateway.model import TransactionKind
from gateway.rules import Where, cancel, replay
from tests.rules.helpers import ACT, EXP, doc, tx

IMP = ("importation", "DE006231", "2026-10-02")  # Kiel: entering the EU
PRE = ("pre_re_exportation", "DE003302", "2026-10-10")  # Frankfurt: inland
EXIT = ("re_exportation_exit", "DE006231", "2026-10-12")  # Kiel: leaving the EU
BACK = ("re_importation", "NO000100", "2026-10-13")
EU_CARNET = {
    "carnet_id": "DE/2026/000001",
    "issuing_association": {"name": "DIHK", "country": "DE"},
    "countries_of_use": ["CH", "NO"],
    "guaranteeing_associations": [{"name": "SCF", "country": "CH"}, {"name": "OCC", "country": "NO"}],
}


def codes(d) -> list[int]:  # type: ignore[no-untyped-def]
    with pytest.raises(Refusal) as info:
        replay(d)
    return [p.code for p in info.value.problems]


def test_a_non_eu_carnets_goods_leave_the_eu_at_the_exit_not_at_the_inland_step() -> None:
    steps = [tx(1, *ACT), tx(2, *EXP), tx(3, *IMP), tx(4, *PRE)]
    ledger = replay(doc(*steps))
    p = ledger.positions[1]
    assert (p.where, p.territory, p.country, p.under) == (Where.PRE_RE_EXPORTED, "EU", "DE", "t4")
    assert p.open  # still under admission in the EU until the exit
    ledger = replay(doc(*steps, tx(5, *EXIT), tx(6, *BACK, not_processed_abroad=True)))
    assert ledger.all_home() and not ledger.open_positions()


def test_the_exit_needs_the_inland_step_and_both_happen_in_the_eu() -> None:
    assert codes(doc(tx(1, *ACT), tx(2, *EXP), tx(3, *IMP), tx(4, *EXIT))) == [Code.ITEM_STATE]
    swiss = ("pre_re_exportation", "CH001000", "2026-10-10")
    assert codes(
        doc(tx(1, *ACT), tx(2, *EXP), tx(3, "importation", "CH001000", "2026-10-02"), tx(4, *swiss))
    ) == [Code.WRONG_TERRITORY]
    # only goods admitted in the EU: not goods merely exported from Norway
    assert codes(doc(tx(1, *ACT), tx(2, *EXP), tx(3, *PRE))) == [Code.ITEM_STATE]
    # a second inland step for goods already declared is refused too
    assert codes(doc(tx(1, *ACT), tx(2, *EXP), tx(3, *IMP), tx(4, *PRE), tx(5, *PRE))) == [Code.ITEM_STATE]


def test_the_re_export_deadline_is_judged_at_the_exit() -> None:
    imp = tx(3, *IMP, endorsement={"final_date": "2027-04-02"})
    before = tx(4, "pre_re_exportation", "DE003302", "2027-03-30")
    late_exit = tx(5, "re_exportation_exit", "DE006231", "2027-04-03")
    steps = [tx(1, *ACT), tx(2, *EXP, **{}), imp, before]
    b1 = {"annex": "B1", "intended_use": "Exhibition stand at a trade fair"}
    ledger = replay(doc(*steps, **b1))
    assert [f.code for f in ledger.overdue(date(2027, 4, 3))] == [Code.DEADLINE_PASSED]  # still admitted
    with pytest.raises(Refusal) as info:
        replay(doc(*steps, late_exit, **b1))
    (problem,) = info.value.problems
    assert (problem.code, problem.pointer, problem.article) == (
        Code.DEADLINE_PASSED,
        "/transactions/4/date",
        "Convention Art. 7",
    )
    on_time = tx(5, "re_exportation_exit", "DE006231", "2027-04-02")
    assert replay(doc(*steps, on_time, **b1)).positions[1].where == Where.EXPORTED


def test_the_inland_step_is_cancelled_only_before_the_exit_and_the_exit_with_its_code() -> None:
    d = doc(tx(1, *ACT), tx(2, *EXP), tx(3, *IMP), tx(4, *PRE), tx(5, *EXIT))
    with pytest.raises(Refusal) as info:
        cancel(d, "t4", "CX000004", "declared the wrong items")
    assert info.value.code == Code.NOT_CANCELLABLE and "t5" in info.value.problems[0].message
    with pytest.raises(Refusal) as info:
        cancel(d, "t5", "CX999999", "wrong office")
    assert info.value.code == Code.CANCELLATION  # the exit: only with the holder's code
    d = cancel(d, "t5", "CX000005", "left through another office")
    assert replay(d).positions[1].where == Where.PRE_RE_EXPORTED
    d = cancel(d, "t4", "CX000004", "declared the wrong items")  # before any exit: allowed
    assert replay(d).positions[1].where == Where.ADMITTED


def test_an_eu_carnets_pre_exportation_is_cancelled_only_before_its_exit() -> None:
    act = tx(1, "activation", "DE004600", "2026-10-01")
    pre = tx(2, "pre_exportation", "DE004600", "2026-10-01")
    exit_ = tx(3, "exit", "FR000630", "2026-10-02")
    with pytest.raises(Refusal) as info:
        cancel(doc(act, pre, exit_, **EU_CARNET), "t2", "CX000002", "mistake")
    assert info.value.code == Code.NOT_CANCELLABLE
    assert (
        replay(cancel(doc(act, pre, **EU_CARNET), "t2", "CX000002", "mistake")).positions[1].where
        == Where.HOME
    )


def test_two_step_vouchers_are_white_for_re_export() -> None:
    from gateway.model import VOUCHER_COLOUR

    assert VOUCHER_COLOUR[TransactionKind.PRE_RE_EXPORTATION] == "white"
    assert VOUCHER_COLOUR[TransactionKind.RE_EXPORTATION_EXIT] == "white"
    assert VOUCHER_COLOUR[TransactionKind.PRE_EXPORTATION] == "yellow"


def test_the_exit_is_the_claiming_territorys_proof_of_re_export() -> None:
    import json

    from gateway.claims import assemble_proof
    from gateway.model import Claim

    d = doc(tx(1, *ACT), tx(2, *EXP), tx(3, *IMP), tx(4, *PRE), tx(5, *EXIT))
    claim = Claim.model_validate_json(
        json.dumps(
            {
                "claim_id": "DE-1",
                "territory": "DE",
                "carnet_id": d.carnet.carnet_id,
                "items": "1-4",
                "duties": "100.00",
                "currency": "EUR",
                "notified_on": "2027-09-15",
            }
        )
    )
    proof = assemble_proof(d, claim)
    assert proof.complete and {(e.transaction_id, e.article) for e in proof.evidence} == {
        ("t5", "Annex A Art. 10.1")
    }
    # declared inland only: no proof the goods left
    assert not assemble_proof(doc(tx(1, *ACT), tx(2, *EXP), tx(3, *IMP), tx(4, *PRE)), claim).complete
