"""Trust anchors for verifying national answers: one store per territory, built once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.verification import Store

from gateway.errors import Code, refuse

__all__ = ["TrustStore"]

_SUFFIXES = {".pem", ".crt", ".cer"}


@dataclass(frozen=True)
class TrustStore:
    """Certificates a signer must be vouched for by.

    A signer is trusted when its certificate chain leads to one of ``anchors`` (path validation by
    ``cryptography``: X.509 v3, key usage, validity), or when its certificate *is* one of them, byte for
    byte — a certificate exchanged bilaterally with a customs administration is trusted as such, the way a
    Java trust store's trustedCertEntry is.
    """

    anchors: tuple[x509.Certificate, ...]
    store: Store = field(init=False, repr=False, compare=False)
    _der: frozenset[bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.anchors:
            raise refuse(Code.NOT_CONFIGURED, "/", "The trust store holds no certificates.")
        object.__setattr__(self, "store", Store(list(self.anchors)))
        object.__setattr__(self, "_der", frozenset(c.public_bytes(Encoding.DER) for c in self.anchors))

    def pinned(self, der: bytes) -> x509.Certificate | None:
        """The trusted certificate with exactly these DER bytes, if there is one."""
        if der not in self._der:
            return None
        return next(c for c in self.anchors if c.public_bytes(Encoding.DER) == der)

    @classmethod
    def from_pem(cls, *pems: bytes) -> TrustStore:
        certs: list[x509.Certificate] = []
        for pem in pems:
            try:
                certs.extend(x509.load_pem_x509_certificates(pem))
            except ValueError:
                raise refuse(Code.NOT_CONFIGURED, "/", "A trust anchor is not a PEM certificate.") from None
        return cls(tuple(certs))

    @classmethod
    def from_paths(cls, paths: str | Path | Iterable[str | Path]) -> TrustStore:
        """From a directory of ``*.pem``/``*.crt``/``*.cer`` files, one PEM file, or a list of either."""
        items = [paths] if isinstance(paths, str | Path) else list(paths)
        files: list[Path] = []
        for item in map(Path, items):
            if item.is_dir():
                files.extend(
                    sorted(
                        p for p in item.iterdir() if p.suffix.lower() in _SUFFIXES and ".key" not in p.name
                    )
                )
            else:
                files.append(item)
        pems: list[bytes] = []
        for f in files:
            try:
                pems.append(f.read_bytes())
            except OSError as exc:
                raise refuse(
                    Code.NOT_CONFIGURED, "/", f"The trust anchor {f} cannot be read: {exc.strerror}."
                ) from None
        return cls.from_pem(*pems)

    @property
    def subjects(self) -> list[str]:
        return [c.subject.rfc4514_string() for c in self.anchors]
