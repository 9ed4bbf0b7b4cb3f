"""SOAP delivery with zeep over httpx: the WSDL is parsed once, each territory binds 1.1 or 1.2 to its address.

zeep builds and reads the envelopes; HTTP goes through the shared pooled httpx client (timeouts, mTLS),
not zeep's requests session. Faults map to outcomes: Client/Sender → final (the fault's own code, else
510), Server/Receiver → retryable 500; HTTP 5xx, timeouts and refused connections → retryable 503/504.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import zeep
import zeep.exceptions
from lxml import etree
from zeep.wsdl import Document

from gateway.errors import Code
from gateway.resources import data_dir
from gateway.transport.base import (
    Delivered,
    FinalFailure,
    Outcome,
    RetryableFailure,
    from_exception,
    from_status,
    http_client,
)

if TYPE_CHECKING:
    from gateway.adapters.base import Adapter

NS = "urn:eata:gateway:customs:1"
BINDINGS = {"1.1": f"{{{NS}}}CustomsDeclarationSoap11", "1.2": f"{{{NS}}}CustomsDeclarationSoap12"}
_SETTINGS = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)


def wsdl_path(name: str = "customs-declaration.wsdl") -> Path:
    return data_dir("xsd") / "wsdl" / name


class HttpxTransport(zeep.Transport):
    """zeep transport on an httpx client; loads only local files (the WSDL ships with the gateway)."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        # Deliberately not calling super().__init__: that would open a requests session we never use.
        self.cache = None
        self.load_timeout = 10
        self.operation_timeout = None
        self.client = client
        self._close_session = False
        import logging

        self.logger = logging.getLogger("gateway.transport.soap")

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


@cache
def wsdl_document(name: str = "customs-declaration.wsdl") -> Document:
    """Parse a WSDL once per process (zeep's parsing is the slow part of making a client)."""
    return Document(str(wsdl_path(name)), HttpxTransport(), settings=_SETTINGS)


_services: dict[tuple[object, ...], Any] = {}
_lock = threading.Lock()


def service(adapter: Adapter, address: str | None = None) -> Any:
    """The zeep service proxy for a territory's binding and address, cached."""
    address = address or adapter.endpoint()
    client = http_client(adapter)
    key = (adapter.soap_version, address, id(client))
    with _lock:
        proxy = _services.get(key)
        if proxy is None:
            zc = zeep.Client(wsdl_document(), transport=HttpxTransport(client), settings=_SETTINGS)
            proxy = zc.create_service(BINDINGS[adapter.soap_version], address)
            _services[key] = proxy
        return proxy


def _fault_detail(fault: zeep.exceptions.Fault) -> tuple[int | None, str | None]:
    """The eTIR-style code and the pointer customs put in the fault detail, when they did."""
    detail = fault.detail
    if detail is None:
        return None, None
    code, where = detail.find(f".//{{{NS}}}code"), detail.find(f".//{{{NS}}}pointer")
    try:
        number = int(code.text) if code is not None and code.text else None
    except ValueError:
        number = None
    return number, (where.text if where is not None and where.text else None)


def from_fault(fault: zeep.exceptions.Fault) -> Outcome:
    side = (fault.code or "").rsplit(":", 1)[-1]
    code, where = _fault_detail(fault)
    if side in ("Client", "Sender"):
        at = f" at {where}" if where else ""
        return FinalFailure(
            code or Code.CUSTOMS_REJECTED, f"customs refused the document{at}: {fault.message}"
        )
    return RetryableFailure(Code.CUSTOMS_FAULT, f"customs system fault: {fault.message}")


def _transport_error(exc: zeep.exceptions.TransportError) -> Outcome:
    """zeep's name for "HTTP error status" and for "not XML at all" (then with the 2xx status)."""
    status = exc.status_code or 502
    if status < 300:
        return RetryableFailure(Code.CUSTOMS_FAULT, f"customs answered malformed XML: {exc.message}"[:400])
    # zeep's message says "invalid XML" of any error page: the page's own words tell an operator more
    content = exc.content if isinstance(exc.content, bytes) else b""
    return from_status(status, " ".join(content.decode("utf-8", "replace").split())[:200])


def _answer(result: Any) -> Outcome:
    status = getattr(result, "status", None)
    document = getattr(result, "document", None)
    ack = getattr(result, "ackId", None)
    if status == "answered" and document:
        return Delivered(bytes(document), ack)
    if status in ("accepted", "pending"):
        return Delivered(None, ack)
    return RetryableFailure(Code.CUSTOMS_FAULT, f"customs answered status {status!r} without a document")


def submit(adapter: Adapter, document: bytes, message_id: str, *, address: str | None = None) -> Outcome:
    """One SubmitDeclaration call (no retries: see :func:`gateway.transport.base.with_retries`)."""
    try:
        result = service(adapter, address).SubmitDeclaration(
            messageId=message_id, document=document, callbackUrl=adapter.callback_url()
        )
    except zeep.exceptions.Fault as fault:
        return from_fault(fault)
    except zeep.exceptions.TransportError as exc:
        return _transport_error(exc)
    except (zeep.exceptions.XMLSyntaxError, etree.XMLSyntaxError) as exc:
        return RetryableFailure(Code.CUSTOMS_FAULT, f"customs answered malformed XML: {exc}")
    except zeep.exceptions.Error as exc:  # an answer that does not fit the WSDL
        return RetryableFailure(Code.CUSTOMS_FAULT, f"customs answer not understood: {exc}")
    except httpx.HTTPError as exc:
        return from_exception(exc)
    return _answer(result)


def query_status(adapter: Adapter, message_id: str, *, address: str | None = None) -> Outcome:
    """Ask for the decision on an acknowledged message (QueryStatus)."""
    try:
        result = service(adapter, address).QueryStatus(messageId=message_id)
    except zeep.exceptions.Fault as fault:
        return from_fault(fault)
    except zeep.exceptions.TransportError as exc:
        return _transport_error(exc)
    except (zeep.exceptions.Error, etree.XMLSyntaxError) as exc:
        return RetryableFailure(Code.CUSTOMS_FAULT, f"customs answer not understood: {exc}")
    except httpx.HTTPError as exc:
        return from_exception(exc)
    return _answer(result)
