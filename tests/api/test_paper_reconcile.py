"""Paper endorsements recorded by customs go through the rules like electronic answers (issue 14, item 2):
``rules.check_answer`` decides — corrected with a notice, or refused back with code and article and nothing
stored — over real HTTP."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.api.conftest import TRAVEL, Gateway, day, draft_carnet
from tests.api.test_customs_rejections import CID, PIN, answer, declare, ok

STAMP = {"place": "Basel", "at": "2026-06-01T10:00:00Z", "reference": "PAPER-1", "officer": "Officer Frei"}


def exported(gw: Gateway) -> None:
    """An issued, signed carnet activated and exported in Norway (answers committed through the rules)."""
    with gw.client("issuer") as issuer, gw.client("holder") as holder:
        ok(issuer.post("/v1/carnets", json={"carnet": draft_carnet(CID), "pin": PIN}), 201)
        ok(issuer.post(f"/v1/carnets/{CID}/issue"))
        ok(holder.post(f"/v1/carnets/{CID}/download", json={"pin": PIN}))
        ok(holder.post(f"/v1/carnets/{CID}/signature", json={"signer": "Ingrid Berg"}))
        ok(holder.post(f"/v1/carnets/{CID}/travels", json=TRAVEL), 201)
    act = declare(gw, "activation", "NO01011A", "all")
    assert answer(gw, act, "activation", "NO01011A", 1) == "committed"
    exp = declare(gw, "exportation", "NO02011B")
    assert answer(gw, exp, "exportation", "NO02011B", 2) == "committed"


def test_a_paper_importation_stamp_past_the_validity_is_corrected(gateway: Gateway) -> None:
    exported(gateway)
    imp = declare(gateway, "importation", "CH001801", intended_place_of_use="Lauterbrunnen")
    assert answer(gateway, imp, "importation", "CH001801", 3, reject="papers missing") == "rejected"
    valid_until = gateway.service.db.carnet(CID).doc.carnet.valid_until
    too_late = (valid_until + timedelta(days=40)).isoformat()
    path = f"/v1/customs/transactions/{CID}/{imp}/paper-endorsement"
    with gateway.client("customs_ch") as ch:
        done = ok(ch.post(path, json={**STAMP, "office": "CH001801", "final_date": too_late}))
        assert done["state"] == "committed"
        assert done["endorsement"]["final_date"] == valid_until.isoformat()  # Annex A Art. 7
        assert [r["reason"] for r in done["rejections"]] == ["papers missing"]  # history kept
        [event] = [e for e in ok(ch.get("/v1/customs/events")) if e["kind"] == "paper_reconciled"]
        notice = event["detail"]["notices"][0]
        assert (notice["code"], notice["article"]) == (216, "Annex A Art. 7")
        assert too_late in notice["message"]
        # a second stamp on the same voucher is a duplicate, not a second commit
        again = ch.post(path, json={**STAMP, "office": "CH001801"})
        assert again.status_code == 409 and again.json()["problems"][0]["code"] == 299


def test_a_paper_stamp_breaking_a_rule_is_refused_back_and_nothing_stored(gateway: Gateway) -> None:
    exported(gateway)
    transit = {"office_of_destination": "DE004055", "final_date": day(5), "seals": ["NO-77120"]}
    start = declare(gateway, "transit_start", "SE603340", transit=transit)
    assert answer(gateway, start, "transit_start", "SE603340", 3, seals=("NO-77120",)) == "committed"
    end = declare(gateway, "transit_discharge", "DE004055")
    path = f"/v1/customs/transactions/{CID}/{end}/paper-endorsement"
    before = gateway.service.db.carnet(CID).version
    with gateway.client("customs_de") as de:
        broken = de.post(path, json={**STAMP, "office": "DE004055", "seals_intact": False})
        assert broken.status_code in (409, 422), broken.text
        problem = broken.json()["problems"][0]
        assert problem["code"] == 311 and problem["pointer"].endswith("/endorsement/seals_intact")
        wrong = de.post(path, json={**STAMP, "office": "DE006231", "seals_intact": True})
        assert wrong.json()["problems"][0]["code"] == 310
    assert gateway.service.db.carnet(CID).version == before  # nothing stored
    with gateway.client("customs_de") as de:
        assert ok(de.post(path, json={**STAMP, "office": "DE004055", "seals_intact": True}))["state"] == (
            "committed"
        )


def test_an_over_cap_claim_is_shown_capped_not_refused(gateway: Gateway) -> None:
    """``Service.claim_received``: a claim above 110 % of the duties is recorded with its liability capped
    (Annex A Art. 8.2) and the cap shown to customs on the carnet's event."""
    from gateway.model import Claim

    exported(gateway)
    over = Claim.model_validate_json(
        json.dumps(
            {
                "claim_id": "CH-2027-18",
                "territory": "CH",
                "carnet_id": CID,
                "items": "1-2",
                "duties": "1000.00",
                "amount": "1500.00",
                "currency": "CHF",
                "notified_on": day(0),
            }
        )
    )
    gateway.service.claim_received("CH", over)
    with gateway.client("customs_ch") as ch:
        [event] = [e for e in ok(ch.get("/v1/customs/events")) if e["kind"] == "claim_notified"]
    detail = event["detail"]
    assert (detail["amount"], detail["capped_at"]) == ("1500.00", "1100.00")
    assert detail["notices"][0]["code"] == 321 and detail["notices"][0]["article"] == "Annex A Art. 8.2"
