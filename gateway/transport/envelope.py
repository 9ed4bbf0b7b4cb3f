"""Server-side SOAP envelopes, by hand with lxml: the simulator and the gateway's callback endpoint.

Incoming envelopes are parsed with the hardened parser (no DTD, no entities, size/depth limits); the
answer uses the SOAP version the caller spoke. The zeep client (``gateway.transport.soap``) is the other
side of the same WSDLs.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from gateway.errors import Code, refuse
from gateway.xmlsafe import parse_xml

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
CONTENT_TYPE = {SOAP11: "text/xml; charset=utf-8", SOAP12: "application/soap+xml; charset=utf-8"}
CUSTOMS_NS = "urn:eata:gateway:customs:1"
CALLBACK_NS = "urn:eata:gateway:callback:1"
WSDL_SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
WSDL_SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"


@dataclass(frozen=True, slots=True)
class Call:
    soap_ns: str
    operation: str  # local name of the Body's first child
    payload: etree._Element

    def text(self, name: str) -> str | None:
        el = self.payload.find(f"{{{etree.QName(self.payload).namespace}}}{name}")
        return el.text.strip() if el is not None and el.text else None

    def binary(self, name: str) -> bytes:
        raw = self.text(name)
        if raw is None:
            raise refuse(Code.MISSING, f"/Envelope/Body/{self.operation}/{name}", f"{name} is missing")
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise refuse(Code.BAD_VALUE, f"/Envelope/Body/{self.operation}/{name}", "not base64") from None


def parse_call(data: bytes) -> Call:
    root = parse_xml(data)
    ns = etree.QName(root).namespace
    if ns not in (SOAP11, SOAP12) or etree.QName(root).localname != "Envelope":
        raise refuse(Code.SCHEMA, "/", "not a SOAP 1.1 or 1.2 envelope")
    body = root.find(f"{{{ns}}}Body")
    children = [c for c in body if isinstance(c.tag, str)] if body is not None else []
    if not children:
        raise refuse(Code.MISSING, "/Envelope/Body", "the SOAP body is empty")
    return Call(ns, etree.QName(children[0]).localname, children[0])


def envelope(soap_ns: str, payload: etree._Element) -> bytes:
    env = etree.Element(f"{{{soap_ns}}}Envelope", nsmap={"soap": soap_ns})
    etree.SubElement(env, f"{{{soap_ns}}}Body").append(payload)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def element(ns: str, name: str, fields: dict[str, str | bytes | None]) -> etree._Element:
    """``<name>`` in ``ns`` with child elements in order; bytes become base64, None is left out."""
    # lxml takes None as the default namespace's prefix; lxml-stubs type the keys as str only
    el = etree.Element(f"{{{ns}}}{name}", nsmap={None: ns})  # type: ignore[dict-item]
    for key, value in fields.items():
        if value is None:
            continue
        child = etree.SubElement(el, f"{{{ns}}}{key}")
        child.text = base64.b64encode(value).decode() if isinstance(value, bytes) else value
    return el


def version_of(data: bytes, content_type: str | None) -> str:
    """The SOAP version a caller speaks, even when its envelope cannot be read: by content type
    (``application/soap+xml`` is 1.2, ``text/xml`` 1.1), else by the envelope namespace, else 1.1."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "application/soap+xml":
        return SOAP12
    if media == "text/xml":
        return SOAP11
    return SOAP12 if SOAP12.encode() in data[:4096] else SOAP11


def sender_fault(code: int) -> bool:
    """Whose fault a refusal is: the receiver's (ours) for internal errors (4xx) and customs-side
    failures (5xx) only; anything about the message itself is the sender's."""
    return code // 100 not in (4, 5) or code == Code.NOT_CONFIGURED


def fault_status(soap_ns: str, client: bool) -> int:
    """HTTP status of a fault: SOAP 1.2 Sender 400, Receiver 500 (SOAP 1.2 part 2, 7.5.2.2); SOAP 1.1
    500 for both (SOAP 1.1 section 6.2, WS-I Basic Profile R1126)."""
    return 400 if soap_ns == SOAP12 and client else 500


def wsdl_with_address(path: Path, address: str) -> bytes:
    """A shipped WSDL (our own file) with every port's soap:address / soap12:address set to ``address``."""
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    for ns in (WSDL_SOAP11, WSDL_SOAP12):
        for el in root.iter(f"{{{ns}}}address"):
            el.set("location", address)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def fault(soap_ns: str, ns: str, *, client: bool, code: int, pointer: str, message: str) -> bytes:
    """A SOAP fault whose detail carries the gateway's 3-digit code (Client/Sender vs Server/Receiver)."""
    detail = element(ns, "FaultDetail", {"code": str(code), "pointer": pointer, "message": message})
    if soap_ns == SOAP11:
        f = etree.Element(f"{{{SOAP11}}}Fault")
        etree.SubElement(f, "faultcode").text = "soap:Client" if client else "soap:Server"
        etree.SubElement(f, "faultstring").text = message
        etree.SubElement(f, "detail").append(detail)
    else:
        f = etree.Element(f"{{{SOAP12}}}Fault")
        value = etree.SubElement(etree.SubElement(f, f"{{{SOAP12}}}Code"), f"{{{SOAP12}}}Value")
        value.text = "soap:Sender" if client else "soap:Receiver"
        reason = etree.SubElement(etree.SubElement(f, f"{{{SOAP12}}}Reason"), f"{{{SOAP12}}}Text")
        reason.text = message
        reason.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        etree.SubElement(f, f"{{{SOAP12}}}Detail").append(detail)
    return envelope(soap_ns, f)
