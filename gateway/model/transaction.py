"""Customs transactions (one voucher each) and customs' answers to them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from gateway.model.common import (
    Code8,
    CountryCode,
    CurrencyCode,
    Money,
    OfficeRef,
    ShortText,
    StrictModel,
    Text,
    TransportMode,
)


class TransactionKind(StrEnum):
    ACTIVATION = "activation"
    EXPORTATION = "exportation"
    PRE_EXPORTATION = "pre_exportation"  # EU two-step export, inland office
    EXIT = "exit"  # EU two-step export, border office
    IMPORTATION = "importation"
    RE_EXPORTATION = "re_exportation"
    # EU two-step re-export of a non-EU carnet's goods (Annex A Art. 7 re-export, in the EU's two steps: the
    # re-export declaration at the competent inland office, UCC Art. 270, then exit formalities at the
    # border office of exit, UCC Art. 267; eATA's "Export" then "Exit"):
    PRE_RE_EXPORTATION = "pre_re_exportation"  # declared at an inland office; still under admission
    RE_EXPORTATION_EXIT = "re_exportation_exit"  # confirmed at the EU border office: the goods leave here
    RE_IMPORTATION = "re_importation"
    TRANSIT_START = "transit_start"
    TRANSIT_DISCHARGE = "transit_discharge"
    HOME_USE = "home_use"  # Convention Art. 13
    DESTRUCTION = "destruction"  # Convention Art. 14
    ABANDONMENT = "abandonment"  # Convention Art. 14


VOUCHER_COLOUR: dict[TransactionKind, str] = {
    TransactionKind.EXPORTATION: "yellow",
    TransactionKind.PRE_EXPORTATION: "yellow",
    TransactionKind.EXIT: "yellow",
    TransactionKind.RE_IMPORTATION: "yellow",
    TransactionKind.IMPORTATION: "white",
    TransactionKind.RE_EXPORTATION: "white",
    TransactionKind.PRE_RE_EXPORTATION: "white",
    TransactionKind.RE_EXPORTATION_EXIT: "white",
    TransactionKind.TRANSIT_START: "blue",
    TransactionKind.TRANSIT_DISCHARGE: "blue",
}


class TransactionState(StrEnum):
    PREPARED = "prepared"
    SUBMITTED = "submitted"
    COMMITTED = "committed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


ItemRange = Annotated[
    str,
    StringConstraints(min_length=1, max_length=4096),
    Field(description="Items as holders type them: '1-4', '1-2,4', '7' or 'all'"),
]
Seal = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,20}$")]  # NCTS seal identifier: an..20


class Transit(StrictModel):
    """Transit particulars: set at start (blue voucher), confirmed at discharge."""

    office_of_destination: OfficeRef
    final_date: date
    seals: tuple[Seal, ...] = ()


class Endorsement(StrictModel):
    """Customs' commit of a transaction (box H): replaces the stamp."""

    office: OfficeRef
    place: ShortText | None = None  # NCTS release messages carry no place
    at: datetime
    reference: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9/-]{1,35}$")]
    final_date: date | None = Field(
        default=None,
        description="Final date for re-exportation (importation) or re-importation (exportation)",
    )
    seals: tuple[Seal, ...] = ()
    seals_intact: bool | None = Field(default=None, description="At transit discharge")
    remarks: Annotated[str, StringConstraints(max_length=512)] | None = None
    officer: ShortText | None = None  # not every national answer names the officer


class Rejection(StrictModel):
    """Customs' refusal: visible only to that territory's customs; does not use up the voucher."""

    office: OfficeRef
    at: datetime
    code: Annotated[int, Field(ge=100, le=599)]
    reason: Text
    officer: ShortText | None = None


class Cancellation(StrictModel):
    """A committed transaction rolled back by mutual consent (holder's code + officer's reason)."""

    code: Code8
    reason: Text
    at: datetime
    officer: ShortText


class Transaction(StrictModel):
    transaction_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    kind: TransactionKind
    territory: CountryCode = Field(description="Country of the customs office")
    office: OfficeRef
    date: date
    items: ItemRange
    travel_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")] | None = None
    transaction_code: Code8 = Field(description="What the QR code carries, with the carnet ID")
    cancellation_code: Code8 | None = None
    state: TransactionState = TransactionState.PREPARED
    declared_by: ShortText | None = None
    intended_place_of_use: Text | None = None
    transit: Transit | None = None
    not_processed_abroad: bool | None = Field(
        default=None, description="Re-importation: holder declares the goods were not processed abroad"
    )
    remarks: Annotated[str, StringConstraints(max_length=512)] | None = None
    endorsement: Endorsement | None = None
    rejection: Rejection | None = None
    rejections: tuple[Rejection, ...] = Field(
        default=(),
        description="Every rejection of this voucher, oldest first, kept through later submissions and the "
        "commit: visible to the rejecting territory's customs",
    )
    cancellation: Cancellation | None = None

    @model_validator(mode="after")
    def _answer_matches_state(self) -> Transaction:
        need = {
            TransactionState.COMMITTED: ("endorsement", self.endorsement),
            TransactionState.REJECTED: ("rejection", self.rejection),
            TransactionState.CANCELLED: ("cancellation", self.cancellation),
        }.get(self.state)
        if need and need[1] is None:
            raise ValueError(f"a {self.state.value} transaction needs its {need[0]}")
        if self.office[:2] != self.territory:
            raise ValueError(f"office {self.office} is not in territory {self.territory}")
        return self


class Travel(StrictModel):
    """A travel prepared in the app before reaching customs (seed 000)."""

    travel_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    nickname: ShortText
    destination: CountryCode
    transits: tuple[CountryCode, ...] = ()
    transport_mode: TransportMode
    declared_items: ItemRange
    status: Annotated[str, StringConstraints(pattern=r"^(draft|ready|travelling|completed)$")] = "draft"
    version: Annotated[int, Field(ge=1)] = 1


class ClaimStatus(StrEnum):
    NOTIFIED = "notified"
    PROOF_FURNISHED = "proof_furnished"
    DEPOSIT_PAID = "deposit_paid"
    FINAL = "final"
    BARRED = "barred"
    WITHDRAWN = "withdrawn"


class Claim(StrictModel):
    """A customs claim against the guaranteeing association (Annex A Art. 8-11)."""

    claim_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    territory: CountryCode
    carnet_id: str
    items: ItemRange
    duties: Money
    currency: CurrencyCode
    notified_on: date
    amount: Money | None = Field(
        default=None,
        description="Sum claimed; the association is liable for at most 110 % of the duties (Art. 8.2)",
    )
    capped_at: Money | None = Field(
        default=None,
        description="Recorded when the sum claimed exceeds 110 % of the duties: the liability (Annex A Art. 8.2)",
    )
    status: ClaimStatus = ClaimStatus.NOTIFIED
    reason: Text | None = None
    deposit_paid_on: date | None = Field(
        default=None, description="Deposit or provisional payment (Art. 9.1b)"
    )
    proof_furnished_on: date | None = None
    regularisation_fee: Money | None = Field(
        default=None, description="Charged where proof is by Art. 10.2 (Art. 11)"
    )
