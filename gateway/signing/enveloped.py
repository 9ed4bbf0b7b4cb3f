"""The gateway's own signature profile, signed and checked without signxml's repeated serialize/parse.

Profile: one enveloped ``ds:Signature``, the last child of the document element, with one Reference
``URI=""`` (the whole document), transforms exactly enveloped-signature + exclusive C14N, exclusive C14N of
SignedInfo, RSA or ECDSA with SHA-256 or stronger, the signer's certificate (and intermediates) in KeyInfo.
What the gateway signs and what the simulators answer has this shape; a document of any other shape is
verified by signxml (:mod:`gateway.signing.verifier`), which stays the reference in tests.

Costs per message: one exclusive C14N of the document, one of SignedInfo, one digest, one public-key
operation, and one parse of the canonical bytes (what the caller gets back: comments and anything else C14N
drops are gone, so nothing unsigned can be read as signed). Certificate paths are validated once per
certificate set and re-checked against the clock on every use.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import threading
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from gateway.errors import Code, refuse
from gateway.signing.keys import SigningKey
from gateway.xmlsafe import element_path, hardened_parser

__all__ = ["Profile", "profile_of", "sign_enveloped", "signed_content", "verify_signature_value"]

DS = "http://www.w3.org/2000/09/xmldsig#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
_Q = "{" + DS + "}"

SIGNATURE_METHODS: dict[str, tuple[str, hashes.HashAlgorithm]] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": ("rsa", hashes.SHA256()),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": ("rsa", hashes.SHA384()),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": ("rsa", hashes.SHA512()),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": ("ecdsa", hashes.SHA256()),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": ("ecdsa", hashes.SHA384()),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": ("ecdsa", hashes.SHA512()),
}
DIGESTS: dict[str, str] = {
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}
_METHOD_OF = {"rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
              "ecdsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"}  # fmt: skip
_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


def _c14n(el: etree._Element) -> bytes:
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _sub(parent: etree._Element, name: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, _Q + name, attrs)


# -- signing ---------------------------------------------------------------------------------------------
def sign_enveloped(root: etree._Element, key: SigningKey, algorithm: str) -> etree._Element:
    """A signed copy of ``root`` (the input is untouched), in the profile above."""
    doc = etree.fromstring(etree.tostring(root), hardened_parser())  # a copy: one serialize + parse, no more
    digest = hashlib.sha256(_c14n(doc)).digest()
    signature = etree.SubElement(doc, _Q + "Signature", nsmap={"ds": DS})
    info = _sub(signature, "SignedInfo")
    _sub(info, "CanonicalizationMethod", Algorithm=EXC_C14N)
    _sub(info, "SignatureMethod", Algorithm=_METHOD_OF[algorithm])
    ref = _sub(info, "Reference", URI="")
    transforms = _sub(ref, "Transforms")
    _sub(transforms, "Transform", Algorithm=ENVELOPED)
    _sub(transforms, "Transform", Algorithm=EXC_C14N)
    _sub(ref, "DigestMethod", Algorithm=_SHA256)
    _sub(ref, "DigestValue").text = _b64(digest)
    value = _sub(signature, "SignatureValue")
    data = _sub(_sub(signature, "KeyInfo"), "X509Data")
    for cert in key.certificates:
        _sub(data, "X509Certificate").text = _b64(cert.public_bytes(Encoding.DER))
    value.text = _b64(_sign_bytes(key, _c14n(info)))
    return doc


def _sign_bytes(key: SigningKey, data: bytes) -> bytes:
    if isinstance(key.key, rsa.RSAPrivateKey):
        return key.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    der = key.key.sign(data, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    size = (key.key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")  # XML-DSig wants r || s, not DER


# -- verifying -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Profile:
    """A signature found to be in the gateway's profile: what verification needs, nothing re-serialized."""

    signature: etree._Element
    signed_info: etree._Element
    method: str
    digest: str
    digest_value: bytes
    signature_value: bytes
    certificates: tuple[x509.Certificate, ...]
    ders: tuple[bytes, ...]  # the certificates as found, DER


def profile_of(root: etree._Element) -> Profile | None:
    """The signature of ``root`` when the document is in the profile; ``None`` sends it to signxml."""
    signatures = root.findall(".//" + _Q + "Signature")
    if len(signatures) != 1 or signatures[0].getparent() is not root or root[-1] is not signatures[0]:
        return None
    sig = signatures[0]
    try:
        info, value, key_info = _children(sig, ("SignedInfo", "SignatureValue", "KeyInfo"))
        c14n, method, ref = _children(info, ("CanonicalizationMethod", "SignatureMethod", "Reference"))
        transforms, digest_method, digest_value = _children(
            ref, ("Transforms", "DigestMethod", "DigestValue")
        )
        (x509_data,) = _children(key_info, ("X509Data",))
    except ValueError:
        return None
    algorithms = [t.get("Algorithm") for t in transforms]
    if (
        len(c14n) or c14n.get("Algorithm") != EXC_C14N
        or len(method) or method.get("Algorithm") not in SIGNATURE_METHODS
        or ref.get("URI") != "" or set(ref.attrib) - {"URI"}
        or algorithms != [ENVELOPED, EXC_C14N] or any(len(t) for t in transforms)
        or len(digest_method) or digest_method.get("Algorithm") not in DIGESTS
        or any(child.tag != _Q + "X509Certificate" for child in x509_data) or not len(x509_data)
    ):  # fmt: skip
        return None
    try:
        ders = tuple(_unb64(c.text) for c in x509_data)
        certs = tuple(x509.load_der_x509_certificate(d) for d in ders)
    except (ValueError, binascii.Error):
        return None  # signxml refuses it with its own words
    if len(certs) > 1 and _is_ca(certs[0]):
        return None  # chain given root first: signxml finds the signer in it
    try:
        return Profile(
            sig,
            info,
            method.get("Algorithm", ""),
            digest_method.get("Algorithm", ""),
            _unb64(digest_value.text),
            _unb64(value.text),
            certs,
            ders,
        )
    except (ValueError, binascii.Error):
        return None  # signxml refuses it with its own words


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _children(el: etree._Element, names: tuple[str, ...]) -> list[etree._Element]:
    kids = [c for c in el if isinstance(c.tag, str)]
    if [c.tag for c in kids] != [_Q + n for n in names] or (el.text or "").strip():
        raise ValueError("not the profile")
    return kids


def _unb64(text: str | None) -> bytes:
    return base64.b64decode("".join((text or "").split()), validate=True)


def signed_content(root: etree._Element, profile: Profile) -> etree._Element:
    """Check the digest of the document without its signature; return the canonical signed content,
    parsed anew (only what was signed can be read from it)."""
    root.remove(profile.signature)  # the enveloped-signature transform, on the caller's own tree
    try:
        canonical = _c14n(root)
    finally:
        root.append(profile.signature)
    computed = hashlib.new(DIGESTS[profile.digest], canonical).digest()
    if not hmac.compare_digest(computed, profile.digest_value):
        raise refuse(
            Code.SIGNATURE_INVALID,
            element_path(profile.signature),
            "The signed content was changed after signing (digest mismatch).",
        )
    return etree.fromstring(canonical, hardened_parser())


def verify_signature_value(profile: Profile, cert: x509.Certificate) -> None:
    """The SignatureValue over exclusive-C14N SignedInfo, under ``cert``'s public key."""
    kind, digest = SIGNATURE_METHODS[profile.method]
    data = _c14n(profile.signed_info)
    key = cert.public_key()
    try:
        if kind == "rsa" and isinstance(key, rsa.RSAPublicKey):
            key.verify(profile.signature_value, data, padding.PKCS1v15(), digest)
            return
        if kind == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            size = (key.curve.key_size + 7) // 8
            raw = profile.signature_value
            if len(raw) != 2 * size:
                raise InvalidSignature
            der = encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
            key.verify(der, data, ec.ECDSA(digest))
            return
    except InvalidSignature:
        raise refuse(
            Code.SIGNATURE_INVALID, element_path(profile.signature), "The signature value does not match."
        ) from None
    raise refuse(
        Code.WEAK_ALGORITHM,
        element_path(profile.signature),
        f"The signer's key cannot make {profile.method.rsplit('#', 1)[-1]} signatures.",
    )


class PathCache:
    """Certificate paths validated once per certificate set; validity re-checked on every use."""

    def __init__(self, limit: int = 256) -> None:
        self._paths: dict[tuple[bytes, ...], tuple[x509.Certificate, ...]] = {}
        self._lock = threading.Lock()
        self._limit = limit

    def get(self, ders: tuple[bytes, ...], when: dt.datetime) -> tuple[x509.Certificate, ...] | None:
        with self._lock:
            chain = self._paths.get(ders)
        if chain is None:
            return None
        if all(c.not_valid_before_utc <= when <= c.not_valid_after_utc for c in chain):
            return chain
        return None  # expired meanwhile: validated again, and refused with the reason

    def put(self, ders: tuple[bytes, ...], chain: tuple[x509.Certificate, ...]) -> None:
        with self._lock:
            if len(self._paths) >= self._limit:
                self._paths.pop(next(iter(self._paths)))
            self._paths[ders] = chain
