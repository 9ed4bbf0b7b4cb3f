"""``eata-gateway translate`` / ``parse`` on the example journeys, and the errors they give."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lxml import etree

from tests.conftest import EXAMPLES

GB = str(EXAMPLES / "journey-gb.json")


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], capture_output=True, timeout=60, input=stdin, check=False
    )


def test_translate_uk_importation_and_parse_it_back(tmp_path: Path) -> None:
    r = run("translate", "--territory", "GB", "--kind", "importation", GB)
    assert r.returncode == 0, r.stderr
    envelope = etree.fromstring(r.stdout)
    md = "urn:wco:datamodel:WCO:DocumentMetaData-DMS:2"  # CDS: the declaration inside md:MetaData
    assert envelope.tag == f"{{{md}}}MetaData"
    assert envelope.findtext(f"{{{md}}}WCOTypeName") == "DEC"
    assert envelope.findtext(f"{{{md}}}ResponsibleAgencyName") == "HMRC"
    root = envelope[-1]
    assert root.tag == "{urn:wco:datamodel:WCO:DEC-DMS:2}Declaration"
    ns = {"d": "urn:wco:datamodel:WCO:DEC-DMS:2"}
    # DE 2/1: the carnet as previous document Z/955 (as HMRC's TT_EX016a carries its CPD carnet)
    assert root.xpath(
        "d:GoodsShipment/d:PreviousDocument[d:CategoryCode='Z'][d:TypeCode='955']/d:ID/text()", namespaces=ns
    ) == ["NO/2026/000124"]
    assert root.findtext("d:DeclarationOfficeID", namespaces=ns) == "GB000084"
    assert (
        root.xpath("//d:AdditionalDocument[d:TypeCode='955']/d:ID/text()", namespaces=ns)[0]
        == "NO/2026/000124"
    )
    assert root.xpath("//d:GovernmentAgencyGoodsItem/d:SequenceNumeric/text()", namespaces=ns) == [
        "1",
        "2",
        "3",
        "4",
    ]
    f = tmp_path / "imp.xml"
    f.write_bytes(r.stdout)
    parsed = run("parse", "--territory", "GB", str(f))
    assert parsed.returncode == 0, parsed.stderr
    message = json.loads(parsed.stdout)
    assert message["kind"] == "importation"
    assert message["carnet_id"] == "NO/2026/000124"
    assert [i["item_number"] for i in message["items"]] == [1, 2, 3, 4]


def test_translate_re_exportation_by_index_signs_when_asked(tmp_path: Path) -> None:
    from conformance.testpki import make_test_pki

    pki = make_test_pki(tmp_path, ["gateway"])
    r = run(
        "translate",
        "-t",
        "GB",
        "--index",
        "3",
        GB,
        "--sign",
        str(pki["gateway"].key),
        "--cert",
        str(pki["gateway"].cert),
    )
    assert r.returncode == 0, r.stderr
    signed = tmp_path / "signed.xml"
    signed.write_bytes(r.stdout)
    trust = tmp_path / "trust"
    trust.mkdir()
    (trust / "ca.pem").write_bytes(Path(pki["ca"].cert).read_bytes())
    ok = run("verify", "--trust", str(trust), str(signed))
    assert ok.returncode == 0, ok.stderr + ok.stdout


def test_missing_transaction_is_reported_not_crashed() -> None:
    r = run("translate", "-t", "FR", "--kind", "importation", GB, "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["problems"][0]["code"] == 101


def test_parse_refuses_hostile_and_foreign_xml(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx">]><a>&x;</a>')
    r = run("parse", "-t", "GB", str(bomb), "--json")
    assert r.returncode == 2  # hostile: unusable input
    assert json.loads(r.stdout)["problems"][0]["code"] == 110
    other = tmp_path / "other.xml"
    other.write_text("<note><to>you</to></note>")
    r = run("parse", "-t", "GB", str(other), "--json")
    assert r.returncode == 1  # readable XML, refused: not a customs document of GB
    assert json.loads(r.stdout)["problems"][0]["code"] == 109


CH_JOURNEY = str(EXAMPLES / "journey-no-eu-ch.json")
NCTS = {"n": "http://ncts.dgtaxud.ec"}


def test_transit_legs_through_the_eu_translate_to_ncts_and_back(tmp_path: Path) -> None:
    start = run("translate", "-t", "SE", "--kind", "transit_start", CH_JOURNEY)
    assert start.returncode == 0, start.stderr
    root = etree.fromstring(start.stdout)
    assert root.tag == "{http://ncts.dgtaxud.ec}CC015C"
    assert root.findtext("CustomsOfficeOfDestinationDeclared/referenceNumber") == "DE004055"
    f = tmp_path / "ie015.xml"
    f.write_bytes(start.stdout)
    back = json.loads(run("parse", "-t", "SE", str(f)).stdout)
    assert back["kind"] == "transit_start" and back["transit"]["office_of_destination"] == "DE004055"
    assert [i["item_number"] for i in back["items"]] == [1, 2, 3, 4]

    arrival = run("translate", "-t", "DE", "--kind", "transit_discharge", CH_JOURNEY)
    assert arrival.returncode == 0, arrival.stderr
    root = etree.fromstring(arrival.stdout)
    assert root.tag == "{http://ncts.dgtaxud.ec}CC007C"
    assert root.findtext("TransitOperation/MRN") == "26SE7F3A9C21B04DJ5"  # the movement it discharges
    g = tmp_path / "ie007.xml"
    g.write_bytes(arrival.stdout)
    # IE007 names only its movement: without the carnet the gateway says what is missing…
    bare = run("parse", "-t", "DE", "--json", str(g))
    assert bare.returncode == 1
    problems = json.loads(bare.stdout)["problems"]
    assert [(p["code"], p["pointer"]) for p in problems] == [(314, "/carnet_id")]
    assert "26SE7F3A9C21B04DJ5" in problems[0]["message"]  # names the movement it could not find
    # …and with it, the discharge comes back whole
    whole = run("parse", "-t", "DE", "--context", CH_JOURNEY, str(g))
    assert whole.returncode == 0, whole.stderr
    back = json.loads(whole.stdout)
    assert back["kind"] == "transit_discharge" and back["transaction_id"] == "tx-004"
    assert back["movement_reference"] == "26SE7F3A9C21B04DJ5" and len(back["items"]) == 4


def test_parse_context_never_attaches_a_movement_the_carnet_does_not_have(tmp_path: Path) -> None:
    """An IE007 naming an MRN of no movement of this carnet is refused (314), not read as its discharge."""
    arrival = run("translate", "-t", "DE", "--kind", "transit_discharge", CH_JOURNEY)
    assert arrival.returncode == 0, arrival.stderr
    foreign = arrival.stdout.replace(b"26SE7F3A9C21B04DJ5", b"26SE000000000000J1")
    f = tmp_path / "ie007-foreign.xml"
    f.write_bytes(foreign)
    r = run("parse", "-t", "DE", "--json", "--context", CH_JOURNEY, str(f))
    assert r.returncode == 1, r.stdout
    problems = json.loads(r.stdout)["problems"]
    assert [(p["code"], p["pointer"]) for p in problems] == [(314, "/carnet_id")]
    assert "26SE000000000000J1" in problems[0]["message"]
