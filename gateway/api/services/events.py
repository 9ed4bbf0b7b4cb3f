"""What each party may see of the events, and webhook subscriptions that push them (holders, customs, chain)."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

from gateway.api.destinations import DestinationPolicy
from gateway.api.services.repository import AUDITOR, CUSTOMS, EVENT_METADATA, OPERATOR
from gateway.api.services.views import event_view
from gateway.errors import Code, refuse
from gateway.store import Database
from gateway.store.db import Party

# What a webhook may subscribe to: customs' outcomes and what the holder and the chain must act on.
WEBHOOK_KINDS = frozenset(
    {
        "committed",
        "rejected",
        "cancelled",
        "paper_fallback",
        "held",
        "answer_refused",
        "claim_notified",
        "claim_closed",
    }
)


class Events:
    def __init__(self, db: Database, destinations: DestinationPolicy, webhook_cap: int = 20) -> None:
        self.db = db
        # webhook destinations: public addresses, plus what the operator allows (EATA_WEBHOOK_ALLOW)
        self.destinations = destinations
        self.webhook_cap = webhook_cap  # subscriptions per party

    def events_for(self, party: Party, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        """What ``party`` may see: customs their territory's events, auditors all, operators the metadata
        of all (no details: those carry endorsements, items and claims), others their carnets'."""
        if party.role == CUSTOMS:
            return self.db.events(territory=party.territory, after=after, limit=limit)
        if party.role == AUDITOR:
            return [event_view(e, party) for e in self.db.events(after=after, limit=limit)]
        if party.role == OPERATOR:
            return [{k: e[k] for k in EVENT_METADATA} for e in self.db.events(after=after, limit=limit)]
        events = self.db.events(carnet_ids=self.db.carnets_of(party), after=after, limit=limit)
        return [event_view(e, party) for e in events]  # events stored before the notice, too

    def mark(self) -> int:
        """Where the events bell stands: note it before reading events, then ``wait_for_more(mark)``."""
        return self.db.events_written.rung

    async def wait_for_more(self, mark: int, timeout: float) -> bool:
        """Until events are committed by this process after ``mark`` (True), or ``timeout`` seconds."""
        return await self.db.events_written.wait(mark, timeout)

    # -- webhook subscriptions ------------------------------------------------------------------
    def subscribe(self, party: Party, url: str, kinds: list[str]) -> dict[str, Any]:
        """Push the party's future events of ``kinds`` to ``url``; the HMAC secret is shown only now."""
        unknown = sorted(set(kinds) - WEBHOOK_KINDS)
        if not kinds or unknown:
            raise refuse(
                Code.BAD_VALUE,
                "/events",
                f"choose among {', '.join(sorted(WEBHOOK_KINDS))}"
                + (f"; not {', '.join(unknown)}" if unknown else ""),
            )
        # a public address, or one the operator allows (EATA_WEBHOOK_ALLOW); checked again at delivery
        self.destinations.check(url)
        # Standard Webhooks secret: whsec_ and 32 random bytes in base64
        hook_id, secret = uuid.uuid4().hex, "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        added = self.db.add_webhook(
            hook_id,
            party.id,
            url,
            sorted(set(kinds)),
            secret,
            self.db.last_event_id(),
            cap=self.webhook_cap,
        )
        if not added:
            raise refuse(
                Code.LIMIT_REACHED,
                "/url",
                f"a party may have at most {self.webhook_cap} webhook subscriptions; "
                "delete one (DELETE /v1/webhooks/{id}) before adding another",
            )
        return {"id": hook_id, "url": url, "events": sorted(set(kinds)), "secret": secret}

    def subscriptions(self, party: Party, after: str = "", limit: int = 50) -> list[dict[str, Any]]:
        """The party's subscriptions in ID order, ``limit`` of them after the ID ``after`` (paging)."""
        return [
            {k: h[k] for k in ("id", "url", "last_event_id", "failures", "disabled")} | {"events": h["kinds"]}
            for h in self.db.webhooks(party.id, after=after, limit=limit)
        ]

    def unsubscribe(self, party: Party, hook_id: str) -> None:
        if not self.db.delete_webhook(hook_id, party.id):
            raise refuse(Code.CARNET_NOT_FOUND, "/id", f"no webhook {hook_id}")
