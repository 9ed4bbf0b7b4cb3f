"""The eATA v1 document: a carnet with its travels, transactions and claims, as exchanged in JSON."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.model.carnet import Carnet
from gateway.model.common import SCHEMA_VERSION, StrictModel
from gateway.model.transaction import Claim, Transaction, Travel


class CarnetDocument(StrictModel):
    schema_version: Literal["eata/v1"] = Field(default=SCHEMA_VERSION, alias="schema")
    carnet: Carnet
    travels: tuple[Travel, ...] = ()
    transactions: tuple[Transaction, ...] = ()
    claims: tuple[Claim, ...] = ()
    predecessor: CarnetDocument | None = Field(
        default=None, description="The replaced carnet's document, when this carnet replaces one (Art. 14)"
    )


def replace_transaction(doc: CarnetDocument, index: int, new: Transaction) -> CarnetDocument:
    """``doc`` with its transaction ``index`` replaced by ``new``; the others stay as they are, in order."""
    return doc.model_copy(
        update={"transactions": (*doc.transactions[:index], new, *doc.transactions[index + 1 :])}
    )
