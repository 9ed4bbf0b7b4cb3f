"""What the REST API does, without HTTP: the role services of :mod:`gateway.api.services`, composed.

:class:`Service` builds one carnet repository and each role's service over it, and keeps the flat
interface the runtime, the console, the CLI and the tests use (``service.submit(…)``,
``service.apply_response(…)``); the API's routers call the role services (``service.holders``) directly.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from gateway.api.destinations import DestinationPolicy
from gateway.api.services.answers import Answers
from gateway.api.services.chain import Chain
from gateway.api.services.customs import Customs
from gateway.api.services.events import WEBHOOK_KINDS, Events
from gateway.api.services.holders import Holders, PreconditionFailed, PreconditionRequired, TooManyAttempts
from gateway.api.services.issuers import Issuers
from gateway.api.services.repository import (
    AUDITOR,
    CHAIN,
    CUSTOMS,
    EVENT_METADATA,
    HOLDER,
    ISSUER,
    OPERATOR,
    REPRESENTATIVE,
    Carnets,
)
from gateway.api.services.representatives import Representatives
from gateway.api.services.submissions import Submissions
from gateway.api.services.testers import Testers
from gateway.relay.store import Store as RelayStore
from gateway.settings import current
from gateway.store import Database

__all__ = [
    "AUDITOR",
    "CHAIN",
    "CUSTOMS",
    "EVENT_METADATA",
    "HOLDER",
    "ISSUER",
    "OPERATOR",
    "REPRESENTATIVE",
    "WEBHOOK_KINDS",
    "PreconditionFailed",
    "PreconditionRequired",
    "Service",
    "TooManyAttempts",
]


class Service:
    def __init__(
        self,
        db: Database,
        *,
        outbox: RelayStore | None = None,
        wake: Callable[[], None] | None = None,
        share_secret: str = "",
        pin_window_s: float = 900,
        pin_max_wrong: int = 5,
        pin_max_per_carnet: int = 20,
        webhook_allow: str | None = None,
        webhook_cap: int = 20,
    ) -> None:
        self.db = db
        secret = share_secret.encode() or secrets.token_bytes(32)
        self.carnets = Carnets(db)
        # Accepted submissions go to the relay's outbox in the same transaction as the carnet's new state,
        # so "accepted" can never be lost; a publisher drains the outbox to RabbitMQ (and on restart).
        self.submissions = Submissions(
            self.carnets, outbox or RelayStore(engine=db.engine), wake or (lambda: None)
        )
        self.issuers = Issuers(self.carnets)
        self.holders = Holders(
            self.carnets,
            self.submissions,
            share_secret=secret,
            pin_window_s=pin_window_s,
            pin_max_wrong=pin_max_wrong,
            pin_max_per_carnet=pin_max_per_carnet,
        )
        self.representatives = Representatives(self.carnets, secret)
        self.customs = Customs(self.carnets)
        self.answers = Answers(self.carnets, self.submissions)
        self.chain = Chain(self.carnets)
        # webhook destinations: public addresses, plus what the operator allows (EATA_WEBHOOK_ALLOW)
        self.events = Events(
            db,
            DestinationPolicy(current().webhook_allow if webhook_allow is None else webhook_allow),
            webhook_cap,
        )
        self.testers = Testers()

        # the flat interface, as before the split: each name is the role service's own method
        self.carnet = self.carnets.carnet
        self.create, self.issue, self.amend = self.issuers.create, self.issuers.issue, self.issuers.amend
        self.close, self.replace_with = self.issuers.close, self.issuers.replace_with
        h = self.holders
        self.download, self.download_async, self.sign = h.download, h.download_async, h.sign
        self.travel, self.put_travel, self.delete_travel = h.travel, h.put_travel, h.delete_travel
        self.prepare, self.submit, self.timeline, self.share = h.prepare, h.submit, h.timeline, h.share
        self.shared = self.representatives.shared
        c = self.customs
        self.cancel, self.reconcile = c.cancel, c.reconcile
        self.customs_transactions, self.customs_history = c.customs_transactions, c.customs_history
        a = self.answers
        self.observe, self.unavailable, self.apply_response, self.answered = (
            a.observe,
            a.unavailable,
            a.apply_response,
            a.answered,
        )
        self.claim_received = self.chain.claim_received
        e = self.events
        self.events_for, self.subscribe = e.events_for, e.subscribe
        self.subscriptions, self.unsubscribe = e.subscriptions, e.unsubscribe

    @property
    def observers(self) -> list[Callable[[str, str, str, float | None], None]]:
        """Told of every customs outcome: (territory, transaction kind, outcome, seconds since submission)."""
        return self.answers.observers

    @property
    def destinations(self) -> DestinationPolicy:
        return self.events.destinations

    @destinations.setter
    def destinations(self, policy: DestinationPolicy) -> None:
        self.events.destinations = policy

    @property
    def outbox(self) -> RelayStore:
        return self.submissions.outbox

    @property
    def wake(self) -> Callable[[], None]:
        return self.submissions.wake
