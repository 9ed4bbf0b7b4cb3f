"""Signing keys, loaded once per process: parsing a PEM key costs ~37 ms, signing with it ~0.5 ms."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from gateway.errors import Code, Refusal, refuse
from gateway.signing.trust import check_public_key

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

__all__ = ["PrivateKey", "SigningKey", "load_signing_key"]


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key with its certificate (and any intermediates), ready for :class:`Signer`."""

    key: PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise refuse(Code.NOT_CONFIGURED, "/", "The signing key must be an RSA or ECDSA private key.")
        if self.cert.public_key() != self.key.public_key():
            raise refuse(
                Code.NOT_CONFIGURED, "/", "The signing certificate does not belong to the signing key."
            )
        try:
            check_public_key(self.cert)
        except Refusal as weak:  # our own key: a deployment error, not a message error
            raise refuse(Code.NOT_CONFIGURED, "/", weak.problems[0].message) from None

    @property
    def certificates(self) -> list[x509.Certificate]:
        """Signer certificate first, then intermediates: what goes into KeyInfo/X509Data."""
        return [self.cert, *self.chain]

    @property
    def default_algorithm(self) -> str:
        return "ecdsa-sha256" if isinstance(self.key, ec.EllipticCurvePrivateKey) else "rsa-sha256"

    @property
    def subject(self) -> str:
        return self.cert.subject.rfc4514_string()


def load_signing_key(
    key_path: str | Path,
    cert_path: str | Path | None = None,
    password: str | bytes | None = None,
) -> SigningKey:
    """Load a key and certificate chain from PEM files, or from one PKCS#12 file (``cert_path`` omitted).

    A PEM key file may also hold its certificates, in which case ``cert_path`` can be omitted too.
    Problems are refused with 401 (not configured): they are deployment errors, not message errors.
    """
    secret = password.encode() if isinstance(password, str) else password
    data = _read(key_path, "signing key")
    if cert_path is None and b"-----BEGIN" not in data:
        return _from_pkcs12(data, secret, key_path)
    try:
        key = serialization.load_pem_private_key(data, password=secret)
    except (ValueError, TypeError) as exc:
        raise refuse(
            Code.NOT_CONFIGURED, "/", f"The signing key {key_path} could not be loaded: {exc}"
        ) from None
    cert_data = _read(cert_path, "certificate") if cert_path is not None else data
    try:
        certs = x509.load_pem_x509_certificates(cert_data)
    except ValueError:
        raise refuse(
            Code.NOT_CONFIGURED, "/", f"No PEM certificate found in {cert_path or key_path}."
        ) from None
    return _assemble(key, certs, cert_path or key_path)


def _read(path: str | Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise refuse(
            Code.NOT_CONFIGURED, "/", f"The {what} file {path} cannot be read: {exc.strerror}."
        ) from None


def _from_pkcs12(data: bytes, password: bytes | None, path: str | Path) -> SigningKey:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except (ValueError, TypeError) as exc:
        raise refuse(
            Code.NOT_CONFIGURED, "/", f"The PKCS#12 file {path} could not be opened: {exc}"
        ) from None
    if key is None or cert is None:
        raise refuse(Code.NOT_CONFIGURED, "/", f"The PKCS#12 file {path} lacks a private key or certificate.")
    return _assemble(key, [cert, *extra], path)


def _assemble(key: object, certs: list[x509.Certificate], source: str | Path) -> SigningKey:
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise refuse(Code.NOT_CONFIGURED, "/", f"The key in {source} is neither RSA nor ECDSA.")
    public = key.public_key()
    # Whatever order the file uses, the certificate of this key goes first.
    own = [c for c in certs if c.public_key() == public]
    if not own:
        raise refuse(Code.NOT_CONFIGURED, "/", f"No certificate in {source} matches the signing key.")
    return SigningKey(key=key, cert=own[0], chain=tuple(c for c in certs if c is not own[0]))
