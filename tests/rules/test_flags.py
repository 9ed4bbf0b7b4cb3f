"""Recorded with a flag, not refused (issue 14, items 4 and 5): what the Convention lets customs decide.

- a later importation elsewhere, or a re-importation, while the ledger still shows the items under
  admission in another territory (Annex A Art. 10.2: proof of re-exportation for that territory);
- a late transit discharge (the goods did arrive; the guarantee answers for the breach, Annex A Art. 8.1);
- transits never discharged, and admissions never ended, past their final date.
"""

from __future__ import annotations

from datetime import date

from gateway.errors import Code
from gateway.rules import Where, replay
from tests.rules.helpers import ACT, EXP, doc, tx

TRANSIT = {"office_of_destination": "DE003400", "final_date": "2026-10-05", "seals": []}


def test_importation_elsewhere_while_admitted_is_recorded_with_an_art_10_2_notice() -> None:
    d = doc(
        tx(1, *ACT),
        tx(2, *EXP),
        tx(3, "importation", "CH001000", "2026-10-02"),
        tx(4, "importation", "GB000060", "2026-10-09", "1-2"),  # no re-export voucher from CH
    )
    ledger = replay(d)
    assert ledger.positions[1].where == Where.ADMITTED and ledger.positions[1].territory == "GB"
    assert "art_10_2" in ledger.positions[1].flags
    assert ledger.positions[3].territory == "CH" and not ledger.positions[3].flags
    notice = ledger.notices[0]
    assert (notice.code, notice.article, notice.pointer) == (
        Code.ADMISSION_OPEN_ELSEWHERE,
        "Annex A Art. 10.2",
        "/transactions/3/items",
    )
    assert "CH" in notice.message and "GB" in notice.message


def test_re_importation_while_admitted_abroad_is_recorded_with_a_notice() -> None:
    d = doc(
        tx(1, *ACT),
        tx(2, *EXP),
        tx(3, "importation", "CH001000", "2026-10-02"),
        tx(4, "re_importation", "NO000100", "2026-10-09", not_processed_abroad=True),
    )
    ledger = replay(d)
    assert ledger.all_home()
    assert {n.code for n in ledger.notices} == {Code.ADMISSION_OPEN_ELSEWHERE}


def test_importation_into_the_same_territory_twice_is_still_refused() -> None:
    d = doc(
        tx(1, *ACT),
        tx(2, *EXP),
        tx(3, "importation", "CH001000", "2026-10-02"),
        tx(4, "importation", "CH002000", "2026-10-09"),
    )
    from gateway.errors import Refusal

    try:
        replay(d)
    except Refusal as r:
        assert r.code == Code.ITEM_STATE
    else:
        raise AssertionError("a second importation into the same territory must be refused")


def test_a_late_transit_discharge_is_recorded_and_flagged_overdue() -> None:
    start = tx(3, "transit_start", "SE000300", "2026-10-02", transit=TRANSIT)
    late = tx(4, "transit_discharge", "DE003400", "2026-10-08")
    ledger = replay(doc(tx(1, *ACT), tx(2, *EXP), start, late))
    assert ledger.positions[1].where == Where.EXPORTED
    assert "transit_overdue" in ledger.positions[1].flags
    n = ledger.notices[0]
    assert (n.code, n.pointer, n.article) == (
        Code.TRANSIT_OVERDUE,
        "/transactions/3/date",
        "Annex A Art. 8.1",
    )
    assert "2026-10-05" in n.message


def test_undischarged_transit_past_its_final_date_is_flagged() -> None:
    start = tx(3, "transit_start", "SE000300", "2026-10-02", transit=TRANSIT)
    ledger = replay(doc(tx(1, *ACT), tx(2, *EXP), start))
    assert ledger.overdue(date(2026, 10, 5)) == []
    flags = ledger.overdue(date(2026, 10, 6))
    assert [f.code for f in flags] == [Code.TRANSIT_OVERDUE]
    assert flags[0].pointer == "/transactions/2" and "1-4" in flags[0].message


def test_admission_past_its_re_export_date_is_flagged() -> None:
    d = doc(
        tx(1, *ACT),
        tx(2, *EXP),
        tx(3, "importation", "CH001000", "2026-10-02", endorsement={"final_date": "2027-08-31"}),
    )
    ledger = replay(d)
    assert ledger.overdue(date(2027, 8, 31)) == []
    assert [f.code for f in ledger.overdue(date(2027, 9, 1))] == [Code.DEADLINE_PASSED]


def test_replacement_discharges_the_old_carnet_to_its_successor() -> None:
    """Annex A Art. 14.1: customs accepting the replacement discharge the old carnet for what it carries."""
    d = doc(
        tx(1, *ACT),
        tx(2, *EXP),
        tx(3, "importation", "CH001000", "2026-10-02"),
        tx(4, "re_exportation", "CH001000", "2026-10-05", "4"),
        status="replaced",
        replaced_by="NO/2027/000900",
    )
    ledger = replay(d)
    assert ledger.positions[1].where == Where.REPLACED
    assert ledger.positions[1].successor == "NO/2027/000900" and ledger.positions[1].territory == "CH"
    # out of CH but not yet home: the successor carries it too (its re-importation is made on it)
    assert ledger.positions[4].where == Where.REPLACED and ledger.positions[4].territory is None
    assert not ledger.open_positions() and ledger.all_home()


# -- goods still in transit, imported elsewhere (issue 14, B: Art. 10.2 logic, not a refusal) --------------
def test_an_importation_elsewhere_while_still_in_transit_is_recorded_with_a_notice() -> None:
    """The blue voucher was never discharged in the EU, yet the goods entered Switzerland: recorded with a
    flag (217); the Swiss importation proves to EU customs that the goods left (Annex A Art. 10.2)."""
    start = tx(3, "transit_start", "SE000300", "2026-10-02", transit=TRANSIT)
    ledger = replay(doc(tx(1, *ACT), tx(2, *EXP), start, tx(4, "importation", "CH001000", "2026-10-04")))
    p = ledger.positions[1]
    assert (p.where, p.territory) == (Where.ADMITTED, "CH")
    assert set(p.flags) == {"art_10_2", "transit_not_discharged"}
    assert not ledger.overdue(date(2026, 10, 9))  # no longer "in transit" for good
    assert {n.code for n in ledger.notices} == {Code.TRANSIT_OPEN_ELSEWHERE} and len(ledger.notices) == 4
    n = ledger.notices[0]
    assert (n.code, n.pointer, n.article) == (
        Code.TRANSIT_OPEN_ELSEWHERE,
        "/transactions/3/items",
        "Annex A Art. 10.2",
    )
    assert "EU" in n.message and "DE003400" in n.message and "CH" in n.message


def test_a_re_importation_home_while_still_in_transit_is_recorded_with_a_notice() -> None:
    start = tx(3, "transit_start", "SE000300", "2026-10-02", transit=TRANSIT)
    back = tx(4, "re_importation", "NO000100", "2026-10-03", not_processed_abroad=True)
    ledger = replay(doc(tx(1, *ACT), tx(2, *EXP), start, back))
    assert ledger.all_home() and "transit_not_discharged" in ledger.positions[2].flags
    assert {n.code for n in ledger.notices} == {Code.TRANSIT_OPEN_ELSEWHERE}


def test_an_importation_into_the_transit_territory_itself_needs_the_discharge_first() -> None:
    from gateway.errors import Refusal

    start = tx(3, "transit_start", "SE000300", "2026-10-02", transit=TRANSIT)
    try:
        replay(doc(tx(1, *ACT), tx(2, *EXP), start, tx(4, "importation", "DE004600", "2026-10-03")))
    except Refusal as r:
        assert r.code == Code.ITEM_STATE and "DE003400" in r.problems[0].message
    else:
        raise AssertionError("an importation into the transit's own territory must wait for the discharge")
