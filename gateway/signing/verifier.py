"""Verify national answers: X.509 chain to the territory's trust store, strong algorithms only.

Only what signxml returns as signed (``Verified.signed_root``) may be used afterwards; the original tree
can carry unsigned twins of signed elements (signature wrapping, CVE-2020-5390).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass

import cryptography.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.exceptions import (
    InvalidCertificate,
    InvalidDigest,
    InvalidInput,
    InvalidSignature,
    SignXMLException,
)
from signxml.util import X509CertChainVerifier

from gateway.errors import Code, Refusal, refuse
from gateway.signing.enveloped import (
    PathCache,
    check_signature_value,
    profile_of,
    signed_content,
    signed_content_of_wire,
    verify_signature_value,
    written_content,
    written_form,
)
from gateway.signing.trust import STRONG_KEYS, KeyPolicy, Signers, TrustStore, subject_of
from gateway.xmlsafe import DEFAULT_LIMITS, XmlLimits, element_path, hardened_parser, parse_xml

__all__ = ["ALLOWED_DIGESTS", "ALLOWED_SIGNATURE_METHODS", "Verified", "Verifier"]

DS = "http://www.w3.org/2000/09/xmldsig#"

ALLOWED_SIGNATURE_METHODS: frozenset[SignatureMethod] = frozenset(
    {
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
    }
)
ALLOWED_DIGESTS: frozenset[DigestAlgorithm] = frozenset(
    {DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}
)


@dataclass(frozen=True)
class Verified:
    """A verified signature: the signed element(s) and who signed them.

    ``signed_root`` is signxml's re-parsed, canonicalised copy of what the first Reference covered (the only
    tree callers may use); ``signed_roots`` holds one per Reference when more than one is expected.
    """

    signed_root: etree._Element
    signer_subject: str
    signer_certificate: x509.Certificate
    signature_algorithm: str
    signed_roots: tuple[etree._Element, ...] = ()


def _allows_signing(_policy: object, _cert: object, key_usage: x509.KeyUsage) -> None:
    if not key_usage.digital_signature:
        raise ValueError("certificate KeyUsage does not allow digitalSignature")


# Built once, from a plain function: signxml's defaults bind ``self.validate_key_usage`` into a policy
# held by Rust, a cycle the garbage collector cannot see, which leaked ~1.8 KB per verification.
_EE_POLICY = x509.verification.ExtensionPolicy.permit_all().require_present(
    x509.KeyUsage, x509.verification.Criticality.AGNOSTIC, _allows_signing
)
_CA_POLICY = x509.verification.ExtensionPolicy.webpki_defaults_ca()


class _StoreChainVerifier(X509CertChainVerifier):
    """signxml's chain check, fed our in-memory store instead of a CA file (signxml has no CApath)."""

    def __init__(self, trust: TrustStore, **kwargs: object) -> None:
        super().__init__(ca_pem_file="<trust store>", **kwargs)  # type: ignore[no-untyped-call]  # signxml leaves it unannotated
        self._trust = trust

    @property
    def store(self) -> x509.verification.Store:
        if self._trust.store is None:  # pinned leaves only: a signer not pinned has nobody to vouch for it
            raise InvalidCertificate("the signer's certificate is not pinned and no CA anchor is configured")
        return self._trust.store


class _TrustStoreXMLVerifier(XMLVerifier):
    def __init__(self, trust: TrustStore) -> None:
        super().__init__()
        self._trust = trust

    def get_cert_chain_verifier(
        self,
        ca_pem_file: object,
        ee_policy: x509.verification.ExtensionPolicy | None,
        ca_policy: x509.verification.ExtensionPolicy | None,
    ) -> X509CertChainVerifier:
        return _StoreChainVerifier(
            self._trust,
            verification_time=self._get_cert_verification_time(),  # type: ignore[no-untyped-call]  # signxml's, unannotated
            ee_policy=ee_policy or _EE_POLICY,
            ca_policy=ca_policy or _CA_POLICY,
        )


class Verifier:
    """Checks enveloped/enveloping XML-DSig signatures against one trust store and, given ``signers``,
    that the signer is one who speaks for the party expected (a territory's customs, say).

    Thread-safe: signxml's ``XMLVerifier`` keeps per-call state, so each call makes its own.
    """

    def __init__(
        self,
        trust: TrustStore,
        *,
        signers: Signers | None = None,
        expect_references: int = 1,
        verification_time: dt.datetime | None = None,
        location: str = ".//",
        limits: XmlLimits = DEFAULT_LIMITS,
        signature_methods: frozenset[SignatureMethod] = ALLOWED_SIGNATURE_METHODS,
        digest_algorithms: frozenset[DigestAlgorithm] = ALLOWED_DIGESTS,
        key_policy: KeyPolicy = STRONG_KEYS,
    ) -> None:
        """``signature_methods``/``digest_algorithms``/``key_policy`` widen the policy only for interop tests;
        the gateway itself always runs with the defaults (SHA-256 or stronger, RSA or ECDSA)."""
        if expect_references < 1:
            raise ValueError("expect_references must be at least 1")
        self.trust = trust
        self.signers = signers
        self.key_policy = key_policy
        self.limits = limits
        # our own profile (one whole-document reference) is checked directly; anything else by signxml
        self._profile_allowed = expect_references == 1 and location == ".//"
        self._paths = PathCache()
        self._admitted_signers: dict[int, tuple[x509.Certificate, KeyPolicy, Signers | None, str]] = {}
        self._methods = frozenset(m.value for m in signature_methods)
        self._digests = frozenset(d.value for d in digest_algorithms)
        self.config = SignatureConfiguration(
            require_x509=True,
            location=location,
            expect_references=expect_references,
            signature_methods=signature_methods,
            digest_algorithms=digest_algorithms,
            verification_time=verification_time,
        )

    def verify(self, data: bytes | etree._Element) -> Verified:
        wire: bytes | None = None
        if isinstance(data, bytes | bytearray):
            wire = bytes(data)
            if self._profile_allowed and len(wire) <= self.limits.max_bytes:
                # what Signer.sign writes, recognised in the bytes: only the signed content is parsed, and
                # neither the signature's elements are walked nor anything canonicalized
                written = written_form(wire)
                if (
                    written is not None
                    and written.method in self._methods
                    and written.digest in self._digests
                ):
                    content = written_content(written, self.limits)
                    if content is not None:
                        cert = self._signer_of(written.certificates, written.ders, written.pointer)
                        check_signature_value(
                            written.method,
                            written.signature_value,
                            written.signed_info,
                            cert,
                            written.pointer,
                        )
                        return self._admitted(content, (content,), cert, written.method, written.pointer)
            root = parse_xml(wire, limits=self.limits)
        else:
            root = data
        profile = profile_of(root) if self._profile_allowed else None
        if profile is not None and profile.method in self._methods and profile.digest in self._digests:
            # the gateway's own shape: checked without signxml's serialize/parse rounds
            pointer = _pointer(root, profile.signature)
            cert = self._signer_of(profile.certificates, profile.ders, pointer)
            verify_signature_value(profile, cert)
            content = signed_content_of_wire(wire, root, profile) if wire is not None else None
            if content is None:
                content = signed_content(root, profile)
            return self._admitted(content, (content,), cert, profile.method, pointer)
        signatures = _elements(root, "descendant-or-self::ds:Signature")
        if not signatures:
            raise refuse(Code.SIGNATURE_MISSING, element_path(root), "The document carries no XML signature.")
        _check_algorithms(root, self.config.signature_methods, self.config.digest_algorithms)
        pointer = element_path(signatures[0])
        pinned = self._pinned_signer(signatures[0])
        try:
            result = _TrustStoreXMLVerifier(self.trust).verify(
                root, x509_cert=pinned, expect_config=self.config, parser=hardened_parser()
            )
        except Refusal:
            raise
        except Exception as exc:
            raise _map_exception(exc, pointer) from None
        results = result if isinstance(result, list) else [result]
        roots = tuple(r.signed_xml for r in results if r.signed_xml is not None)
        if len(roots) != len(results):
            raise refuse(Code.SIGNATURE_INVALID, pointer, "The signed content is not an XML element.")
        cert = _signer_certificate(results[0].signature_xml, results[0].signature_key)
        method = results[0].signature_xml.find(f"{{{DS}}}SignedInfo/{{{DS}}}SignatureMethod")
        algorithm = method.get("Algorithm", "") if method is not None else ""
        return self._admitted(roots[0], roots, cert, algorithm, pointer)

    def _admitted(
        self,
        root: etree._Element,
        roots: tuple[etree._Element, ...],
        cert: x509.Certificate,
        algorithm: str,
        pointer: str,
    ) -> Verified:
        # the same few signers sign every answer: each is judged once per policy (by identity, no hashing)
        known = self._admitted_signers.get(id(cert))
        if (
            known is None
            or known[0] is not cert
            or known[1] is not self.key_policy
            or known[2] is not self.signers
        ):
            self.key_policy.check(cert, pointer)
            if self.signers is not None:
                self.signers.admit(cert, pointer)
            if len(self._admitted_signers) >= 256:
                self._admitted_signers.clear()
            known = self._admitted_signers[id(cert)] = (cert, self.key_policy, self.signers, subject_of(cert))
        return Verified(
            signed_root=root,
            signer_subject=known[3],
            signer_certificate=cert,
            signature_algorithm=algorithm,
            signed_roots=roots,
        )

    def _signer_of(
        self, certs: tuple[x509.Certificate, ...], ders: tuple[bytes, ...], pointer: str
    ) -> x509.Certificate:
        """The signer's certificate, pinned or on a validated path to an anchor (paths cached per set)."""
        leaf = certs[0]
        pinned = self.trust.pinned(ders[0])
        if pinned is not None:
            return pinned
        when = self.config.verification_time or dt.datetime.now(dt.UTC)
        chain = self._paths.get(ders, when)
        if chain is None:
            if when < leaf.not_valid_before_utc:
                raise _map_exception(InvalidCertificate("the certificate is not yet valid"), pointer)
            if when > leaf.not_valid_after_utc:
                raise _map_exception(InvalidCertificate("the certificate has expired"), pointer)
            checker = _StoreChainVerifier(
                self.trust, verification_time=when, ee_policy=_EE_POLICY, ca_policy=_CA_POLICY
            )
            try:
                chain = tuple(checker.verifier.verify(leaf=leaf, intermediates=list(certs[1:])).chain)
            except (x509.verification.VerificationError, InvalidCertificate) as exc:
                raise _map_exception(InvalidCertificate(exc), pointer) from None
            self._paths.put(ders, chain)
        return chain[0]

    def _pinned_signer(self, signature: etree._Element) -> x509.Certificate | None:
        """A signer certificate that is itself in the trust store is used as given (no chain building)."""
        first = signature.find(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")
        if first is None or not (first.text or "").strip():
            return None
        try:
            return self.trust.pinned(_b64(first.text or ""))
        except (ValueError, binascii.Error):
            return None  # not base64: signxml refuses it with a proper message


def _pointer(root: etree._Element, signature: etree._Element) -> str:
    """``element_path(signature)`` for the profile's shape (the only signature, a child of the document
    element), without walking the tree on every message."""
    if root.getparent() is not None:
        return element_path(signature)
    names = [
        f"{el.prefix}:{etree.QName(el).localname}" if el.prefix else etree.QName(el).localname
        for el in (root, signature)
    ]
    return "/" + "/".join(names)


def _elements(node: etree._Element, path: str) -> list[etree._Element]:
    """What an element-only XPath (``ds:`` bound) selects; lxml types ``xpath()`` as any XPath result."""
    found = node.xpath(path, namespaces={"ds": DS})
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def _check_algorithms(
    root: etree._Element, methods: frozenset[SignatureMethod], digests: frozenset[DigestAlgorithm]
) -> None:
    """Refuse weak or unknown algorithms up front, naming them, before any crypto runs.

    Only what XML-DSig core signs with is checked (SignedInfo's SignatureMethod and its References'
    DigestMethod); digests inside XAdES properties are data to us, not our trust decision.
    """
    allowed_methods = {m.value for m in methods}
    allowed_digests = {d.value for d in digests}
    for el in _elements(root, "descendant-or-self::ds:Signature/ds:SignedInfo/ds:SignatureMethod"):
        uri = el.get("Algorithm", "")
        if uri not in allowed_methods:
            raise refuse(
                Code.WEAK_ALGORITHM,
                element_path(el),
                f"The signature uses {_short(uri)}, which the gateway does not accept; use RSA or ECDSA with SHA-256 or stronger.",
            )
        if el.find(f"{{{DS}}}HMACOutputLength") is not None:
            raise refuse(Code.WEAK_ALGORITHM, element_path(el), "Truncated HMAC signatures are not accepted.")
    for el in _elements(root, "descendant-or-self::ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestMethod"):
        uri = el.get("Algorithm", "")
        if uri not in allowed_digests:
            raise refuse(
                Code.WEAK_ALGORITHM,
                element_path(el),
                f"A reference is digested with {_short(uri)}, which the gateway does not accept; use SHA-256 or stronger.",
            )


def _short(uri: str) -> str:
    return uri.rsplit("#", 1)[-1] or uri or "no algorithm"


def _map_exception(exc: Exception, pointer: str) -> Refusal:
    # signxml's advice to developers ("Use SignatureConfiguration(...)") means nothing to an officer.
    text = str(exc).split(". Use SignatureConfiguration", 1)[0]
    if isinstance(exc, InvalidCertificate):
        if "expired" in text or "not valid after" in text:
            why = "The signer's certificate has expired."
        elif "not yet valid" in text:
            why = "The signer's certificate is not yet valid."
        else:
            why = "The signer's certificate does not lead to a trusted authority for this territory."
        return refuse(Code.CERT_UNTRUSTED, pointer, f"{why} ({text})")
    if isinstance(exc, InvalidDigest):
        return refuse(
            Code.SIGNATURE_INVALID, pointer, f"The signed content was changed after signing ({text})."
        )
    if isinstance(exc, InvalidSignature | cryptography.exceptions.InvalidSignature):
        return refuse(Code.SIGNATURE_INVALID, pointer, f"The signature value does not match ({text}).")
    if isinstance(exc, InvalidInput):
        if "forbidden by configuration" in text or "not supported" in text.lower():
            return refuse(
                Code.WEAK_ALGORITHM,
                pointer,
                f"The signature uses a construct the gateway does not accept ({text}).",
            )
        if "X509" in text or "X.509" in text:
            return refuse(
                Code.CERT_UNTRUSTED, pointer, f"The signature does not carry a usable certificate ({text})."
            )
        if "DTD" in text or "Entities" in text:
            return refuse(Code.HOSTILE_XML, pointer, text)
        return refuse(Code.SIGNATURE_INVALID, pointer, f"The signature cannot be accepted ({text}).")
    # signxml's way of saying "an algorithm we have no code for": refused like any weak algorithm
    unimplemented = isinstance(exc, NotImplementedError)
    # an algorithm URI outside signxml's enums fails the enum lookup with a ValueError naming it
    unknown_uri = (
        isinstance(exc, ValueError)
        and not isinstance(exc, SignXMLException)
        and ("Method" in text or "Algorithm" in text)
    )
    if unimplemented or unknown_uri:
        return refuse(Code.WEAK_ALGORITHM, pointer, f"The signature uses an unsupported algorithm ({text}).")
    if isinstance(exc, etree.DocumentInvalid):
        return refuse(Code.SIGNATURE_INVALID, pointer, f"The signature element is malformed ({text}).")
    if isinstance(exc, etree.XMLSyntaxError):
        return refuse(Code.SIGNATURE_INVALID, pointer, f"The signed content cannot be read ({text}).")
    # Fail closed: anything else signxml trips over is a refusal, never an acceptance.
    return refuse(
        Code.SIGNATURE_INVALID, pointer, f"The signature could not be checked ({type(exc).__name__}: {text})."
    )


def _signer_certificate(signature: etree._Element, key_pem: bytes) -> x509.Certificate:
    """The certificate in KeyInfo whose public key signxml actually used."""
    used = serialization.load_pem_public_key(key_pem)
    used_der = used.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    for el in signature.iterfind(f".//{{{DS}}}X509Certificate"):
        cert = x509.load_der_x509_certificate(_b64(el.text or ""))
        der = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if der == used_der:
            return cert
    raise refuse(Code.CERT_UNTRUSTED, "/", "The verified key matches no certificate in the signature.")


def _b64(text: str) -> bytes:
    return base64.b64decode("".join(text.split()), validate=True)
