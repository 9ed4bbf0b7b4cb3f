"""The form ``Signer.sign`` writes is recognised in the bytes (no walk of the signature, no C14N); it must
find what ``profile_of`` finds, and every other input must get exactly the answer the tree path gives.

The reference for "the answer the tree path gives" is the same verifier with the byte recognition off.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from gateway.errors import Refusal
from gateway.signing import Signer, TrustStore, Verifier, enveloped, load_signing_key
from gateway.signing import verifier as verifier_module
from gateway.signing.enveloped import profile_of, written_content, written_form
from gateway.signing.keys import SigningKey
from gateway.xmlsafe import DEFAULT_LIMITS, XmlLimits, element_path, parse_xml

DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"m": "urn:eata:test", "ds": DS}
DOC = (
    b'<m:Declaration xmlns:m="urn:eata:test" xmlns:unused="urn:unused"><m:Carnet>FR-2026-000123</m:Carnet>'
    b'<m:Items z="2" a="1"><m:Item>Camera &amp; lens &gt; 2</m:Item><m:Empty/></m:Items></m:Declaration>'
)
PARTIES = ["gateway", "ecdsa"]


def _key(pki: dict, name: str) -> SigningKey:
    return load_signing_key(pki[name].key, pki[name].cert)


def _wire(pki: dict, name: str = "gateway", doc: bytes = DOC) -> bytes:
    return Signer(_key(pki, name)).sign(parse_xml(doc))


def _outcome(verifier: Verifier, data: bytes) -> tuple:
    """What a caller can observe: the refusal, or the signed content (canonical) and who signed it."""
    try:
        verified = verifier.verify(data)
    except Refusal as refusal:
        return ("refused", refusal.problems)
    return (
        "accepted",
        etree.tostring(verified.signed_root, method="c14n", exclusive=True),
        len(verified.signed_roots),
        verified.signer_subject,
        verified.signer_certificate,
        verified.signature_algorithm,
        verified.signed_root.find("ds:Signature", NS) is None,
    )


def _tree_path_outcome(monkeypatch: pytest.MonkeyPatch, verifier: Verifier, data: bytes) -> tuple:
    with monkeypatch.context() as patch:
        patch.setattr(verifier_module, "written_form", lambda data: None)
        return _outcome(verifier, data)


def _recognised(data: bytes) -> bool:
    written = written_form(data)
    return written is not None and written_content(written, DEFAULT_LIMITS) is not None


def _c14n(el: etree._Element) -> bytes:
    return etree.tostring(el, method="c14n", exclusive=True)


@pytest.mark.parametrize("name", PARTIES)
def test_what_the_bytes_show_is_what_profile_of_finds(pki: dict, name: str) -> None:
    for doc in (DOC, b"<r/>", b'<a:r xmlns:a="urn:a"><a:x>1</a:x></a:r>'):
        data = _wire(pki, name, doc)
        root = parse_xml(data)
        written = written_form(data)
        assert written is not None
        expected = profile_of(root)
        assert expected is not None
        assert written.method == expected.method and written.digest == expected.digest
        assert written.signature_value == expected.signature_value
        assert written.certificates == expected.certificates and written.ders == expected.ders
        assert written.signed_info == _c14n(expected.signed_info)
        assert written.pointer == element_path(expected.signature) == verifier_module._pointer(root, root[-1])
        assert written.elements == sum(1 for _ in expected.signature.iter())
        content = written_content(written, DEFAULT_LIMITS)
        assert content is not None
        root.remove(expected.signature)
        assert _c14n(content) == _c14n(root) == _c14n(parse_xml(doc))
        assert written.content == data[: data.index(b"<ds:Signature ")] + data[data.rindex(b"</") :]


def test_every_signature_method_of_the_profile_is_recognised(pki: dict) -> None:
    data = _wire(pki)
    for uri in enveloped.SIGNATURE_METHODS:
        changed = data.replace(enveloped._METHOD_OF["rsa-sha256"].encode(), uri.encode())
        written = written_form(changed)
        assert written is not None and written.method == uri
        assert written.signed_info == _c14n(parse_xml(changed)[-1][0])


def test_a_chain_is_read_in_order_and_root_first_is_left_to_the_tree_path(pki: dict) -> None:
    key = _key(pki, "gateway")
    ca_cert = x509.load_pem_x509_certificate(pki["ca"].cert.read_bytes())
    data = Signer(SigningKey(key.key, key.cert, (ca_cert,))).sign(parse_xml(DOC))
    written = written_form(data)
    assert written is not None and written.certificates == (key.cert, ca_cert)
    assert written.elements == 15
    first, second = (base64.b64encode(c.public_bytes(Encoding.DER)) for c in (key.cert, ca_cert))
    swapped = data.replace(first, b"@@").replace(second, first).replace(b"@@", second)
    assert written_form(swapped) is None
    assert profile_of(parse_xml(swapped)) is None


def _edit(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        assert old in data
        return data.replace(old, new, 1)

    return edit


def _text_of(tag: bytes) -> Callable[[bytes], tuple[int, int]]:
    def span(data: bytes) -> tuple[int, int]:
        start = data.index(b"<ds:" + tag + b">") + len(tag) + 5
        return start, data.index(b"</ds:" + tag + b">", start)

    return span


def _change_text(tag: bytes, change: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        start, end = _text_of(tag)(data)
        return data[:start] + change(data[start:end]) + data[end:]

    return edit


def _method(uri: bytes) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        start = data.index(b'<ds:SignatureMethod Algorithm="') + len(b'<ds:SignatureMethod Algorithm="')
        return data[:start] + uri + data[data.index(b'"', start) :]

    return edit


def _flip(text: bytes) -> bytes:
    return text[:10] + (b"B" if text[10:11] != b"B" else b"C") + text[11:]


def _moved(data: bytes) -> bytes:
    start = data.index(b"<ds:Signature ")
    end = data.index(b"</ds:Signature>") + len(b"</ds:Signature>")
    rest = data[:start] + data[end:]
    return rest.replace(b"<m:Empty/>", b"<m:Empty>" + data[start:end] + b"</m:Empty>")


_DECL = b"<?xml version='1.0' encoding='UTF-8'?>"
_EXC = b"http://www.w3.org/2001/10/xml-exc-c14n#"

# Each edit of the signed bytes either leaves the byte recognition, and must then get the tree path's answer,
# or keeps it, and must get the same answer still. (name, edit, recognised afterwards)
EDITS: list[tuple[str, Callable[[bytes], bytes], bool]] = [
    ("as written", lambda d: d, True),
    ("double-quoted declaration", _edit(_DECL, b'<?xml version="1.0" encoding="UTF-8"?>'), True),
    ("no declaration", _edit(_DECL + b"\n", b""), True),
    ("signature value changed", _change_text(b"SignatureValue", _flip), True),
    ("content changed", _edit(b"FR-2026-000123", b"FR-2026-999999"), False),
    ("comment in the content", _edit(b"FR-2026-000123", b"FR-2026-<!---->000123"), False),
    ("unsigned PI in the content", _edit(b"<m:Carnet>", b"<?x y?><m:Carnet>"), False),
    ("another declaration", _edit(b"encoding='UTF-8'", b"encoding='ISO-8859-1'"), False),
    ("text after the signature", _edit(b"</ds:Signature>", b"</ds:Signature>\n"), False),
    ("space in the root end tag", lambda d: d[:-1] + b" >", False),
    ("attribute on the signature", _edit(b'<ds:Signature xmlns', b'<ds:Signature Id="s" xmlns'), False),
    ("attribute on SignedInfo", _edit(b"<ds:SignedInfo ", b'<ds:SignedInfo Id="i" '), False),
    ("whitespace in SignedInfo", _edit(b"<ds:Reference ", b"\n<ds:Reference "), False),
    ("signature value wrapped", _change_text(b"SignatureValue", lambda t: t[:40] + b"\n" + t[40:]), False),
    ("signature value bad base64", _change_text(b"SignatureValue", lambda t: b"A" + t), False),
    ("character reference in the certificate", _change_text(b"X509Certificate", lambda t: b"&#77;" + t[1:]), False),
    ("certificate garbled", _change_text(b"X509Certificate", lambda t: b"AAAA" + t[4:]), False),
    ("digest value changed", _change_text(b"DigestValue", _flip), False),
    ("digest value longer", _change_text(b"DigestValue", lambda t: b"AAAA" + t), False),
    ("digest method sha512", _edit(b"xmlenc#sha256", b"xmlenc#sha512"), False),
    ("c14n 1.0 for SignedInfo", _edit(_EXC + b'"></ds:CanonicalizationMethod>', b'http://www.w3.org/TR/2001/REC-xml-c14n-20010315"></ds:CanonicalizationMethod>'), False),
    ("signature method hmac", _method(b"http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"), False),
    ("signature method sha1", _method(b"http://www.w3.org/2000/09/xmldsig#rsa-sha1"), False),
    ("decoy of the same name added", _edit(b"</m:Items>", b'</m:Items><ds:Signature xmlns:ds="urn:x">x</ds:Signature>'), False),
    ("the signature moved into the content", _moved, False),
]  # fmt: skip

# Documents signed as they are: signed content that the profile or the wire form treats specially.
SIGNED: list[tuple[str, bytes, bool]] = [
    ("a second dsig signature in the content", DOC.replace(b"<m:Empty/>", b'<s:Signature xmlns:s="' + DS.encode() + b'"/>'), False),
    ("a same-named decoy in the content", DOC.replace(b"<m:Empty/>", b'<ds:Signature xmlns:ds="urn:x">x</ds:Signature>'), True),
    ("a signed comment", DOC.replace(b"<m:Empty/>", b"<m:Empty><!-- c --></m:Empty>"), True),
    ("text that looks like a signature", DOC.replace(b"lens", b'&lt;ds:Signature xmlns:ds="' + DS.encode() + b'"&gt;'), True),
]  # fmt: skip


def _same_answer(pki: dict, monkeypatch: pytest.MonkeyPatch, data: bytes, recognised: bool) -> None:
    assert _recognised(data) == recognised
    verifier = Verifier(TrustStore.from_paths(pki["ca"].cert))
    assert _outcome(verifier, data) == _tree_path_outcome(monkeypatch, verifier, data)


@pytest.mark.parametrize("name", PARTIES)
@pytest.mark.parametrize(("label", "edit", "recognised"), EDITS, ids=[e[0] for e in EDITS])
def test_every_edit_gets_the_tree_paths_answer(
    pki: dict,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    label: str,
    edit: Callable[[bytes], bytes],
    recognised: bool,
) -> None:
    _same_answer(pki, monkeypatch, edit(_wire(pki, name)), recognised)


@pytest.mark.parametrize("name", PARTIES)
@pytest.mark.parametrize(("label", "doc", "recognised"), SIGNED, ids=[s[0] for s in SIGNED])
def test_special_signed_content_gets_the_tree_paths_answer(
    pki: dict, monkeypatch: pytest.MonkeyPatch, name: str, label: str, doc: bytes, recognised: bool
) -> None:
    root = parse_xml(doc)
    _same_answer(pki, monkeypatch, Signer(_key(pki, name)).sign(root), recognised)


@pytest.mark.parametrize("signer", ["untrusted", "expired"])
def test_an_untrusted_or_expired_signer_is_refused_the_same_way(
    pki: dict, monkeypatch: pytest.MonkeyPatch, signer: str
) -> None:
    data = _wire(pki, signer)
    assert _recognised(data)
    verifier = Verifier(TrustStore.from_paths(pki["ca"].cert))
    outcome = _outcome(verifier, data)
    assert outcome[0] == "refused"
    assert outcome == _tree_path_outcome(monkeypatch, verifier, data)


def test_a_narrower_verifier_policy_is_honoured(pki: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from signxml import SignatureMethod

    data = _wire(pki, "ecdsa")
    verifier = Verifier(
        TrustStore.from_paths(pki["ca"].cert), signature_methods=frozenset({SignatureMethod.RSA_SHA256})
    )
    outcome = _outcome(verifier, data)
    assert outcome[0] == "refused"
    assert outcome == _tree_path_outcome(monkeypatch, verifier, data)


@pytest.mark.parametrize("name", PARTIES)
def test_a_signed_processing_instruction_gets_the_tree_paths_answer(
    pki: dict, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    root = parse_xml(DOC)
    root[1].append(etree.ProcessingInstruction("x", "y"))  # the parser drops PIs, so put one in the tree
    data = Signer(_key(pki, name)).sign(root)
    assert b"<?x y?>" in data
    _same_answer(pki, monkeypatch, data, False)


def _limits_around(data: bytes) -> list[XmlLimits]:
    root = parse_xml(data)
    count = sum(1 for _ in root.iter())
    depth = max(sum(1 for _ in el.iterancestors()) + 1 for el in root.iter())
    near = (-1, 0, 1)
    return [
        *(XmlLimits(max_elements=count + d) for d in near),
        *(XmlLimits(max_elements=15 + d) for d in near),  # the signature alone has 14 elements
        *(XmlLimits(max_depth=depth + d) for d in near),
        *(XmlLimits(max_depth=d) for d in (4, 5, 6, 7)),  # the signature reaches depth 6
        *(XmlLimits(max_bytes=len(data) + d) for d in near),
    ]


@pytest.mark.parametrize("doc", [DOC, b"<r/>", b"<a><b><c><d><e><f><g/></f></e></d></c></b></a>"])
def test_limits_of_the_whole_document_are_kept_at_their_edges(
    pki: dict, monkeypatch: pytest.MonkeyPatch, doc: bytes
) -> None:
    """Only the signed content is parsed on the fast path; the limits must still be the whole document's:
    every answer at and around each edge is the one the whole parse gives."""
    data = _wire(pki, "gateway", doc)
    accepted = refused = 0
    for limits in _limits_around(data):
        verifier = Verifier(TrustStore.from_paths(pki["ca"].cert), limits=limits)
        outcome = _outcome(verifier, data)
        assert outcome == _tree_path_outcome(monkeypatch, verifier, data), limits
        accepted += outcome[0] == "accepted"
        refused += outcome[0] == "refused"
    assert accepted and refused


def test_a_malformed_content_is_refused_by_the_whole_parse(
    pki: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    # unbalanced, so the digest cannot match either; the refusal is the parser's, with its position
    data = _edit(b"</m:Empty>", b"")(_wire(pki))
    verifier = Verifier(TrustStore.from_paths(pki["ca"].cert))
    outcome = _outcome(verifier, data)
    assert outcome[0] == "refused" and "line" in outcome[1][0].message
    assert outcome == _tree_path_outcome(monkeypatch, verifier, data)
