"""Request and response bodies of the REST API (pydantic, strict, with OpenAPI examples)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from gateway.model import Carnet, TransactionKind, Transit
from gateway.model.common import OfficeRef, ShortText, StrictModel, Text

Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class CreateCarnet(StrictModel):
    carnet: Carnet
    pin: Pin = Field(
        description="The 6-digit carnet PIN the holder downloads it with; stored only as a slow hash"
    )


class Replace(StrictModel):
    carnet: Carnet
    pin: Pin


class Download(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"pin": "482913"}]})
    pin: Pin


class SignCarnet(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"signer": "Ingrid Berg"}]})
    signer: ShortText


class PrepareTransaction(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "importation",
                    "territory": "CH",
                    "office": "CH001801",
                    "date": "2026-10-07",
                    "items": "1-4",
                    "travel_id": "travel-ch",
                    "intended_place_of_use": "Lauterbrunnen",
                }
            ]
        }
    )
    kind: TransactionKind
    territory: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    office: OfficeRef
    date: date
    items: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    travel_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")] | None = None
    declared_by: ShortText | None = None
    intended_place_of_use: Text | None = None
    transit: Transit | None = None
    not_processed_abroad: bool | None = None


class Cancel(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "K7QX2M9P", "reason": "wrong items declared"}]}
    )
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{6,12}$")]
    reason: Text


class Share(StrictModel):
    transactions: tuple[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")], ...] = Field(
        min_length=1
    )
    ttl_s: Annotated[int, Field(ge=60, le=30 * 86400)] = 7 * 86400


class Tracking(StrictModel):
    tracking_id: str
    status: str = "submitted"


class ShareLink(StrictModel):
    link: str
    expires: str


class DryRunTranslate(StrictModel):
    document: dict[str, Any] = Field(description="An eATA v1 carnet document")
    index: Annotated[int, Field(ge=0)]


class Subscribe(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"url": "https://erp.example.no/eata/events", "events": ["committed", "rejected"]}]
        }
    )
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]{1,1990}$")]
    events: tuple[Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")], ...] = Field(
        min_length=1, max_length=10
    )


class Webhook(StrictModel):
    id: str
    url: str
    events: list[str]
    secret: str = Field(
        description="The Standard Webhooks secret (whsec_…) that webhook-signature is made with; shown only once"
    )
