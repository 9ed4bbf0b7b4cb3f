"""SOAP delivery: envelopes from prepared templates over pooled keep-alive HTTP.

The hot path never builds a zeep object graph: a request is one of four prepared byte templates
(SOAP 1.1/1.2 × SubmitDeclaration/QueryStatus, exactly what zeep's document/literal binding sends for the
shipped WSDL — a test holds them equal) with the escaped message ID, the base64 document and the callback
URL put in, POSTed through :func:`gateway.transport.base.http_client` (pooled, keep-alive, timeouts,
mTLS), or with ``lean=True`` (the relay's deliveries) through :mod:`gateway.transport.lean`, the same
guarantees without httpx's per-request cost. The answer is parsed once with the hardened parser and read by path.

zeep stays for what needs the WSDL's bindings: :func:`wsdl_document` (parsed once per process),
:func:`service` (a zeep proxy for a territory, e.g. for endpoints or tools that want it) and
:class:`HttpxTransport`; importing this module does not import zeep.

Faults map to outcomes: Client/Sender → final (the fault's own code, else 510), Server/Receiver → retryable
500; HTTP 5xx, timeouts and refused connections → retryable 503/504; a 2xx that is not XML, or an answer
that does not fit the WSDL → retryable 500.
"""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import httpx
from lxml import etree

from gateway.errors import Code, Refusal
from gateway.resources import data_dir
from gateway.transport import lean as _lean
from gateway.transport.base import (
    Delivered,
    FinalFailure,
    Outcome,
    RetryableFailure,
    from_exception,
    from_status,
    http_client,
)
from gateway.xmlsafe import XmlLimits, parse_xml

if TYPE_CHECKING:
    from zeep.wsdl import Document

    from gateway.adapter_spec import Adapter
    from gateway.settings import Link

NS = "urn:eata:gateway:customs:1"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
ENVELOPE_NS = {"1.1": SOAP11, "1.2": SOAP12}
BINDINGS = {"1.1": f"{{{NS}}}CustomsDeclarationSoap11", "1.2": f"{{{NS}}}CustomsDeclarationSoap12"}
ACTIONS = {op: f"{NS}/{op}" for op in ("SubmitDeclaration", "QueryStatus")}  # soapAction in the WSDL
STATUSES = frozenset({"answered", "accepted", "pending", "unknown"})  # tns:Status
# An answer carries a whole signed document in base64: allow more than a single inbound document.
ANSWER_LIMITS = XmlLimits(max_bytes=16 * 1024 * 1024, max_depth=32, max_elements=10_000)


def wsdl_path(name: str = "customs-declaration.wsdl") -> Path:
    return data_dir("xsd") / "wsdl" / name


# -- the direct path -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Template:
    head: bytes
    fields: tuple[tuple[str, bytes, bytes], ...]  # (name, opening tag, closing tag), in WSDL order
    tail: bytes
    headers: dict[str, str]


def _template(version: str, operation: str, fields: tuple[str, ...]) -> _Template:
    env = ENVELOPE_NS[version]
    head = f'<soap-env:Envelope xmlns:soap-env="{env}"><soap-env:Body><ns0:{operation} xmlns:ns0="{NS}">'
    tail = f"</ns0:{operation}></soap-env:Body></soap-env:Envelope>"
    action = ACTIONS[operation]
    # as zeep sends them: SOAPAction always; SOAP 1.2 also names the action in the media type (part 2, 7.1.4)
    headers = {"SOAPAction": f'"{action}"'}
    if version == "1.2":
        headers["Content-Type"] = f'application/soap+xml; charset=utf-8; action="{action}"'
    else:
        headers["Content-Type"] = "text/xml; charset=utf-8"
    tags = tuple((f, f"<ns0:{f}>".encode(), f"</ns0:{f}>".encode()) for f in fields)
    return _Template(head.encode(), tags, tail.encode(), headers)


_TEMPLATES = {
    (v, op): _template(v, op, fields)
    for v in ENVELOPE_NS
    for op, fields in (
        ("SubmitDeclaration", ("messageId", "document", "callbackUrl")),
        ("QueryStatus", ("messageId",)),
    )
}


def request(
    version: str, operation: str, values: dict[str, str | bytes | None]
) -> tuple[bytes, dict[str, str]]:
    """The envelope bytes and HTTP headers of one call; bytes values go as base64, None is left out."""
    t = _TEMPLATES[(version, operation)]
    out = [t.head]
    for name, opening, closing in t.fields:
        value = values.get(name)
        if value is None:
            continue
        out += (opening, base64.b64encode(value) if isinstance(value, bytes) else _text(value), closing)
    out.append(t.tail)
    return b"".join(out), t.headers


def _text(value: str) -> bytes:
    return escape(value).encode()


@dataclass(frozen=True, slots=True)
class SoapFault(Exception):
    """A SOAP fault as answered: ``code`` is faultcode (1.1) or Code/Value (1.2), prefix included."""

    code: str | None
    message: str | None
    detail: etree._Element | None = None


def _link(adapter: Adapter, link: Link | None) -> Link:
    from gateway.settings import current

    return link or current().link(adapter)


def _post(
    adapter: Adapter, address: str, operation: str, values: dict[str, Any], *, lean: bool = False
) -> Outcome:
    body, headers = request(adapter.soap_version, operation, values)
    try:
        if lean:
            r = _lean.post(adapter, address, body, headers, limit=ANSWER_LIMITS.max_bytes)
            status, content = r.status, r.content
        else:
            h = http_client(adapter).post(address, content=body, headers=headers)
            status, content = h.status_code, h.content
    except _lean.TooLarge as exc:
        return RetryableFailure(Code.CUSTOMS_FAULT, f"customs answer not read: {exc}")
    except httpx.HTTPError as exc:
        return from_exception(exc)
    return read_reply(adapter.soap_version, operation, status, content)


def read_reply(version: str, operation: str, status: int, content: bytes) -> Outcome:
    """The outcome of one answer (status and body), as zeep's binding would read it for our WSDL."""
    if not content:
        if status in (201, 202):
            return RetryableFailure(Code.CUSTOMS_FAULT, "customs answered status None without a document")
        if status != 200:
            return from_status(status)
    try:
        root = parse_xml(content, limits=ANSWER_LIMITS)
    except Refusal as exc:
        if status >= 300:  # an error page: its own words tell an operator more
            return from_status(status, " ".join(content.decode("utf-8", "replace").split())[:200])
        return RetryableFailure(Code.CUSTOMS_FAULT, f"customs answered malformed XML: {exc}"[:400])
    env = ENVELOPE_NS[version]
    body = root.find(f"{{{env}}}Body") if root.tag == f"{{{env}}}Envelope" else None
    if body is None:
        if status >= 300:
            return from_status(status, " ".join(content.decode("utf-8", "replace").split())[:200])
        return RetryableFailure(Code.CUSTOMS_FAULT, "customs answer not understood: not a SOAP envelope")
    fault_el = body.find(f"{{{env}}}Fault")
    if fault_el is not None:
        return from_fault(_fault(version, fault_el))
    if status != 200:
        return from_fault(SoapFault(None, "Unknown fault occured"))
    return _answer(body, operation)


def _fault(version: str, el: etree._Element) -> SoapFault:
    if version == "1.1":
        return SoapFault(el.findtext("faultcode"), el.findtext("faultstring"), el.find("detail"))
    env = SOAP12
    return SoapFault(
        el.findtext(f"{{{env}}}Code/{{{env}}}Value"),
        el.findtext(f"{{{env}}}Reason/{{{env}}}Text"),
        el.find(f"{{{env}}}Detail"),
    )


def _answer(body: etree._Element, operation: str) -> Outcome:
    answer = body.find(f"{{{NS}}}{operation}Response")
    if answer is None:
        return RetryableFailure(Code.CUSTOMS_FAULT, f"customs answer not understood: no {operation}Response")
    fields: dict[str, str] = {}
    for child in answer:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if (
            etree.QName(child).namespace != NS
            or name not in ("status", "ackId", "document")
            or name in fields
        ):
            return RetryableFailure(
                Code.CUSTOMS_FAULT, f"customs answer not understood: unexpected {child.tag}"
            )
        fields[name] = (child.text or "").strip()
    status = fields.get("status")
    if status not in STATUSES:
        return RetryableFailure(Code.CUSTOMS_FAULT, f"customs answer not understood: status {status!r}")
    ack = fields.get("ackId")
    try:
        document = base64.b64decode(fields["document"], validate=True) if fields.get("document") else None
    except (binascii.Error, ValueError):
        return RetryableFailure(Code.CUSTOMS_FAULT, "customs answer not understood: document is not base64")
    if status == "answered" and document:
        return Delivered(document, ack)
    if status in ("accepted", "pending"):
        return Delivered(None, ack)
    return RetryableFailure(Code.CUSTOMS_FAULT, f"customs answered status {status!r} without a document")


def _fault_detail(fault: Any) -> tuple[int | None, str | None]:
    """The eTIR-style code and the pointer customs put in the fault detail, when they did."""
    detail = fault.detail
    if detail is None or not hasattr(detail, "find"):
        return None, None
    code, where = detail.find(f".//{{{NS}}}code"), detail.find(f".//{{{NS}}}pointer")
    try:
        number = int(code.text) if code is not None and code.text else None
    except ValueError:
        number = None
    return number, (where.text if where is not None and where.text else None)


def from_fault(fault: Any) -> Outcome:
    """A :class:`SoapFault` (or a ``zeep.exceptions.Fault``) as an outcome."""
    side = (fault.code or "").rsplit(":", 1)[-1]
    code, where = _fault_detail(fault)
    if side in ("Client", "Sender"):
        at = f" at {where}" if where else ""
        return FinalFailure(
            code or Code.CUSTOMS_REJECTED, f"customs refused the document{at}: {fault.message}"
        )
    return RetryableFailure(Code.CUSTOMS_FAULT, f"customs system fault: {fault.message}")


def submit(
    adapter: Adapter,
    document: bytes,
    message_id: str,
    *,
    address: str | None = None,
    link: Link | None = None,
    lean: bool = False,
) -> Outcome:
    """One SubmitDeclaration call (no retries: see :func:`gateway.transport.base.with_retries`);
    ``link`` (else the current settings') gives the endpoint and callback URL. ``lean``: over
    :mod:`gateway.transport.lean` (the relay's hot path) instead of the shared httpx client (whose event
    hooks the conformance runner records evidence with)."""
    link = _link(adapter, link)
    values = {"messageId": message_id, "document": document, "callbackUrl": link.callback_url}
    return _post(adapter, address or link.endpoint, "SubmitDeclaration", values, lean=lean)


def query_status(
    adapter: Adapter,
    message_id: str,
    *,
    address: str | None = None,
    link: Link | None = None,
    lean: bool = False,
) -> Outcome:
    """Ask for the decision on an acknowledged message (QueryStatus)."""
    address = address or _link(adapter, link).endpoint
    return _post(adapter, address, "QueryStatus", {"messageId": message_id}, lean=lean)


# -- zeep, for the WSDL and its bindings ------------------------------------------------------------------
def _settings() -> Any:
    import zeep

    return zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)


@cache
def _transport_class() -> type:
    import logging

    import zeep

    class HttpxTransport(zeep.Transport):
        """zeep transport on an httpx client; loads only local files (the WSDL ships with the gateway)."""

        def __init__(self, client: httpx.Client | None = None) -> None:
            # Deliberately not calling super().__init__: that would open a requests session we never use.
            self.cache = None
            self.load_timeout = 10
            self.operation_timeout = None
            self.client = client
            self._close_session = False
            self.logger = logging.getLogger("eata.transport.soap")

        def post(self, address: str, message: bytes | str, headers: dict[str, str]) -> httpx.Response:
            assert self.client is not None, "transport without an HTTP client cannot post"
            return self.client.post(address, content=message, headers=headers)

        def get(self, address: str, params: Any, headers: dict[str, str]) -> httpx.Response:
            assert self.client is not None, "transport without an HTTP client cannot get"
            return self.client.get(address, params=params, headers=headers)

        def load(self, url: str) -> bytes:
            if "://" in url and not url.startswith("file://"):
                raise ValueError(f"refusing to load {url}: WSDL and XSD are read from the installation only")
            return Path(url.removeprefix("file://")).read_bytes()

    return HttpxTransport


def __getattr__(name: str) -> Any:
    if name == "HttpxTransport":  # zeep is imported only by whoever asks for it
        return _transport_class()
    raise AttributeError(name)


@cache
def wsdl_document(name: str = "customs-declaration.wsdl") -> Document:
    """Parse a WSDL once per process (zeep's parsing is the slow part of making a client)."""
    from zeep.wsdl import Document

    return Document(str(wsdl_path(name)), _transport_class()(), settings=_settings())


_services: dict[tuple[object, ...], Any] = {}
_lock = threading.Lock()


def service(adapter: Adapter, address: str | None = None, *, link: Link | None = None) -> Any:
    """The zeep service proxy for a territory's binding and address, cached (not the delivery path)."""
    import zeep

    address = address or _link(adapter, link).endpoint
    client = http_client(adapter)
    key = (adapter.soap_version, address, id(client))
    with _lock:
        proxy = _services.get(key)
        if proxy is None:
            zc = zeep.Client(wsdl_document(), transport=_transport_class()(client), settings=_settings())
            proxy = zc.create_service(BINDINGS[adapter.soap_version], address)
            _services[key] = proxy
        return proxy
