"""Shared building blocks of the eATA v1 model: strict base, checked codes, money, parties."""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Final

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

SCHEMA_VERSION: Final = "eata/v1"


class StrictModel(BaseModel):
    """Strict: unknown fields refused, no silent type coercion, immutable once validated."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)


# Customs-only country codes of the EU geonomenclature that official customs code lists use beside
# ISO 3166 (NCTS CL008 / CL199, CDS DE 5/8): XI Northern Ireland (UK customs territory under the Windsor
# Framework, e.g. office XI000081 in HMRC's NCTS samples), XC Ceuta, XL Melilla, XK Kosovo, XS Serbia.
CUSTOMS_ONLY_COUNTRIES = frozenset({"XI", "XC", "XL", "XK", "XS"})


def _country(code: str) -> str:
    if code == "EU" or code in CUSTOMS_ONLY_COUNTRIES or pycountry.countries.get(alpha_2=code) is not None:
        return code
    raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")


def _currency(code: str) -> str:
    if pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


_OFFICE = re.compile(r"^[A-Z]{2}[A-Z0-9]{6}$")


def _office(ref: str) -> str:
    if not _OFFICE.match(ref):
        raise ValueError(
            f"{ref!r} is not a customs office reference number (2-letter country + 6 characters)"
        )
    _country(ref[:2])
    return ref


CountryCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    AfterValidator(_country),
    Field(description="ISO 3166-1 alpha-2 code; EU stands for the Union as one customs territory"),
]
CurrencyCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{3}$"), AfterValidator(_currency), Field(description="ISO 4217")
]
OfficeRef = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}[A-Z0-9]{6}$"),
    AfterValidator(_office),
    Field(description="Customs office reference number: 2-letter country code + 6 characters, e.g. GB000060"),
]
CarnetId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}[A-Z0-9/-]{3,30}$"),
    Field(description="Carnet number (box a), starting with the issuing country code, e.g. NO/2026/000123"),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=512, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=70, strip_whitespace=True)]


def _decimal_schema(integer_digits: int, decimals: int, *, positive: bool) -> WithJsonSchema:
    """Our own JSON Schema for amounts: pydantic's rendering of constrained decimals changes between
    releases, and the published schema must not."""
    number: dict[str, object] = {"type": "number", ("exclusiveMinimum" if positive else "minimum"): 0}
    text = {"type": "string", "pattern": rf"^\d{{1,{integer_digits}}}(\.\d{{1,{decimals}}})?$"}
    return WithJsonSchema({"anyOf": [number, text]})


Money = Annotated[
    Decimal, Field(ge=0, max_digits=16, decimal_places=2), _decimal_schema(14, 2, positive=False)
]
Quantity = Annotated[
    Decimal, Field(gt=0, max_digits=16, decimal_places=3), _decimal_schema(13, 3, positive=True)
]
Code8 = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{6,12}$")]


class Annex(StrEnum):
    """The Istanbul Convention annex a carnet relies on (box C, intended use)."""

    B1 = "B1"  # exhibitions, fairs, meetings
    B2 = "B2"  # professional equipment
    B3 = "B3"  # containers, pallets, packings, samples (commercial samples)
    B5 = "B5"  # educational, scientific or cultural purposes
    B6 = "B6"  # travellers' personal effects and sports goods
    B7 = "B7"  # tourist publicity material
    B9 = "B9"  # humanitarian purposes


class TransportMode(StrEnum):
    """UN/CEFACT Recommendation 19 modes of transport."""

    NOT_SPECIFIED = "0"
    SEA = "1"
    RAIL = "2"
    ROAD = "3"
    AIR = "4"
    MAIL = "5"
    MULTIMODAL = "6"
    FIXED_INSTALLATION = "7"
    INLAND_WATER = "8"
    NOT_APPLICABLE = "9"


class Address(StrictModel):
    street: Text
    city: ShortText
    postcode: Annotated[str, StringConstraints(max_length=17)] | None = None
    country: CountryCode


class IdentifierScheme(StrEnum):
    EORI = "EORI"
    VAT = "VAT"
    ORG = "ORG"  # national organisation number


class Identifier(StrictModel):
    scheme: IdentifierScheme
    value: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{4,35}$")]


class Party(StrictModel):
    name: Text
    address: Address
    identifiers: tuple[Identifier, ...] = ()


class Association(StrictModel):
    """An issuing or guaranteeing association (a chamber of commerce in the ATA chain)."""

    name: Text
    country: CountryCode
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9-]{2,20}$")] | None = None
