"""What one paper voucher is about: the transaction, its declared items and the vouchers it refers back to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway import offices
from gateway.errors import Code, Refusal, refuse
from gateway.items import parse_items
from gateway.model import (
    VOUCHER_COLOUR,
    CarnetDocument,
    GoodsItem,
    Transaction,
    TransactionKind,
    TransactionState,
    Transit,
    TransportMode,
)

K = TransactionKind


class VoucherKind(StrEnum):
    """The five paper vouchers of Annex A, Appendix I."""

    EXPORTATION = "exportation"
    RE_IMPORTATION = "re-importation"
    IMPORTATION = "importation"
    RE_EXPORTATION = "re-exportation"
    TRANSIT = "transit"


# eATA's finer kinds map onto the paper voucher a customs officer would stamp.
VOUCHER_OF: dict[TransactionKind, VoucherKind] = {
    K.EXPORTATION: VoucherKind.EXPORTATION,
    K.PRE_EXPORTATION: VoucherKind.EXPORTATION,
    K.EXIT: VoucherKind.EXPORTATION,
    K.RE_IMPORTATION: VoucherKind.RE_IMPORTATION,
    K.IMPORTATION: VoucherKind.IMPORTATION,
    K.RE_EXPORTATION: VoucherKind.RE_EXPORTATION,
    K.PRE_RE_EXPORTATION: VoucherKind.RE_EXPORTATION,  # EU two-step re-export: the white voucher
    K.RE_EXPORTATION_EXIT: VoucherKind.RE_EXPORTATION,
    K.TRANSIT_START: VoucherKind.TRANSIT,
    K.TRANSIT_DISCHARGE: VoucherKind.TRANSIT,
}

_SPENT = (TransactionState.REJECTED, TransactionState.CANCELLED)  # these never moved goods


@dataclass(frozen=True, slots=True)
class VoucherContext:
    doc: CarnetDocument
    index: int
    tx: Transaction
    voucher: VoucherKind
    colour: str
    items: tuple[GoodsItem, ...]

    @property
    def numbers(self) -> tuple[int, ...]:
        return tuple(i.item_number for i in self.items)

    def earlier(self, *kinds: TransactionKind) -> list[Transaction]:
        """Earlier transactions of these kinds that moved goods and share an item with this one."""
        mine = set(self.numbers)
        found = []
        for t in self.doc.transactions[: self.index]:
            if t.kind in kinds and t.state not in _SPENT and mine & set(numbers_of(self.doc, t)):
                found.append(t)
        return found

    def transit(self) -> Transit | None:
        """Transit particulars; a discharge takes them from the transit start it ends."""
        if self.tx.transit is not None:
            return self.tx.transit
        starts = [t for t in self.earlier(K.TRANSIT_START) if t.transit is not None]
        for t in reversed(starts):
            if t.transit and t.transit.office_of_destination == self.tx.office:
                return t.transit
        return starts[-1].transit if starts else None

    def transport(self) -> TransportMode | None:
        travel = next((t for t in self.doc.travels if t.travel_id == self.tx.travel_id), None)
        return travel.transport_mode if travel else None


def numbers_of(doc: CarnetDocument, t: Transaction) -> tuple[int, ...]:
    try:
        return parse_items(t.items, doc.carnet.items_by_number.keys())
    except Refusal:  # a broken earlier range only loses a cross-reference, never the voucher
        return ()


def office_label(ref: str) -> str:
    known = offices.offices().get(ref)
    return f"{ref} ({known.name})" if known else ref


def voucher_reference(t: Transaction) -> str:
    ref = f" (customs ref. {t.endorsement.reference})" if t.endorsement else ""
    return f"{t.transaction_id}{ref}"


def context_for(doc: CarnetDocument, index: int) -> VoucherContext:
    """Resolve transaction ``index`` (0-based, as in ``/transactions/N``) or refuse with a reason."""
    count = len(doc.transactions)
    if not 0 <= index < count:
        span = f"0-{count - 1}" if count else "none"
        raise refuse(
            Code.BAD_VALUE,
            f"/transactions/{index}",
            f"there is no transaction {index}: the document has {count} (indexes {span})",
        )
    tx = doc.transactions[index]
    voucher = VOUCHER_OF.get(tx.kind)
    if voucher is None or tx.kind not in VOUCHER_COLOUR:
        raise refuse(
            Code.BAD_VALUE,
            f"/transactions/{index}/kind",
            f"{tx.kind.value} transactions have no paper voucher (Annex A, Appendix I has five: "
            "exportation, re-importation, importation, re-exportation, transit)",
        )
    carnet = doc.carnet
    numbers = parse_items(tx.items, carnet.items_by_number.keys(), at=f"/transactions/{index}/items")
    items = tuple(carnet.items_by_number[n] for n in numbers)
    return VoucherContext(doc, index, tx, voucher, VOUCHER_COLOUR[tx.kind], items)
