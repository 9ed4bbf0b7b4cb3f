"""Guarantee-chain messages: what issuing associations, guaranteeing associations and the chain exchange.

Carnet life-cycle notices (issued, amended, returned, replaced, closed), claims and their proof, and
acknowledgements. XML in our own versioned schema (``xsd/chain/chain-message-1.xsd``), signed like every
other message, carrying the eATA JSON of the carnet or claim as its payload. Pure: no I/O.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from lxml import etree

from gateway.errors import Code, refuse
from gateway.translate import schemas

NS = "urn:eata:chain:1"
XSD = "chain/chain-message-1.xsd"


class ChainKind(StrEnum):
    CARNET_ISSUED = "carnet_issued"
    CARNET_AMENDED = "carnet_amended"
    CARNET_RETURNED = "carnet_returned"
    CARNET_REPLACED = "carnet_replaced"
    CARNET_CLOSED = "carnet_closed"
    CLAIM_NOTIFIED = "claim_notified"
    CLAIM_PROOF = "claim_proof"
    ACK = "ack"


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def build(
    kind: ChainKind,
    carnet_id: str,
    sender: str,
    to: str,
    payload: dict[str, Any],
    *,
    in_reply_to: str | None = None,
    message_id: str | None = None,
    at: datetime | None = None,
) -> etree._Element:
    # lxml takes None as the default namespace's prefix; lxml-stubs type the keys as str only
    root = etree.Element(_q("ChainMessage"), nsmap={None: NS})  # type: ignore[dict-item]
    fields = [
        ("MessageID", message_id or uuid.uuid4().hex),
        ("Kind", kind.value),
        ("CarnetID", carnet_id),
        ("From", sender),
        ("To", to),
        ("IssuedAt", (at or datetime.now(UTC)).replace(microsecond=0).isoformat().replace("+00:00", "Z")),
    ]
    if in_reply_to:
        fields.append(("InReplyTo", in_reply_to))
    fields.append(("Payload", base64.b64encode(json.dumps(payload, default=str).encode()).decode()))
    for name, text in fields:
        etree.SubElement(root, _q(name)).text = text
    schemas.validate(schemas.profile(XSD), root)
    return root


def read(root: etree._Element) -> dict[str, Any]:
    """A verified chain message (signature already checked and removed) as a dict with its payload."""
    if root.tag != _q("ChainMessage"):
        raise refuse(Code.SCHEMA, "/", f"expected a chain message, got {root.tag}")
    schemas.validate(schemas.profile(XSD), root)
    out: dict[str, Any] = {etree.QName(el).localname: el.text for el in root}
    out["Payload"] = json.loads(base64.b64decode(out["Payload"]))
    return out
