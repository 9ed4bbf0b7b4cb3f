"""Customs' answer to a declaration: an endorsement (commit) or a rejection."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from gateway.messages.declaration import MessageId
from gateway.model import Endorsement, Rejection, TransactionKind
from gateway.model.common import CarnetId, StrictModel


class Response(StrictModel):
    """Real answers name only national references (LRN, MRN), never the carnet or the eATA transaction:
    the gateway finds those from what it sent (``gateway.correlation``) and fills them when it knows them."""

    message_id: MessageId
    in_reply_to: MessageId = Field(description="The message ID (LRN) of the declaration answered")
    carnet_id: CarnetId | None = None
    transaction_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,35}$")] | None = None
    movement_reference: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,35}$")] | None = Field(
        default=None, description="The transit movement (MRN) the answer names (NCTS IE056 of an IE007)"
    )
    kind: TransactionKind = Field(description="Kind of the declaration answered")
    endorsement: Endorsement | None = None
    rejection: Rejection | None = None

    @model_validator(mode="after")
    def _exactly_one_answer(self) -> Response:
        if (self.endorsement is None) == (self.rejection is None):
            raise ValueError("a response carries either an endorsement or a rejection")
        return self

    @property
    def territory(self) -> str:
        answer = self.endorsement or self.rejection
        assert answer is not None  # _exactly_one_answer holds one of them
        return answer.office[:2]

    @property
    def committed(self) -> bool:
        return self.endorsement is not None
