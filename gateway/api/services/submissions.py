"""Handing a transaction to customs: the carnet's new state, the submission and the outbox row at once."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from gateway import correlation
from gateway.api.services.repository import Carnets, find_transaction, replace_transaction
from gateway.errors import Code, refuse
from gateway.messages import declaration_for
from gateway.model import TransactionState
from gateway.relay.envelope import Envelope
from gateway.relay.store import Store as RelayStore
from gateway.relay.topology import OUTBOUND
from gateway.store import Conflict
from gateway.store.db import CarnetRow


class Submissions:
    def __init__(self, carnets: Carnets, outbox: RelayStore, wake: Callable[[], None]) -> None:
        self.carnets = carnets
        self.db = carnets.db
        # Accepted submissions go to the relay's outbox in the same transaction as the carnet's new state,
        # so "accepted" can never be lost; a publisher drains the outbox to RabbitMQ (and on restart).
        self.outbox = outbox
        self.wake = wake

    def enqueue(self, row: CarnetRow, carnet_id: str, transaction_id: str, *, again: bool = False) -> str:
        """Submit (``again``: resubmit) the transaction; returns the tracking ID."""
        i, tx = find_transaction(row.doc, transaction_id)
        allowed = (
            (TransactionState.SUBMITTED,) if again else (TransactionState.PREPARED, TransactionState.REJECTED)
        )
        if tx.state not in allowed:
            raise refuse(Code.DUPLICATE, "/state", f"this transaction is already {tx.state.value}")
        attempt = sum(1 for e in self.db.events(transaction_id=transaction_id) if e["kind"] == "submitted")
        message_id = f"EATA{hashlib.sha256(f'{carnet_id}|{transaction_id}|{attempt}'.encode()).hexdigest()[:18].upper()}"
        tracking = uuid.uuid4().hex
        submitted = tx.model_copy(update={"state": TransactionState.SUBMITTED, "rejection": None})
        doc = replace_transaction(row.doc, i, submitted)
        declaration = declaration_for(doc, i, message_id)  # refuse now what cannot be translated
        envelope = Envelope(
            kind=tx.kind.value,
            territory=tx.territory,
            carnet_id=carnet_id,
            body=declaration.model_dump_json().encode(),
            message_id=message_id,
            correlation_id=tracking,
            content_type="application/json",
        )
        with self.db.begin() as c:
            try:
                self.db.save(doc, row.version, conn=c)
            except Conflict:
                raise refuse(Code.DUPLICATE, "/", "the carnet changed meanwhile; try again") from None
            self.db.add_submission(tracking, message_id, carnet_id, transaction_id, tx.territory, c)
            self._sent_references(declaration, tx.territory, c)
            self.db.add_event(
                carnet_id,
                "submitted",
                {"tracking_id": tracking, "message_id": message_id},
                transaction_id=transaction_id,
                territory=tx.territory,
                conn=c,
            )
            self.outbox.outbox_put(c, envelope, OUTBOUND, envelope.routing_key)
        self.wake()
        return tracking

    def _sent_references(self, declaration: Any, territory: str, conn: Any) -> None:
        """The national references a submission carries: its LRN (our message ID) and, for an arrival
        (IE007), the movement's MRN — what customs' answers will name."""
        sub = {
            "message_id": declaration.message_id,
            "carnet_id": declaration.carnet_id,
            "transaction_id": declaration.transaction_id,
            "territory": territory,
        }
        self.db.add_reference(declaration.message_id, correlation.LRN, correlation.SENT, sub, conn)
        if declaration.movement_reference:
            self.db.add_reference(
                declaration.movement_reference, correlation.MRN, correlation.SENT, sub, conn
            )
