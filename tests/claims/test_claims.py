"""Claims: barred after a year (Art. 8.4), capped at 110 % (Art. 8.2), proof windows (Art. 9), proof (Art. 10)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from gateway.claims import assemble_proof, assess, cap_claim, check_claim
from gateway.errors import Code, Refusal
from gateway.model import Claim, load_document
from tests.conftest import EXAMPLES


def doc(name: str = "journey-no-eu-ch.json"):  # type: ignore[no-untyped-def]
    return load_document((EXAMPLES / name).read_bytes())


def claim(**over: object) -> Claim:
    data = {
        "claim_id": "CH-2027-17",
        "territory": "CH",
        "carnet_id": "NO/2026/000123",
        "items": "1-2",
        "duties": "1000.00",
        "currency": "CHF",
        "notified_on": "2027-09-15",
    }
    data.update(over)
    return Claim.model_validate_json(json.dumps(data))


def test_claim_within_a_year_of_expiry_is_accepted() -> None:
    check_claim(claim(notified_on="2028-08-31"), doc().carnet)  # expiry 2027-08-31 + 1 year


def test_claim_later_than_a_year_after_expiry_is_barred() -> None:
    with pytest.raises(Refusal) as info:
        check_claim(claim(notified_on="2028-09-01"), doc().carnet)
    p = info.value.problems[0]
    assert (p.code, p.article, p.pointer) == (Code.CLAIM_BARRED, "Annex A Art. 8.4", "/notified_on")


def test_liability_is_capped_at_110_percent_not_refused() -> None:
    check_claim(claim(amount="1100.00"), doc().carnet)
    check_claim(claim(amount="1500.00"), doc().carnet)  # accepted: the association owes at most the cap
    capped, notice = cap_claim(claim(amount="1500.00"))
    assert capped.capped_at == Decimal("1100.00") and capped.amount == Decimal("1500.00")
    assert (notice.code, notice.article, notice.pointer) == (
        Code.CLAIM_OVER_CAP,
        "Annex A Art. 8.2",
        "/amount",
    )
    assert assess(capped, doc().carnet, date(2027, 10, 1)).liability == Decimal("1100.00")
    same, none = cap_claim(claim(amount="1100.00"))
    assert none is None and same.capped_at is None
    assert assess(same, doc().carnet, date(2027, 10, 1)).liability == Decimal("1100.00")


def test_a_barred_claim_is_never_awaiting_proof() -> None:
    barred = claim(notified_on="2028-09-01")
    a = assess(barred, doc().carnet, date(2028, 9, 2))
    assert a.barred and a.next_date is None
    assert "barred" in a.next_step and "proof" not in a.next_step


def test_claim_for_items_not_on_the_list_or_territory_not_covered() -> None:
    with pytest.raises(Refusal) as info:
        check_claim(claim(items="7", territory="US"), doc().carnet)
    assert {p.code for p in info.value.problems} == {Code.ITEM_NOT_ON_LIST, Code.TERRITORY_NOT_COVERED}


def test_proof_window_then_deposit_final_three_months_later() -> None:
    c = claim(notified_on="2027-09-15")
    a = assess(c, doc().carnet, date(2027, 10, 1))
    assert a.proof_due == date(2028, 3, 15) and a.next_date == date(2028, 3, 15)
    assert a.cap == Decimal("1100.00")
    late = assess(c, doc().carnet, date(2028, 3, 16))
    assert "deposit" in late.next_step
    paid = assess(claim(deposit_paid_on="2028-03-20", status="deposit_paid"), doc().carnet, date(2028, 4, 1))
    assert paid.deposit_final_on == date(2028, 6, 20)


def test_proof_assembled_from_the_re_export_endorsement() -> None:
    proof = assemble_proof(doc(), claim())
    assert proof.complete
    assert {e.transaction_id for e in proof.evidence} == {"tx-006"}
    assert all(e.article == "Annex A Art. 10.1" for e in proof.evidence)
    assert not proof.regularisation_fee_applies


def test_proof_by_later_importation_elsewhere_applies_the_regularisation_fee() -> None:
    d = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())
    reexport = d["transactions"][5]
    del d["transactions"][5]  # no re-export voucher from CH ...
    d["transactions"][5]["date"] = reexport["date"]  # ... but the re-importation in Norway is endorsed
    proof = assemble_proof(load_document(json.dumps(d)), claim())
    assert proof.complete
    assert {e.kind.value for e in proof.evidence} == {"re_importation"}
    assert proof.regularisation_fee_applies  # Art. 11


def test_no_proof_when_goods_never_left() -> None:
    d = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())
    d["transactions"] = d["transactions"][:5]
    proof = assemble_proof(load_document(json.dumps(d)), claim())
    assert not proof.complete and proof.missing == (1, 2)


def test_claims_due_cli_lists_next_step(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    d = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())
    d["claims"] = [json.loads(claim().model_dump_json())]
    f = tmp_path / "with-claim.json"
    f.write_text(json.dumps(d))
    r = subprocess.run(
        [sys.executable, "-m", "gateway", "claims", "due", str(f), "--today", "2027-10-01", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)[0]
    assert row["due"] == "2028-03-15" and row["proof_in_log"] is True and row["proof"] == ["tx-006"]


def test_claims_due_cli_marks_barred_and_capped_claims(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    d = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())
    d["transactions"] = d["transactions"][:5]  # still under admission in CH: no proof in the log
    d["claims"] = [
        json.loads(claim(claim_id="late", notified_on="2028-09-01").model_dump_json()),
        json.loads(claim(claim_id="big", amount="5000.00").model_dump_json()),
    ]
    f = tmp_path / "claims.json"
    f.write_text(json.dumps(d))
    r = subprocess.run(
        [sys.executable, "-m", "gateway", "claims", "due", str(f), "--today", "2027-10-01", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    rows = {row["claim_id"]: row for row in json.loads(r.stdout)}
    assert rows["late"]["barred"] is True and rows["late"]["due"] is None
    assert "proof" not in rows["late"]["next_step"]
    assert rows["big"]["liability"] == "1100.00" and rows["big"]["capped_at"] == "1100.00"
    assert "furnish proof" in rows["big"]["next_step"]


def test_claims_due_flags_an_undischarged_transit_past_its_final_date(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    d = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())
    d["transactions"] = d["transactions"][:3]  # transit started in Sweden, never discharged
    f = tmp_path / "stuck.json"
    f.write_text(json.dumps(d))
    r = subprocess.run(
        [sys.executable, "-m", "gateway", "claims", "due", str(f), "--today", "2026-11-01", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    [row] = json.loads(r.stdout)
    assert row["claim_id"] is None and row["flag"] == 206 and row["territory"] == "SE"
    assert row["due"] == "2026-10-12" and "Annex A Art. 8.1" in row["next_step"]


def test_a_claim_on_a_replaced_carnet_is_answered_with_the_replacement() -> None:
    from gateway.rules import judge

    d = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())
    d["transactions"] = d["transactions"][:5]  # admitted in CH when the replacement was issued
    d["carnet"].update(status="replaced", replaced_by="NO/2027/000900")
    old = load_document(json.dumps(d))
    judge(old)
    proof = assemble_proof(old, claim())
    assert proof.complete
    assert {(e.kind, e.reference, e.article) for e in proof.evidence} == {
        ("replacement", "NO/2027/000900", "Annex A Art. 14.1")
    }


def test_art_10_2_proof_comes_from_a_document_validate_accepts() -> None:
    from gateway.rules import judge

    d = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())
    reexport = d["transactions"].pop(5)  # no re-export voucher from CH ...
    d["transactions"][5]["date"] = reexport["date"]  # ... the re-importation in Norway is endorsed
    doc_ = load_document(json.dumps(d))
    assert {n.code for n in judge(doc_).notices} == {Code.ADMISSION_OPEN_ELSEWHERE}
    proof = assemble_proof(doc_, claim())
    assert proof.complete and {e.article for e in proof.evidence} == {"Annex A Art. 10.2"}


def test_a_transit_claim_is_answered_with_the_discharge_or_a_later_importation_elsewhere() -> None:
    """Goods that entered the EU in transit (the carnet accepted for transit, Annex A Art. 2.3): the
    discharge proves they left; without it, the Swiss importation does (Art. 10.2, with its fee)."""
    eu = claim(claim_id="DE-2027-3", territory="DE", currency="EUR")
    proof = assemble_proof(doc(), eu)
    assert proof.complete and {(e.kind.value, e.article) for e in proof.evidence} == {
        ("transit_discharge", "Annex A Art. 2.3")
    }
    assert not proof.regularisation_fee_applies
    elsewhere = doc("journey-transit-imported-elsewhere.json")
    proof = assemble_proof(elsewhere, eu)
    assert proof.complete and {(e.kind.value, e.article) for e in proof.evidence} == {
        ("importation", "Annex A Art. 10.2")
    }
    assert proof.regularisation_fee_applies
    d = json.loads((EXAMPLES / "journey-transit-imported-elsewhere.json").read_text())
    d["transactions"] = d["transactions"][:3]  # still in transit, never seen again
    assert assemble_proof(load_document(json.dumps(d)), eu).missing == (1, 2)
