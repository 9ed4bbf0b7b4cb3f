"""Enveloped XML-DSig signatures on outbound messages: exclusive C14N, SHA-256, certificate in KeyInfo."""

from __future__ import annotations

from typing import Literal

from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
    XMLSigner,
)

from gateway.errors import Code, refuse
from gateway.signing.keys import SigningKey

__all__ = ["Algorithm", "Signer"]

Algorithm = Literal["rsa-sha256", "ecdsa-sha256"]

_METHODS: dict[str, SignatureMethod] = {
    "rsa-sha256": SignatureMethod.RSA_SHA256,
    "ecdsa-sha256": SignatureMethod.ECDSA_SHA256,
}


class _WholeDocumentSigner(XMLSigner):
    """signxml turns ``reference_uri=""`` into ``"#"`` and otherwise references the root's ID attribute;
    this keeps URI="" (the whole document). Relies on a private hook, pinned by tests/security."""

    def _get_c14n_inputs_from_references(self, doc_root, references):  # type: ignore[no-untyped-def]
        if [r.URI for r in references] == [""]:
            return [self.get_root(doc_root)], references
        return super()._get_c14n_inputs_from_references(doc_root, references)


class Signer:
    """Signs whole documents (Reference URI="") with one key loaded once.

    Thread-safe: signxml's ``XMLSigner`` keeps per-call state on itself, so a fresh one (a few
    microseconds) is made per call while the expensive part, the parsed key, is shared.
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
        """Return a signed copy of ``root`` with ``ds:Signature`` as its last child (the input is untouched)."""
        signer = _WholeDocumentSigner(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm=self._method,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        # URI="" always: the whole document is signed, so the signature cannot be lifted into a wrapper
        # (signxml would otherwise reference the root's ID attribute when it has one).
        return signer.sign(root, key=self.key.key, cert=self.key.certificates, reference_uri="")
