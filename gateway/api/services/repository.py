"""The carnets the service reads and writes: ownership, versioned writes, one transaction replaced.

Every operation checks the caller's role and ownership first (each party sees only its own carnets),
then the Convention's rules, and writes the carnet's document as one versioned row.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import Code, Refusal, refuse
from gateway.model import CarnetDocument, Transaction, replace_transaction
from gateway.store import Conflict, Database, NotFound
from gateway.store.db import CarnetRow, Party

__all__ = [
    "AUDITOR",
    "CHAIN",
    "CUSTOMS",
    "EVENT_METADATA",
    "HOLDER",
    "ISSUER",
    "OPERATOR",
    "REPRESENTATIVE",
    "Carnets",
    "denied",
    "find_transaction",
    "replace_transaction",
]

ISSUER, HOLDER, REPRESENTATIVE, CUSTOMS, CHAIN, OPERATOR, AUDITOR = (
    "issuer",
    "holder",
    "representative",
    "customs",
    "chain",
    "operator",  # runs the gateway: health, metrics, message metadata; never carnet contents
    "auditor",  # reads every carnet document and event, changes nothing (granted separately)
)
# What an operator sees of an event: what happened to which message, never what it said
EVENT_METADATA = ("id", "carnet_id", "transaction_id", "territory", "kind", "at")


def denied(what: str) -> Refusal:
    return refuse(Code.NOT_AUTHORISED, "", f"you are not allowed to {what}")


def find_transaction(doc: CarnetDocument, transaction_id: str) -> tuple[int, Transaction]:
    """The transaction's index and the transaction; 'not found' (301) when the carnet has none such."""
    for i, t in enumerate(doc.transactions):
        if t.transaction_id == transaction_id:
            return i, t
    raise refuse(Code.CARNET_NOT_FOUND, "/transaction_id", f"no transaction {transaction_id}")


class Carnets:
    """The carnet rows of the store, as the roles' services use them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def row(self, carnet_id: str) -> CarnetRow:
        try:
            return self.db.carnet(carnet_id)
        except NotFound:
            raise refuse(Code.CARNET_NOT_FOUND, "/carnet_id", f"no carnet {carnet_id}") from None

    def owned(self, party: Party, carnet_id: str, *roles: str) -> CarnetRow:
        """The carnet row if ``party`` may act on it in one of ``roles``; otherwise 'not found'.

        Not-owned looks like not-found, so carnet numbers cannot be probed.
        """
        if party.role not in roles:
            raise denied(f"do this as {party.role}")
        row = self.row(carnet_id)
        if party.role == ISSUER and row.issuer_id == party.id:
            return row
        if party.role == HOLDER and row.holder_id == party.id:
            return row
        if party.role == AUDITOR:
            return row
        raise refuse(Code.CARNET_NOT_FOUND, "/carnet_id", f"no carnet {carnet_id}")

    def carnet(self, party: Party, carnet_id: str) -> tuple[CarnetDocument, int]:
        """The document and its version, for its issuer, its holder or an auditor."""
        row = self.owned(party, carnet_id, ISSUER, HOLDER, AUDITOR)
        return row.doc, row.version

    def write(
        self, row: CarnetRow, doc: CarnetDocument, event: str, detail: dict[str, Any], **kw: Any
    ) -> CarnetDocument:
        """``doc`` saved over ``row``'s version with its event, in one database transaction."""
        with self.db.begin() as c:
            try:
                self.db.save(doc, row.version, conn=c)
            except Conflict:
                raise refuse(
                    Code.DUPLICATE, "/", "the carnet changed meanwhile; reload and try again"
                ) from None
            self.db.add_event(doc.carnet.carnet_id, event, detail, conn=c, **kw)
        return doc

    def set_carnet(self, row: CarnetRow, event: str, **changes: Any) -> CarnetDocument:
        carnet = row.doc.carnet.model_copy(update=changes)
        return self.write(
            row, row.doc.model_copy(update={"carnet": carnet}), event, {k: str(v) for k, v in changes.items()}
        )
