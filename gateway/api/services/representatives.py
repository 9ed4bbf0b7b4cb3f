"""Representatives: the vouchers of a share link and the goods they cover, nothing else of the carnet."""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime
from typing import Any

from gateway.api.services.repository import REPRESENTATIVE, Carnets, denied
from gateway.api.services.views import transaction_view
from gateway.errors import Code, refuse
from gateway.items import parse_items
from gateway.store.db import Party
from gateway.store.secrets import key_hash


def link_mac(secret: bytes, token: str) -> str:
    """The share link's signature: what makes ``{token}.{mac}`` a link of this gateway."""
    return hmac.new(secret, token.encode(), "sha256").hexdigest()[:16]


class Representatives:
    def __init__(self, carnets: Carnets, share_secret: bytes) -> None:
        self.carnets = carnets
        self.db = carnets.db
        self.share_secret = share_secret

    def shared(self, party: Party, link: str) -> dict[str, Any]:
        if party.role != REPRESENTATIVE:
            raise denied("open shared vouchers")
        token, _, mac = link.partition(".")
        good = hmac.compare_digest(  # as bytes: a non-ASCII link is simply wrong, not a crash
            mac.encode(), link_mac(self.share_secret, token).encode()
        )
        share = self.db.share(key_hash(link)) if good else None
        if share is None or share["expires"] < time.time():
            raise refuse(Code.NOT_AUTHORISED, "/link", "this link is unknown or has expired")
        doc = self.db.carnet(share["carnet_id"]).doc
        # What a representative needs at the border: the vouchers and the goods they cover. Never the
        # cancellation code (the holder's consent to cancel) nor the rest of the carnet.
        shown = [t for t in doc.transactions if t.transaction_id in share["transactions"]]
        vouchers = [
            transaction_view(t.model_dump(mode="json", exclude={"cancellation_code"}), party) for t in shown
        ]
        general = doc.carnet.items_by_number
        numbers = sorted({n for t in shown for n in parse_items(t.items, general.keys())})
        return {
            "carnet_id": doc.carnet.carnet_id,
            "holder": doc.carnet.holder.name,
            "travel_id": share["travel_id"],
            "vouchers": vouchers,
            "items": [general[n].model_dump(mode="json") for n in numbers if n in general],
            "expires": datetime.fromtimestamp(share["expires"], UTC).isoformat(),
        }
