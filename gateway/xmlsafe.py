"""Hardened parsing for every XML byte that comes from outside the gateway.

Policy, in the order it is applied (cheapest refusal first):

1. **Size** — more than ``max_bytes`` is refused (111) before anything reads the content.
2. **No DTD at all** — the prolog (everything before the root element) is scanned in plain Python;
   any ``<!DOCTYPE``/``<!ENTITY``/``<!ELEMENT``/``<!ATTLIST`` is refused (110) before libxml2 runs.
   SOAP and the customs dialects never use DTDs, so there is no reason to accept even a benign one,
   and entity bombs and XXE need one.
3. **Parser settings** as a second line of defence: no entity substitution, no DTD loading or
   validation, no network, libxml2's own size guards kept on (``huge_tree=False``).
4. **Processing instructions are stripped**, never acted on (``remove_pis=True``). They are stripped
   rather than refused because harmless ones (``<?xml-stylesheet?>``) appear in real exports; if one sat
   inside signed content, stripping it breaks the digest and the signature is refused — fail closed.
5. **XInclude is never processed**: nothing here calls ``xinclude()``; an ``xi:include`` element stays an
   inert element with its text untouched.
6. **Depth and element count** — checked after the C-level parse with compiled XPath (no Python loop per
   element); libxml2 also stops at depth 256 on its own without ``huge_tree``. The count is skipped when
   the size alone proves it within the limit (an element takes at least 4 bytes).

Malformed input is refused with 100 and libxml2's line and column.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import TypedDict

from lxml import etree

from gateway.errors import Code, Refusal, refuse

__all__ = ["DEFAULT_LIMITS", "XmlLimits", "element_path", "parse_xml", "serialize"]


@dataclass(frozen=True, slots=True)
class XmlLimits:
    """Bounds on one inbound XML document."""

    max_bytes: int = 5 * 1024 * 1024
    max_depth: int = 64
    max_elements: int | None = 200_000

    def __post_init__(self) -> None:
        if (
            self.max_bytes < 1
            or self.max_depth < 1
            or (self.max_elements is not None and self.max_elements < 1)
        ):
            raise ValueError("XmlLimits values must be positive")


DEFAULT_LIMITS = XmlLimits()


class _ParserOptions(TypedDict):
    """The keyword arguments of ``etree.XMLParser`` the policy sets, so each is checked by name."""

    resolve_entities: bool
    no_network: bool
    load_dtd: bool
    dtd_validation: bool
    attribute_defaults: bool
    huge_tree: bool
    remove_pis: bool
    remove_comments: bool
    strip_cdata: bool
    recover: bool


_PARSER_OPTIONS: _ParserOptions = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "attribute_defaults": False,
    "huge_tree": False,
    "remove_pis": True,
    "remove_comments": False,  # comments matter to C14N; signxml strips them from what it returns
    "strip_cdata": True,
    "recover": False,
}

# lxml parsers are not thread-safe; one per thread is as cheap as it gets and keeps the settings in one place.
_local = threading.local()


def hardened_parser() -> etree.XMLParser:
    """This thread's hardened parser (also handed to signxml so its re-parses use the same rules)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(**_PARSER_OPTIONS)
        _local.parser = parser
    return parser


def parse_xml(data: bytes, *, limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted XML bytes under the gateway's policy, or raise a :class:`Refusal`."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("parse_xml takes bytes; decode nothing before the parser sees it")
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise refuse(
            Code.TOO_LARGE,
            "/",
            f"The XML document is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes.",
        )
    if not data.strip():
        raise refuse(Code.UNREADABLE, "/", "The XML document is empty.")
    _check_prolog(data)
    try:
        root = etree.fromstring(data, parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_refusal(exc) from None
    _check_tree(root, limits, len(data))
    return root


def serialize(el: etree._Element) -> bytes:
    """UTF-8 bytes with an XML declaration; no pretty-printing, so signatures stay valid."""
    return etree.tostring(el, encoding="UTF-8", xml_declaration=True)


def element_path(el: etree._Element) -> str:
    """A readable XPath for a pointer, using the document's own prefixes (``/soap:Envelope/ds:Signature[1]``)."""
    steps: list[str] = []
    node: etree._Element | None = el
    while node is not None:
        qname = etree.QName(node)
        name = f"{node.prefix}:{qname.localname}" if node.prefix else qname.localname
        parent = node.getparent()
        if parent is not None:
            same = [s for s in parent.iterchildren(node.tag)]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))


# ---------------------------------------------------------------------------------------------- internals


def _prolog_text(data: bytes) -> bytes:
    """The document as ASCII-compatible bytes for the prolog scan (UTF-16 decoded, UTF-32 refused)."""
    head = data[:4]
    if head.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\x00<", b"<\x00\x00\x00")):
        raise refuse(Code.UNREADABLE, "/", "The XML document uses UTF-32, which the gateway does not accept.")
    if head.startswith((b"\xfe\xff", b"\xff\xfe", b"\x00<", b"<\x00")):
        encoding = (
            "utf-16"
            if head[:2] in (b"\xfe\xff", b"\xff\xfe")
            else ("utf-16-be" if head[0] == 0 else "utf-16-le")
        )
        try:
            return data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            raise refuse(Code.UNREADABLE, "/", "The XML document is not valid UTF-16.") from None
    if head.startswith(b"\x4c\x6f\xa7\x94"):  # '<?xm' in EBCDIC
        raise refuse(Code.UNREADABLE, "/", "The XML document uses EBCDIC, which the gateway does not accept.")
    return data


def _check_prolog(data: bytes) -> None:
    """Walk the prolog (declaration, comments, PIs, whitespace) up to the root tag; refuse any DTD."""
    if _bare_prolog(data):
        return
    text = _prolog_text(data)
    i = 3 if text.startswith(b"\xef\xbb\xbf") else 0
    n = len(text)
    while i < n:
        if text[i] in b" \t\r\n":
            i += 1
            continue
        if text.startswith(b"<!--", i):
            end = text.find(b"-->", i + 4)
            if end < 0:
                return  # unterminated comment: libxml2 reports it with a position
            i = end + 3
        elif text.startswith(b"<?", i):
            end = text.find(b"?>", i + 2)
            if end < 0:
                return
            i = end + 2
        elif text.startswith(b"<!", i):
            kind = text[i : i + 10].split(maxsplit=1)[0].decode("ascii", "replace")
            raise refuse(
                Code.HOSTILE_XML,
                "/",
                f"The XML document contains a document type declaration ({kind}); DTDs and entity "
                "declarations are not accepted, so it was not parsed.",
            )
        else:
            break  # root element (or garbage, which libxml2 will report)


def _bare_prolog(data: bytes) -> bool:
    """True for what nearly every message starts with: the root's start tag, directly or after one XML
    declaration and whitespace. The walk below would stop at that tag too; this only answers sooner.
    Anything else (BOM, UTF-16, comments, PIs, ``<!``) is left to the walk."""
    start = 0
    if data.startswith(b"<?xml"):
        # '<?xml' itself (bytes 0-4) holds no '?>', so the first one ends the declaration; a '<', '!' or '?'
        # inside it is the walk's concern only if it never ends, and then this returns False
        start = data.find(b"?>", 5) + 2
        if start == 1:
            return False
    tag = data.find(b"<", start)
    # the bytes in between must be what the walk skips (XML whitespace only), and the tag a start tag:
    # '<' then anything but '!' (comment, DOCTYPE...), '?' (a PI) or NUL (UTF-16 seen as bytes)
    return (
        tag >= 0
        and not data[start:tag].strip(b" \t\r\n")
        and data[tag + 1 : tag + 2] not in (b"!", b"?", b"\x00", b"")
    )


def _syntax_refusal(exc: etree.XMLSyntaxError) -> Refusal:
    msg = (exc.msg or str(exc)).strip()
    line, column = exc.position if exc.position else (exc.lineno or 0, 0)
    lowered = msg.lower()
    if "depth" in lowered or "huge" in lowered:
        return refuse(
            Code.TOO_LARGE,
            "/",
            f"The XML document is nested too deeply for the parser (line {line}, column {column}).",
        )
    if "entity" in lowered and ("loop" in lowered or "amplification" in lowered):
        return refuse(Code.HOSTILE_XML, "/", f"The XML document tries to expand entities: {msg}")
    return refuse(
        Code.UNREADABLE,
        "/",
        f"The XML document is not well-formed at line {line}, column {column}: {msg}",
    )


@lru_cache(maxsize=16)
def _deeper_than(depth: int) -> etree.XPath:
    # True when some element sits below ``depth`` levels; libxml2 walks level by level, O(elements).
    return etree.XPath("boolean(/" + "*/" * depth + "*)")


_COUNT = etree.XPath("count(//*)")


def _check_tree(root: etree._Element, limits: XmlLimits, size: int) -> None:
    doc = root.getroottree()
    info = doc.docinfo  # a new DocInfo object per access
    if info.internalDTD is not None or info.externalDTD is not None:
        raise refuse(Code.HOSTILE_XML, "/", "The XML document carries a DTD, which is not accepted.")
    if _deeper_than(limits.max_depth)(doc):
        raise refuse(
            Code.TOO_LARGE,
            "/",
            f"The XML document is nested more than {limits.max_depth} elements deep.",
        )
    # Every element costs at least 4 bytes of input (``<a/>``; tags never share bytes, and with no DTD no
    # entity can expand into markup), so ``size // 4`` bounds the count: below the limit, counting is moot.
    if limits.max_elements is not None and size // 4 > limits.max_elements:
        count = int(_COUNT(doc))
        if count > limits.max_elements:
            raise refuse(
                Code.TOO_LARGE,
                "/",
                f"The XML document has {count:,} elements; the limit is {limits.max_elements:,}.",
            )
    # Defence in depth: an entity reference node can only exist if a DTD slipped through.
    for _ in root.iter(etree.Entity):
        raise refuse(
            Code.HOSTILE_XML, "/", "The XML document contains entity references, which are not accepted."
        )
