"""The guarantee chain: claims customs notify, relayed to the guaranteeing association and shown on the carnet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.api.services.repository import Carnets
from gateway.claims.deadlines import cap_claim
from gateway.model import Claim


class Chain:
    def __init__(self, carnets: Carnets) -> None:
        self.carnets = carnets
        self.db = carnets.db

    def claim_received(
        self, territory: str, claim: Claim, forward: Callable[[Claim], bool] | None = None
    ) -> None:
        """A verified claim from customs of ``territory``: relayed along the chain (``forward``) and shown on
        the carnet to its parties. A barred claim is refused (Annex A Art. 8.4); one above 110 % of the
        duties is accepted with the liability capped at 110 % and the cap recorded (Art. 8.2), never refused:
        the event shows the cap and its notice beside the sum claimed."""
        self.carnets.row(claim.carnet_id)  # 301 for a carnet this gateway does not know
        relayed = forward(claim) if forward is not None else False
        capped, notice = cap_claim(claim)
        detail = claim_detail(capped, relayed)
        if notice is not None:
            detail |= {"capped_at": str(capped.capped_at), "notices": [notice.as_dict()]}
        self.db.add_event(claim.carnet_id, "claim_notified", detail, territory=territory)


def claim_detail(claim: Claim, relayed: bool) -> dict[str, Any]:
    return {
        "claim_id": claim.claim_id,
        "items": claim.items,
        "amount": str(claim.amount),
        "currency": claim.currency,
        "notified_on": claim.notified_on.isoformat(),
        "relayed": relayed,
        "note": "relayed to the guaranteeing association (Annex A Art. 8)"
        if relayed
        else "recorded; no guarantee chain configured here (EATA_CHAIN_KEYS): relay it to the association",
    }
