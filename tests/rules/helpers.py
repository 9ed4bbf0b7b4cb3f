"""Builders for carnet documents in rule tests: start from the example carnet, add transactions."""

from __future__ import annotations

import copy
import json
from typing import Any

from gateway.model import CarnetDocument, load_document
from tests.conftest import EXAMPLES

_BASE = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())


def base_carnet(**over: Any) -> dict[str, Any]:
    c = copy.deepcopy(_BASE["carnet"])
    c.update(over)
    return c


def tx(n: int, kind: str, office: str, day: str, items: str = "1-4", **extra: Any) -> dict[str, Any]:
    """A committed transaction with a matching endorsement."""
    endorsement = {
        "office": office,
        "place": "Somewhere",
        "at": f"{day}T12:00:00Z",
        "reference": f"R{n}",
        "officer": "Officer",
        **extra.pop("endorsement", {}),
    }
    t = {
        "transaction_id": f"t{n}",
        "kind": kind,
        "territory": office[:2],
        "office": office,
        "date": day,
        "items": items,
        "transaction_code": f"TC{n:06d}",
        "cancellation_code": f"CX{n:06d}",
        "state": "committed",
        **extra,
    }
    if t["state"] == "committed":
        t["endorsement"] = endorsement
    return t


def doc(*transactions: dict[str, Any], **carnet_over: Any) -> CarnetDocument:
    return load_document(
        json.dumps(
            {"schema": "eata/v1", "carnet": base_carnet(**carnet_over), "transactions": list(transactions)}
        )
    )


ACT = ("activation", "NO000100", "2026-10-01")
EXP = ("exportation", "NO000200", "2026-10-01")
