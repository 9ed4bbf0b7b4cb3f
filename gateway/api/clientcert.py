"""Parties by client certificate: mTLS is terminated at the operator's reverse proxy (nginx, envoy),
which verifies the chain and forwards the certificate in a header (nginx: ``$ssl_client_escaped_cert``).

The header is believed only from the proxies named in ``EATA_TRUSTED_PROXIES``; from anyone else it is
ignored, so a caller cannot claim a certificate by sending the header itself. The certificate then maps
to a party by the SHA-256 of its DER (``eata-gateway parties add … --cert client.pem``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.errors import Code, refuse


@dataclass(frozen=True, slots=True)
class ClientCertPolicy:
    header: str  # e.g. "X-Client-Cert"
    trusted_proxies: frozenset[str]  # peer addresses whose header is believed

    def applies(self, peer: str | None) -> bool:
        return peer is not None and peer in self.trusted_proxies


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def read_forwarded(value: str, where: str, now: dt.datetime | None = None) -> tuple[str, str]:
    """(SHA-256, subject) of the URL-escaped PEM a proxy forwarded; refused if unreadable or out of date."""
    try:
        cert = x509.load_pem_x509_certificate(unquote(value).encode())
    except ValueError:
        raise refuse(
            Code.NOT_AUTHORISED, where, "the forwarded client certificate is not a PEM certificate"
        ) from None
    now = now or dt.datetime.now(dt.UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise refuse(
            Code.NOT_AUTHORISED,
            where,
            f"the client certificate is not valid now (valid {cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d})",
        )
    return fingerprint(cert), cert.subject.rfc4514_string()
