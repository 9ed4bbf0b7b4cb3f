"""A customs declaration: one transaction of a carnet, with the carnet facts customs must see."""

from __future__ import annotations

import datetime as dt
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

from gateway.errors import Code, refuse
from gateway.items import parse_items
from gateway.model import Annex, CarnetDocument, Party, TransactionKind, Transit, TransportMode
from gateway.model.carnet import Measure, MeasureUnit
from gateway.model.common import (
    CarnetId,
    Code8,
    CountryCode,
    CurrencyCode,
    Money,
    OfficeRef,
    ShortText,
    StrictModel,
    Text,
)

# LRN / functional reference: an..35 in WCO DMS (DeclarationFunctionalReferenceIDType) and NCTS
# (messageIdentification, correlationIdentifier); CDS references use '.', '_' and '/' (HMRC samples:
# "U.78473234RN6B", "4.1.0CDSP10284_TC02_18"). The gateway's own IDs stay 22 characters (NCTS LRN an..22).
MessageId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]{1,35}$")]


class Trader(StrictModel):
    """A party as national declarations carry it: one name, one address line, one identifier (EORI)."""

    name: ShortText
    street: ShortText
    city: Annotated[str, StringConstraints(min_length=1, max_length=35, strip_whitespace=True)]
    postcode: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 -]{1,9}$")] | None = None
    country: CountryCode
    id: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,17}$")] | None = None

    @classmethod
    def of(cls, party: Party) -> Trader:
        ident = next((i.value for i in party.identifiers if i.scheme == "EORI"), None) or next(
            (i.value for i in party.identifiers), None
        )
        return cls(
            name=party.name[:70],
            street=party.address.street[:70],
            city=party.address.city[:35],
            postcode=party.address.postcode,
            country=party.address.country,
            id=ident[:17] if ident else None,
        )


class DeclaredItem(StrictModel):
    """A general-list line as declared on a voucher: the same item number as the general list."""

    item_number: Annotated[int, Field(ge=1, le=99999)]
    description: Text
    marks_and_numbers: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    pieces: Annotated[int, Field(ge=1, le=99999999)]
    gross_mass: Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=6)] | None = Field(
        default=None, description="Kilograms; customs declarations carry mass, not volume"
    )
    value: Money
    origin: CountryCode | None = None


class Declaration(StrictModel):
    message_id: MessageId = Field(description="Unique per message (LRN / functional reference)")
    carnet_id: CarnetId
    transaction_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,35}$")]
    transaction_code: Code8
    kind: TransactionKind
    office: OfficeRef
    date: date
    holder: Trader
    representative: Trader | None = None
    issuing_association: ShortText
    issuing_country: CountryCode
    valid_until: dt.date  # `date` here is the field above
    annex: Annex
    intended_use: Text
    currency: CurrencyCode
    transport_mode: TransportMode | None = None
    intended_place_of_use: Text | None = None
    not_processed_abroad: bool | None = None
    transit: Transit | None = None
    movement_reference: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9/-]{1,35}$")] | None = Field(
        default=None, description="Transit discharge: the MRN customs gave the transit at its start"
    )
    items: tuple[DeclaredItem, ...] = Field(min_length=1)

    @property
    def territory(self) -> str:
        """The country whose customs office receives the declaration."""
        return self.office[:2]


_TO_KG = {MeasureUnit.KG: Decimal(1), MeasureUnit.G: Decimal("0.001"), MeasureUnit.T: Decimal(1000)}


def kilograms(measure: Measure | None) -> Decimal | None:
    """Column 4 as customs declare it: mass in kg; a volume has no mass to declare (None)."""
    if measure is None or measure.unit not in _TO_KG:
        return None
    return (measure.value * _TO_KG[measure.unit]).normalize()


def declaration_for(
    doc: CarnetDocument, index: int, message_id: str, transport_mode: TransportMode | None = None
) -> Declaration:
    """Project transaction ``index`` of a carnet document into the declaration customs receive."""
    c = doc.carnet
    try:
        tx = doc.transactions[index]
    except IndexError:
        raise refuse(Code.MISSING, f"/transactions/{index}", "the carnet has no such transaction") from None
    numbers = parse_items(tx.items, c.items_by_number.keys(), at=f"/transactions/{index}/items")
    if transport_mode is None and tx.travel_id:
        travel = next((t for t in doc.travels if t.travel_id == tx.travel_id), None)
        transport_mode = travel.transport_mode if travel else None
    rep = next((r for r in c.representatives), None)
    movement = None
    if tx.kind == TransactionKind.TRANSIT_DISCHARGE:  # the arrival names the movement it ends
        start = next(
            (
                t
                for t in reversed(doc.transactions[:index])
                if t.kind == TransactionKind.TRANSIT_START
                and t.endorsement is not None
                and t.state == "committed"
            ),
            None,
        )
        movement = start.endorsement.reference if start and start.endorsement else None
    return Declaration(
        message_id=message_id,
        carnet_id=c.carnet_id,
        transaction_id=tx.transaction_id,
        transaction_code=tx.transaction_code,
        kind=tx.kind,
        office=tx.office,
        date=tx.date,
        holder=Trader.of(c.holder),
        representative=Trader.of(rep) if rep else None,
        issuing_association=c.issuing_association.name[:70],
        issuing_country=c.issuing_country,
        valid_until=c.valid_until,
        annex=c.annex,
        intended_use=c.intended_use,
        currency=c.currency,
        transport_mode=transport_mode,
        intended_place_of_use=tx.intended_place_of_use,
        not_processed_abroad=tx.not_processed_abroad,
        transit=tx.transit,
        movement_reference=movement,
        items=tuple(
            DeclaredItem(
                item_number=i.item_number,
                description=i.description,
                marks_and_numbers=i.marks_and_numbers or None,
                pieces=i.pieces,
                gross_mass=kilograms(i.weight_or_volume),
                value=i.value,
                origin=i.origin,
            )
            for i in (c.items_by_number[n] for n in numbers)
        ),
    )


def split(declaration: Declaration, max_items: int) -> list[Declaration]:
    """Split a declaration whose items exceed what a national message holds (WCO: 999 goods items).

    Each part keeps the general-list item numbers and gets message ID ``<id>-<n>``.
    """
    items = declaration.items
    if len(items) <= max_items:
        return [declaration]
    parts = [items[i : i + max_items] for i in range(0, len(items), max_items)]
    base = declaration.message_id[: 22 - len(str(len(parts))) - 1]
    return [
        declaration.model_copy(update={"items": part, "message_id": f"{base}-{n}"})
        for n, part in enumerate(parts, start=1)
    ]
