"""The certificates the gateway relies on, with days to expiry: its own signing certificate, and per
territory the trust anchors, signers and pinned leaves in ``EATA_KEYS_DIR`` (both layouts of
:mod:`gateway.adapters.trust`). Shown by the console, ``eata-gateway status`` and the
``eata_certificate_expiry_days`` metric; warnings at 30 and 7 days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from prometheus_client.core import GaugeMetricFamily

from gateway.settings import current

WARN_DAYS = 30
URGENT_DAYS = 7
_PEM = {".pem", ".crt", ".cer"}


@dataclass(frozen=True, slots=True)
class CertInfo:
    path: str
    role: str  # gateway, anchor, signer, pinned
    territory: str  # XX, or "" for the gateway's own and shared anchors
    subject: str
    issuer: str
    not_after: dt.datetime
    days_left: int

    @property
    def level(self) -> str:
        """expired, urgent (7 days or fewer), warning (30 days or fewer) or ok."""
        if self.days_left < 0:
            return "expired"
        if self.days_left <= URGENT_DAYS:
            return "urgent"
        if self.days_left <= WARN_DAYS:
            return "warning"
        return "ok"


def _read(path: Path, role: str, territory: str, now: dt.datetime) -> Iterator[CertInfo]:
    try:
        data = path.read_bytes()
        certs = x509.load_pem_x509_certificates(data)
    except (OSError, ValueError):
        return
    for cert in certs:
        not_after = cert.not_valid_after_utc
        yield CertInfo(
            str(path),
            role,
            territory,
            cert.subject.rfc4514_string(),
            cert.issuer.rfc4514_string(),
            not_after,
            (not_after - now).days,
        )


def inventory(keys: Path | None, now: dt.datetime | None = None) -> list[CertInfo]:
    """Every certificate under ``keys``; private keys are never opened."""
    if keys is None or not keys.is_dir():
        return []
    now = now or dt.datetime.now(dt.UTC)
    found: list[CertInfo] = []
    for path in sorted(keys.glob("*.cert.pem")):
        name = path.name.removesuffix(".cert.pem")
        if name == "gateway":
            role, territory = "gateway", ""
        elif name.startswith("sim-") and len(name) == 6:
            role, territory = "signer", name[4:].upper()  # TEST PKI: the territory's simulator signs
        elif name == "ca":
            role, territory = "anchor", ""
        else:
            role, territory = "certificate", ""
        found.extend(_read(path, role, territory, now))
    trust = keys / "trust"
    if trust.is_dir():
        for folder in sorted(p for p in trust.iterdir() if p.is_dir()):
            for kind, role in (("anchors", "anchor"), ("signers", "signer"), ("pinned", "pinned")):
                sub = folder / kind
                if sub.is_dir():
                    for path in sorted(sub.iterdir()):
                        if path.suffix.lower() in _PEM and ".key" not in path.name:
                            found.extend(_read(path, role, folder.name.upper(), now))
    return found


class ExpiryCollector:
    """``eata_certificate_expiry_days{subject,territory,role}``, read from the keys directory on scrape."""

    def __init__(self, keys: Path | None = None) -> None:
        self.keys = keys  # None: EATA_KEYS_DIR at each scrape

    def collect(self) -> Iterator[GaugeMetricFamily]:
        settings = current()
        keys = self.keys or (settings.keys_dir if settings.keys_dir_set else None)
        gauge = GaugeMetricFamily(
            "eata_certificate_expiry_days",
            "Days until a certificate in EATA_KEYS_DIR expires (negative: expired); alert below 30 and 7",
            labels=["subject", "territory", "role"],
        )
        for c in inventory(keys):
            gauge.add_metric([c.subject, c.territory, c.role], float(c.days_left))
        yield gauge
