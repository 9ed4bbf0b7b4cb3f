"""The voucher's QR code: only the carnet ID and the transaction code, as eATA does, never declaration data."""

from __future__ import annotations

import io

import segno

PREFIX = "EATA"


def qr_payload(carnet_id: str, transaction_code: str) -> str:
    # Carnet IDs hold only [A-Z0-9/-] and codes [A-Z0-9], so ':' separates them unambiguously.
    return f"{PREFIX}:{carnet_id}:{transaction_code}"


def qr_image(payload: str, kind: str = "png", scale: int = 8) -> bytes:
    """``kind`` (png or svg) with the standard 4-module quiet zone; error level M (at least) survives a
    creased printout. Always a full QR code, never a Micro QR that phones at the border cannot read."""
    out = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(out, kind=kind, scale=scale, border=4)
    return out.getvalue()


def qr_png(payload: str) -> bytes:
    """The paper voucher's QR code: PNG, 8 pixels a module."""
    return qr_image(payload, "png", scale=8)
