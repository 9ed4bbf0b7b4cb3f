"""What each party is shown of customs' rejections: the one redaction every non-customs view goes through.

A rejection records a reason visible only to customs of the territory that gave it (docs/domain.md); it
does not use up the voucher. Everyone else (holder, representative, issuing association, auditor, other
territories' customs, webhooks, server-sent events, the timeline) learns that the voucher was refused and
by which territory, so the holder can correct it and submit again, but never the reason, the code or the
officer. The stored document keeps everything; customs read it through ``/v1/customs/transactions``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from gateway.api.services.repository import CUSTOMS
from gateway.model import CarnetDocument, Transaction
from gateway.model.common import CountryCode, StrictModel, Text
from gateway.store.db import Party

NOTICE = "refused by customs of {territory}; the office gives the reason"


def sees_reasons(viewer: Party | None, territory: str) -> bool:
    """Only customs of the territory that rejected read the reason."""
    return viewer is not None and viewer.role == CUSTOMS and viewer.territory == territory


def _territory_of(rejection: dict[str, Any]) -> str:
    """The rejecting territory: named, or the first two letters of the rejecting office."""
    return str(rejection.get("territory") or rejection.get("office") or "")[:2]


def rejection_notice(rejection: dict[str, Any], territory: str | None = None) -> dict[str, Any]:
    """A rejection as everyone but its customs sees it: the territory, when, and a fixed sentence."""
    where = territory or _territory_of(rejection)
    out: dict[str, Any] = {"territory": where, "notice": NOTICE.format(territory=where)}
    if rejection.get("at") is not None:
        out["at"] = rejection["at"]
    return out


def transaction_view(tx: dict[str, Any], viewer: Party | None) -> dict[str, Any]:
    """A transaction (as JSON) with every rejection ``viewer`` may not read reduced to its notice."""

    def shown(r: dict[str, Any] | None) -> dict[str, Any] | None:
        if r is None:
            return None
        territory = _territory_of(r)
        return r if sees_reasons(viewer, territory) else rejection_notice(r, territory)

    out = dict(tx)
    if "rejection" in out:
        out["rejection"] = shown(out["rejection"])
    if "rejections" in out:
        out["rejections"] = [shown(r) for r in out["rejections"]]
    return out


def event_view(event: dict[str, Any], viewer: Party | None) -> dict[str, Any]:
    """An event with a rejection's detail reduced to its notice unless ``viewer`` rejected it."""
    if event.get("kind") != "rejected" or sees_reasons(viewer, str(event.get("territory") or "")):
        return event
    detail = event.get("detail") or {}
    return {**event, "detail": rejection_notice(detail, event.get("territory"))}


class RejectionNotice(StrictModel):
    """A rejection as the holder and every party but its customs see it: refused, by whom, when."""

    territory: CountryCode
    notice: Text
    at: datetime | None = None


class TransactionView(Transaction):
    """A transaction as shown to a party that is not the rejecting customs (the API's response model)."""

    rejection: RejectionNotice | None = None  # type: ignore[assignment]
    rejections: tuple[RejectionNotice, ...] = ()  # type: ignore[assignment]


class CarnetView(CarnetDocument):
    """The carnet document with every rejection reduced to its notice."""

    transactions: tuple[TransactionView, ...] = ()
    predecessor: CarnetView | None = None


def carnet_view(doc: CarnetDocument, viewer: Party | None) -> CarnetView:
    """``doc`` as ``viewer`` may read it (the carnet routes: holders, issuing associations, auditors)."""

    def shown(d: dict[str, Any]) -> dict[str, Any]:
        d["transactions"] = [transaction_view(t, viewer) for t in d.get("transactions", [])]
        if d.get("predecessor"):
            d["predecessor"] = shown(d["predecessor"])
        return d

    return CarnetView.model_validate_json(json.dumps(shown(doc.model_dump(mode="json", by_alias=True))))
