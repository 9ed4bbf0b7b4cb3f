"""Integration testers: translate and parse as the gateway would, without sending or checking signatures."""

from __future__ import annotations

import json
from typing import Any

from gateway.errors import Code, refuse
from gateway.messages import declaration_for
from gateway.model import load_document
from gateway.translate import from_bytes, to_bytes


class Testers:
    def dry_translate(self, document: dict[str, Any], index: int) -> bytes:
        """One transaction of a carnet document as its national XML (unsigned)."""
        doc = load_document(json.dumps(document))
        if index >= len(doc.transactions):
            raise refuse(Code.MISSING, "/index", "the document has no such transaction")
        message = declaration_for(doc, index, "EATADRYRUN")
        return to_bytes(message, message.territory)

    def dry_parse(self, xml: bytes, territory: str) -> dict[str, Any]:
        """A national XML document read into eATA JSON (no signature check)."""
        message = from_bytes(xml, territory.upper()[:2])
        return message.model_dump(mode="json", exclude_none=True)
