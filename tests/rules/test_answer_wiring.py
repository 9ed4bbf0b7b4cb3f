"""The service records customs' answers through ``rules.check_answer`` (issue 14, item 2): corrected with a
notice, or refused back with code and article while the transaction stays submitted; rejections kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.errors import Code, Refusal
from gateway.messages import Response
from gateway.model import Endorsement, Rejection, TransactionKind, load_document
from gateway.rules import judge
from tests.conftest import EXAMPLES

CID = "NO/2026/000123"


@pytest.fixture
def stored(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The example journey up to the Swiss importation, submitted (message M1) and awaiting customs."""
    from gateway.api.service import Service
    from gateway.store import Database

    d = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())
    d["transactions"] = d["transactions"][:5]
    endorsement = d["transactions"][4].pop("endorsement")
    d["transactions"][4]["state"] = "submitted"
    db = Database(f"sqlite:///{tmp_path / 'gw.db'}")
    issuer, _ = db.add_party("issuer", "issuer")
    db.create_carnet(load_document(json.dumps(d)), issuer.id, "123456")
    with db.begin() as c:
        db.add_submission("track-1", "EATA000000000000000001", CID, "tx-005", "CH", c)
    return Service(db, share_secret="s"), Endorsement.model_validate_json(json.dumps(endorsement))


def answer(**kw):  # type: ignore[no-untyped-def]
    return Response(
        message_id="CH-ANSWER-1",
        in_reply_to="EATA000000000000000001",
        carnet_id=CID,
        transaction_id="tx-005",
        kind=TransactionKind.IMPORTATION,
        **kw,
    )


def test_a_deadline_past_validity_is_recorded_corrected_with_a_notice(stored) -> None:  # type: ignore[no-untyped-def]
    service, e = stored
    late = e.model_copy(update={"final_date": datetime(2027, 10, 7).date()})
    assert service.apply_response(answer(endorsement=late), "CH") == "committed"
    doc = service.db.carnet(CID).doc
    assert doc.transactions[4].endorsement.final_date.isoformat() == "2027-08-31"
    judge(doc)  # the stored carnet validates
    [event] = [ev for ev in service.db.events(transaction_id="tx-005") if ev["kind"] == "committed"]
    assert event["territory"] == "CH"  # customs see it, as the holder does on the carnet
    assert event["detail"]["notices"][0]["code"] == Code.ANSWER_CORRECTED


def test_an_answer_that_breaks_a_rule_is_refused_and_the_transaction_stays_submitted(stored) -> None:  # type: ignore[no-untyped-def]
    service, e = stored
    with pytest.raises(Refusal) as info:
        service.apply_response(answer(endorsement=e.model_copy(update={"office": "CH002771"})), "CH")
    assert info.value.code == Code.WRONG_OFFICE
    assert service.db.carnet(CID).doc.transactions[4].state == "submitted"


def test_a_rejection_is_kept_in_the_transactions_history(stored) -> None:  # type: ignore[no-untyped-def]
    service, _ = stored
    r = Rejection(
        office="CH001801", at=datetime(2026, 10, 7, 9, tzinfo=UTC), code=510, reason="papers missing"
    )
    assert service.apply_response(answer(rejection=r), "CH") == "rejected"
    tx = service.db.carnet(CID).doc.transactions[4]
    assert tx.state == "rejected" and tx.rejections == (r,)
