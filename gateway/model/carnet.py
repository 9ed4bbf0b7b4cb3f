"""The carnet itself (Convention Annex A, Appendix I): front cover, general list, signature, amendments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from functools import cached_property
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from gateway.model.common import (
    Annex,
    Association,
    CarnetId,
    CountryCode,
    CurrencyCode,
    Money,
    Party,
    Quantity,
    ShortText,
    StrictModel,
    Text,
)


class CarnetStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    ACTIVATED = "activated"
    CLOSED = "closed"
    REPLACED = "replaced"


class RepresentativeBasis(StrEnum):
    BOX_B = "box_b"  # named on the front cover
    POWER_OF_ATTORNEY = "power_of_attorney"


class Representative(Party):
    basis: RepresentativeBasis


class MeasureUnit(StrEnum):
    KG = "kg"
    G = "g"
    T = "t"
    L = "l"
    M3 = "m3"


class Measure(StrictModel):
    value: Quantity
    unit: MeasureUnit


class GoodsItem(StrictModel):
    """One line of the general list (columns 1-7)."""

    item_number: Annotated[int, Field(ge=1, le=99999)]
    description: Text
    marks_and_numbers: Annotated[str, StringConstraints(max_length=256)] | None = None
    pieces: Annotated[int, Field(ge=1)]
    weight_or_volume: Measure | None = None
    value: Money
    origin: CountryCode | None = Field(
        default=None, description="Column 6: only when it differs from the issuing country"
    )


class Totals(StrictModel):
    pieces: Annotated[int, Field(ge=1)]
    value: Money


class Signature(StrictModel):
    """The holder's (or representative's) signature confirming the general list (eATA practice)."""

    signer: ShortText
    signed_at: datetime


class PatchOp(StrEnum):
    ADD = "add"
    REPLACE = "replace"
    REMOVE = "remove"


class Change(StrictModel):
    op: PatchOp
    path: Annotated[str, StringConstraints(pattern=r"^(/[^/]*)+$")]
    value: str | int | None = None


class Amendment(StrictModel):
    """A change the issuing association made after issue (Annex A Art. 5.2; eATA: within 30 days)."""

    amended_on: date
    reason: Text
    consent_by: ShortText
    changes: tuple[Change, ...] = Field(min_length=1)


class UseCategory(StrEnum):
    """The annex category a carnet is issued under (box C); the part before the dot is the annex."""

    B1_DISPLAY = "B1.display"  # goods displayed or demonstrated at an event (Annex B1 Art. 2.1a)
    B1_EVENT_USE = "B1.event_use"  # goods used to display foreign products at an event (Art. 2.1b)
    B1_MEETING = "B1.meeting"  # equipment for meetings, conferences, congresses (Art. 2.1c)
    B2_PRESS = "B2.press"  # press, sound or television broadcasting equipment (Annex B2 Appendix I)
    B2_CINEMA = "B2.cinematographic"  # cinematographic equipment (Appendix II)
    B2_OTHER = "B2.other"  # other professional equipment (Appendix III)
    B2_SERVICING = "B2.servicing"  # to install, test, maintain or repair machines (Appendix III.1)
    B2_SPARE_PARTS = "B2.spare_parts"  # parts to repair professional equipment admitted (Annex B2 Art. 2.2)
    B3_SAMPLES = "B3.samples"
    B5_SCIENTIFIC = "B5.scientific"
    B5_EDUCATIONAL = "B5.educational"
    B6_PERSONAL = "B6.personal_effects"
    B6_SPORTS = "B6.sports"
    B7_PUBLICITY = "B7.tourist_publicity"
    B9_HUMANITARIAN = "B9.humanitarian"

    @property
    def annex(self) -> str:
        return self.value.split(".", 1)[0]


class Activity(StrEnum):
    """What the goods will be used for, or what will be done to them, abroad."""

    DISPLAY = "display"
    DEMONSTRATION = "demonstration"
    PROFESSIONAL_USE = "professional_use"
    SERVICING = "servicing"  # installing, testing, maintaining machines with the goods
    REPAIR = "repair"
    PROCESSING = "processing"
    MANUFACTURE = "manufacture"


class IntendedUse(StrictModel):
    """Box C as data: the annex category the carnet is issued under, what the goods are for, and words."""

    category: UseCategory
    activities: tuple[Activity, ...] = ()
    description: Text | None = None


class Carnet(StrictModel):
    carnet_id: CarnetId
    status: CarnetStatus
    issuing_association: Association
    guarantee_chain: ShortText = "WCF/ICC ATA chain"
    guaranteeing_associations: tuple[Association, ...] = Field(
        min_length=1, description="One per country of use (Annex A Art. 6)"
    )
    holder: Party
    representatives: tuple[Representative, ...] = ()
    intended_use: Text
    use: IntendedUse | None = Field(
        default=None, description="Box C structured: annex category and activities (Annex A Art. 2.4)"
    )
    annex: Annex
    issue_date: date
    valid_until: date = Field(description="Inclusive (box c)")
    countries_of_use: tuple[CountryCode, ...] = Field(min_length=1, description="Box P")
    currency: CurrencyCode = Field(description="Currency of the general list's values (column 5)")
    general_list: tuple[GoodsItem, ...] = Field(min_length=1)
    totals: Totals
    continuation_sheets: Annotated[int, Field(ge=0)] = 0
    signature: Signature | None = None
    amendments: tuple[Amendment, ...] = ()
    replaces: CarnetId | None = Field(default=None, description="Carnet this one replaces (Annex A Art. 14)")
    replaced_by: CarnetId | None = Field(
        default=None,
        description="The replacement carnet: accepting it, customs discharge this one for the goods it carries "
        "over (Annex A Art. 14.1)",
    )

    @model_validator(mode="after")
    def _unique_item_numbers(self) -> Carnet:
        seen: set[int] = set()
        for item in self.general_list:
            if item.item_number in seen:
                raise ValueError(f"item number {item.item_number} appears twice in the general list")
            seen.add(item.item_number)
        return self

    def item(self, number: int) -> GoodsItem | None:
        return self.items_by_number.get(number)

    @cached_property
    def items_by_number(self) -> dict[int, GoodsItem]:
        return {i.item_number: i for i in self.general_list}

    @property
    def issuing_country(self) -> str:
        return self.issuing_association.country
