"""Trust anchors for verifying national answers: one store per territory, built once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.x509.verification import Store

from gateway.errors import Code, refuse

__all__ = ["TrustStore"]

_SUFFIXES = {".pem", ".crt", ".cer"}


@dataclass(frozen=True)
class TrustStore:
    """CA / anchor certificates a signer's X.509 chain must lead to."""

    anchors: tuple[x509.Certificate, ...]
    store: Store = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.anchors:
            raise refuse(Code.NOT_CONFIGURED, "/", "The trust store holds no certificates.")
        object.__setattr__(self, "store", Store(list(self.anchors)))

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
                files.extend(sorted(p for p in item.iterdir() if p.suffix.lower() in _SUFFIXES and ".key" not in p.name))
            else:
                files.append(item)
        pems: list[bytes] = []
        for f in files:
            try:
                pems.append(f.read_bytes())
            except OSError as exc:
                raise refuse(Code.NOT_CONFIGURED, "/", f"The trust anchor {f} cannot be read: {exc.strerror}.") from None
        return cls.from_pem(*pems)

    @property
    def subjects(self) -> list[str]:
        return [c.subject.rfc4514_string() for c in self.anchors]
