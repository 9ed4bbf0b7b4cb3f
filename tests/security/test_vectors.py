"""Our verifier over the third-party XML-DSig vectors in ../shared/vectors (see MANIFEST.md there).

The vectors are read in place from ``/work/shared`` beside the checkout and never copied into the repository.
Each case states its expectation. Where our stated policy differs from the upstream harness (SHA-1 refused,
X.509 required, HMAC refused), the expectation says so.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from signxml import DigestAlgorithm, SignatureMethod

from gateway.errors import Code, Refusal
from gateway.signing import ALLOWED_DIGESTS, ALLOWED_SIGNATURE_METHODS, TrustStore, Verified, Verifier
from gateway.signing.trust import KeyPolicy

OLD_KEYS = KeyPolicy(min_rsa_bits=512, other_keys=True)

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VECTORS = SHARED / "vectors"
SKIP = "../shared/vectors not present: third-party vectors are read from ../shared, never copied"
SX = "signxml/test"
INTEROP = f"{SX}/interop"
SAML = "python3-saml/tests/data/responses"
XC = "xml-crypto/test/static"

# Only for stating that a refusal is about more than SHA-1: the gateway never runs with this policy.
LEGACY = {
    "signature_methods": ALLOWED_SIGNATURE_METHODS
    | {SignatureMethod.RSA_SHA1, SignatureMethod.ECDSA_SHA1, SignatureMethod.DSA_SHA1},
    "digest_algorithms": ALLOWED_DIGESTS | {DigestAlgorithm.SHA1},
    "key_policy": OLD_KEYS,
}


def _utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


def _all_files() -> list[str]:
    if not VECTORS.is_dir():
        return []
    files = [
        p
        for p in VECTORS.rglob("*")
        if p.is_file() and (p.suffix == ".xml" or p.name.endswith(".xml.base64"))
    ]
    return sorted(str(p.relative_to(VECTORS)) for p in files)


def _data(rel: str) -> bytes:
    if not VECTORS.is_dir():
        pytest.skip(SKIP)
    raw = (VECTORS / rel).read_bytes()
    return base64.b64decode(raw) if rel.endswith(".base64") else raw


def _embedded_cert(data: bytes) -> x509.Certificate | None:
    found = re.search(rb"<(?:\w+:)?X509Certificate>(.*?)</", data, re.S)
    if not found:
        return None
    try:
        return x509.load_der_x509_certificate(base64.b64decode(b"".join(found.group(1).split())))
    except ValueError:
        return None


def _reference_count(data: bytes) -> int:
    signed_info = data.split(b"SignatureValue", 1)[0]
    return max(1, len(re.findall(rb"<(?:\w+:)?Reference[ >]", signed_info)))


def _best_case(rel: str, **policy: object) -> Verified:
    """Verify as favourably as possible for the file: trust the certificate it carries, at a time when that
    certificate was valid, expecting as many references as it has. What still fails is refused on its merits."""
    data = _data(rel)
    cert = _embedded_cert(data)
    trust = (
        TrustStore((), (cert,)) if cert else TrustStore.from_paths((), pinned=VECTORS / SX / "example.pem")
    )
    when = cert.not_valid_before_utc + dt.timedelta(hours=1) if cert else None
    policy.setdefault("key_policy", OLD_KEYS)  # these vectors date from 512/1024-bit RSA and DSA keys
    verifier = Verifier(trust, verification_time=when, expect_references=_reference_count(data), **policy)  # type: ignore[arg-type]
    return verifier.verify(data)


def _refused(fn: object, *args: object, **kwargs: object) -> Refusal:
    with pytest.raises(Refusal) as info:
        fn(*args, **kwargs)  # type: ignore[operator]
    return info.value


# -------------------------------------------------------------------------------------------------------------
# 1. The invariant over every vector: even when trusting the certificate a file carries, nothing verifies
#    except this list, and nothing escapes as anything but a Refusal.

BEST_CASE_VERIFIES = {
    # Strong-algorithm, X.509-carrying signatures that are cryptographically valid.
    f"{SX}/example-125.xml",
    f"{INTEROP}/pyXMLSecurity/SAML_assertion_sha256.xml",
    f"{INTEROP}/xml-crypto/wsfederation_metadata.xml",  # valid, but only inside its (expired) validity
    f"{XC}/wsfederation_metadata.xml",
    f"{XC}/valid_signature_utf8.xml",
    # XAdES samples: their XML-DSig core is valid. XAdES property checks (SigningCertificate digests,
    # policy stores) are out of scope for the gateway, so "*wrong-sign-cert-digest*", "*cert-v2-wrong-digest*",
    # "nonconformant-X_BE_CONN_10" and "*sigPolStore-noDigest*", which XAdESVerifier refuses, verify here.
    *(
        f"{SX}/xades/{name}.xml"
        for name in [
            "11068_signed",
            "Signature-X-CZ_SEF-4",
            "Signature-X-CZ_SEF-5",
            "Signature-X-UK_ASC-2",
            "TEST_S1a_C1a_InTL_VALID",
            "X_AT_SIT_1",
            "document.signed.c",
            "document.verified.c.xl",
            "dss-signed",
            "dss1788-original",
            "nonconformant-X_BE_CONN_10",
            "nonconformant-dss-2293",
            "nonconformant-dss1770",
            "nonconformant-xades-extended-epes-sigPolStore-noDigest",
            "nonconformant-xades-ocsp-not-embeds-certs",
            "nonconformant-xades-sign-cert-v1-wrong-serialnumber",
            "sig-with-orphan-ocsp-ref",
            "signature_property_signed",
            "xades-attr-authorities-values",
            "xades-counter-signature-injected",
            "xades-extended-epes-with-sigPolStore",
            "xades-extended-epes",
            "xades-extended-short-a",
            "xades-extended-t",
            "xades-extended-xl",
            "xades-fake-counter-signature",
            "xades-level-x-double-sigAndRefsTst-refsOnlyTst",
            "xades-lt-with-expired-ocsp-responder",
            "xades-lta-valid",
            "xades-lta-with-additional-cert-in-keyinfo",
            "xades-ocsp-before-cert-validity",
            "xades-sigPolicy-with-SPDocSpecification",
            "xades-sign-cert-v2-wrong-digest",
            "xades-sign-cert-v2-wrong-issuer-serial",
            "xades-with-enveloped-manifest",
            "xades-with-manifest-with-object-reference",
            "xades-with-multiple-alldatatimestamps",
            "xades-with-multiple-archivetimestamps",
            "xades-with-multiple-signaturetimestamps",
            "xades-with-spUserNotice-refs",
            "xades-wrong-sign-cert-digest",
            "xades-x-level-v2-wrong-sigAndRefsTst-type",
            "xades-x-level-v2",
            "xades-x-level-wrong-sigAndRefsTstVersion",
            "xades-x-level",
        ]
    ),
}


@pytest.mark.parametrize("rel", _all_files() or [pytest.param("-", marks=pytest.mark.skip(reason=SKIP))])
def test_every_vector_is_verified_or_refused_as_stated(rel: str) -> None:
    if rel in BEST_CASE_VERIFIES:
        result = _best_case(rel)
        assert result.signed_root is not None and result.signer_subject
    else:
        refusal = _refused(_best_case, rel)
        assert refusal.code in {
            Code.HOSTILE_XML,
            Code.UNREADABLE,
            Code.SIGNATURE_MISSING,
            Code.SIGNATURE_INVALID,
            Code.CERT_UNTRUSTED,
            Code.WEAK_ALGORITHM,
        }
        assert refusal.problems[0].message.endswith((".", ")"))


# -------------------------------------------------------------------------------------------------------------
# 2. MUST FAIL files from MANIFEST.md: refused under our policy, and still refused — for the stated reason —
#    when SHA-1 is allowed (so the refusal is not merely "SHA-1").


@dataclass(frozen=True)
class MustFail:
    rel: str
    code: int  # with the default policy
    legacy_code: int  # with SHA-1 allowed
    why: str


MUST_FAIL = [
    MustFail(
        f"{INTEROP}/merlin-xmldsig-twenty-three/signature-enveloping-hmac-sha1-40.xml",
        123,
        123,
        "truncated HMAC",
    ),
    MustFail(
        f"{INTEROP}/merlin-xmldsig-twenty-three/signature-x509-crt.xml",
        123,
        121,
        "signxml: InvalidCertificate",
    ),
    MustFail(
        f"{INTEROP}/merlin-xmldsig-twenty-three/signature-x509-crt-crl.xml", 123, 121, "cert revoked by CRL"
    ),
    MustFail(
        f"{INTEROP}/merlin-xmldsig-twenty-three/signature-keyname.xml",
        123,
        122,
        "KeyName only, no certificate",
    ),
    MustFail(
        f"{INTEROP}/merlin-xmldsig-twenty-three/signature-x509-sn.xml",
        123,
        123,
        "X509SubjectName unsupported",
    ),
    MustFail(
        f"{INTEROP}/merlin-xmldsig-twenty-three/signature-retrievalmethod-rawx509crt.xml",
        123,
        122,
        "RetrievalMethod",
    ),
    MustFail(
        f"{INTEROP}/merlin-xmldsig-twenty-three/signature.xml", 110, 110, "all-features file carries a DTD"
    ),
    MustFail(
        f"{INTEROP}/phaos-xmldsig-three/signature-rsa-enveloped-bad-digest-val.xml",
        123,
        121,
        "bad DigestValue",
    ),
    MustFail(
        f"{INTEROP}/phaos-xmldsig-three/signature-rsa-enveloped-bad-sig.xml",
        123,
        123,
        "bad signature (MD5 reference)",
    ),
    MustFail(
        f"{INTEROP}/phaos-xmldsig-three/signature-rsa-detached-xslt-transform-bad-retrieval-method.xml",
        123,
        122,
        "bad RetrievalMethod",
    ),
    MustFail(f"{INTEROP}/phaos-xmldsig-three/signature-hmac-md5-c14n-enveloping.xml", 123, 123, "HMAC-MD5"),
    MustFail(
        f"{INTEROP}/phaos-xmldsig-three/signature-hmac-sha1-40-c14n-comments-detached.xml",
        123,
        123,
        "truncated HMAC",
    ),
    MustFail(
        f"{INTEROP}/phaos-xmldsig-three/signature-hmac-sha1-40-exclusive-c14n-comments-detached.xml",
        123,
        123,
        "truncated HMAC",
    ),
    MustFail(f"{INTEROP}/aleksey-xmldsig-01/enveloping-expired-cert.xml", 123, 121, "expired cert"),
    MustFail(f"{INTEROP}/aleksey-xmldsig-01/enveloping-md5-rsa-md5.xml", 123, 123, "RSA-MD5"),
    MustFail(f"{INTEROP}/aleksey-xmldsig-01/enveloping-md5-hmac-md5.xml", 123, 123, "HMAC-MD5"),
    MustFail(f"{INTEROP}/aleksey-xmldsig-01/enveloping-md5-hmac-md5-64.xml", 123, 123, "truncated HMAC-MD5"),
    MustFail(
        f"{INTEROP}/aleksey-xmldsig-01/enveloping-ripemd160-rsa-ripemd160.xml", 123, 123, "RSA-RIPEMD160"
    ),
    MustFail(
        f"{INTEROP}/aleksey-xmldsig-01/enveloping-ripemd160-hmac-ripemd160.xml", 123, 123, "HMAC-RIPEMD160"
    ),
    MustFail(
        f"{INTEROP}/aleksey-xmldsig-01/enveloping-ripemd160-hmac-ripemd160-64.xml", 123, 123, "truncated HMAC"
    ),
    MustFail(f"{INTEROP}/aleksey-xmldsig-01/enveloping-sha1-hmac-sha1-64.xml", 123, 123, "truncated HMAC"),
    MustFail(
        f"{INTEROP}/aleksey-xmldsig-01/enveloping-sha256-hmac-sha256-64.xml", 123, 123, "truncated HMAC"
    ),
    MustFail(
        f"{INTEROP}/aleksey-xmldsig-01/enveloping-sha512-hmac-sha512-64.xml", 123, 123, "truncated HMAC"
    ),
    MustFail(
        f"{INTEROP}/aleksey-xmldsig-01-enveloped/invalid_enveloped_transform.xml",
        121,
        121,
        "invalid transform",
    ),
    MustFail(f"{INTEROP}/enveloping-rsa-x509chain.xml", 123, 121, "cA asserted in an EE certificate"),
    MustFail(
        f"{INTEROP}/ws-security/ws.js/test/unit/client/files/invalid wss resp - changed content.xml",
        123,
        122,
        "changed content (WS-Security token reference, no X509Data)",
    ),
    MustFail(f"{SX}/xades/dss-signed-altered-signedPropsRemoved.xml", 121, 121, "altered"),
    MustFail(f"{SX}/xades/nonconformant-dss-signed-altered-refRemoved.xml", 121, 121, "altered"),
    MustFail(f"{SX}/xades/valid-xades-policyId-newlines.xml", 121, 121, "newlines change the signed bytes"),
    MustFail(
        f"{SX}/xades/xades-unsupported-signature-algorithm.xml", 123, 123, "unsupported signature algorithm"
    ),
    MustFail(
        f"{SAML}/invalids/signature_wrapping_attack.xml.base64",
        123,
        121,
        "XSW: ambiguous reference (2 nodes)",
    ),
    MustFail(f"{SAML}/wrapped_response_2.xml.base64", 123, 121, "signature over the wrong element"),
    MustFail(f"{SAML}/invalids/bad_reference.xml.base64", 123, 121, "digest mismatch"),
    MustFail(f"{SAML}/invalids/no_signature.xml.base64", 120, 120, "no signature"),
    MustFail(f"{SAML}/invalids/no_key.xml.base64", 123, 121, "no key"),
    MustFail(
        f"{SAML}/response_node_text_attack.xml.base64",
        123,
        121,
        "comment injection sample fails the DSig schema",
    ),
    MustFail(f"{XC}/valid_saml_signature_wrapping.xml", 123, 121, "XSW: duplicate ID"),
    MustFail(f"{XC}/id_with_quotes.xml", 123, 121, "ID with quotes"),
    MustFail(f"{XC}/valid_saml_withcomments.xml", 123, 121, "comments change the signed content"),
    MustFail(
        f"{XC}/valid_saml_with_digest_comment.xml",
        123,
        121,
        "digest read from a comment (CVE-2025-29775 class)",
    ),
    MustFail(f"{XC}/invalid_saml_no_signed_info.xml", 123, 121, "no SignedInfo"),
    MustFail(f"{XC}/saml_multiple_signed_info_nodes.xml", 123, 121, "two SignedInfo (CVE-2025-29774 class)"),
    MustFail(f"{XC}/saml_wrapped_signed_info_node.xml", 123, 121, "wrapped SignedInfo"),
    MustFail(
        f"{XC}/invalid_signature_without_transforms_element.xml",
        123,
        122,
        "invalid signature, no certificate",
    ),
    *(
        MustFail(f"{XC}/invalid_signature - {name}.xml", 123, legacy, name)
        for name, legacy in [
            ("changed content", 121),
            ("hash", 122),
            ("non existing reference", 122),
            ("signature value", 122),
            ("wsu - changed content", 122),
            ("wsu - hash", 122),
            ("wsu - invalid signature value", 122),
            ("wsu - non existing reference", 122),
        ]
    ),
]


@pytest.mark.parametrize("case", MUST_FAIL, ids=lambda c: c.rel.rsplit("/", 1)[-1])
def test_manifest_must_fail_vectors_are_refused(case: MustFail) -> None:
    assert case.rel not in BEST_CASE_VERIFIES
    assert _refused(_best_case, case.rel).code == case.code
    assert _refused(_best_case, case.rel, **LEGACY).code == case.legacy_code


def test_defusedxml_set_in_signxml_is_all_refused() -> None:
    """MANIFEST 1i: every file of signxml's defusedxml-test-data is rejected (DTD → 110, controls → 120)."""
    folder = VECTORS / SX / "defusedxml-test-data"
    if not folder.is_dir():
        pytest.skip(SKIP)
    codes = {
        p.name: _refused(_best_case, str(p.relative_to(VECTORS))).code for p in sorted(folder.glob("*.xml"))
    }
    assert len(codes) == 9
    assert codes.pop("simple.xml") == codes.pop("simple-ns.xml") == Code.SIGNATURE_MISSING
    assert set(codes.values()) == {Code.HOSTILE_XML}


# -------------------------------------------------------------------------------------------------------------
# 3. SHA-1-only vectors: refused with 123 by default (our stated expectation), although they verify when SHA-1
#    is allowed — so the refusal is exactly the algorithm policy, with the right trust anchor.


@dataclass(frozen=True)
class Sha1Case:
    rel: str
    anchor: str
    when: dt.datetime | None


SHA1_VALID = [
    Sha1Case(f"{XC}/valid_saml.xml", f"{XC}/feide_public.pem", _utc(2014, 1, 1)),
    Sha1Case(
        f"{INTEROP}/xml-crypto/signature_with_inclusivenamespaces.xml",
        f"{INTEROP}/xml-crypto/signature_with_inclusivenamespaces.pem",
        None,
    ),
    Sha1Case(
        f"{INTEROP}/pyXMLSecurity/SAML_assertion1.xml",
        f"{INTEROP}/pyXMLSecurity/test.pem",
        _utc(2009, 10, 20),
    ),
    Sha1Case(f"{SAML}/double_signed_response.xml.base64", "settings1", _utc(2007, 7, 1)),
    Sha1Case(f"{SAML}/signed_message_response.xml.base64", "settings1", _utc(2007, 7, 1)),
]


def _trust(anchor: str) -> TrustStore:
    if anchor.startswith("settings"):
        import json

        pem = json.loads((VECTORS / "python3-saml/tests/settings" / f"{anchor}.json").read_text())["idp"][
            "x509cert"
        ]
        return TrustStore.from_pem(
            pinned=[f"-----BEGIN CERTIFICATE-----\n{pem}\n-----END CERTIFICATE-----\n".encode()]
        )
    cert = x509.load_pem_x509_certificate((VECTORS / anchor).read_bytes())
    ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca if _has_bc(cert) else False
    return TrustStore((cert,) if ca else (), (cert,))  # the certificate as given, and as a CA when it is one


def _has_bc(cert: x509.Certificate) -> bool:
    try:
        cert.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return True


@pytest.mark.parametrize("case", SHA1_VALID, ids=lambda c: c.rel.rsplit("/", 1)[-1])
def test_sha1_vectors_refused_as_weak_by_default(case: Sha1Case) -> None:
    data = _data(case.rel)
    refusal = _refused(
        Verifier(_trust(case.anchor), verification_time=case.when, key_policy=OLD_KEYS).verify, data
    )
    assert refusal.code == Code.WEAK_ALGORITHM
    assert "sha1" in refusal.problems[0].message
    verified = Verifier(_trust(case.anchor), verification_time=case.when, **LEGACY).verify(data)  # type: ignore[arg-type]
    assert verified.signed_root is not None


def test_sha1_signed_saml_is_refused_when_cert_dates_are_enforced() -> None:
    """python3-saml: "expired cert, verified it" must be False — at today's date the IdP cert (2007) has expired."""
    refusal = _refused(
        Verifier(_trust("settings1"), **LEGACY).verify, _data(f"{SAML}/double_signed_response.xml.base64")
    )  # type: ignore[arg-type]
    assert refusal.code == Code.CERT_UNTRUSTED and "expired" in refusal.problems[0].message


# -------------------------------------------------------------------------------------------------------------
# 4. SHA-256+ vectors that verify with the right certificate or CA and verification time.


def test_sha256_saml_assertion_verifies_with_its_certificate() -> None:
    data = _data(f"{INTEROP}/pyXMLSecurity/SAML_assertion_sha256.xml")
    verified = Verifier(
        _trust(f"{INTEROP}/pyXMLSecurity/test.pem"), verification_time=_utc(2009, 10, 20), key_policy=OLD_KEYS
    ).verify(data)
    assert verified.signed_root.tag == "{urn:oasis:names:tc:SAML:2.0:assertion}Assertion"
    assert verified.signed_root.get("ID") == "11111"
    assert verified.signature_algorithm.endswith("rsa-sha256")
    # ...and the same file at today's date: the certificate expired in 2009.
    assert (
        _refused(Verifier(_trust(f"{INTEROP}/pyXMLSecurity/test.pem"), key_policy=OLD_KEYS).verify, data).code
        == Code.CERT_UNTRUSTED
    )


def test_sha256_example_verifies_with_pinned_cert_but_its_ca_fails_path_validation() -> None:
    """example.pem is the signer; example-ca.pem is its CA, but that old CA fails cryptography's path
    validation (extension policy), so trusting only the CA refuses with 122 — stricter than the harness."""
    data = _data(f"{SX}/example-125.xml")
    when = _utc(2015, 6, 1)
    verified = Verifier(
        _trust(f"{SX}/example.pem"), verification_time=when, expect_references=2, key_policy=OLD_KEYS
    ).verify(data)
    assert [r.tag for r in verified.signed_roots] == ["data", "{http://www.w3.org/2000/09/xmldsig#}Object"]
    refusal = _refused(
        Verifier(
            _trust(f"{SX}/example-ca.pem"), verification_time=when, expect_references=2, key_policy=OLD_KEYS
        ).verify,
        data,
    )
    assert refusal.code == Code.CERT_UNTRUSTED


@pytest.mark.parametrize(
    "name", ["dss-signed", "xades-lta-valid", "Signature-X-UK_ASC-2", "xades-extended-xl"]
)
def test_sha256_xades_core_signatures_verify_at_signing_time(name: str) -> None:
    rel = f"{SX}/xades/{name}.xml"
    data = _data(rel)
    verified = _best_case(rel)
    assert len(verified.signed_roots) == _reference_count(data) >= 2
    # The same signature at today's date: these test certificates have long expired.
    cert = _embedded_cert(data)
    assert cert is not None
    refusal = _refused(
        Verifier(TrustStore((), (cert,)), expect_references=_reference_count(data)).verify, data
    )
    assert refusal.code == Code.CERT_UNTRUSTED


@pytest.mark.parametrize("n", range(1, 9))
def test_aleksey_enveloped_sha256_do_not_verify_here(n: int) -> None:
    """MANIFEST 1c lists these as verifying against cacert.pem. Observed with signxml 5.2 (plain XMLVerifier with
    x509_cert=cacert.pem agrees): the RSA signature value does not match, and cacert.pem is an X.509 v1
    certificate that path validation rejects. Our stated expectation is therefore refusal (121 when pinned)."""
    rel = f"{INTEROP}/aleksey-xmldsig-01-enveloped/enveloped-sha256-rsa-sha256-test-{n}.xml"
    refusal = _refused(
        Verifier(_trust(f"{INTEROP}/aleksey-xmldsig-01-enveloped/cacert.pem")).verify, _data(rel)
    )
    assert refusal.code == Code.SIGNATURE_INVALID


@pytest.mark.parametrize("name", ["p256_sha256", "p384_sha512", "sha256-rsa-sha256", "derencoded-rsa"])
def test_tr2012_keyvalue_only_signatures_are_refused_for_lack_of_certificate(name: str) -> None:
    """TR2012 signatures carry a bare KeyValue. The gateway requires an X.509 certificate (122)."""
    refusal = _refused(_best_case, f"{INTEROP}/TR2012/signature-enveloping-{name}.xml")
    assert refusal.code == Code.CERT_UNTRUSTED


def test_expired_wsfederation_metadata_is_refused_today() -> None:
    refusal = _refused(
        Verifier(_trust(f"{XC}/wsfederation_metadata.pem")).verify, _data(f"{XC}/wsfederation_metadata.xml")
    )
    assert refusal.code == Code.CERT_UNTRUSTED and "expired" in refusal.problems[0].message


# -------------------------------------------------------------------------------------------------------------
# 5. Signature wrapping: the caller only ever sees what was signed.


def test_cve_2020_5390_sample_signed_root_is_the_real_assertion() -> None:
    """python3-saml signature_wrapping_attack2: an unsigned "id-SPOOFED_ASSERTION" sits beside the signed
    assertion. SHA-1 → 123 by default; with SHA-1 allowed the signature verifies, and ``signed_root`` is the real
    assertion, never the spoofed one."""
    rel = f"{SAML}/invalids/signature_wrapping_attack2.xml.base64"
    assert _refused(_best_case, rel).code == Code.WEAK_ALGORITHM
    verified = _best_case(rel, **LEGACY)
    assert verified.signed_root.get("ID") == "id-Aa9IWfDxJVIX6GQye"
    assert b"id-SPOOFED_ASSERTION" not in _tostring(verified.signed_root)
    assert b"id-SPOOFED_ASSERTION" in _data(rel)  # the spoof really is in the input


def test_response4_second_assertion_is_the_only_signed_content() -> None:
    """python3-saml response4: two assertions, only the second signed. With the IdP's certificate it is refused
    (the signer is not the IdP); even trusting the embedded certificate, only the signed one comes back."""
    rel = f"{SAML}/response4.xml.base64"
    refusal = _refused(
        Verifier(_trust("settings1"), verification_time=_utc(2007, 7, 1), **LEGACY).verify, _data(rel)
    )  # type: ignore[arg-type]
    assert refusal.code == Code.CERT_UNTRUSTED
    verified = _best_case(rel, **LEGACY)
    assert verified.signed_root.get("ID") == "pfx9516b0f3-4536-10f6-c6fa-9dd523e1498c"
    assert _tostring(verified.signed_root).count(b"<saml:Assertion") == 1


def _tostring(el: object) -> bytes:
    from lxml import etree

    return etree.tostring(el)  # type: ignore[arg-type]


def test_vectors_are_not_copied_into_the_repository() -> None:
    repo = Path(__file__).resolve().parents[2]
    if not VECTORS.is_dir():
        pytest.skip(SKIP)
    names = {p.name for p in VECTORS.rglob("*.xml")} - {"simple.xml", "simple-ns.xml"}
    copied = [p for p in repo.rglob("*.xml") if p.name in names and ".git" not in p.parts]
    assert copied == []
