"""Proof that claimed goods left, assembled from the gateway's own record of endorsements (Art. 10).

Preferred: the re-exportation endorsement from the claiming territory (Art. 10.1). Otherwise a later
importation or re-importation endorsed in another territory (Art. 10.2), where customs may charge a
regularisation fee (Art. 11). Goods that entered the claiming territory in transit (the carnet accepted for
transit on the same conditions, Annex A Art. 2.3) are proven out by the discharge there, or else by the
same later importation or re-importation elsewhere. For goods carried over to a replacement carnet, the replacement itself: the
customs accepting it discharge the old carnet (Art. 14.1).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.items import parse_items
from gateway.model import CarnetDocument, Claim, TransactionKind, TransactionState
from gateway.territories import customs_territory

K = TransactionKind


@dataclass(frozen=True, slots=True)
class Evidence:
    item: int
    transaction_id: str
    kind: TransactionKind | str  # "replacement" for Art. 14.1
    office: str
    reference: str
    article: str


@dataclass(frozen=True, slots=True)
class Proof:
    claim_id: str
    evidence: tuple[Evidence, ...]
    complete: bool
    missing: tuple[int, ...]

    @property
    def regularisation_fee_applies(self) -> bool:
        return any(e.article == "Annex A Art. 10.2" for e in self.evidence)


def assemble_proof(doc: CarnetDocument, claim: Claim) -> Proof:
    items = parse_items(claim.items, doc.carnet.items_by_number.keys())
    claimed = customs_territory(claim.territory)
    committed = [
        (t, t.endorsement)
        for t in doc.transactions
        if t.state == TransactionState.COMMITTED and t.endorsement is not None
    ]
    evidence: list[Evidence] = []
    missing: list[int] = []
    for item in items:
        found = None
        imported = False
        for t, e in committed:
            if item not in parse_items(t.items, doc.carnet.items_by_number.keys()):
                continue
            here = customs_territory(t.territory)
            if t.kind in (K.IMPORTATION, K.TRANSIT_START) and here == claimed:
                imported, found = True, None  # a newer admission (or transit) needs newer proof
            elif imported and t.kind == K.TRANSIT_DISCHARGE and here == claimed:
                found = Evidence(item, t.transaction_id, t.kind, t.office, e.reference, "Annex A Art. 2.3")
            elif imported and t.kind in (K.RE_EXPORTATION, K.RE_EXPORTATION_EXIT) and here == claimed:
                found = Evidence(item, t.transaction_id, t.kind, t.office, e.reference, "Annex A Art. 10.1")
            elif (
                imported and found is None and here != claimed and t.kind in (K.IMPORTATION, K.RE_IMPORTATION)
            ):
                found = Evidence(item, t.transaction_id, t.kind, t.office, e.reference, "Annex A Art. 10.2")
        if found is None and imported:
            found = _replacement(doc, item, claimed)
        if found:
            evidence.append(found)
        else:
            missing.append(item)
    return Proof(claim.claim_id, tuple(evidence), not missing, tuple(missing))


def _replacement(doc: CarnetDocument, item: int, claimed: str) -> Evidence | None:
    """Art. 14.1: the item was carried over from the claiming territory to the replacement carnet."""
    from gateway.errors import Refusal
    from gateway.rules import Where, judge

    successor = doc.carnet.replaced_by
    if successor is None:
        return None
    try:
        pos = judge(doc).positions.get(item)
    except Refusal:
        return None
    if pos is None or pos.where != Where.REPLACED or pos.territory != claimed:
        return None
    return Evidence(item, successor, "replacement", pos.country or "", successor, "Annex A Art. 14.1")
