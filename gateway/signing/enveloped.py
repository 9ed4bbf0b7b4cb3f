"""The gateway's own signature profile, signed and checked without signxml's repeated serialize/parse.

Profile: one enveloped ``ds:Signature``, the last child of the document element, with one Reference
``URI=""`` (the whole document), transforms exactly enveloped-signature + exclusive C14N, exclusive C14N of
SignedInfo, RSA or ECDSA with SHA-256 or stronger, the signer's certificate (and intermediates) in KeyInfo.
What the gateway signs and what the simulators answer has this shape; a document of any other shape is
verified by signxml (:mod:`gateway.signing.verifier`), which stays the reference in tests.

Costs per message. Signing: one exclusive C14N of the document, one digest, one private-key operation;
SignedInfo's canonical form is written, not computed. Verifying: one digest and one public-key operation,
plus one exclusive C14N of SignedInfo; when the bytes received are the canonical form with the signature
spliced in (what :func:`sign_enveloped_bytes` writes) the parsed tree itself is returned, with neither a
C14N of the document nor a re-parse (:func:`signed_content_of_wire` says why that is safe); when the
signature in them is byte for byte what this module writes, it is read from the bytes and only the signed
content is parsed (:func:`written_form`, :func:`written_content`: no tree of the signature, no C14N at all).
Any other serialization costs one C14N of the document and one parse of the canonical bytes (what the
caller then gets back: comments and anything else C14N drops are gone, so nothing unsigned can be read as
signed).
Certificates and their public keys are parsed once; certificate paths are validated once per certificate
set and re-checked against the clock on every use.
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import datetime as dt
import hashlib
import hmac
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, NamedTuple, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from gateway.errors import Code, Refusal, refuse
from gateway.signing.keys import SigningKey
from gateway.xmlsafe import XmlLimits, element_path, hardened_parser, parse_xml

__all__ = [
    "Profile",
    "WrittenForm",
    "check_signature_value",
    "profile_of",
    "sign_enveloped",
    "sign_enveloped_bytes",
    "signed_content",
    "signed_content_of_wire",
    "verify_signature_value",
    "written_content",
    "written_form",
]

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
_HASHES = {uri: getattr(hashlib, name) for uri, name in DIGESTS.items()}
_METHOD_OF = {"rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
              "ecdsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"}  # fmt: skip
_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


def _c14n(el: etree._Element) -> bytes:
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- signing ---------------------------------------------------------------------------------------------
# SignedInfo is fixed but for two values, so its exclusive-C14N form is written directly (a test checks it
# against lxml's C14N of the parsed element): no element building, no second C14N per message.
_SIGNED_INFO = (
    f'<ds:SignedInfo xmlns:ds="{DS}"><ds:CanonicalizationMethod Algorithm="{EXC_C14N}">'
    '</ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="{method}"></ds:SignatureMethod>'
    f'<ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="{ENVELOPED}"></ds:Transform>'
    f'<ds:Transform Algorithm="{EXC_C14N}"></ds:Transform></ds:Transforms>'
    f'<ds:DigestMethod Algorithm="{_SHA256}"></ds:DigestMethod><ds:DigestValue>{{digest}}</ds:DigestValue>'
    "</ds:Reference></ds:SignedInfo>"
)
_DECLARATION = b"<?xml version='1.0' encoding='UTF-8'?>\n"  # what xmlsafe.serialize writes


_T = TypeVar("_T")
_V = TypeVar("_V")


class _PerObject(Generic[_T, _V]):
    """A value worked out once per object and found again by identity, where hashing the object costs more
    than the work saved (cryptography hashes a certificate's whole DER on every ``hash()``). Each entry holds
    its object, so the id cannot be reused while it is cached; a race only computes a value twice."""

    def __init__(self, make: Callable[[_T], _V], limit: int = 256) -> None:
        self._make = make
        self._limit = limit
        self._values: dict[int, tuple[_T, _V]] = {}

    def __call__(self, obj: _T) -> _V:
        found = self._values.get(id(obj))
        if found is not None and found[0] is obj:
            return found[1]
        value = self._make(obj)
        if len(self._values) >= self._limit:
            self._values.clear()
        self._values[id(obj)] = (obj, value)
        return value


@lru_cache(maxsize=64)
def _key_info(certs: tuple[x509.Certificate, ...]) -> bytes:
    """KeyInfo for a certificate chain, encoded once per key (certificates are immutable and hashable)."""
    items = "".join(
        f"<ds:X509Certificate>{_b64(c.public_bytes(Encoding.DER))}</ds:X509Certificate>" for c in certs
    )
    return f"<ds:KeyInfo><ds:X509Data>{items}</ds:X509Data></ds:KeyInfo>".encode("ascii")


def _signature(canonical: bytes, key: SigningKey, algorithm: str) -> bytes:
    """The whole ds:Signature element for a document whose exclusive C14N is ``canonical``."""
    info = _SIGNED_INFO.format(method=_METHOD_OF[algorithm], digest=_b64(hashlib.sha256(canonical).digest()))
    value = _b64(_sign_bytes(key, info.encode("ascii")))
    return (
        f'<ds:Signature xmlns:ds="{DS}">{info}<ds:SignatureValue>{value}</ds:SignatureValue>'.encode("ascii")
        + _key_info_of(key)
        + b"</ds:Signature>"
    )


# per key object: the lru_cache above would hash every certificate of the chain on every signature
_key_info_of: _PerObject[SigningKey, bytes] = _PerObject(lambda key: _key_info((key.cert, *key.chain)))


def sign_enveloped(root: etree._Element, key: SigningKey, algorithm: str) -> etree._Element:
    """A signed copy of ``root`` (the input is untouched), in the profile above."""
    signature = etree.fromstring(_signature(_c14n(root), key, algorithm), hardened_parser())
    doc = copy.deepcopy(root)  # a C-level copy: no serialize + parse
    doc.tail = None
    doc.append(signature)
    return doc


def sign_enveloped_bytes(root: etree._Element, key: SigningKey, algorithm: str) -> bytes:
    """The signed document as bytes: the canonical form of ``root`` with the signature spliced in before
    its end tag. No tree is built, and the verifier recognises this form without canonicalizing it again."""
    canonical = _c14n(root)
    end = canonical.rindex(b"</")
    view = memoryview(canonical)  # one copy of the document, not three
    return b"".join((_DECLARATION, view[:end], _signature(canonical, key, algorithm), view[end:]))


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
    if signatures[0].tail is not None:
        return None  # the enveloped transform keeps text after the signature; lxml's remove() would not
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
        found = tuple(_certificate(c.text or "") for c in x509_data)
    except (ValueError, binascii.Error):
        return None  # signxml refuses it with its own words
    ders = tuple(der for der, _ in found)
    certs = tuple(cert for _, cert in found)
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


@lru_cache(maxsize=256)
def _certificate(text: str) -> tuple[bytes, x509.Certificate]:
    """A KeyInfo certificate (its DER and the parsed certificate), decoded once per text as found: a
    territory signs with a handful of them."""
    der = _unb64(text)
    return der, x509.load_der_x509_certificate(der)


def _public_key(cert: x509.Certificate) -> CertificatePublicKeyTypes:
    return cert.public_key()


# The certificate's public key, built once per certificate object (the signer's comes from a cache).
public_key: _PerObject[x509.Certificate, CertificatePublicKeyTypes] = _PerObject(_public_key)


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


# Declarations a wire form may start with: UTF-8 only, so the bytes after it are read as C14N wrote them.
_WIRE_DECLARATIONS = (_DECLARATION, b'<?xml version="1.0" encoding="UTF-8"?>\n', b"")
_WIRE_STARTS = (b" ", b"\t", b"\r", b"\n", b">", b"/")


def _qname(el: etree._Element) -> bytes:
    local = el.tag.rpartition("}")[2]
    return (f"{el.prefix}:{local}" if el.prefix else local).encode()


def _has(data: bytes, markup: bytes, start: int, stop: int) -> bool:
    """``markup`` in ``data[start:stop]``, looked for only from where its rare second byte first occurs
    (``<`` is everywhere in XML, which makes a plain search for ``<?`` slow)."""
    at = data.find(markup[1:2], start + 1, stop)
    return at >= 0 and data.find(markup, at - 1, stop) >= 0


def _only_start_tag(data: bytes, opening: bytes) -> int:
    """Where the one start tag ``opening`` (``<ds:Signature``) is; -1 when there is none or more than one.
    ``<ds:SignatureValue`` and the like begin with the same bytes and are not it."""
    found = -1
    at = data.find(opening)
    while at >= 0:
        if data[at + len(opening) : at + len(opening) + 1] in _WIRE_STARTS:
            if found >= 0:
                return -1
            found = at
        at = data.find(opening, at + 1)
    return found


def signed_content_of_wire(data: bytes, root: etree._Element, profile: Profile) -> etree._Element | None:
    """The parsed ``root`` itself, minus its signature, when ``data`` (what ``root`` was parsed from) is
    already the signed canonical form with the signature spliced in: ``None`` when it is not (the caller
    then canonicalizes). No C14N and no re-parse.

    Why this returns only what was signed: the bytes before the one ``<ds:Signature`` start tag plus the
    root's end tag hash to the signed digest, so they *are* the signer's canonical bytes C (SHA-2 collision
    resistance). C is a complete element once that end tag is added, so the parser has left it at the root's
    content level when the signature starts; the signature is the root's last child with nothing after it
    but the end tag, and it is the only start tag of that name, so it is all that was read beyond C. The
    tree less the signature is the tree of C. Comments and processing instructions (which the parser drops
    but C14N keeps) are never taken this way, and any other declaration than UTF-8's is not either.
    """
    sig = profile.signature
    decl = next((d for d in _WIRE_DECLARATIONS if data.startswith(d)), b"")
    at = _only_start_tag(data, b"<" + _qname(sig))
    if at < 0:
        return None
    end = b"</" + _qname(root) + b">"
    if not data.endswith(end) or _has(data, b"<!--", len(decl), at) or _has(data, b"<?", len(decl), at):
        return None
    digest = _HASHES[profile.digest](memoryview(data)[len(decl) : at])
    digest.update(end)
    if not hmac.compare_digest(digest.digest(), profile.digest_value):
        return None  # another serialization of the same content, or changed: C14N decides
    root.remove(sig)
    return root


# -- the exact form sign_enveloped_bytes writes, recognised in the bytes -----------------------------------
_SIGNATURE_OPEN = f'<ds:Signature xmlns:ds="{DS}">'.encode("ascii")
_CERT_OPEN, _CERT_CLOSE = b"<ds:X509Certificate>", b"</ds:X509Certificate>"


def _written_pattern() -> re.Pattern[bytes]:
    """What :func:`_signature` writes, byte for byte, with its base64 values open (strict alphabet, no
    whitespace, no character references: the bytes of each value *are* its parsed text). Groups: SignedInfo,
    its SignatureMethod, DigestValue, SignatureValue, the X509Certificate elements."""
    b64 = rb"[A-Za-z0-9+/]+={0,2}"
    head, _, rest = _SIGNED_INFO.partition("{method}")
    middle, _, tail = rest.partition("{digest}")
    methods = b"|".join(re.escape(uri.encode("ascii")) for uri in SIGNATURE_METHODS)
    return re.compile(
        re.escape(_SIGNATURE_OPEN)
        + b"(" + re.escape(head.encode("ascii")) + b"(" + methods + b")" + re.escape(middle.encode("ascii"))
        + b"(" + b64 + b")" + re.escape(tail.encode("ascii")) + b")"
        + b"<ds:SignatureValue>(" + b64 + b")</ds:SignatureValue><ds:KeyInfo><ds:X509Data>"
        + b"((?:" + re.escape(_CERT_OPEN) + b64 + re.escape(_CERT_CLOSE) + b")+)"
        + b"</ds:X509Data></ds:KeyInfo></ds:Signature>"
    )  # fmt: skip


_WRITTEN = _written_pattern()


# The written signature's extent, for the document's limits: its elements (13 and one per certificate) and
# its depth below the root (Signature/SignedInfo/Reference/Transforms/Transform).
_SIGNATURE_ELEMENTS = 13
_SIGNATURE_DEPTH = 5
_END_TAG = re.compile(rb"</[^\s<>/='\"]+>")
# libxml2 refuses a text node this long without huge_tree; a signature holding one is left to the whole parse
_MAX_TEXT = 10_000_000


class WrittenForm(NamedTuple):
    """A received document in exactly the form :func:`sign_enveloped_bytes` writes, its digest matched."""

    content: bytes  # the declaration and the signed canonical bytes: all the document but the signature
    method: str
    digest: str
    signature_value: bytes
    certificates: tuple[x509.Certificate, ...]
    ders: tuple[bytes, ...]  # the certificates as found, DER
    signed_info: bytes  # SignedInfo's exclusive C14N: the bytes received, which were written canonical
    elements: int  # the signature's elements
    pointer: str  # element_path of the signature


def written_form(data: bytes) -> WrittenForm | None:
    """What verification needs, read from the bytes alone, when ``data`` is the signed canonical form
    :func:`sign_enveloped_bytes` writes and the digest over it matches; ``None`` otherwise (the caller then
    parses ``data`` and takes :func:`profile_of` and its checks on the tree, which decide everything this
    declines). What it finds is what ``profile_of`` finds in the parsed ``data`` (a test compares them), and
    SignedInfo's C14N comes with it. :func:`written_content` parses the rest.

    Why the bytes prove the tree's shape: ``data`` is a declaration, then P, then S, then E, where S matches
    the pattern above (one element, fixed markup, base64 text only, ``ds`` declared on itself) and E is an
    end tag. When P + E is well-formed, E closes its root and the parser is at the root's content level
    after P; S is balanced, so ``data`` is well-formed too and its tree is that of P + E with S as the
    root's last child, no text after it, exactly the profile's shape. SignedInfo's bytes are canonical as
    written (``ds`` declared on SignedInfo itself, no text to escape, and exclusive C14N takes nothing from
    ancestors but visibly used namespaces). P + E hash to the signed digest, so they are the signer's bytes
    (SHA-2 collision resistance): what the caller reads is parsed from exactly what was signed — taken only
    without comments or processing instructions in P, as :func:`signed_content_of_wire` does.
    """
    at = data.rfind(_SIGNATURE_OPEN)
    close = data.rfind(b"</")
    if at < 0 or close < at or close - at >= _MAX_TEXT or _END_TAG.fullmatch(data, close) is None:
        return None
    found = _WRITTEN.fullmatch(data, at, close)
    if found is None:
        return None
    decl = (  # what Signer.sign writes first, tried before the generator
        _DECLARATION
        if data.startswith(_DECLARATION)
        else next(d for d in _WIRE_DECLARATIONS if data.startswith(d))
    )
    if _has(data, b"<!--", len(decl), at) or _has(data, b"<?", len(decl), at):
        return None
    info, method, digest_b64, value_b64, cert_elements = found.groups()
    texts = cert_elements[len(_CERT_OPEN) : -len(_CERT_CLOSE)].split(_CERT_CLOSE + _CERT_OPEN)
    try:
        # what b64decode(validate=True) runs, without its argument handling
        digest_value = binascii.a2b_base64(digest_b64, strict_mode=True)
        signature_value = binascii.a2b_base64(value_b64, strict_mode=True)
        certs = tuple(_certificate(text.decode("ascii")) for text in texts)
        root_name = data[close + 2 : -1].decode()
    except (ValueError, binascii.Error):
        return None  # profile_of finds the same and leaves it to signxml
    if len(certs) > 1 and _is_ca(certs[0][1]):
        return None  # chain given root first: signxml finds the signer in it
    view = memoryview(data)
    digest = hashlib.sha256(view[len(decl) : at])
    digest.update(view[close:])
    if not hmac.compare_digest(digest.digest(), digest_value):
        return None  # changed, or signed in another form: the tree path says which
    return WrittenForm(
        b"".join((view[:at], view[close:])),
        method.decode("ascii"),
        _SHA256,
        signature_value,
        tuple(cert for _, cert in certs),
        tuple(der for der, _ in certs),
        info,
        _SIGNATURE_ELEMENTS + len(certs),
        "/" + root_name + "/ds:Signature",
    )


def written_content(written: WrittenForm, limits: XmlLimits) -> etree._Element | None:
    """The signed content of a written form, parsed under ``limits`` as the whole document would be, or
    ``None`` when the caller must parse the whole document itself (to be refused with its own words, or to
    be judged on the tree). The document is the content plus the signature, so its depth is the content's
    or the signature's, and its element count the sum; its size is the caller's to check."""
    if limits.max_depth <= _SIGNATURE_DEPTH:
        return None
    if limits.max_elements is not None:
        if limits.max_elements <= written.elements:
            return None
        limits = _less_elements(limits, written.elements)
    try:
        root = parse_xml(written.content, limits=limits)
    except Refusal:
        return None  # the whole document is refused the same way, with its own positions and counts
    if next(root.iter(_Q + "Signature"), None) is not None:
        return None  # another signature, whatever its prefix, in the signed content: not the profile
    return root


@lru_cache(maxsize=64)
def _less_elements(limits: XmlLimits, elements: int) -> XmlLimits:
    assert limits.max_elements is not None
    return dataclasses.replace(limits, max_elements=limits.max_elements - elements)


def verify_signature_value(profile: Profile, cert: x509.Certificate) -> None:
    """The SignatureValue over exclusive-C14N SignedInfo, under ``cert``'s public key."""
    check_signature_value(
        profile.method,
        profile.signature_value,
        _c14n(profile.signed_info),
        cert,
        element_path(profile.signature),
    )


def check_signature_value(
    method: str, value: bytes, signed_info: bytes, cert: x509.Certificate, pointer: str
) -> None:
    """``value`` over ``signed_info`` (SignedInfo's exclusive C14N) under ``cert``'s public key."""
    kind, digest = SIGNATURE_METHODS[method]
    key = public_key(cert)
    try:
        if kind == "rsa" and isinstance(key, rsa.RSAPublicKey):
            key.verify(value, signed_info, padding.PKCS1v15(), digest)
            return
        if kind == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            size = (key.curve.key_size + 7) // 8
            if len(value) != 2 * size:
                raise InvalidSignature
            der = encode_dss_signature(
                int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big")
            )
            key.verify(der, signed_info, ec.ECDSA(digest))
            return
    except InvalidSignature:
        raise refuse(Code.SIGNATURE_INVALID, pointer, "The signature value does not match.") from None
    raise refuse(
        Code.WEAK_ALGORITHM, pointer, f"The signer's key cannot make {method.rsplit('#', 1)[-1]} signatures."
    )


class PathCache:
    """Certificate paths validated once per certificate set; validity re-checked on every use."""

    def __init__(self, limit: int = 256) -> None:
        # each path with the time window in which every certificate on it is valid (the latest start, the
        # earliest end), worked out once: cryptography builds new datetimes on every attribute read
        self._paths: dict[
            tuple[bytes, ...], tuple[tuple[x509.Certificate, ...], dt.datetime, dt.datetime]
        ] = {}
        self._lock = threading.Lock()
        self._limit = limit

    def get(self, ders: tuple[bytes, ...], when: dt.datetime) -> tuple[x509.Certificate, ...] | None:
        with self._lock:
            found = self._paths.get(ders)
        if found is None:
            return None
        chain, not_before, not_after = found
        if not_before <= when <= not_after:
            return chain
        return None  # expired meanwhile: validated again, and refused with the reason

    def put(self, ders: tuple[bytes, ...], chain: tuple[x509.Certificate, ...]) -> None:
        not_before = max(c.not_valid_before_utc for c in chain)
        not_after = min(c.not_valid_after_utc for c in chain)
        with self._lock:
            if len(self._paths) >= self._limit:
                self._paths.pop(next(iter(self._paths)))
            self._paths[ders] = (chain, not_before, not_after)
