"""Customs' answers go through the rules (issue 14, item 2): accepted, corrected with a notice, or refused
with code and article; never stored silently. Property: whatever customs answer, the stored carnet is one
``judge`` (and so ``validate``) accepts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from gateway.errors import Code, Refusal
from gateway.model import CarnetDocument, Endorsement, Rejection, Transaction, load_document
from gateway.rules import Accept, Corrected, Refused, check_answer, committed, judge, rejected
from tests.conftest import EXAMPLES

JOURNEY = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())


def pending(upto: int, **carnet: Any) -> tuple[CarnetDocument, Endorsement]:
    """The example journey up to transaction ``upto``, that one submitted; and customs' endorsement of it."""
    d = json.loads(json.dumps(JOURNEY))
    d["carnet"].update(carnet)
    txs = d["transactions"][: upto + 1]
    endorsement = txs[upto].pop("endorsement")
    txs[upto]["state"] = "submitted"
    d["transactions"] = txs
    return load_document(json.dumps(d)), Endorsement.model_validate_json(json.dumps(endorsement))


def test_a_sound_answer_is_accepted_as_sent() -> None:
    doc, e = pending(4)
    verdict = check_answer(doc, 4, e)
    assert verdict == Accept(e)
    judge(committed(doc, 4, e))


def test_re_export_date_past_validity_is_recorded_corrected_with_a_notice() -> None:
    doc, e = pending(4)
    late = e.model_copy(update={"final_date": date(2027, 10, 7)})
    verdict = check_answer(doc, 4, late)
    assert isinstance(verdict, Corrected)
    assert verdict.endorsement.final_date == date(2027, 8, 31)  # the carnet's validity
    n = verdict.notices[0]
    assert (n.code, n.article, n.pointer) == (
        Code.ANSWER_CORRECTED,
        "Annex A Art. 7",
        "/transactions/4/endorsement/final_date",
    )
    ledger = judge(committed(doc, 4, verdict.endorsement))
    assert ledger.positions[1].deadline == date(2027, 8, 31)


def test_re_export_date_below_the_annex_minimum_is_raised_to_it() -> None:
    doc, e = pending(4, annex="B1", intended_use="Exhibition at a fair in Basel")
    short = e.model_copy(update={"final_date": date(2026, 12, 1)})
    verdict = check_answer(doc, 4, short)
    assert isinstance(verdict, Corrected)
    assert verdict.endorsement.final_date == date(2027, 4, 7)  # six months from importation
    assert verdict.notices[0].article == "Annex B1 Art. 4.1"


def test_an_endorsement_from_another_office_is_refused_back_to_customs() -> None:
    doc, e = pending(4)
    verdict = check_answer(doc, 4, e.model_copy(update={"office": "CH002771"}))
    assert isinstance(verdict, Refused) and verdict.problem.code == Code.WRONG_OFFICE


def test_a_discharge_without_intact_seals_is_refused_back_to_customs() -> None:
    doc, e = pending(3)
    verdict = check_answer(doc, 3, e.model_copy(update={"seals_intact": False}))
    assert isinstance(verdict, Refused)
    assert (
        verdict.problem.code == Code.SEALS
        and verdict.problem.pointer == "/transactions/3/endorsement/seals_intact"
    )


def test_a_late_discharge_is_accepted_with_its_notice() -> None:
    d = json.loads(json.dumps(JOURNEY))
    d["transactions"][2]["transit"]["final_date"] = "2026-10-06"
    doc, e = pending(3)
    doc = load_document(
        json.dumps(
            {
                **json.loads(doc.model_dump_json(by_alias=True)),
                "transactions": [
                    *d["transactions"][:3],
                    json.loads(doc.transactions[3].model_dump_json(exclude_none=True)),
                ],
            }
        )
    )
    verdict = check_answer(doc, 3, e)
    assert isinstance(verdict, Accept)
    assert {n.code for n in verdict.notices} == {Code.TRANSIT_OVERDUE}


def test_an_answer_for_goods_not_where_the_voucher_needs_them_is_refused() -> None:
    doc, e = pending(5)  # re-export from CH ...
    d = json.loads(doc.model_dump_json(by_alias=True, exclude_none=True))
    del d["transactions"][4]  # ... but the importation into CH was cancelled meanwhile
    verdict = check_answer(load_document(json.dumps(d)), 4, e)
    assert isinstance(verdict, Refused) and verdict.problem.code == Code.ITEM_STATE


def test_rejections_are_kept_through_the_commit() -> None:
    doc, e = pending(4)
    first = Rejection(
        office="CH001801",
        at=datetime(2026, 10, 7, 9, tzinfo=UTC),
        code=302,
        reason="item 5 is not on the list",
    )
    tx = rejected(doc.transactions[4], first)
    assert tx.rejections == (first,)
    again = tx.model_copy(update={"state": "submitted", "rejection": None})
    doc = doc.model_copy(update={"transactions": (*doc.transactions[:4], again)})
    done = committed(doc, 4, e).transactions[4]
    assert done.state == "committed" and done.rejection is None and done.rejections == (first,)


# -- property: random submissions and answers never leave a carnet that judge refuses -----------------
OFFICES = {
    "NO": ["NO01011A", "NO02011B", "NO01018C"],
    "SE": ["SE603340"],
    "DE": ["DE004055", "DE006231"],
    "CH": ["CH001801", "CH002771"],
    "GB": ["GB000084", "GB000060"],
}
KINDS = [
    "activation",
    "exportation",
    "importation",
    "re_exportation",
    "re_importation",
    "transit_start",
    "transit_discharge",
    "home_use",
]
START = json.loads(json.dumps(JOURNEY))
START["carnet"]["status"] = "issued"
START["transactions"] = []


def plausible(doc: CarnetDocument) -> list[str]:
    """Kinds the goods' positions allow next (the property also tries any kind now and then)."""
    ledger = judge(doc)
    if not ledger.activated:
        return ["activation"]
    where = {p.where.value for p in ledger.positions.values()}
    return [
        k
        for k, needs in [
            ("exportation", "home"),
            ("importation", "exported"),
            ("re_importation", "exported"),
            ("transit_start", "exported"),
            ("re_exportation", "admitted"),
            ("home_use", "admitted"),
            ("importation", "admitted"),
            ("transit_discharge", "in_transit"),
        ]
        if needs in where
    ] or KINDS


def step(draw: Any, doc: CarnetDocument) -> tuple[str, dict[str, Any]]:
    op = draw(st.sampled_from(["prepare", "prepare", "answer", "answer", "answer", "reject"]))
    kinds = plausible(doc) if draw(st.integers(0, 4)) else KINDS
    kind = draw(st.sampled_from(kinds))
    where = {p.country for p in judge(doc).positions.values() if p.open and p.country in OFFICES}
    countries = sorted(where) if kind in ("re_exportation", "home_use", "transit_discharge") and where else []
    return op, {
        "kind": kind,
        "country": draw(st.sampled_from(countries or ["SE", "DE", "CH", "GB"])),
        "office": draw(st.integers(0, 5)),
        "items": draw(st.sampled_from(["1-4", "1-2", "3-4", "1", "all"])),
        "days": draw(st.integers(0, 20)),
        "final": draw(st.sampled_from([None, -400, -30, 0, 30, 400])),
        "seals_intact": draw(st.sampled_from([True, True, False, None])),
        "wrong_office": draw(st.integers(0, 9)) == 0,
        "which": draw(st.integers(0, 50)),
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.integers(min_value=1, max_value=40))
def test_random_answers_never_leave_a_carnet_that_validate_refuses(data: st.DataObject, length: int) -> None:
    doc = load_document(json.dumps(START))
    day = date(2026, 10, 5)
    n = 0
    for _ in range(length):
        op, p = step(data.draw, doc)
        day += timedelta(days=p["days"])
        if op == "prepare":  # as the service does: stored only if the rules accept it as the next step
            home = p["kind"] in ("activation", "exportation", "re_importation")
            offices = OFFICES["NO" if home else p["country"]]
            office = offices[p["office"] % len(offices)]
            if p["kind"] == "transit_discharge":
                office = "DE004055" if p["office"] % 3 else "DE006231"  # sometimes the wrong office
            n += 1
            fields: dict[str, Any] = {
                "transaction_id": f"t{n}",
                "kind": p["kind"],
                "territory": office[:2],
                "office": office,
                "date": day.isoformat(),
                "items": p["items"],
                "transaction_code": f"TC{n:06d}",
                "cancellation_code": f"CX{n:06d}",
                "state": "submitted",
                "not_processed_abroad": True if p["kind"] == "re_importation" else None,
            }
            if p["kind"] == "transit_start":
                fields["transit"] = {
                    "office_of_destination": "DE004055",
                    "final_date": (day + timedelta(days=5)).isoformat(),
                    "seals": ["S-1"],
                }
            tx = Transaction.model_validate_json(
                json.dumps({k: v for k, v in fields.items() if v is not None})
            )
            candidate = doc.model_copy(update={"transactions": (*doc.transactions, tx)})
            try:
                judge(candidate)
            except Refusal:
                continue
            doc = candidate
            continue
        waiting = [i for i, t in enumerate(doc.transactions) if t.state == "submitted"]
        if not waiting:
            continue
        i = waiting[p["which"] % len(waiting)]
        tx = doc.transactions[i]
        if op == "reject":
            r = Rejection(
                office=tx.office,
                at=datetime.combine(tx.date, time(12), UTC),
                code=510,
                reason="documents missing",
            )
            doc = doc.model_copy(
                update={"transactions": (*doc.transactions[:i], rejected(tx, r), *doc.transactions[i + 1 :])}
            )
        else:
            office = "CH001801" if p["wrong_office"] and tx.office != "CH001801" else tx.office
            e = Endorsement(
                office=office,
                at=datetime.combine(tx.date, time(12), UTC),
                reference=f"R{i}",
                final_date=tx.date + timedelta(days=p["final"]) if p["final"] is not None else None,
                seals_intact=p["seals_intact"],
            )
            verdict = check_answer(doc, i, e)
            if isinstance(verdict, Refused):
                assert verdict.problems and all(q.code for q in verdict.problems)
                continue
            doc = committed(doc, i, verdict.endorsement)
        judge(doc)  # the stored carnet: validate accepts it, always
    target(float(len(judge(doc).applied)))  # steer towards long journeys


def test_an_importation_answered_while_the_transit_is_open_is_accepted_with_its_notice() -> None:
    """Issue 14 (B): goods still in transit through the EU imported into Switzerland — accepted, flagged."""
    d = json.loads(json.dumps(JOURNEY))
    del d["transactions"][3]  # the EU transit never discharged
    endorsement = d["transactions"][3].pop("endorsement")
    d["transactions"][3]["state"] = "submitted"
    d["transactions"] = d["transactions"][:4]
    verdict = check_answer(
        load_document(json.dumps(d)), 3, Endorsement.model_validate_json(json.dumps(endorsement))
    )
    assert isinstance(verdict, Accept)
    assert {n.code for n in verdict.notices} == {Code.TRANSIT_OPEN_ELSEWHERE}
