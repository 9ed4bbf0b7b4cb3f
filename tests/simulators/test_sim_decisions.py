"""The simulated customs decide on the declaration's facts, answer once per message ID, and speak both SOAPs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from conformance.simulators.testing import World, journey_declaration
from gateway.adapters import registry
from gateway.adapters.delivery import answered, deliver, encode_for, query_status
from gateway.codec import encode
from gateway.errors import Code
from gateway.messages import Response
from gateway.signing import Signer, load_signing_key
from gateway.transport import Delivered, FinalFailure


@pytest.fixture(autouse=True)
def _clean(world: World) -> Iterator[None]:
    world.reset()
    yield


def _answer(outcome: object) -> Response:
    assert isinstance(outcome, Delivered) and outcome.message is not None, outcome
    return outcome.message


def _rejected(outcome: object) -> int:
    answer = _answer(outcome)
    assert answer.rejection is not None, answer.endorsement
    return answer.rejection.code


def test_expired_carnet_is_rejected_203(world: World) -> None:
    d = journey_declaration("AT", message_id="EXP-1")
    late = d.model_copy(update={"date": d.valid_until + dt.timedelta(days=1)})
    assert _rejected(deliver(late, "AT")) == Code.EXPIRED


@pytest.mark.parametrize(("code", "office"), [("CH", "CH999999"), ("CH", "FR00617C"), ("DE", "DE999999")])
def test_unknown_office_is_rejected_304(world: World, code: str, office: str) -> None:
    d = journey_declaration(code, message_id=f"OFF-{code}-{office}", office=office)
    assert _rejected(deliver(d, code)) == Code.UNKNOWN_OFFICE


def test_any_office_of_the_country_when_none_is_on_file(world: World) -> None:
    d = journey_declaration("DK", message_id="DK-ANY", office="DK123456")
    assert _answer(deliver(d, "DK")).committed


def test_final_date_is_capped_by_validity(world: World) -> None:
    d = journey_declaration("NL", message_id="CAP-1")
    early = d.model_copy(update={"date": dt.date(2026, 9, 2), "valid_until": dt.date(2027, 12, 31)})
    assert _answer(deliver(early, "NL")).endorsement.final_date == dt.date(2027, 9, 2)  # type: ignore[union-attr]
    capped = _answer(deliver(d.model_copy(update={"message_id": "CAP-2"}), "NL")).endorsement
    assert capped is not None and capped.final_date == d.valid_until


def test_re_export_after_the_deadline_is_rejected_205(world: World) -> None:
    imp = journey_declaration("SE", message_id="DL-IMP", valid_until=dt.date(2027, 1, 31))
    assert _answer(deliver(imp, "SE")).endorsement.final_date == dt.date(2027, 1, 31)  # type: ignore[union-attr]
    rex = journey_declaration("SE", "re_exportation", message_id="DL-REX", date=dt.date(2027, 2, 1))
    assert _rejected(deliver(rex, "SE")) == Code.DEADLINE_PASSED


def test_national_quirks(world: World) -> None:
    fr = registry.get("FR")
    d = journey_declaration("FR", message_id="FR-Q1")
    assert _answer(deliver(d, "FR")).committed  # prepare upper-cased the names
    raw = journey_declaration("FR", message_id="FR-Q2")
    assert _rejected(deliver(raw, "FR", adapter=fr.with_(prepare=None))) == Code.PATTERN
    de = journey_declaration("DE", message_id="DE-Q1", intended_place_of_use=None)
    assert _rejected(deliver(de, "DE")) == Code.MISSING


def test_same_message_twice_same_answer_one_effect(world: World) -> None:
    d = journey_declaration("IT", message_id="DUP-1")
    first, second = _answer(deliver(d, "IT")), _answer(deliver(d, "IT"))
    assert first == second
    state = world.state("IT")
    assert state["receipts"]["DUP-1"] == 2 and state["effects"]["DUP-1"] == 1
    other = d.model_copy(update={"transaction_id": "tx-other"})
    assert _rejected(deliver(other, "IT")) == Code.DUPLICATE
    assert world.state("IT")["effects"]["DUP-1"] == 1


def test_signed_bytes_are_sent_as_they_are(world: World) -> None:
    adapter = registry.get("PL")
    d = journey_declaration("PL", message_id="RAW-1")
    outcome = deliver(encode_for(adapter, d), "PL")  # message ID read from the document
    assert _answer(outcome).in_reply_to == "RAW-1"
    assert _answer(query_status("PL", "RAW-1", context=answered(d))).in_reply_to == "RAW-1"


@pytest.mark.parametrize(("code", "party", "expected"), [("BG", "untrusted", 122), ("NO", "expired", 122)])
def test_untrusted_gateway_signature_is_a_final_client_fault(
    world: World, code: str, party: str, expected: int
) -> None:
    key = load_signing_key(world.keys_dir / f"{party}.key.pem", world.keys_dir / f"{party}.cert.pem")
    d = journey_declaration(code, message_id=f"SIG-{code}")
    data = encode(d, code, Signer(key), params=registry.get(code).mapping_params())
    outcome = deliver(data, code, message_id=d.message_id)
    assert isinstance(outcome, FinalFailure) and outcome.code in (Code.CERT_UNTRUSTED, Code.SIGNATURE_INVALID)
    assert outcome.attempts == 1  # a client fault is never retried
    assert world.state(code)["effects"] == {}


def test_unsigned_declaration_is_refused_120(world: World) -> None:
    d = journey_declaration("CZ", message_id="NOSIG-1")
    outcome = deliver(encode(d, "CZ"), "CZ", message_id=d.message_id)
    assert isinstance(outcome, FinalFailure) and outcome.code == Code.SIGNATURE_MISSING


def test_wsdl_is_served_with_its_address(world: World) -> None:
    r = httpx.get(f"{world.simulator.url}/customs/CH/soap?wsdl", trust_env=False)
    assert r.status_code == 200 and f"{world.simulator.url}/customs/CH/soap" in r.text
    assert "CustomsDeclarationSoap12" in r.text and "CustomsDeclarationSoap11" in r.text


@pytest.mark.parametrize("code", ["CH", "GR"])  # SOAP 1.2 and 1.1: a hostile envelope is a client fault
def test_hostile_envelope_is_refused(world: World, code: str) -> None:
    ns = {"CH": "http://www.w3.org/2003/05/soap-envelope", "GR": "http://schemas.xmlsoap.org/soap/envelope/"}[
        code
    ]
    body = f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><e:Envelope xmlns:e="{ns}"/>'
    r = httpx.post(f"{world.simulator.url}/customs/{code}/soap", content=body, trust_env=False)
    assert r.status_code == 500 and b"110" in r.content
    assert (b"Sender" in r.content) if code == "CH" else (b"Client" in r.content)
