"""Answers matched to what the gateway sent by the national references real answers carry.

A real customs answer names no carnet and no eATA transaction: a CDS notification names the LRN it
answers (``Declaration/FunctionalReferenceID``), an NCTS IE028/IE029/IE056 the LRN of the IE015, an IE025
or the IE056 of an arrival only the movement (MRN). Decoding hands what the document says so far (the
*partial* answer) to a context function; the functions here find the declaration it answers from those
references alone, or nothing: an answer naming a reference that matches nothing sent is refused (314) by
its mapping, never attached to another transaction.

- :func:`named`: the LRN and MRN a partial answer names.
- :func:`matching`: the context for an answer to one known declaration (the relay's synchronous answer,
  the conformance runner): the declaration, only when the answer names its LRN or its movement.
- ``Service.answered`` (gateway/api/service.py): the same over everything the gateway sent and received
  (the ``references`` table), for the worker's result consumer and the callback alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.messages import Declaration

LRN, MRN = "LRN", "MRN"
SENT, RECEIVED = "sent", "received"


def named(partial: dict[str, Any]) -> tuple[str | None, str | None]:
    """(LRN, MRN) the answer names. The LRN is the message ID it answers (``in_reply_to``: CDS DE 2/5,
    NCTS TransitOperation/LRN or correlationIdentifier); the MRN its movement: ``movement_reference``, or
    for a release at destination (IE025) the MRN it releases (the endorsement's reference)."""
    lrn = partial.get("in_reply_to") or None
    mrn = partial.get("movement_reference") or None
    if mrn is None and partial.get("kind") == "transit_discharge":
        answer = partial.get("endorsement")
        if isinstance(answer, dict):
            mrn = answer.get("reference") or None
    return (str(lrn) if lrn else None), (str(mrn) if mrn else None)


def fits(partial: dict[str, Any], kind: str) -> bool:
    """An answer naming its kind (NCTS messageType, businessRejectionType) answers only that kind."""
    named_kind = partial.get("kind")
    return not named_kind or named_kind == kind


def matching(declaration: Declaration) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """Context for an answer to ``declaration``: given when the answer names its LRN, or (naming no LRN)
    the movement it was sent for; otherwise none, and the answer is refused as unknown (314)."""

    def find(partial: dict[str, Any]) -> dict[str, Any] | None:
        if not fits(partial, declaration.kind.value):
            return None
        lrn, mrn = named(partial)
        if lrn is not None:
            hit = lrn == declaration.message_id
        else:
            hit = mrn is not None and mrn == declaration.movement_reference
        return declaration.model_dump(mode="json", exclude_none=True) if hit else None

    return find
