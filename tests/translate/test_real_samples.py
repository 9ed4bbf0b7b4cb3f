"""Real messages HMRC publishes (UK CDS WCO DEC/RES DMS, NCTS P5), read as the gateway reads any inbound
document: the official schema first, then the eATA facts. Each file below states its outcome by hand:
read faithfully (key facts compared with what the file says) or refused with a specific eATA reason —
never "not valid under its schema" for a file the official schema accepts.

The samples are read from ../shared/standards/samples (never copied here); without it the tests skip.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from gateway.cli.carnet import read_document
from gateway.errors import Code, Refusal
from gateway.messages import Declaration, Response, declaration_for
from gateway.model import TransactionKind
from gateway.translate import from_bytes, to_bytes
from tests.conftest import EXAMPLES, SHARED

SAMPLES = SHARED / "standards" / "samples"
JOURNEY = EXAMPLES / "journey-no-eu-ch.json"


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} not present: the published samples are read from ../shared, never copied")
    return path.read_bytes()


def refusal(data: bytes, territory: str = "GB", **kw: object) -> Refusal:
    with pytest.raises(Refusal) as err:
        from_bytes(data, territory, **kw)  # type: ignore[arg-type]
    return err.value


def journey_declaration(index: int, **update: object) -> Declaration:
    doc = read_document(JOURNEY, False)
    return declaration_for(doc, index, "CONTEXT").model_copy(update=update)


# -- per file: the expected outcome -----------------------------------------------------------------
OUTCOMES = {
    # file: (code, pointer, words the sentence must contain)
    "wco/cds-TT_EX016a-cpd-carnet-export.xml": (Code.BAD_VALUE, "/carnet_id", "CPD carnet"),
    "wco/cds-TT_IM139a-5300-temp-admission.xml": (Code.MISSING, "/carnet_id", "no ATA carnet reference"),
    "wco/cds-TT_EX051a-3153-re-export-D51.xml": (Code.MISSING, "/carnet_id", "no ATA carnet reference"),
    "wco/cds-TT_EX039a-DMSACC-response.xml": (314, "/carnet_id", "4.1.0CDSP10284_TC02_18"),
    "ncts/tmv-v3_0-cc015c-valid.xml": (Code.MISSING, "/carnet_id", "SupportingDocument type N955"),
    "ncts/tmv-v3_0-cc015c-valid-2.xml": (Code.MISSING, "/carnet_id", "SupportingDocument type N955"),
    "ncts/tmv-v3_0-cc007c-valid.xml": (314, "/carnet_id", "27WF9X1FQ9RCKN0TM3"),
    "ncts/tmv-xmlspy-cc056c.xml": (Code.SCHEMA, None, "not valid under the official schema cc056c.xsd"),
}


def test_every_shared_sample_has_a_stated_outcome() -> None:
    if not SAMPLES.is_dir():
        pytest.skip("../shared/standards/samples not present")
    found = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.xml")}
    assert found == set(OUTCOMES)


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_sample_alone_gives_its_documented_outcome(name: str) -> None:
    """Without anything the gateway sent, each sample is refused, and the refusal says why."""
    code, pointer, words = OUTCOMES[name]
    problems = refusal(sample(name)).problems
    first = problems[0]
    assert (first.code, first.pointer if pointer else None) == (code, pointer), problems
    assert words in first.message
    if code != Code.SCHEMA:  # officially valid: no schema complaint, no "not an ISO country" for XI
        assert all(p.code not in (Code.SCHEMA, Code.UNKNOWN_CODE, Code.PATTERN) for p in problems), problems


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_cli_parse_gives_the_documented_outcome(name: str, tmp_path: Path) -> None:
    code, _pointer, words = OUTCOMES[name]
    path = tmp_path / Path(name).name
    path.write_bytes(sample(name))
    r = subprocess.run(
        [sys.executable, "-m", "gateway", "parse", "-t", "GB", "--json", str(path)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 1, r.stderr
    first = json.loads(r.stdout)["problems"][0]
    assert first["code"] == code and words in first["message"]


# -- read faithfully, with what the gateway knows beside the document --------------------------------
def test_cds_dmsacc_is_read_against_the_declaration_sent_under_its_lrn() -> None:
    """TT_EX039a: FunctionCode 01 (DMSACC, accepted), LRN 4.1.0CDSP10284_TC02_18, MRN 23GB5SCPZSPYDAUAA1,
    accepted 2023-05-26 20:55:07 +01; nothing else. Carnet, transaction and office come from the
    declaration sent under that LRN."""
    sent = journey_declaration(4, message_id="4.1.0CDSP10284_TC02_18", office="GB000040")
    answer = from_bytes(sample("wco/cds-TT_EX039a-DMSACC-response.xml"), "GB", context=sent)
    assert isinstance(answer, Response) and answer.committed
    assert answer.message_id == "0ea063cb553449ee9ce0a49303cfb361"
    assert answer.in_reply_to == "4.1.0CDSP10284_TC02_18"
    assert (answer.carnet_id, answer.transaction_id, answer.kind) == (
        sent.carnet_id,
        sent.transaction_id,
        TransactionKind.IMPORTATION,
    )
    e = answer.endorsement
    assert e is not None
    assert e.reference == "23GB5SCPZSPYDAUAA1"
    assert e.at == datetime(2023, 5, 26, 19, 55, 7, tzinfo=UTC)
    assert e.office == "GB000040"
    assert e.officer is None and e.place is None  # a CDS notification names neither


# A CDS rejection notification (DMSREJ, FunctionCode 03) shaped like the DMSACC sample above and HMRC's
# published notification examples: in md:MetaData, the LRN and MRN, the rejection time and an Error with a
# national validation code (CDS12056) and pointers, but no description, carnet or eATA code.
DMSREJ = b"""<_2:MetaData xmlns:_2="urn:wco:datamodel:WCO:DocumentMetaData-DMS:2">
    <_2:WCODataModelVersionCode>3.6</_2:WCODataModelVersionCode>
    <_2:WCOTypeName>RES</_2:WCOTypeName>
    <_2:ResponsibleCountryCode/>
    <_2:ResponsibleAgencyName/>
    <_2:AgencyAssignedCustomizationCode/>
    <_2:AgencyAssignedCustomizationVersionCode/>
    <_2_1:Response xmlns:_2_1="urn:wco:datamodel:WCO:RES-DMS:2">
        <_2_1:FunctionCode>03</_2_1:FunctionCode>
        <_2_1:FunctionalReferenceID>6be6c6f61f0346748016b823eeda669d</_2_1:FunctionalReferenceID>
        <_2_1:IssueDateTime>
            <_2_2:DateTimeString formatCode="304" xmlns:_2_2="urn:wco:datamodel:WCO:Response_DS:DMS:2">20230526205509+01</_2_2:DateTimeString>
        </_2_1:IssueDateTime>
        <_2_1:Error>
            <_2_1:ValidationCode>CDS12056</_2_1:ValidationCode>
            <_2_1:Pointer>
                <_2_1:DocumentSectionCode>42A</_2_1:DocumentSectionCode>
            </_2_1:Pointer>
            <_2_1:Pointer>
                <_2_1:DocumentSectionCode>67A</_2_1:DocumentSectionCode>
                <_2_1:TagID>360</_2_1:TagID>
            </_2_1:Pointer>
        </_2_1:Error>
        <_2_1:Declaration>
            <_2_1:FunctionalReferenceID>4.1.0CDSP10284_TC02_19</_2_1:FunctionalReferenceID>
            <_2_1:ID>23GB5SCPZSPYDAUAA2</_2_1:ID>
            <_2_1:RejectionDateTime>
                <_2_2:DateTimeString formatCode="304" xmlns:_2_2="urn:wco:datamodel:WCO:Response_DS:DMS:2">20230526205507+01</_2_2:DateTimeString>
            </_2_1:RejectionDateTime>
            <_2_1:VersionID>1</_2_1:VersionID>
        </_2_1:Declaration>
    </_2_1:Response>
</_2:MetaData>"""


def test_cds_rejection_with_a_national_code_is_read_as_510_keeping_the_code() -> None:
    """DMSREJ: ValidationCode CDS12056 is no eATA code: read as 510 (rejected by customs), the national
    code kept in the reason; matched by its LRN to the declaration sent, else refused 314."""
    assert refusal(DMSREJ).problems[0].code == Code.UNKNOWN_REFERENCE  # nothing sent under that LRN
    from gateway.adapters.delivery import answered

    sent = journey_declaration(4, message_id="4.1.0CDSP10284_TC02_19", office="GB000040")
    other = sent.model_copy(update={"message_id": "4.1.0CDSP10284_TC02_18"})
    assert refusal(DMSREJ, context=answered(other)).problems[0].code == Code.UNKNOWN_REFERENCE
    answer = from_bytes(DMSREJ, "GB", context=answered(sent))
    assert isinstance(answer, Response) and not answer.committed
    assert (answer.in_reply_to, answer.carnet_id, answer.transaction_id) == (
        sent.message_id,
        sent.carnet_id,
        sent.transaction_id,
    )
    r = answer.rejection
    assert r is not None
    assert r.code == Code.CUSTOMS_REJECTED and "CDS12056" in r.reason
    assert r.office == "GB000040"
    assert r.at == datetime(2023, 5, 26, 19, 55, 7, tzinfo=UTC)


def _as_ata(data: bytes, carnet: str) -> bytes:
    """HMRC's IE015 with one change: the carnet named as supporting document N955 (CL213)."""
    doc = (
        "<SupportingDocument><sequenceNumber>3</sequenceNumber><type>N955</type>"
        f"<referenceNumber>{carnet}</referenceNumber></SupportingDocument>"
    )
    return data.replace(b"        <HouseConsignment>", doc.encode() + b"\n        <HouseConsignment>", 1)


def test_northern_ireland_ie015_with_a_carnet_is_read_faithfully() -> None:
    """cc015c-valid-2 (XI trader, correlationIdentifier, GRN guarantee, ContactPerson, cusCode, …) with the
    carnet added: every official extra is accepted, XI offices included, and the facts are the file's."""
    start = journey_declaration(2)
    data = _as_ata(sample("ncts/tmv-v3_0-cc015c-valid-2.xml"), start.carnet_id)
    read = from_bytes(data, "GB", context=start)
    assert isinstance(read, Declaration)
    assert read.kind is TransactionKind.TRANSIT_START
    assert read.message_id == "MDTP-18"  # TransitOperation/LRN
    assert read.office == "XI000081"
    assert read.transit is not None
    assert read.transit.office_of_destination == "GB000120"
    assert read.transit.final_date == date(2023, 7, 30)
    assert read.transit.seals == ("F742",)
    assert read.date == date(2023, 4, 3)
    assert read.transport_mode is not None and read.transport_mode.value == "1"
    assert (read.holder.name, read.holder.city, read.holder.id) == ("Trader 1", "Belfast", "XI985524247819")
    (item,) = read.items
    assert (item.item_number, item.description, item.pieces) == (1, "Drum, steel", 10)
    assert str(item.gross_mass) == "3340.102"
    # what IE015 has no element for comes from the carnet's transaction, and only that
    assert read.transaction_id == start.transaction_id and read.annex == start.annex


def test_ie007_is_read_against_its_movement_and_keeps_the_holder() -> None:
    """cc007c-valid: MRN 27WF9X1FQ9RCKN0TM3 at GB123456, arrival notified 2022-07-02. The trader at
    destination (ezv3Z) is not the carnet holder, so the holder stays the movement's."""
    discharge = journey_declaration(3, movement_reference="27WF9X1FQ9RCKN0TM3")
    read = from_bytes(sample("ncts/tmv-v3_0-cc007c-valid.xml"), "GB", context=discharge)
    assert isinstance(read, Declaration)
    assert read.kind is TransactionKind.TRANSIT_DISCHARGE
    assert read.movement_reference == "27WF9X1FQ9RCKN0TM3"
    assert read.office == "GB123456"
    assert read.date == date(2022, 7, 2)
    assert read.message_id == "token"
    assert read.holder == discharge.holder


def _valid_ie056(data: bytes) -> bytes:
    """HMRC's XMLSpy IE056 with its placeholder values filled in (the structure is the sample's)."""
    text = data.decode()
    values = {
        "messageSender": "NTA.GB",
        "messageRecipient": "EATA-GATEWAY",
        "preparationDateAndTime": "2026-10-07T10:03:02",
        "messageIdentification": "GB56REJ0001",
        "messageType": "CC056C",
        "correlationIdentifier": "EATA0001",
        "LRN": "EATA0001",
        "businessRejectionType": "015",
        "rejectionDateAndTime": "2026-10-07T10:03:02",
        "rejectionCode": "12",
        "rejectionReason": "Guarantee not valid for this movement",
        "referenceNumber": "GB000060",
        "identificationNumber": "GB123456789000",
        "TIRHolderIdentificationNumber": "ABC/123/456",
        "name": "Holder",
        "streetAndNumber": "1 Street",
        "postcode": "AB1 2CD",
        "city": "Dover",
        "country": "GB",
        "status": "2",
        "errorPointer": "/CC015C/Guarantee",
        "errorCode": "12",
        "errorReason": "G0001",
        "originalAttributeValue": "8",
    }
    for tag, value in values.items():
        text = re.sub(rf"<{tag}>[^<]*</{tag}>", f"<{tag}>{value}</{tag}>", text)
    return re.sub(r"<MRN>[^<]*</MRN>\s*", "", text).encode()


def test_ncts_rejection_is_read_by_its_lrn() -> None:
    """The IE056 structure HMRC publishes carries no carnet: it is matched by its LRN to the IE015 sent."""
    sent = journey_declaration(2, message_id="EATA0001", office="GB000060")
    data = _valid_ie056(sample("ncts/tmv-xmlspy-cc056c.xml"))
    assert refusal(data).problems[0].code == 314  # nobody sent EATA0001: nothing attached
    answer = from_bytes(data, "GB", context=sent)
    assert isinstance(answer, Response) and not answer.committed
    assert answer.in_reply_to == "EATA0001"
    assert answer.kind is TransactionKind.TRANSIT_START
    assert answer.carnet_id == sent.carnet_id and answer.transaction_id == sent.transaction_id
    r = answer.rejection
    assert r is not None
    assert (r.office, r.code, r.reason) == (
        "GB000060",
        Code.CUSTOMS_REJECTED,
        "Guarantee not valid for this movement",
    )
    assert r.at == datetime(2026, 10, 7, 10, 3, 2, tzinfo=UTC)


# -- IE025: the release indicator decides ------------------------------------------------------------
def _release(indicator: str) -> bytes:
    from gateway.model import Endorsement

    response = Response(
        message_id="DE25REL0001",
        in_reply_to="EATA0002",
        carnet_id="NO/2026/000123",
        transaction_id="tx-004",
        kind=TransactionKind.TRANSIT_DISCHARGE,
        endorsement=Endorsement(
            office="DE004055",
            at=datetime(2026, 10, 7, 10, 4, tzinfo=UTC),
            reference="26SE7F3A9C21B04DJ5",
            seals_intact=True,
        ),
    )
    data = to_bytes(response, "DE")
    return data.replace(b"<releaseIndicator>1<", f"<releaseIndicator>{indicator}<".encode())


def test_ie025_full_release_commits_on_the_release_date() -> None:
    context = {"carnet_id": "NO/2026/000123", "transaction_id": "tx-004", "in_reply_to": "EATA0002"}
    answer = from_bytes(_release("1"), "DE", context=context)
    assert isinstance(answer, Response) and answer.committed
    assert answer.endorsement is not None
    assert answer.endorsement.at == datetime(2026, 10, 7, tzinfo=UTC)  # releaseDate, not preparation time
    assert answer.endorsement.seals_intact is True


@pytest.mark.parametrize("indicator", ["2", "3"])
def test_ie025_other_indicators_leave_the_voucher_open(indicator: str) -> None:
    context = {"carnet_id": "NO/2026/000123", "transaction_id": "tx-004", "in_reply_to": "EATA0002"}
    answer = from_bytes(_release(indicator), "DE", context=context)
    assert isinstance(answer, Response) and not answer.committed
    assert answer.rejection is not None
    assert answer.rejection.code == Code.CUSTOMS_REJECTED
    assert f"releaseIndicator {indicator}" in answer.rejection.reason


def test_ie025_unknown_indicator_is_refused_by_name() -> None:
    err = refusal(_release("7"), "DE", context={"carnet_id": "NO/2026/000123", "transaction_id": "tx-004"})
    assert err.problems[0].code == Code.UNKNOWN_CODE
    assert "releaseIndicator" in err.problems[0].pointer
