"""The signed wire form (canonical bytes with the signature spliced in) is verified without C14N of the
document or a re-parse, and only when that is safe; every other serialization takes the C14N path.

signxml stays the judge: whatever the direct paths accept, it accepts too.
"""

from __future__ import annotations

import pytest
from lxml import etree
from signxml import SignatureConfiguration, XMLSigner, XMLVerifier

from gateway.errors import Code, Refusal
from gateway.signing import Signer, TrustStore, Verifier, enveloped, load_signing_key
from gateway.signing.enveloped import profile_of, signed_content_of_wire
from gateway.xmlsafe import parse_xml, serialize

DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"m": "urn:eata:test", "ds": DS}
DOC = (
    b'<m:Declaration xmlns:m="urn:eata:test" xmlns:unused="urn:unused"><m:Carnet>FR-2026-000123</m:Carnet>'
    b'<m:Items z="2" a="1"><m:Item>Camera &amp; lens &gt; 2</m:Item><m:Empty/></m:Items></m:Declaration>'
)
PARTIES = ["gateway", "ecdsa"]


def _signer(pki: dict, name: str) -> Signer:
    return Signer(load_signing_key(pki[name].key, pki[name].cert))


def _verifier(pki: dict) -> Verifier:
    return Verifier(TrustStore.from_paths(pki["ca"].cert))


def _signxml_accepts(pki: dict, data: bytes) -> etree._Element:
    config = SignatureConfiguration(require_x509=True)
    return XMLVerifier().verify(data, ca_pem_file=str(pki["ca"].cert), expect_config=config).signed_xml


def _canonical(el: etree._Element) -> bytes:
    return etree.tostring(el, method="c14n", exclusive=True)


def _takes_wire_path(data: bytes) -> bool:
    root = parse_xml(data)
    profile = profile_of(root)
    assert profile is not None
    return signed_content_of_wire(data, root, profile) is not None


@pytest.mark.parametrize("name", PARTIES)
def test_the_written_signed_info_is_its_exclusive_c14n(pki: dict, name: str) -> None:
    signer = _signer(pki, name)
    for signed in (signer.apply(parse_xml(DOC)), parse_xml(signer.sign(parse_xml(DOC)))):
        info = signed.find("ds:Signature/ds:SignedInfo", NS)
        digest = info.findtext("ds:Reference/ds:DigestValue", namespaces=NS)
        written = enveloped._SIGNED_INFO.format(method=enveloped._METHOD_OF[signer.algorithm], digest=digest)
        assert _canonical(info) == written.encode()


@pytest.mark.parametrize("name", PARTIES)
def test_the_wire_form_verifies_here_and_under_signxml(pki: dict, name: str) -> None:
    data = _signer(pki, name).sign(parse_xml(DOC))
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<m:Declaration")
    assert _takes_wire_path(data)
    verified = _verifier(pki).verify(data)
    reference = _signxml_accepts(pki, data)
    assert verified.signed_root.find("ds:Signature", NS) is None
    assert _canonical(verified.signed_root) == _canonical(reference) == _canonical(parse_xml(DOC))
    assert verified.signed_root.findtext("m:Items/m:Item", namespaces=NS) == "Camera & lens > 2"
    assert verified.signer_subject.startswith(f"CN={name} (TEST)")


@pytest.mark.parametrize("name", PARTIES)
def test_tree_and_bytes_signing_sign_the_same_content(pki: dict, name: str) -> None:
    signer = _signer(pki, name)
    tree = serialize(signer.apply(parse_xml(DOC)))
    wire = signer.sign(parse_xml(DOC))
    assert not _takes_wire_path(tree)  # <m:Empty/>, attribute order, unused prefix: not canonical as written
    for data in (tree, wire):
        verified = _verifier(pki).verify(data)
        assert _canonical(verified.signed_root) == _canonical(parse_xml(DOC))
        _signxml_accepts(pki, data)


def test_an_element_given_instead_of_bytes_is_canonicalized(pki: dict) -> None:
    root = parse_xml(_signer(pki, "gateway").sign(parse_xml(DOC)))
    verified = _verifier(pki).verify(root)
    assert verified.signed_root is not root and root.find("ds:Signature", NS) is not None
    assert _canonical(verified.signed_root) == _canonical(parse_xml(DOC))


def test_a_comment_in_the_wire_form_is_never_returned(pki: dict) -> None:
    data = _signer(pki, "gateway").sign(parse_xml(DOC)).replace(b"FR-2026-000123", b"FR-2026-<!---->000123")
    assert not _takes_wire_path(data)
    verified = _verifier(pki).verify(data)
    assert verified.signed_root.findtext("m:Carnet", namespaces=NS) == "FR-2026-000123"
    assert not verified.signed_root.xpath("//comment()")


def test_a_signed_processing_instruction_is_refused_as_the_parser_drops_it(pki: dict) -> None:
    root = parse_xml(DOC)
    root.insert(0, etree.ProcessingInstruction("x", "y"))
    data = _signer(pki, "gateway").sign(root)
    assert b"<?x y?>" in data
    with pytest.raises(Refusal) as info:  # what was signed is not what can be read: fail closed
        _verifier(pki).verify(data)
    assert info.value.code == Code.SIGNATURE_INVALID


def test_an_unsigned_processing_instruction_is_dropped_not_read(pki: dict) -> None:
    data = _signer(pki, "gateway").sign(parse_xml(DOC)).replace(b"<m:Carnet>", b"<?x y?><m:Carnet>")
    verified = _verifier(pki).verify(data)
    assert not verified.signed_root.xpath("//processing-instruction()")
    assert _canonical(verified.signed_root) == _canonical(parse_xml(DOC))


@pytest.mark.parametrize(
    "decoy",
    [
        b'<ds:Signature xmlns:ds="urn:not-dsig">pay to Mallory</ds:Signature>',  # same name, another namespace
        b"<m:Extra>pay to Mallory</m:Extra>",
    ],
)
def test_content_added_before_the_signature_is_refused(pki: dict, decoy: bytes) -> None:
    data = _signer(pki, "gateway").sign(parse_xml(DOC))
    at = data.index(b"<ds:Signature ")
    forged = data[:at] + decoy + data[at:]
    with pytest.raises(Refusal) as info:
        _verifier(pki).verify(forged)
    assert info.value.code == Code.SIGNATURE_INVALID


def test_another_encoding_declared_is_read_through_c14n(pki: dict) -> None:
    doc = DOC.replace(b"Camera", "Caméra".encode())
    wire = _signer(pki, "gateway").sign(parse_xml(doc))
    latin = wire.replace(b"encoding='UTF-8'", b"encoding='ISO-8859-1'").replace(
        "é".encode(), "é".encode("latin-1")
    )
    assert not _takes_wire_path(latin)
    verified = _verifier(pki).verify(latin)
    assert verified.signed_root.findtext("m:Items/m:Item", namespaces=NS).startswith("Caméra")


def test_text_after_the_signature_goes_to_signxml(pki: dict) -> None:
    """The enveloped transform keeps text after the signature; lxml's remove() would drop it."""
    key = load_signing_key(pki["gateway"].key, pki["gateway"].cert)

    class WholeDocument(XMLSigner):
        def _get_c14n_inputs_from_references(self, doc_root, references):  # type: ignore[no-untyped-def]
            return [self.get_root(doc_root)], references

    template = DOC.replace(
        b"</m:Items>", b'</m:Items><ds:Signature xmlns:ds="' + DS.encode() + b'" Id="placeholder"/>\n'
    )
    signed = WholeDocument(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#").sign(
        parse_xml(template), key=key.key, cert=key.certificates, reference_uri=""
    )
    data = serialize(signed)
    assert parse_xml(data).find("ds:Signature", NS).tail == "\n"
    assert profile_of(parse_xml(data)) is None
    assert _verifier(pki).verify(data).signed_root.findtext("m:Carnet", namespaces=NS) == "FR-2026-000123"
