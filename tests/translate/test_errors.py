"""Translation errors: a missing mapped field is 101 with its JSON pointer; an XSD violation 109 with XPath."""

from __future__ import annotations

import pytest
from lxml import etree

from gateway.errors import Code, Refusal
from gateway.messages import declaration_for
from gateway.model import load_document
from gateway.translate import from_xml, to_xml
from gateway.translate.official import inner
from tests.conftest import EXAMPLES


def importation():  # type: ignore[no-untyped-def]
    doc = load_document((EXAMPLES / "journey-gb.json").read_bytes())
    return declaration_for(doc, 2, "EATA0001")


def test_schema_violation_names_the_element() -> None:
    root = inner(to_xml(importation(), "GB"))  # the Declaration inside CDS's md:MetaData
    ns = "urn:wco:datamodel:WCO:DEC-DMS:2"
    office = root.find(f"{{{ns}}}DeclarationOfficeID")
    root.remove(office)
    root.insert(0, office)  # wrong order
    with pytest.raises(Refusal) as info:
        from_xml(root, "GB")
    problem = info.value.problems[0]
    assert problem.code == Code.SCHEMA
    assert problem.pointer.startswith("/")
    assert "DeclarationOfficeID" in problem.message or "FunctionCode" in problem.message


def test_document_missing_what_the_message_needs_is_101_with_pointer() -> None:
    root = inner(to_xml(importation(), "GB"))
    ns = {"d": "urn:wco:datamodel:WCO:DEC-DMS:2"}
    for info in root.xpath("d:AdditionalInformation[d:StatementTypeCode='ATT']", namespaces=ns):
        root.remove(info)
    with pytest.raises(Refusal) as refusal:
        from_xml(root, "GB")
    pointers = {(p.code, p.pointer) for p in refusal.value.problems}
    assert (Code.MISSING, "/transaction_id") in pointers


def test_volume_only_items_cannot_be_declared_as_mass() -> None:
    message = importation()
    assert message.items[0].gross_mass is not None
    root = to_xml(message, "GB")
    assert root.xpath("//*[local-name()='GrossMassMeasure']/@unitCode") == ["KGM"] * 4


def test_unknown_root_is_refused() -> None:
    with pytest.raises(Refusal) as info:
        from_xml(etree.fromstring(b"<x/>"), "GB")
    assert info.value.code == Code.SCHEMA
