"""The voucher's QR code: only the carnet ID and the transaction code, as eATA does, never declaration data."""

from __future__ import annotations

import io

import segno

PREFIX = "EATA"


def qr_payload(carnet_id: str, transaction_code: str) -> str:
    # Carnet IDs hold only [A-Z0-9/-] and codes [A-Z0-9], so ':' separates them unambiguously.
    return f"{PREFIX}:{carnet_id}:{transaction_code}"


def qr_png(payload: str) -> bytes:
    """PNG with the standard 4-module quiet zone; error level M survives a creased printout."""
    out = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(out, kind="png", scale=8, border=4)
    return out.getvalue()
