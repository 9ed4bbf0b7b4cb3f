"""The gateway's own signature profile is signed and checked without signxml; signxml stays the judge.

Interop both ways with signxml's reference implementation, and the attacks the direct path must refuse
as signxml does: changed content, comment injection into signed text, a second signature, a foreign key.
"""

from __future__ import annotations

import pytest
from lxml import etree
from signxml import SignatureConfiguration, XMLSigner, XMLVerifier

from gateway.errors import Code, Refusal
from gateway.signing import Signer, TrustStore, Verifier, load_signing_key
from gateway.signing.enveloped import profile_of
from gateway.xmlsafe import parse_xml, serialize

NS = {"m": "urn:eata:test", "ds": "http://www.w3.org/2000/09/xmldsig#"}
DOC = b'<m:Declaration xmlns:m="urn:eata:test"><m:Carnet>FR-2026-000123</m:Carnet><m:Items n="2"><m:Item>Camera</m:Item></m:Items></m:Declaration>'


def _signed(pki: dict, name: str) -> bytes:
    key = load_signing_key(pki[name].key, pki[name].cert)
    return serialize(Signer(key).apply(parse_xml(DOC)))


def _verifier(pki: dict) -> Verifier:
    return Verifier(TrustStore.from_paths(pki["ca"].cert))


@pytest.mark.parametrize("name", ["gateway", "ecdsa"])
def test_our_signatures_verify_under_signxml(pki: dict, name: str) -> None:
    data = _signed(pki, name)
    assert profile_of(parse_xml(data)) is not None
    result = XMLVerifier().verify(
        data, ca_pem_file=str(pki["ca"].cert), expect_config=SignatureConfiguration(require_x509=True)
    )
    assert result.signed_xml.findtext("m:Carnet", namespaces=NS) == "FR-2026-000123"


@pytest.mark.parametrize(("name", "method"), [("gateway", "rsa-sha256"), ("ecdsa", "ecdsa-sha256")])
def test_signxml_signatures_in_the_profile_verify_directly(pki: dict, name: str, method: str) -> None:
    key = load_signing_key(pki[name].key, pki[name].cert)

    class WholeDocument(XMLSigner):
        def _get_c14n_inputs_from_references(self, doc_root, references):  # type: ignore[no-untyped-def]
            return [self.get_root(doc_root)], references

    signed = WholeDocument(
        signature_algorithm=method, c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"
    ).sign(parse_xml(DOC), key=key.key, cert=key.certificates, reference_uri="")
    data = serialize(signed)
    assert profile_of(parse_xml(data)) is not None  # the direct path is the one taken
    verified = _verifier(pki).verify(data)
    assert verified.signer_subject.startswith(f"CN={name} (TEST)")
    assert verified.signature_algorithm.endswith(method)


def test_changed_content_is_refused(pki: dict) -> None:
    data = _signed(pki, "gateway").replace(b"FR-2026-000123", b"FR-2026-999999")
    with pytest.raises(Refusal) as info:
        _verifier(pki).verify(data)
    assert info.value.code == Code.SIGNATURE_INVALID


def test_a_comment_injected_into_signed_text_cannot_truncate_it(pki: dict) -> None:
    """CVE-2017-11427 style: comments are outside the digest, so what is read must not see them."""
    data = _signed(pki, "gateway").replace(b"FR-2026-000123", b"FR-2026-<!-- x -->000123")
    verified = _verifier(pki).verify(data)
    assert verified.signed_root.findtext("m:Carnet", namespaces=NS) == "FR-2026-000123"
    assert not verified.signed_root.xpath("//comment()")


def test_a_second_signature_leaves_the_profile_and_is_judged_by_signxml(pki: dict) -> None:
    root = parse_xml(_signed(pki, "gateway"))
    wrapper = etree.SubElement(root.find("m:Items", NS), "{urn:eata:test}Extra")
    wrapper.append(etree.fromstring(etree.tostring(root.find("ds:Signature", NS))))
    data = serialize(root)
    assert profile_of(parse_xml(data)) is None
    with pytest.raises(Refusal):
        _verifier(pki).verify(data)


def test_a_signature_by_an_untrusted_key_is_refused(pki: dict) -> None:
    with pytest.raises(Refusal) as info:
        _verifier(pki).verify(_signed(pki, "untrusted"))
    assert info.value.code == Code.CERT_UNTRUSTED


def test_an_expired_signer_is_refused_even_after_a_cached_path(pki: dict) -> None:
    import datetime as dt

    verifier = Verifier(TrustStore.from_paths(pki["ca"].cert))
    data = _signed(pki, "ecdsa")
    verifier.verify(data)  # path validated and cached
    later = Verifier(
        TrustStore.from_paths(pki["ca"].cert),
        verification_time=dt.datetime.now(dt.UTC) + dt.timedelta(days=800),
    )
    later._paths = verifier._paths  # the same cache, asked two years on
    with pytest.raises(Refusal) as info:
        later.verify(data)
    assert info.value.code == Code.CERT_UNTRUSTED and "expired" in info.value.problems[0].message
