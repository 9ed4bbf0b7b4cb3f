"""Enveloped XML-DSig signatures on outbound messages: exclusive C14N, SHA-256, certificate in KeyInfo."""

from __future__ import annotations

from typing import Literal

from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import SignatureMethod

from gateway.errors import Code, refuse
from gateway.signing.enveloped import sign_enveloped, sign_enveloped_bytes
from gateway.signing.keys import SigningKey

__all__ = ["Algorithm", "Signer"]

Algorithm = Literal["rsa-sha256", "ecdsa-sha256"]

_METHODS: dict[str, SignatureMethod] = {
    "rsa-sha256": SignatureMethod.RSA_SHA256,
    "ecdsa-sha256": SignatureMethod.ECDSA_SHA256,
}


class Signer:
    """Signs whole documents (Reference URI="") with one key loaded once.

    Thread-safe: nothing is kept between calls but the parsed key.
    """

    def __init__(self, key: SigningKey, algorithm: Algorithm | None = None) -> None:
        chosen = algorithm or key.default_algorithm
        if chosen not in _METHODS:
            raise refuse(Code.WEAK_ALGORITHM, "/", f"The signature algorithm {chosen!r} is not offered.")
        is_ec = isinstance(key.key, ec.EllipticCurvePrivateKey)
        if is_ec != chosen.startswith("ecdsa"):
            raise refuse(Code.NOT_CONFIGURED, "/", f"The signing key cannot produce {chosen} signatures.")
        self.key = key
        self.algorithm: str = chosen
        self._method = _METHODS[chosen]

    def apply(self, root: etree._Element) -> etree._Element:
        """Return a signed copy of ``root`` with ``ds:Signature`` as its last child (the input is untouched).

        URI="" always: the whole document is signed, so the signature cannot be lifted into a wrapper.
        Built directly (:mod:`gateway.signing.enveloped`); signxml verifies the result in tests."""
        return sign_enveloped(root, self.key, self.algorithm)

    def sign(self, root: etree._Element) -> bytes:
        """The signed document as bytes, the same signature as ``serialize(apply(root))``, cheaper at both
        ends: no tree is built here, and the verifier reads this form without canonicalizing it again."""
        return sign_enveloped_bytes(root, self.key, self.algorithm)
