"""SOAP at the customs callback, mounted at /customs on the gateway API as it runs: the WSDL is served with
its real address, zeep works from that WSDL alone, and every envelope-level error is a SOAP fault in the
caller's version (1.2 Sender 400, Receiver 500; 1.1 always 500), never JSON."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import requests
import zeep
import zeep.exceptions
from lxml import etree

from conformance.simulators.testing import journey_declaration, make_keys
from gateway.adapters import registry
from gateway.adapters.delivery import signer
from gateway.api.app import create_app
from gateway.api.callback import Inbox, callback_app
from gateway.api.service import Service
from gateway.codec import encode
from gateway.messages import Response
from gateway.model import Endorsement
from gateway.resources import data_dir
from gateway.serving import serving
from gateway.store import Database
from gateway.transport.envelope import SOAP11, SOAP12

NS = "urn:eata:gateway:callback:1"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
CONTENT = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
ENV = {"1.1": SOAP11, "1.2": SOAP12}


@dataclass
class Callback:
    url: str  # the gateway's base URL
    inbox: Inbox
    keys: Path

    @property
    def soap(self) -> str:
        return f"{self.url}/customs/callback/NO/soap"


def _boom(*_a: object) -> str:
    raise RuntimeError("the store is down")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("callback-keys")
    make_keys(directory, ["NO"])
    return directory


def _gateway(
    tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch, **callback_kw: object
) -> Iterator[Callback]:
    monkeypatch.setenv("EATA_KEYS_DIR", str(keys))
    inbox = Inbox()
    app = create_app(
        Service(Database(f"sqlite:///{tmp_path / 'g.db'}")), callback=callback_app(inbox, **callback_kw)
    )
    with serving(app) as server:
        yield Callback(server.url, inbox, keys)


@pytest.fixture
def gw(tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callback]:
    yield from _gateway(tmp_path, keys, monkeypatch)


@pytest.fixture
def failing(tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callback]:
    yield from _gateway(tmp_path, keys, monkeypatch, on_answer=_boom)


def signed_answer(keys: Path, in_reply_to: str) -> tuple[Response, bytes]:
    d = journey_declaration("NO", message_id=in_reply_to)
    answer = Response(
        message_id=f"N{in_reply_to}",
        in_reply_to=in_reply_to,
        carnet_id=d.carnet_id,
        transaction_id=d.transaction_id,
        kind=d.kind,
        endorsement=Endorsement(
            office=d.office,
            place="Oslo",
            at=dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC),
            reference="PUSH-1",
            officer="Officer",
        ),
    )
    return answer, encode(answer, "NO", signer(keys.resolve(), registry.get("NO").sim_key))


def client_of_served_wsdl(gw: Callback) -> zeep.Client:
    session = requests.Session()
    session.trust_env = False
    return zeep.Client(f"{gw.soap}?wsdl", transport=zeep.Transport(session=session))


def call(op: str, document: bytes, version: str) -> bytes:
    env = ENV[version]
    doc = base64.b64encode(document).decode()
    return (
        f'<s:Envelope xmlns:s="{env}"><s:Body><c:{op} xmlns:c="{NS}"><c:document>{doc}</c:document>'
        f"</c:{op}></s:Body></s:Envelope>"
    ).encode()


def read_fault(r: httpx.Response, version: str) -> tuple[str, int]:
    """(fault code value, the gateway's 3-digit code) of a SOAP fault answer, checking its envelope."""
    assert r.headers["content-type"].split(";")[0] == CONTENT[version].split(";")[0], r.text
    root = etree.fromstring(r.content)
    env = ENV[version]
    assert root.tag == f"{{{env}}}Envelope"
    f = root.find(f"{{{env}}}Body/{{{env}}}Fault")
    assert f is not None, r.text
    value = f.findtext("faultcode") if version == "1.1" else f.findtext(f"{{{env}}}Code/{{{env}}}Value")
    code = int(f.findtext(f".//{{{NS}}}FaultDetail/{{{NS}}}code"))
    return value, code


# -- the WSDL -------------------------------------------------------------------------------------------
def test_the_wsdl_is_served_with_the_address_it_was_fetched_at(gw: Callback) -> None:
    r = httpx.get(f"{gw.soap}?wsdl", trust_env=False)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    root = etree.fromstring(r.content)
    addresses = [el.get("location") for el in root.iter("{*}address")]
    assert addresses == [gw.soap, gw.soap]  # SOAP 1.1 and 1.2 ports, /customs prefix included
    assert root.find(f"{{{WSDL}}}portType").get("name") == "GatewayCallbackPortType"


def test_the_wsdl_of_an_unknown_territory_and_a_bare_get_are_problems(gw: Callback) -> None:
    r = httpx.get(f"{gw.url}/customs/callback/ZZ/soap?wsdl", trust_env=False)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = httpx.get(gw.soap, trust_env=False)
    assert r.status_code == 405 and r.json()["problems"][0]["code"] == 103 and r.headers["allow"] == "POST"


def test_the_shipped_wsdl_names_the_mounted_address() -> None:
    text = (data_dir("xsd") / "wsdl" / "gateway-callback.wsdl").read_text()
    assert text.count('location="http://127.0.0.1:8080/customs/callback/XX/soap"') == 2


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_zeep_works_from_the_served_wsdl_alone(gw: Callback, version: str) -> None:
    answer, data = signed_answer(gw.keys, f"ZEEP{version.replace('.', '')}")
    gw.inbox.expect(journey_declaration("NO", message_id=answer.in_reply_to))  # what the answer replies to
    client = client_of_served_wsdl(gw)
    service = client.bind("GatewayCallbackService", f"GatewayCallbackSoap{version.replace('.', '')}")
    first = service.NotifyEndorsement(inReplyTo=answer.in_reply_to, document=data)
    again = service.NotifyEndorsement(inReplyTo=answer.in_reply_to, document=data)
    assert (first.received, first.duplicate, again.duplicate) == (True, False, True)
    assert gw.inbox.answers[answer.in_reply_to] == answer
    with pytest.raises(zeep.exceptions.Fault) as fault:  # a forged document: a fault zeep understands
        service.NotifyRejection(document=data.replace(b"Oslo", b"0slo"))
    assert fault.value.detail is not None


# -- envelope-level errors ---------------------------------------------------------------------------------
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    b"<lolz>&lol2;</lolz>"
)
XXE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'


def _bad(version: str) -> dict[str, tuple[bytes, int]]:
    env = ENV[version]
    return {
        "empty": (b"", 100),
        "malformed": (b"<s:Envelope xmlns:s='" + env.encode() + b"'><s:Body>", 100),
        "not-xml": (b'{"json": true}', 100),
        "billion-laughs": (BILLION_LAUGHS, 110),
        "xxe": (XXE, 110),
        "not-an-envelope": (b"<Envelope xmlns='urn:something:else'><Body/></Envelope>", 109),
        "empty-body": (f"<s:Envelope xmlns:s='{env}'><s:Body/></s:Envelope>".encode(), 101),
        "unknown-operation": (call("DeleteEverything", b"x", version), 102),
        "no-document": (
            f"<s:Envelope xmlns:s='{env}'><s:Body><c:NotifyClaim xmlns:c='{NS}'/></s:Body></s:Envelope>".encode(),
            101,
        ),
        "not-base64": (call("NotifyEndorsement", b"x", version).replace(b"eA==", b"***"), 103),
        "unsigned-document": (call("NotifyEndorsement", b"<Response/>", version), 120),
    }


CASES = [(v, name) for v in ("1.1", "1.2") for name in _bad(v)]


@pytest.mark.parametrize(("version", "case"), CASES, ids=[f"soap{v}-{n}" for v, n in CASES])
def test_every_envelope_error_is_a_fault_in_the_callers_version(
    gw: Callback, version: str, case: str
) -> None:
    body, code = _bad(version)[case]
    r = httpx.post(gw.soap, content=body, headers={"Content-Type": CONTENT[version]}, trust_env=False)
    value, got = read_fault(r, version)
    assert got == code
    if version == "1.2":
        assert (r.status_code, value) == (400, "soap:Sender")
    else:
        assert (r.status_code, value) == (500, "soap:Client")


def test_without_a_soap_content_type_the_envelope_namespace_decides(gw: Callback) -> None:
    body = f"<s:Envelope xmlns:s='{SOAP12}'><s:Body>".encode()  # malformed, no content type
    r = httpx.post(
        gw.soap, content=body, headers={"Content-Type": "application/octet-stream"}, trust_env=False
    )
    assert read_fault(r, "1.2") == ("soap:Sender", 100) and r.status_code == 400


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_a_failure_on_our_side_is_a_receiver_fault(failing: Callback, version: str) -> None:
    answer, data = signed_answer(failing.keys, f"FAIL{version.replace('.', '')}")
    failing.inbox.expect(journey_declaration("NO", message_id=answer.in_reply_to))
    r = httpx.post(
        failing.soap,
        content=call("NotifyEndorsement", data, version),
        headers={"Content-Type": CONTENT[version]},
    )
    value, code = read_fault(r, version)
    assert r.status_code == 500 and code == 400
    assert value == ("soap:Server" if version == "1.1" else "soap:Receiver")
    assert "store is down" not in r.text  # nothing of the internals
