"""Transport behaviour without a server: retries and backoff, failure classes, SOAP faults, OAuth caching."""

from __future__ import annotations

import httpx
import pytest
import respx

from gateway.adapter_spec import Adapter, RetryPolicy
from gateway.adapters import registry
from gateway.errors import Code
from gateway.transport import Delivered, FinalFailure, RetryableFailure, rest, soap
from gateway.transport.base import from_status, with_retries
from gateway.transport.envelope import CUSTOMS_NS, SOAP11, SOAP12, element, envelope, fault

SOAP_URL = "http://127.0.0.1:9/customs/XX/soap"
REST_URL = "http://127.0.0.1:9/customs/GB"
TOKEN_URL = "http://127.0.0.1:9/oauth/token"


@pytest.fixture
def ch(monkeypatch: pytest.MonkeyPatch) -> Adapter:
    monkeypatch.setenv("EATA_ENDPOINT_CH", SOAP_URL)  # CH speaks SOAP 1.2
    return registry.get("CH")


@pytest.fixture
def gr(monkeypatch: pytest.MonkeyPatch) -> Adapter:
    monkeypatch.setenv("EATA_ENDPOINT_GR", SOAP_URL)  # GR speaks SOAP 1.1
    return registry.get("GR")


@pytest.fixture
def gb(monkeypatch: pytest.MonkeyPatch) -> Adapter:
    monkeypatch.setenv("EATA_ENDPOINT_GB", REST_URL)
    monkeypatch.setenv("EATA_TOKEN_URL_GB", TOKEN_URL)
    monkeypatch.setenv("EATA_OAUTH_SECRET_GB", "unit-test-secret")  # a production link has one
    return registry.get("GB")


def _answer_with(route: respx.Route, effect: object) -> None:
    if isinstance(effect, Exception):
        route.mock(side_effect=effect)
    else:
        route.mock(return_value=effect)


# -- retries -----------------------------------------------------------------------------------------
def test_retries_only_retryable_with_exponential_backoff() -> None:
    adapter = registry.get("AT").with_(retry=RetryPolicy(attempts=4, backoff=0.5, max_backoff=1.5))
    pauses: list[float] = []
    results = iter([RetryableFailure(503, "a"), RetryableFailure(504, "b"), Delivered(b"<x/>")])
    outcome = with_retries(adapter, lambda: next(results), pauses.append)
    assert isinstance(outcome, Delivered) and outcome.attempts == 3 and pauses == [0.5, 1.0]

    pauses.clear()
    outcome = with_retries(adapter, lambda: RetryableFailure(503, "down"), pauses.append)
    assert isinstance(outcome, RetryableFailure) and outcome.attempts == 4 and pauses == [0.5, 1.0, 1.5]

    calls = []
    outcome = with_retries(adapter, lambda: calls.append(1) or FinalFailure(510, "no"), pauses.append)
    assert isinstance(outcome, FinalFailure) and len(calls) == 1


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (500, RetryableFailure, 503),
        (503, RetryableFailure, 503),
        (429, RetryableFailure, 503),
        (400, FinalFailure, 510),
        (404, FinalFailure, 510),
        (403, FinalFailure, 305),
    ],
)
def test_status_classes(status: int, kind: type, code: int) -> None:
    outcome = from_status(status)
    assert isinstance(outcome, kind) and outcome.code == code


# -- SOAP --------------------------------------------------------------------------------------------
def _answered(soap_ns: str) -> httpx.Response:
    payload = element(
        CUSTOMS_NS, "SubmitDeclarationResponse", {"status": "answered", "ackId": "A1", "document": b"<R/>"}
    )
    ctype = "application/soap+xml" if soap_ns == SOAP12 else "text/xml"
    return httpx.Response(200, content=envelope(soap_ns, payload), headers={"Content-Type": ctype})


@respx.mock
def test_soap_12_round_trip_keeps_the_document_bytes(ch: Adapter) -> None:
    route = respx.post(SOAP_URL).mock(return_value=_answered(SOAP12))
    outcome = soap.submit(ch, b"<Declaration>signed</Declaration>", "M1")
    assert outcome == Delivered(b"<R/>", "A1")
    sent = route.calls.last.request
    assert SOAP12.encode() in sent.content and b"PERlY2xhcmF0aW9uPnNpZ25lZDwvRGVjbGFyYXRpb24+" in sent.content
    assert sent.headers["content-type"].startswith("application/soap+xml")


@respx.mock
def test_soap_11_uses_the_11_binding(gr: Adapter) -> None:
    route = respx.post(SOAP_URL).mock(return_value=_answered(SOAP11))
    assert isinstance(soap.submit(gr, b"<D/>", "M1"), Delivered)
    sent = route.calls.last.request
    assert SOAP11.encode() in sent.content and "SubmitDeclaration" in sent.headers["soapaction"]


@pytest.mark.parametrize(
    ("soap_ns", "client", "kind", "code"),
    [
        (SOAP11, True, FinalFailure, 121),
        (SOAP12, True, FinalFailure, 121),
        (SOAP11, False, RetryableFailure, 500),
        (SOAP12, False, RetryableFailure, 500),
    ],
)
@respx.mock
def test_soap_faults(ch: Adapter, gr: Adapter, soap_ns: str, client: bool, kind: type, code: int) -> None:
    adapter = ch if soap_ns == SOAP12 else gr
    body = fault(soap_ns, CUSTOMS_NS, client=client, code=121, pointer="/", message="signature invalid")
    respx.post(SOAP_URL).mock(
        return_value=httpx.Response(500, content=body, headers={"Content-Type": "text/xml"})
    )
    outcome = soap.submit(adapter, b"<D/>", "M1")
    assert isinstance(outcome, kind) and outcome.code == code


@pytest.mark.parametrize(
    ("effect", "kind", "code"),
    [
        (httpx.ConnectTimeout("slow"), RetryableFailure, 504),
        (httpx.ReadTimeout("slow"), RetryableFailure, 504),
        (httpx.ConnectError("refused"), RetryableFailure, 503),
        (httpx.Response(503, text="busy"), RetryableFailure, 503),
        (httpx.Response(502), RetryableFailure, 503),
        (httpx.Response(400, text="bad"), FinalFailure, 510),
        (httpx.Response(200, text="<oops"), RetryableFailure, 500),
    ],
)
@respx.mock
def test_soap_http_failures(ch: Adapter, effect: object, kind: type, code: int) -> None:
    route = respx.post(SOAP_URL)
    _answer_with(route, effect)
    outcome = soap.submit(ch, b"<D/>", "M1")
    assert isinstance(outcome, kind) and outcome.code == code, outcome


def test_wsdl_is_parsed_once() -> None:
    assert soap.wsdl_document() is soap.wsdl_document()


def test_wsdl_transport_loads_no_remote_documents() -> None:
    with pytest.raises(ValueError, match="refusing"):
        soap.HttpxTransport().load("http://example.org/evil.xsd")


# -- REST and OAuth --------------------------------------------------------------------------------------
def _token(value: str = "T1", expires_in: int = 3600) -> httpx.Response:
    return httpx.Response(200, json={"access_token": value, "token_type": "Bearer", "expires_in": expires_in})


@respx.mock
def test_token_is_cached_until_it_expires(gb: Adapter) -> None:
    now = [1000.0]
    tokens = rest.TokenCache(clock=lambda: now[0])
    token_route = respx.post(TOKEN_URL).mock(side_effect=[_token("T1", 120), _token("T2", 120)])
    api = respx.post(f"{REST_URL}/declarations").mock(
        return_value=httpx.Response(202, json={"conversationId": "C1"}, headers={"X-Conversation-ID": "C1"})
    )
    assert rest.submit(gb, b"<D/>", "M1", tokens=tokens) == Delivered(None, "C1")
    assert rest.submit(gb, b"<D/>", "M2", tokens=tokens) == Delivered(None, "C1")
    assert token_route.call_count == 1
    first = token_route.calls.last.request
    assert (
        first.headers["authorization"].startswith("Basic ")
        and b"grant_type=client_credentials" in first.content
    )
    assert api.calls.last.request.headers["authorization"] == "Bearer T1"
    now[0] += 100  # within the 30 s safety margin of the 120 s lifetime: renew
    rest.submit(gb, b"<D/>", "M3", tokens=tokens)
    assert token_route.call_count == 2 and api.calls.last.request.headers["authorization"] == "Bearer T2"
    assert api.calls.last.request.headers["x-callback-url"].endswith("/GB")


@respx.mock
def test_401_refreshes_the_token_once(gb: Adapter) -> None:
    tokens = rest.TokenCache()
    respx.post(TOKEN_URL).mock(side_effect=[_token("OLD"), _token("NEW")])
    respx.post(f"{REST_URL}/declarations").mock(
        side_effect=[httpx.Response(401), httpx.Response(202, headers={"X-Conversation-ID": "C9"})]
    )
    assert rest.submit(gb, b"<D/>", "M1", tokens=tokens) == Delivered(None, "C9")
    assert tokens.fetches == 2


@pytest.mark.parametrize(
    ("token_answer", "kind", "code"),
    [
        (httpx.Response(401, json={"error": "invalid_client"}), FinalFailure, 305),
        (httpx.Response(503), RetryableFailure, 503),
        (httpx.ConnectError("down"), RetryableFailure, 503),
    ],
)
@respx.mock
def test_token_failures(gb: Adapter, token_answer: object, kind: type, code: int) -> None:
    route = respx.post(TOKEN_URL)
    _answer_with(route, token_answer)
    outcome = rest.submit(gb, b"<D/>", "M1", tokens=rest.TokenCache())
    assert isinstance(outcome, kind) and outcome.code == code


@pytest.mark.parametrize(
    ("answer", "kind", "code"),
    [
        (httpx.Response(400, json={"refused": True}), FinalFailure, 510),
        (httpx.Response(500), RetryableFailure, 503),
        (httpx.ReadTimeout("slow"), RetryableFailure, 504),
    ],
)
@respx.mock
def test_rest_api_failures(gb: Adapter, answer: object, kind: type, code: int) -> None:
    respx.post(TOKEN_URL).mock(return_value=_token())
    route = respx.post(f"{REST_URL}/declarations")
    _answer_with(route, answer)
    outcome = rest.submit(gb, b"<D/>", "M1", tokens=rest.TokenCache())
    assert isinstance(outcome, kind) and outcome.code == code


def test_codes_are_the_documented_ones() -> None:
    assert (Code.CUSTOMS_FAULT, Code.CUSTOMS_UNAVAILABLE, Code.CUSTOMS_TIMEOUT, Code.CUSTOMS_REJECTED) == (
        500,
        503,
        504,
        510,
    )
