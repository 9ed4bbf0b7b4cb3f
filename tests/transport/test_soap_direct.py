"""The SOAP hot path (prepared templates, no zeep per message) against zeep's binding for the same WSDL."""

from __future__ import annotations

import httpx
import pytest
import respx
import zeep
from lxml import etree

from gateway.adapter_spec import Adapter
from gateway.adapters import registry
from gateway.transport import Delivered, FinalFailure, RetryableFailure, soap
from gateway.transport.envelope import CUSTOMS_NS, SOAP11, SOAP12, element, envelope

SOAP_URL = "http://127.0.0.1:9/customs/XX/soap"


def _zeep_message(version: str, operation: str, **values: object) -> tuple[etree._Element, dict[str, str]]:
    client = zeep.Client(soap.wsdl_document(), transport=soap.HttpxTransport(None), settings=soap._settings())
    port = soap.BINDINGS[version].split("}")[1]
    svc = client.bind("CustomsDeclarationService", port)
    binding = svc._binding
    op = binding.get(operation)
    serialized = op.create(**values)
    binding._set_http_headers(serialized, op)
    return serialized.content, dict(serialized.headers)


def _canonical(el: etree._Element) -> list[tuple[str, str]]:
    return [(e.tag, (e.text or "").strip()) for e in el.iter()]


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@pytest.mark.parametrize(
    ("operation", "values"),
    [
        (
            "SubmitDeclaration",
            {"messageId": "M-1", "document": b"<D a='&amp;'/>", "callbackUrl": "http://cb/x?a=1&b=2"},
        ),
        ("SubmitDeclaration", {"messageId": "M-1", "document": b"<D/>"}),
        ("QueryStatus", {"messageId": "M-2"}),
    ],
)
def test_templates_are_what_zeep_sends(version: str, operation: str, values: dict[str, object]) -> None:
    expected, headers = _zeep_message(version, operation, **values)
    body, ours = soap.request(version, operation, values)
    assert _canonical(etree.fromstring(body)) == _canonical(expected)
    assert etree.tostring(etree.fromstring(body), method="c14n") == etree.tostring(expected, method="c14n")
    assert {k.lower(): v for k, v in ours.items()} == {k.lower(): v for k, v in headers.items()}


def test_actions_are_the_wsdl_ones() -> None:
    doc = soap.wsdl_document()
    for version, binding in soap.BINDINGS.items():
        for name in soap.ACTIONS:
            assert doc.bindings[binding].get(name).soapaction == soap.ACTIONS[name], (version, name)


@pytest.fixture
def ch(monkeypatch: pytest.MonkeyPatch) -> Adapter:
    monkeypatch.setenv("EATA_ENDPOINT_CH", SOAP_URL)  # SOAP 1.2
    return registry.get("CH")


@pytest.fixture
def gr(monkeypatch: pytest.MonkeyPatch) -> Adapter:
    monkeypatch.setenv("EATA_ENDPOINT_GR", SOAP_URL)  # SOAP 1.1
    return registry.get("GR")


def _reply(soap_ns: str, payload: etree._Element, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=envelope(soap_ns, payload), headers={"Content-Type": "text/xml"})


@respx.mock
def test_accepted_and_query_status(ch: Adapter) -> None:
    accepted = element(CUSTOMS_NS, "SubmitDeclarationResponse", {"status": "accepted", "ackId": "A9"})
    respx.post(SOAP_URL).mock(return_value=_reply(SOAP12, accepted))
    assert soap.submit(ch, b"<D/>", "M1") == Delivered(None, "A9")
    answered = element(
        CUSTOMS_NS, "QueryStatusResponse", {"status": "answered", "ackId": "A9", "document": b"<R/>"}
    )
    route = respx.post(SOAP_URL).mock(return_value=_reply(SOAP12, answered))
    assert soap.query_status(ch, "M1") == Delivered(b"<R/>", "A9")
    assert b"QueryStatus" in route.calls.last.request.content


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (element(CUSTOMS_NS, "SubmitDeclarationResponse", {"status": "bogus", "ackId": "A"}), 200),
        (
            element(
                CUSTOMS_NS, "SubmitDeclarationResponse", {"status": "answered", "ackId": "A", "extra": "x"}
            ),
            200,
        ),
        (element(CUSTOMS_NS, "SubmitDeclarationResponse", {"status": "unknown", "ackId": "A"}), 200),
        (element(CUSTOMS_NS, "SomethingElse", {"status": "answered"}), 200),
        (element(CUSTOMS_NS, "SubmitDeclarationResponse", {"status": "answered", "ackId": "A"}), 500),
    ],
)
@respx.mock
def test_answers_that_do_not_fit_are_retryable(gr: Adapter, payload: etree._Element, status: int) -> None:
    respx.post(SOAP_URL).mock(return_value=_reply(SOAP11, payload, status))
    outcome = soap.submit(gr, b"<D/>", "M1")
    assert isinstance(outcome, RetryableFailure) and outcome.code == 500, outcome


@respx.mock
def test_soap11_fault_without_detail_and_prefix(gr: Adapter) -> None:
    f = etree.Element(f"{{{SOAP11}}}Fault")
    etree.SubElement(f, "faultcode").text = "Client"
    etree.SubElement(f, "faultstring").text = "no"
    respx.post(SOAP_URL).mock(return_value=_reply(SOAP11, f, 500))
    outcome = soap.submit(gr, b"<D/>", "M1")
    assert isinstance(outcome, FinalFailure) and outcome.code == 510 and "no" in outcome.reason


@respx.mock
def test_hostile_answer_is_not_parsed(ch: Adapter) -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><soap:Envelope xmlns:soap="'
        + SOAP12.encode()
        + b'"/>'
    )
    respx.post(SOAP_URL).mock(return_value=httpx.Response(200, content=evil))
    outcome = soap.submit(ch, b"<D/>", "M1")
    assert isinstance(outcome, RetryableFailure) and outcome.code == 500


@respx.mock
def test_wrong_soap_version_answer(ch: Adapter) -> None:
    answered = element(
        CUSTOMS_NS, "SubmitDeclarationResponse", {"status": "answered", "ackId": "A", "document": b"<R/>"}
    )
    respx.post(SOAP_URL).mock(return_value=_reply(SOAP11, answered))  # CH speaks 1.2
    assert isinstance(soap.submit(ch, b"<D/>", "M1"), RetryableFailure)


def test_importing_soap_does_not_import_zeep() -> None:
    import subprocess
    import sys

    code = "import sys, gateway.transport.soap; print('zeep' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
