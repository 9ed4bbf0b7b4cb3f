"""The eATA JSON model, version ``eata/v1`` (pydantic v2, strict, unknown fields refused)."""

from gateway.model.carnet import (
    Amendment,
    Carnet,
    CarnetStatus,
    Change,
    GoodsItem,
    Measure,
    Representative,
    Signature,
    Totals,
)
from gateway.model.common import SCHEMA_VERSION, Address, Annex, Association, Identifier, Party, TransportMode
from gateway.model.document import CarnetDocument
from gateway.model.load import load_document, problems_from_validation
from gateway.model.transaction import (
    VOUCHER_COLOUR,
    Cancellation,
    Claim,
    ClaimStatus,
    Endorsement,
    Rejection,
    Transaction,
    TransactionKind,
    TransactionState,
    Transit,
    Travel,
)

__all__ = [
    "SCHEMA_VERSION",
    "VOUCHER_COLOUR",
    "Address",
    "Amendment",
    "Annex",
    "Association",
    "Cancellation",
    "Carnet",
    "CarnetDocument",
    "CarnetStatus",
    "Change",
    "Claim",
    "ClaimStatus",
    "Endorsement",
    "GoodsItem",
    "Identifier",
    "Measure",
    "Party",
    "Rejection",
    "Representative",
    "Signature",
    "Totals",
    "Transaction",
    "TransactionKind",
    "TransactionState",
    "Transit",
    "TransportMode",
    "Travel",
    "load_document",
    "problems_from_validation",
]
