"""NCTS P5 mappings on concrete cases: the journey's blue-voucher legs, IE056 rejections, refusals.

The hypothesis round trips for every kind and territory are in test_roundtrip.py; here the example
journey (NO → EU transit → CH) goes through IE015/IE029 exactly and IE007/IE025 as far as those
messages carry the facts (they have no free-text element: see the mapping files' headers).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from gateway.errors import Code, Refusal
from gateway.messages import Response, declaration_for
from gateway.model import Rejection, TransactionKind
from gateway.model.load import load_document
from gateway.translate import engine, from_bytes, from_xml, mapping_for, to_bytes, to_xml
from gateway.translate.mapping import mapping
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[2]
NS = "{http://ncts.dgtaxud.ec}"
MRN = "26DE623100000123J4"


@cache
def _doc():  # type: ignore[no-untyped-def]
    return load_document((ROOT / "examples" / "journey-no-eu-ch.json").read_text(encoding="utf-8"))


def _official(name: str) -> etree.XMLSchema:
    path = SHARED / "standards" / "eu-ncts-p5" / name
    if not path.is_file():
        pytest.skip("../shared/standards not present: official schemas are read from ../shared, never copied")
    return etree.XMLSchema(etree.parse(str(path)))


def _valid(root: etree._Element, name: str) -> None:
    schema = _official(name)
    assert schema.validate(root), [e.message for e in schema.error_log][:3]


def _response(index: int, message_id: str = "DENCTS0001") -> Response:
    tx = _doc().transactions[index]
    return Response(
        message_id=message_id,
        in_reply_to="EATA0001",
        carnet_id=_doc().carnet.carnet_id,
        transaction_id=tx.transaction_id,
        kind=tx.kind,
        endorsement=tx.endorsement,
    )


def test_journey_transit_start_is_an_exact_ie015() -> None:
    message = declaration_for(_doc(), 2, "EATA0001")
    assert message.kind is TransactionKind.TRANSIT_START
    root = to_xml(message, message.territory)
    assert root.tag == f"{NS}CC015C"
    assert from_xml(root, message.territory) == message
    _valid(root, "cc015c.xsd")
    # the carnet is N955 at consignment level and per item, with the general list's item numbers
    assert root.xpath("Consignment/SupportingDocument[type='N955']/referenceNumber/text()") == [
        "NO/2026/000123"
    ]
    lines = root.xpath("//ConsignmentItem/SupportingDocument[type='N955']/documentLineItemNumber/text()")
    assert lines == ["1", "2", "3", "4"]
    assert root.xpath("//ConsignmentItem/declarationGoodsItemNumber/text()") == ["1", "2", "3", "4"]
    total = sum(i.gross_mass for i in message.items if i.gross_mass)
    assert Decimal(root.findtext("Consignment/grossMass")) == total
    assert root.findtext("Consignment/TransportEquipment/numberOfSeals") == "1"
    assert root.findtext("TransitOperation/limitDate") == "2026-10-12"
    assert root.findtext("messageRecipient") == "NTA.SE"


def _sent(index: int, message_id: str = "EATA0001"):  # type: ignore[no-untyped-def]
    """What the gateway sent for transaction ``index``: answers are read against it (by LRN / MRN)."""
    from gateway.adapters.delivery import answered

    return answered(declaration_for(_doc(), index, message_id))


def test_journey_transit_start_endorsement_is_an_exact_ie029() -> None:
    response = _response(2)
    root = to_xml(response, response.territory)
    assert root.tag == f"{NS}CC029C"
    assert from_xml(root, response.territory, context=_sent(2)) == response
    # the LRN correlates; no eATA transaction ID travels (a real IE029 has none)
    assert root.findtext("TransitOperation/LRN") == "EATA0001" and root.find("correlationIdentifier") is None
    assert response.transaction_id not in etree.tostring(root).decode()
    with pytest.raises(Refusal) as err:  # an IE029 for an LRN nothing was sent under: attached to nothing
        from_xml(root, response.territory, context=_sent(2, "EATA0999"))
    assert err.value.problems[0].code == Code.UNKNOWN_REFERENCE
    _valid(root, "cc029c.xsd")
    assert root.findtext("TransitOperation/MRN") == "26SE7F3A9C21B04DJ5"
    odd = response.model_copy(
        update={"endorsement": response.endorsement.model_copy(update={"reference": "SE603340-0003"})}
    )  # type: ignore[union-attr]
    root = to_xml(odd, odd.territory)
    # 'SE603340-0003' is no MRN: a placeholder MRN, the reference itself in ATAMR
    assert root.xpath("Consignment/AdditionalInformation[code='ATAMR']/text/text()") == ["SE603340-0003"]
    assert from_xml(root, odd.territory, context=_sent(2)) == odd


def test_an_mrn_reference_is_the_ie029_mrn() -> None:
    response = _response(2)
    assert response.endorsement is not None
    response = response.model_copy(
        update={"endorsement": response.endorsement.model_copy(update={"reference": MRN})}
    )
    root = to_xml(response, response.territory)
    assert root.findtext("TransitOperation/MRN") == MRN
    assert not root.xpath("Consignment/AdditionalInformation[code='ATAMR']")
    assert from_xml(root, response.territory, context=_sent(2)) == response


def test_journey_transit_discharge_ie007_is_valid_and_carries_what_it_can() -> None:
    message = declaration_for(_doc(), 3, "EATA0002")
    assert message.kind is TransactionKind.TRANSIT_DISCHARGE
    assert message.movement_reference == "26SE7F3A9C21B04DJ5"  # the transit start's MRN, from the ledger
    root = to_xml(message, message.territory)
    assert root.tag == f"{NS}CC007C"
    _valid(root, "cc007c.xsd")
    assert root.findtext("TransitOperation/MRN") == message.movement_reference
    assert root.findtext("CustomsOfficeOfDestinationActual/referenceNumber") == "DE004055"
    carried = engine.from_xml(mapping("ncts", "ie007"), root, "DE")
    assert carried == {
        "message_id": "EATA0002",
        "date": "2026-10-07",
        "kind": "transit_discharge",
        "office": "DE004055",
        "movement_reference": message.movement_reference,
        # the trader at destination is written from the holder's EORI, never read into the holder
    }
    # what IE007 cannot carry comes from the movement's declaration, and only that
    assert from_xml(root, "DE", context=message) == message


def test_ie007_needs_the_mrn() -> None:
    message = declaration_for(_doc(), 3, "EATA0002").model_copy(update={"movement_reference": None})
    with pytest.raises(Refusal) as err:
        to_xml(message, message.territory)
    assert err.value.code == Code.MISSING
    assert err.value.problems[0].pointer == "/movement_reference"


def test_journey_transit_discharge_endorsement_ie025_is_valid() -> None:
    response = _response(3)
    root = to_xml(response, response.territory)
    assert root.tag == f"{NS}CC025C"
    _valid(root, "cc025c.xsd")
    carried = engine.from_xml(mapping("ncts", "ie025"), root, "DE")
    assert carried["kind"] == "transit_discharge"
    assert carried["endorsement"]["office"] == "DE004055"
    # the endorsement time is the release date (TransitOperation/releaseDate), not the preparation time
    assert root.findtext("TransitOperation/releaseDate") == "2026-10-07"
    assert carried["endorsement"]["at"] == "2026-10-07T00:00:00Z"


@pytest.mark.parametrize(
    ("kind", "code"), [(TransactionKind.TRANSIT_START, "015"), (TransactionKind.TRANSIT_DISCHARGE, "007")]
)
def test_ie056_rejection_parses_back_with_its_kind(kind: TransactionKind, code: str) -> None:
    discharge = kind is TransactionKind.TRANSIT_DISCHARGE
    rejection = Response(
        message_id="DENCTS88213544",
        in_reply_to="EATA0001",
        carnet_id="NO/2026/000123",
        transaction_id="tx-003",
        movement_reference=MRN if discharge else None,
        kind=kind,
        rejection=Rejection(
            office="DE006231",
            at=datetime(2026, 6, 2, 6, 41, 29, tzinfo=UTC),
            code=204,
            reason="General list item 6 is not on carnet NO/2026/000123",
            officer="Officer 4711",
        ),
    )
    assert mapping_for(rejection).message == "ie056"
    data = to_bytes(rejection, "DE")
    root = etree.fromstring(data)
    assert root.findtext("TransitOperation/businessRejectionType") == code
    _valid(root, "cc056c.xsd")
    # as real IE056s: the LRN of a rejected IE015, the MRN of a rejected IE007; no carnet, no transaction,
    # no FunctionalError carrying eATA IDs (only the eATA code, at /rejection/code)
    assert root.findtext("TransitOperation/LRN") == (None if discharge else "EATA0001")
    assert root.findtext("TransitOperation/MRN") == (MRN if discharge else None)
    assert root.xpath("FunctionalError/errorPointer/text()") == ["/rejection/code"]
    assert not root.xpath("//*[text()='NO/2026/000123' or text()='tx-003']")
    sent = declaration_for(_doc(), 2, "EATA0001").model_copy(
        update={"kind": kind, "transaction_id": "tx-003", "office": "DE006231", "movement_reference": MRN}
    )
    from gateway.adapters.delivery import answered

    back = from_bytes(data, "DE", context=answered(sent))
    assert isinstance(back, Response)
    assert back.kind is kind
    assert back == rejection.model_copy(
        update={"rejection": rejection.rejection.model_copy(update={"officer": None})}
    )  # type: ignore[union-attr]
    with pytest.raises(Refusal) as err:  # naming a movement / LRN nothing was sent for
        from_bytes(
            data,
            "DE",
            context=answered(
                sent.model_copy(update={"message_id": "X1", "movement_reference": "26DE623100000999J4"})
            ),
        )
    assert err.value.problems[0].code == Code.UNKNOWN_REFERENCE


def test_transit_item_without_gross_mass_is_refused_with_a_pointer() -> None:
    message = declaration_for(_doc(), 2, "EATA0001")
    items = list(message.items)
    items[1] = items[1].model_copy(update={"gross_mass": None})
    message = message.model_copy(update={"items": tuple(items)})
    with pytest.raises(Refusal) as err:
        to_xml(message, message.territory)
    assert err.value.code in (Code.MISSING, Code.SCHEMA)
    assert err.value.problems[0].pointer == "/items/1/gross_mass"


def test_transit_start_without_transit_particulars_is_refused() -> None:
    message = declaration_for(_doc(), 2, "EATA0001").model_copy(update={"transit": None})
    with pytest.raises(Refusal) as err:
        to_xml(message, message.territory)
    assert err.value.code == Code.MISSING
    assert err.value.problems[0].pointer.startswith("/transit")
