"""Trust for verifying national answers: which authorities vouch for a signer (:class:`TrustStore`), and
which signers speak for a party (:class:`Signers`). One of each per territory, built once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.verification import Store

from gateway.errors import Code, refuse

__all__ = [
    "MIN_EC_BITS",
    "MIN_RSA_BITS",
    "STRONG_KEYS",
    "KeyPolicy",
    "Signers",
    "TrustStore",
    "check_public_key",
    "fingerprint",
    "subject_of",
]

MIN_RSA_BITS = 2048
MIN_EC_BITS = 256

_SUFFIXES = {".pem", ".crt", ".cer"}


@dataclass(frozen=True)
class TrustStore:
    """Certificates a signer must be vouched for by.

    A signer is trusted when its certificate chain leads to one of ``anchors`` (CA certificates; path
    validation by ``cryptography``: X.509 v3, key usage, validity), or when its certificate *is* one of
    ``pinned``, byte for byte — a leaf certificate exchanged bilaterally with a customs administration, the
    way a Java trust store's trustedCertEntry is. The two are kept apart on purpose: a self-signed leaf put
    among the anchors is refused, so it cannot vouch for itself by accident.
    """

    anchors: tuple[x509.Certificate, ...]
    pinned_certs: tuple[x509.Certificate, ...] = ()
    store: Store | None = field(init=False, repr=False, compare=False)
    _der: frozenset[bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.anchors and not self.pinned_certs:
            raise refuse(Code.NOT_CONFIGURED, "/", "The trust store holds no certificates.")
        for cert in self.anchors:
            if not _is_ca(cert):
                raise refuse(
                    Code.NOT_CONFIGURED,
                    "/",
                    f"{cert.subject.rfc4514_string()} is not a CA certificate and cannot be a trust anchor; "
                    "pin a signer's own certificate separately (--pin) instead.",
                )
        object.__setattr__(self, "store", Store(list(self.anchors)) if self.anchors else None)
        object.__setattr__(self, "_der", frozenset(c.public_bytes(Encoding.DER) for c in self.pinned_certs))

    def pinned(self, der: bytes) -> x509.Certificate | None:
        """The pinned certificate with exactly these DER bytes, if there is one."""
        if der not in self._der:
            return None
        return next(c for c in self.pinned_certs if c.public_bytes(Encoding.DER) == der)

    @classmethod
    def from_pem(cls, *pems: bytes, pinned: Iterable[bytes] = ()) -> TrustStore:
        return cls(_load(pems), _load(pinned))

    @classmethod
    def from_paths(
        cls,
        paths: str | Path | Iterable[str | Path],
        *,
        pinned: str | Path | Iterable[str | Path] = (),
    ) -> TrustStore:
        """Anchors (CA certificates) and pinned leaves, each from a directory of ``*.pem``/``*.crt``/``*.cer``
        files, one PEM file, or a list of either."""
        return cls(_load(_read_all(paths)), _load(_read_all(pinned)))

    @property
    def subjects(self) -> list[str]:
        return [c.subject.rfc4514_string() for c in (*self.anchors, *self.pinned_certs)]


@lru_cache(maxsize=256)
def _public_key(cert: x509.Certificate) -> CertificatePublicKeyTypes:
    return cert.public_key()


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """Which signer keys count: RSA of 2048 bits or more and EC on P-256 or stronger by default. Widened
    only by interop tests that replay old third-party vectors."""

    min_rsa_bits: int = MIN_RSA_BITS
    min_ec_bits: int = MIN_EC_BITS
    other_keys: bool = False  # DSA and the like

    def check(self, cert: x509.Certificate, pointer: str = "/") -> None:
        key = _public_key(cert)
        who = subject_of(cert)
        if isinstance(key, rsa.RSAPublicKey):
            if key.key_size < self.min_rsa_bits:
                raise refuse(
                    Code.WEAK_ALGORITHM,
                    pointer,
                    f"The certificate of {who} has a {key.key_size}-bit RSA key; the gateway accepts RSA "
                    f"keys of {self.min_rsa_bits} bits or more.",
                )
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if key.curve.key_size < self.min_ec_bits:
                raise refuse(
                    Code.WEAK_ALGORITHM,
                    pointer,
                    f"The certificate of {who} uses the curve {key.curve.name}; the gateway accepts P-256 or "
                    "stronger.",
                )
        elif not self.other_keys:
            raise refuse(
                Code.WEAK_ALGORITHM, pointer, f"The certificate of {who} holds neither an RSA nor an EC key."
            )


STRONG_KEYS = KeyPolicy()


def check_public_key(cert: x509.Certificate, pointer: str = "/") -> None:
    """The gateway's key policy (:data:`STRONG_KEYS`)."""
    STRONG_KEYS.check(cert, pointer)


@lru_cache(maxsize=256)
def subject_of(cert: x509.Certificate) -> str:
    """The certificate's subject as RFC 4514 text, worked out once per certificate."""
    return cert.subject.rfc4514_string()


@lru_cache(maxsize=256)
def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, lower-case hex: how a pinned signer is written down."""
    return cert.fingerprint(hashes.SHA256()).hex()


@dataclass(frozen=True)
class Signers:
    """Who may sign for one party (a territory's customs): the trust store says a signature is genuine,
    this says whose it may be.

    A signer counts when its certificate's subject is one of ``subjects`` or its SHA-256 fingerprint one of
    ``fingerprints``; a certificate in ``never`` (the gateway's own) never counts, whatever it says.
    """

    party: str
    subjects: frozenset[str] = frozenset()
    fingerprints: frozenset[str] = frozenset()
    never: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.subjects and not self.fingerprints:
            raise refuse(Code.NOT_CONFIGURED, "/", f"No signer is configured for {self.party}.")

    @classmethod
    def of(
        cls, party: str, certs: Iterable[x509.Certificate], never: Iterable[x509.Certificate] = ()
    ) -> Signers:
        """Signers named by their certificates (bound by subject, so a renewed certificate still counts)."""
        banned = list(never)
        own = {c.subject.rfc4514_string() for c in banned}
        subjects = frozenset(c.subject.rfc4514_string() for c in certs)
        if subjects & own:
            raise refuse(
                Code.NOT_CONFIGURED,
                "/",
                f"The gateway's own certificate cannot sign for {party}: {', '.join(sorted(subjects & own))}.",
            )
        return cls(party, subjects, frozenset(), frozenset(fingerprint(c) for c in banned))

    def admit(self, cert: x509.Certificate, pointer: str = "/") -> None:
        subject = subject_of(cert)
        digest = fingerprint(cert)
        if digest in self.never:
            raise refuse(
                Code.CERT_UNTRUSTED,
                pointer,
                f"The document is signed with the gateway's own key, not by {self.party}.",
            )
        if subject not in self.subjects and digest not in self.fingerprints:
            raise refuse(
                Code.CERT_UNTRUSTED,
                pointer,
                f"The document is signed by {subject}, who does not sign for {self.party}.",
            )


def _read_all(paths: str | Path | Iterable[str | Path]) -> list[bytes]:
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    files: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            files.extend(
                sorted(p for p in item.iterdir() if p.suffix.lower() in _SUFFIXES and ".key" not in p.name)
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
    return pems


def _load(pems: Iterable[bytes]) -> tuple[x509.Certificate, ...]:
    certs: list[x509.Certificate] = []
    for pem in pems:
        try:
            certs.extend(x509.load_pem_x509_certificates(pem))
        except ValueError:
            raise refuse(Code.NOT_CONFIGURED, "/", "A trust anchor is not a PEM certificate.") from None
    return tuple(certs)
