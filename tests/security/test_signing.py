"""Sign/verify round trips with a run-time TEST PKI, and every way a signature must be refused."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree

from gateway.errors import Code, Refusal
from gateway.signing import Signer, SigningKey, TrustStore, Verified, Verifier, load_signing_key
from gateway.xmlsafe import parse_xml, serialize

DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"ds": DS, "m": "urn:eata:test"}
DOC = b'<m:Declaration xmlns:m="urn:eata:test" ID="d1"><m:Carnet>FR-2026-000123</m:Carnet><m:Items n="2"><m:Item>Camera</m:Item><m:Item>Tripod</m:Item></m:Items></m:Declaration>'


def _key(pki: dict, name: str) -> SigningKey:
    return load_signing_key(pki[name].key, pki[name].cert)


def _sign(pki: dict, name: str, doc: bytes = DOC, algorithm: str | None = None) -> bytes:
    return serialize(Signer(_key(pki, name), algorithm).apply(parse_xml(doc)))  # type: ignore[arg-type]


def _verifier(pki: dict, **kwargs: object) -> Verifier:
    return Verifier(TrustStore.from_paths(pki["ca"].cert), **kwargs)  # type: ignore[arg-type]


def _refusal(verifier: Verifier, data: bytes) -> Refusal:
    with pytest.raises(Refusal) as info:
        verifier.verify(data)
    return info.value


@pytest.mark.parametrize(
    ("party", "method"),
    [("gateway", "rsa-sha256"), ("rsa", "rsa-sha256"), ("ecdsa", "ecdsa-sha256"), ("sim-GB", "ecdsa-sha256")],
)
def test_round_trip(pki: dict, party: str, method: str) -> None:
    signed = _sign(pki, party)
    result = _verifier(pki).verify(signed)
    assert isinstance(result, Verified)
    assert result.signature_algorithm.endswith(method)
    assert result.signer_subject == f"CN={party} (TEST),O=eATA gateway TEST PKI"
    assert result.signed_root.findtext("m:Carnet", namespaces=NS) == "FR-2026-000123"
    # What comes back is the signed content only: the enveloped signature is transformed away.
    assert result.signed_root.find("ds:Signature", namespaces=NS) is None


def test_signature_shape(pki: dict) -> None:
    root = parse_xml(_sign(pki, "gateway"))
    sig = root[-1]
    assert sig.tag == f"{{{DS}}}Signature"
    get = lambda path: sig.find(path, namespaces=NS)  # noqa: E731
    assert (
        get("ds:SignedInfo/ds:CanonicalizationMethod").get("Algorithm")
        == "http://www.w3.org/2001/10/xml-exc-c14n#"
    )
    assert (
        get("ds:SignedInfo/ds:SignatureMethod").get("Algorithm")
        == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    )
    ref = get("ds:SignedInfo/ds:Reference")
    assert ref.get("URI") == ""
    assert (
        ref.find("ds:DigestMethod", namespaces=NS).get("Algorithm")
        == "http://www.w3.org/2001/04/xmlenc#sha256"
    )
    transforms = [t.get("Algorithm") for t in ref.iterfind("ds:Transforms/ds:Transform", namespaces=NS)]
    assert transforms == [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
    ]
    cert_b64 = get("ds:KeyInfo/ds:X509Data/ds:X509Certificate").text
    cert = x509.load_der_x509_certificate(base64.b64decode("".join(cert_b64.split())))
    assert cert == x509.load_pem_x509_certificate(pki["gateway"].cert.read_bytes())


def test_signature_value_checks_out_with_plain_cryptography(pki: dict) -> None:
    """Independent of signxml: the SignatureValue is RSA-PKCS1v15-SHA256 over exc-C14N(SignedInfo)."""
    root = parse_xml(_sign(pki, "gateway"))
    signed_info = root.find("ds:Signature/ds:SignedInfo", namespaces=NS)
    c14n = etree.tostring(signed_info, method="c14n", exclusive=True)
    value = base64.b64decode(root.findtext("ds:Signature/ds:SignatureValue", namespaces=NS))
    cert = x509.load_pem_x509_certificate(pki["gateway"].cert.read_bytes())
    cert.public_key().verify(value, c14n, padding.PKCS1v15(), hashes.SHA256())  # raises if wrong
    # ...and the DigestValue is SHA-256 over exc-C14N of the document without the signature.
    copy = parse_xml(serialize(root))
    copy.remove(copy[-1])
    digest = base64.b64encode(
        hashlib.sha256(etree.tostring(copy, method="c14n", exclusive=True)).digest()
    ).decode()
    assert root.findtext("ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue", namespaces=NS) == digest


def test_signer_leaves_the_input_untouched(pki: dict) -> None:
    root = parse_xml(DOC)
    Signer(_key(pki, "ecdsa")).apply(root)
    assert serialize(root) == serialize(parse_xml(DOC))


def test_verify_accepts_an_element(pki: dict) -> None:
    element = parse_xml(_sign(pki, "ecdsa"))
    assert _verifier(pki).verify(element).signed_root.get("ID") == "d1"


def test_tampered_content_is_refused(pki: dict) -> None:
    signed = _sign(pki, "gateway").replace(b"Camera", b"Cannon")
    refusal = _refusal(_verifier(pki), signed)
    assert refusal.code == Code.SIGNATURE_INVALID
    assert refusal.problems[0].pointer == "/m:Declaration/ds:Signature"
    assert "changed after signing" in refusal.problems[0].message


def test_tampered_signature_value_is_refused(pki: dict) -> None:
    root = parse_xml(_sign(pki, "ecdsa"))
    value = root.find("ds:Signature/ds:SignatureValue", namespaces=NS)
    raw = bytearray(base64.b64decode(value.text))
    raw[10] ^= 0x01
    value.text = base64.b64encode(bytes(raw)).decode()
    assert _refusal(_verifier(pki), serialize(root)).code == Code.SIGNATURE_INVALID


def test_tampered_signed_info_is_refused(pki: dict) -> None:
    # Changing the digest value and the content together still breaks the signature over SignedInfo.
    forged = DOC.replace(b"Camera", b"Cannon")
    root = parse_xml(_sign(pki, "gateway"))
    copy = parse_xml(forged)
    digest = base64.b64encode(
        hashlib.sha256(etree.tostring(copy, method="c14n", exclusive=True)).digest()
    ).decode()
    root.find("ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue", namespaces=NS).text = digest
    root.find("m:Items/m:Item", namespaces=NS).text = "Cannon"
    assert _refusal(_verifier(pki), serialize(root)).code == Code.SIGNATURE_INVALID


def test_untrusted_ca_is_refused(pki: dict, other_pki: dict) -> None:
    signed = _sign(other_pki, "sim-NO")
    refusal = _refusal(_verifier(pki), signed)
    assert refusal.code == Code.CERT_UNTRUSTED
    assert "trusted authority" in refusal.problems[0].message


def test_self_signed_is_refused(pki: dict) -> None:
    assert _refusal(_verifier(pki), _sign(pki, "untrusted")).code == Code.CERT_UNTRUSTED


def test_expired_certificate_is_refused(pki: dict) -> None:
    refusal = _refusal(_verifier(pki), _sign(pki, "expired"))
    assert refusal.code == Code.CERT_UNTRUSTED
    assert "expired" in refusal.problems[0].message


def test_expired_certificate_verifies_at_signing_time(pki: dict) -> None:
    when = x509.load_pem_x509_certificate(
        pki["expired"].cert.read_bytes()
    ).not_valid_before_utc + dt.timedelta(days=1)
    assert _verifier(pki, verification_time=when).verify(_sign(pki, "expired")).signed_root.get("ID") == "d1"


def test_not_yet_valid_is_refused(pki: dict) -> None:
    refusal = _refusal(
        _verifier(pki, verification_time=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)), _sign(pki, "ecdsa")
    )
    assert refusal.code == Code.CERT_UNTRUSTED
    assert "not yet valid" in refusal.problems[0].message


def test_self_signed_leaf_is_no_anchor(pki: dict) -> None:
    with pytest.raises(Refusal) as info:
        TrustStore.from_paths([pki["untrusted"].cert])
    assert info.value.code == Code.NOT_CONFIGURED
    assert "not a CA certificate" in info.value.problems[0].message


def test_pinned_leaf_in_trust_store_is_trusted(pki: dict) -> None:
    store = TrustStore.from_paths((), pinned=[pki["untrusted"].cert])
    assert Verifier(store).verify(_sign(pki, "untrusted")).signer_subject.startswith("CN=untrusted (TEST)")


def test_missing_signature_is_refused(pki: dict) -> None:
    refusal = _refusal(_verifier(pki), DOC)
    assert refusal.code == Code.SIGNATURE_MISSING
    assert refusal.problems[0].pointer == "/m:Declaration"


def _resign_sha1(pki: dict, *, method: bool, digest: bool) -> bytes:
    """A correctly signed document whose algorithms are SHA-1 (made with signxml directly)."""
    from signxml import DigestAlgorithm, SignatureMethod, XMLSigner

    class LegacySigner(XMLSigner):
        def check_deprecated_methods(self) -> None:  # signxml refuses to make SHA-1 signatures; we need one
            pass

    signer = LegacySigner(
        signature_algorithm=SignatureMethod.RSA_SHA1 if method else SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA1 if digest else DigestAlgorithm.SHA256,
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    key = _key(pki, "rsa")
    return serialize(signer.sign(parse_xml(DOC), key=key.key, cert=key.certificates))


@pytest.mark.parametrize(
    ("method", "digest", "where"),
    [(True, False, "SignatureMethod"), (False, True, "DigestMethod"), (True, True, "SignatureMethod")],
)
def test_sha1_is_refused_as_weak(pki: dict, method: bool, digest: bool, where: str) -> None:
    refusal = _refusal(_verifier(pki), _resign_sha1(pki, method=method, digest=digest))
    assert refusal.code == Code.WEAK_ALGORITHM
    assert refusal.problems[0].pointer.endswith(where)
    assert "sha1" in refusal.problems[0].message


def test_hmac_is_refused_as_weak(pki: dict) -> None:
    root = parse_xml(_sign(pki, "gateway"))
    root.find("ds:Signature/ds:SignedInfo/ds:SignatureMethod", namespaces=NS).set(
        "Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
    )
    assert _refusal(_verifier(pki), serialize(root)).code == Code.WEAK_ALGORITHM


def test_wrapping_attack_caller_only_sees_signed_content(pki: dict) -> None:
    """An unsigned twin Declaration is added next to the signed one; the result is the signed one only."""
    signed = parse_xml(_sign(pki, "gateway"))
    envelope = etree.Element("{urn:eata:test}Envelope", nsmap={"m": "urn:eata:test"})
    evil = parse_xml(DOC.replace(b"FR-2026-000123", b"FR-2026-EVIL").replace(b'ID="d1"', b'ID="d2"'))
    envelope.append(evil)  # the twin comes first, where a naive consumer would look
    envelope.append(signed)
    # The enveloped signature signs its parent only, so this reference (URI="") now covers the whole envelope
    # and must fail — the attacker cannot move a whole-document signature.
    assert _refusal(_verifier(pki), serialize(envelope)).code == Code.SIGNATURE_INVALID


def test_wrapping_with_id_reference_returns_only_the_signed_element(pki: dict) -> None:
    """CVE-2020-5390 shape: signature by ID over one element, an unsigned twin in the same document."""
    from signxml import SignatureConstructionMethod, XMLSigner

    key = _key(pki, "rsa")
    doc = parse_xml(b'<m:Envelope xmlns:m="urn:eata:test">' + DOC + b"</m:Envelope>")
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped, c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"
    )
    signed_decl = signer.sign(doc[0], key=key.key, cert=key.certificates, reference_uri="d1")
    doc.remove(doc[0])
    evil = parse_xml(DOC.replace(b"FR-2026-000123", b"FR-2026-EVIL").replace(b'ID="d1"', b'ID="spoofed"'))
    doc.append(evil)
    doc.append(signed_decl)
    result = _verifier(pki).verify(serialize(doc))
    assert result.signed_root.get("ID") == "d1"
    assert result.signed_root.findtext("m:Carnet", namespaces=NS) == "FR-2026-000123"
    assert b"EVIL" not in etree.tostring(result.signed_root)


def test_hostile_xml_is_refused_before_verification(pki: dict) -> None:
    data = b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r>&e;</r>'
    assert _refusal(_verifier(pki), data).code == Code.HOSTILE_XML


def test_expected_reference_count_is_enforced(pki: dict) -> None:
    assert _refusal(_verifier(pki, expect_references=2), _sign(pki, "gateway")).code == Code.SIGNATURE_INVALID


def test_signer_refuses_mismatched_algorithm(pki: dict) -> None:
    with pytest.raises(Refusal) as info:
        Signer(_key(pki, "ecdsa"), "rsa-sha256")
    assert info.value.code == Code.NOT_CONFIGURED
    with pytest.raises(Refusal) as info:
        Signer(_key(pki, "rsa"), "rsa-sha1")  # type: ignore[arg-type]
    assert info.value.code == Code.WEAK_ALGORITHM


def test_load_key_from_pkcs12(pki: dict, tmp_path: Path) -> None:
    key = _key(pki, "gateway")
    ca = x509.load_pem_x509_certificate(pki["ca"].cert.read_bytes())
    blob = pkcs12.serialize_key_and_certificates(
        b"gateway", key.key, key.cert, [ca], serialization.BestAvailableEncryption(b"pw")
    )
    path = tmp_path / "gateway.p12"
    path.write_bytes(blob)
    loaded = load_signing_key(path, password="pw")
    assert loaded.cert == key.cert and loaded.chain == (ca,)
    assert (
        _verifier(pki).verify(serialize(Signer(loaded).apply(parse_xml(DOC)))).signed_root.get("ID") == "d1"
    )
    with pytest.raises(Refusal) as info:
        load_signing_key(path, password="wrong")
    assert info.value.code == Code.NOT_CONFIGURED


def test_load_key_with_wrong_certificate_is_refused(pki: dict) -> None:
    with pytest.raises(Refusal) as info:
        load_signing_key(pki["gateway"].key, pki["ecdsa"].cert)
    assert info.value.code == Code.NOT_CONFIGURED


def test_missing_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Refusal) as info:
        load_signing_key(tmp_path / "absent.pem", tmp_path / "absent.cert.pem")
    assert info.value.code == Code.NOT_CONFIGURED
    assert "cannot be read" in info.value.problems[0].message


def test_make_test_pki_marks_material_as_test(pki: dict) -> None:
    ca = x509.load_pem_x509_certificate(pki["ca"].cert.read_bytes())
    assert "TEST" in ca.subject.rfc4514_string() and "NOT FOR PRODUCTION" in ca.subject.rfc4514_string()
    assert {"ca", "gateway", "sim-GB", "rsa", "ecdsa", "expired", "untrusted"} <= set(pki)
    assert all(p.key.name.endswith(".key.pem") and p.cert.name.endswith(".cert.pem") for p in pki.values())
    assert pki["gateway"].key.stat().st_mode & 0o077 == 0


def _weak_signed(pki: dict, key: object) -> bytes:
    """A document signed by a 1024-bit RSA (or P-192) key whose certificate the trusted CA issued."""
    from cryptography.hazmat.primitives import serialization as ser
    from signxml import XMLSigner

    from conformance.testpki import _leaf

    ca_key = ser.load_pem_private_key(pki["ca"].key.read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(pki["ca"].cert.read_bytes())
    now = dt.datetime.now(dt.UTC)
    cert = _leaf(
        "weak (TEST)", key, ca_key, ca_cert.subject, now - dt.timedelta(days=1), now + dt.timedelta(days=9)
    )  # type: ignore[arg-type]
    signed = XMLSigner(
        signature_algorithm="rsa-sha256" if isinstance(key, rsa.RSAPrivateKey) else "ecdsa-sha256"
    )
    root = signed.sign(parse_xml(DOC), key=key, cert=[cert])  # type: ignore[arg-type]
    return serialize(root)


def test_rsa_1024_signer_is_refused_even_under_a_trusted_ca(pki: dict) -> None:
    data = _weak_signed(pki, rsa.generate_private_key(public_exponent=65537, key_size=1024))
    refusal = _refusal(_verifier(pki), data)
    assert refusal.code == Code.WEAK_ALGORITHM and "1024-bit RSA" in refusal.problems[0].message


def test_weak_own_signing_key_is_refused_at_load(pki: dict) -> None:
    from conformance.testpki import _leaf

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    now = dt.datetime.now(dt.UTC)
    cert = _leaf("weak (TEST)", key, key, x509.Name([]), now, now + dt.timedelta(days=1))
    with pytest.raises(Refusal) as info:
        SigningKey(key, cert)
    assert info.value.code == Code.NOT_CONFIGURED and "1024-bit" in info.value.problems[0].message
