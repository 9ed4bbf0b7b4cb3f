"""Our XSD profiles of the WCO DMS (UK CDS) and NCTS P5 schemas.

Each profile is a restriction of an official schema: same namespaces, element names, order and
cardinalities, fewer optional elements, narrower values. So every sample must be valid under our
profile *and* under the official schema, and breaking the order or dropping a required element must
fail our profile. The official schemas are read from ../shared/standards beside the checkout, never
copied into the repository.

Validation times (lxml, per document, profile vs official) are printed with ``pytest -s``; they are
measured, not asserted.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
XSD = ROOT / "xsd"
SAMPLES = Path(__file__).resolve().parent / "samples"
STANDARDS = Path(__file__).resolve().parents[3] / "shared" / "standards"

WCO_DEC = "WCO_DEC_2_DMS_ATA.xsd"
WCO_RES = "WCO_RES_2_DMS_ATA.xsd"

# sample -> (our profile, official schema relative to ../shared/standards)
CASES: dict[str, tuple[Path, str]] = {
    "wco-dec/importation.xml": (XSD / "wco-dec" / WCO_DEC, "uk-cds-wco-dms/declaration/WCO_DEC_2_DMS.xsd"),
    "wco-dec/re-exportation.xml": (XSD / "wco-dec" / WCO_DEC, "uk-cds-wco-dms/declaration/WCO_DEC_2_DMS.xsd"),
    "wco-dec/response-accepted.xml": (
        XSD / "wco-dec" / WCO_RES,
        "uk-cds-wco-dms/notification/WCO_RES_2_DMS.xsd",
    ),
    "wco-dec/response-rejected.xml": (
        XSD / "wco-dec" / WCO_RES,
        "uk-cds-wco-dms/notification/WCO_RES_2_DMS.xsd",
    ),
    "ncts/CC015C.xml": (XSD / "ncts" / "CC015C_ATA.xsd", "eu-ncts-p5/cc015c.xsd"),
    "ncts/CC029C.xml": (XSD / "ncts" / "CC029C_ATA.xsd", "eu-ncts-p5/cc029c.xsd"),
    "ncts/CC056C.xml": (XSD / "ncts" / "CC056C_ATA.xsd", "eu-ncts-p5/cc056c.xsd"),
    "ncts/CC007C.xml": (XSD / "ncts" / "CC007C_ATA.xsd", "eu-ncts-p5/cc007c.xsd"),
    "ncts/CC025C.xml": (XSD / "ncts" / "CC025C_ATA.xsd", "eu-ncts-p5/cc025c.xsd"),
}

# Entry points of our profiles; the *_DS_* files are imported by them.
PROFILES = sorted({profile for profile, _ in CASES.values()})
ALL_XSD_FILES = sorted(p for d in ("wco-dec", "ncts") for p in (XSD / d).glob("*.xsd"))

_SCHEMAS: dict[Path, etree.XMLSchema] = {}


def _schema(path: Path) -> etree.XMLSchema:
    if path not in _SCHEMAS:
        _SCHEMAS[path] = etree.XMLSchema(etree.parse(str(path)))
    return _SCHEMAS[path]


def _official(rel: str) -> etree.XMLSchema:
    if not STANDARDS.is_dir():
        pytest.skip("../shared/standards not present: official schemas are read from ../shared, never copied")
    return _schema(STANDARDS / rel)


def _per_document_ms(schema: etree.XMLSchema, doc: etree._ElementTree, rounds: int = 200) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        schema.validate(doc)
    return (time.perf_counter() - start) / rounds * 1000


def _errors(schema: etree.XMLSchema) -> str:
    return "\n".join(f"{e.line}: {e.message}" for e in schema.error_log)


def test_every_profile_file_is_a_case_or_an_import() -> None:
    assert len(PROFILES) == 7
    assert set(PROFILES) <= set(ALL_XSD_FILES)


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_profile_compiles_with_lxml_and_xmlschema(path: Path) -> None:
    etree.XMLSchema(etree.parse(str(path)))
    compiled = xmlschema.XMLSchema10(str(path))
    assert compiled.elements, f"{path.name} declares no global element"


@pytest.mark.parametrize("path", ALL_XSD_FILES, ids=lambda p: p.name)
def test_profile_says_it_is_a_profile(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "profile" in text.lower()
    assert "never copied" in text or "DateTimeString" in text


@pytest.mark.parametrize("sample", sorted(CASES))
def test_sample_valid_under_profile_and_official(sample: str) -> None:
    profile_path, official_rel = CASES[sample]
    doc = etree.parse(str(SAMPLES / sample))
    profile = _schema(profile_path)
    assert profile.validate(doc), _errors(profile)
    official = _official(official_rel)
    assert official.validate(doc), _errors(official)
    ours_ms = _per_document_ms(profile, doc)
    theirs_ms = _per_document_ms(official, doc)
    print(f"\n{sample}: lxml validation {ours_ms:.3f} ms (profile) vs {theirs_ms:.3f} ms (official)")


@pytest.mark.parametrize("sample", sorted(CASES))
def test_sample_valid_under_xmlschema(sample: str) -> None:
    """xmlschema (pure Python) agrees with libxml2 on our profiles."""
    profile_path, _ = CASES[sample]
    xmlschema.XMLSchema10(str(profile_path)).validate(str(SAMPLES / sample))


def _first_child_with_siblings(root: etree._Element) -> etree._Element:
    for el in root.iter():
        kids = [c for c in el if isinstance(c.tag, str)]
        if len(kids) >= 2:
            return el
    raise AssertionError("no element with two children")


@pytest.mark.parametrize("sample", sorted(CASES))
def test_wrong_order_fails_profile(sample: str) -> None:
    profile_path, _ = CASES[sample]
    doc = copy.deepcopy(etree.parse(str(SAMPLES / sample)))
    parent = _first_child_with_siblings(doc.getroot())
    first, second = [c for c in parent if isinstance(c.tag, str)][:2]
    parent.remove(second)
    first.addprevious(second)  # swap the first two elements
    assert not _schema(profile_path).validate(doc)


@pytest.mark.parametrize("sample", sorted(CASES))
def test_missing_required_element_fails_profile(sample: str) -> None:
    profile_path, _ = CASES[sample]
    doc = copy.deepcopy(etree.parse(str(SAMPLES / sample)))
    root = doc.getroot()
    first = next(c for c in root if isinstance(c.tag, str))  # FunctionCode / messageSender: required
    root.remove(first)
    assert not _schema(profile_path).validate(doc)


def test_profile_is_narrower_than_official() -> None:
    """An element the official schema allows but our profile leaves out is rejected by the profile."""
    official = _official("uk-cds-wco-dms/declaration/WCO_DEC_2_DMS.xsd")
    doc = copy.deepcopy(etree.parse(str(SAMPLES / "wco-dec/importation.xml")))
    ns = "urn:wco:datamodel:WCO:DEC-DMS:2"
    type_code = doc.getroot().find(f"{{{ns}}}TypeCode")
    assert type_code is not None
    loading = etree.Element(f"{{{ns}}}LoadingListQuantity")
    loading.text = "1"
    doc.getroot().find(f"{{{ns}}}DeclarationOfficeID").addnext(loading)
    assert official.validate(doc), _errors(official)
    assert not _schema(XSD / "wco-dec" / WCO_DEC).validate(doc)


def test_carnet_is_referenced_with_document_code_955() -> None:
    ns = {"d": "urn:wco:datamodel:WCO:DEC-DMS:2"}
    doc = etree.parse(str(SAMPLES / "wco-dec/importation.xml"))
    docs = doc.xpath("//d:PreviousDocument[d:TypeCode='955']/d:ID/text()", namespaces=ns)
    assert set(docs) == {"NO/2026/000123"}
    ncts = etree.parse(str(SAMPLES / "ncts/CC015C.xml"))
    refs = ncts.xpath("//SupportingDocument[type='N955']/referenceNumber/text()")
    assert set(refs) == {"NO/2026/000123"}
    lines = ncts.xpath("//ConsignmentItem/SupportingDocument[type='N955']/documentLineItemNumber/text()")
    assert lines == ["1", "2", "5"]
