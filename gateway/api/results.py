"""Customs' answers reaching the gateway: result events from relay workers, and pushed notifications.

Either way the signed national document is verified against the territory's trust anchors, read into a
:class:`~gateway.messages.Response`, and recorded on the carnet. Result-event bodies are JSON:

- ``{"outcome": "answer", "document": <base64 signed XML>}`` — a synchronous customs decision
- ``{"outcome": "acknowledged", "ack_id": ...}`` — accepted; the decision comes later as a notification
- ``{"outcome": "unavailable", "code": 503, "reason": ...}`` — customs could not be reached in time:
  the grace policy decides between paper fallback and hold
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime

from gateway.adapters import registry
from gateway.adapters.delivery import read_answer
from gateway.api.service import Service
from gateway.errors import Code, Refusal, refuse
from gateway.grace import Mode, decide_leg
from gateway.messages import Response
from gateway.model import TransactionKind

log = logging.getLogger("eata.results")


class Inbox:
    def __init__(self, service: Service) -> None:
        self.service = service

    def notification(self, territory: str, document: bytes) -> str:
        """A signed customs document (endorsement or rejection) for ``territory``; returns what happened.

        Verified against the territory adapter's trust anchors; only the signed content is read.
        """
        return self.answer(territory, read_answer(registry.get(territory), document, self._answered))

    def _answered(self, partial: dict[str, object]) -> dict[str, object] | None:
        """The declaration an answer replies to, found by the LRN or MRN it names (Service.answered):
        real answers name no carnet or transaction; one naming nothing sent is refused 314."""
        return self.service.answered(partial)

    def answer(self, territory: str, response: Response) -> str:
        return self.service.apply_response(response, territory)

    def result_event(self, territory: str, carnet_id: str, message_id: str, body: bytes) -> str:
        event = json.loads(body)
        outcome = event.get("outcome")
        if outcome == "answer":
            return self.notification(territory, base64.b64decode(event["document"]))
        sub = self.service.db.submission(message_id=message_id) or {}
        transaction_id = sub.get("transaction_id")
        if outcome == "acknowledged":
            self.service.db.add_event(
                carnet_id,
                "acknowledged",
                {"ack_id": event.get("ack_id")},
                transaction_id=transaction_id,
                territory=territory,
            )
            return "acknowledged"
        if outcome == "unavailable":
            return self._unavailable(territory, carnet_id, transaction_id, event, message_id)
        raise refuse(Code.BAD_VALUE, "/outcome", f"unknown result outcome {outcome!r}")

    def _unavailable(
        self,
        territory: str,
        carnet_id: str,
        transaction_id: str | None,
        event: dict,
        message_id: str | None = None,
    ) -> str:
        """eATA cannot be used now: paper fallback where the grace policy accepts paper, else hold."""
        row = self.service.db.carnet(carnet_id)
        tx = next((t for t in row.doc.transactions if t.transaction_id == transaction_id), None)
        kind_of_tx = tx.kind if tx else TransactionKind.IMPORTATION
        leg = decide_leg(kind_of_tx, territory, datetime.now(UTC).date(), available=lambda _c: False)
        kind = "paper_fallback" if leg.mode == Mode.PAPER_FALLBACK else "held"
        if transaction_id:
            self.service.unavailable(carnet_id, transaction_id, resubmit=kind == "held")
        self.service.db.add_event(
            carnet_id,
            kind,
            {
                "reason": event.get("reason"),
                "rule": leg.decision.rule,
                "source": leg.decision.source,
                "instructions": list(leg.instructions),
                "explanation": leg.decision.explain(),
            },
            transaction_id=transaction_id,
            territory=territory,
        )
        self.service.observe(territory, kind_of_tx.value, kind, message_id)
        return kind


def handle_safely(inbox: Inbox, territory: str, carnet_id: str, message_id: str, body: bytes) -> str:
    """Record a refused answer as an event instead of losing it or blocking the queue."""
    try:
        return inbox.result_event(territory, carnet_id, message_id, body)
    except Refusal as r:
        log.warning("answer for %s refused: %s", message_id, r)
        inbox.service.db.add_event(carnet_id, "answer_refused", r.as_dict(), territory=territory)
        inbox.service.observe(territory, "unknown", "answer_refused", message_id)
        return "refused"
