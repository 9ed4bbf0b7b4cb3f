"""Inbound documents are checked against the *official* schema of their message type, never our profiles.

A national system may send anything its published schema allows (optional elements we never write,
PhaseIDs we do not send, CDS's ``md:MetaData`` envelope); refusing those as "not valid" would refuse real
messages. So every inbound document is validated against the official XSD (installed where
``EATA_OFFICIAL_SCHEMAS`` says, as published), compiled once; only then does the mapping
extract the facts eATA needs, and a missing fact is refused by name (see ``core.from_xml``).

CDS wraps a declaration or notification in ``md:MetaData``: :func:`unwrap` validates envelope and content
in one pass and hands back the inner ``Declaration`` / ``Response`` with the envelope's header facts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from gateway.errors import Code, Problem, Refusal, refuse
from gateway.resources import data_dir
from gateway.settings import official_schemas
from gateway.translate import schemas

MD_NS = "urn:wco:datamodel:WCO:DocumentMetaData-DMS:2"
METADATA = f"{{{MD_NS}}}MetaData"
DEC_NS = "urn:wco:datamodel:WCO:DEC-DMS:2"
RES_NS = "urn:wco:datamodel:WCO:RES-DMS:2"
NCTS_NS = "http://ncts.dgtaxud.ec"

_CDS = "uk-cds-wco-dms"
_NCTS = "eu-ncts-p5"

# root element -> (official schema relative to the official schemas' folder, its name as a refusal names it)
OFFICIAL: dict[str, tuple[str, str]] = {
    f"{{{DEC_NS}}}Declaration": (f"{_CDS}/declaration/WCO_DEC_2_DMS.xsd", "WCO_DEC_2_DMS.xsd (HMRC CDS)"),
    f"{{{RES_NS}}}Response": (f"{_CDS}/notification/WCO_RES_2_DMS.xsd", "WCO_RES_2_DMS.xsd (HMRC CDS)"),
    **{
        f"{{{NCTS_NS}}}CC{n}C": (f"{_NCTS}/cc{n}c.xsd", f"cc{n}c.xsd (NCTS P5, CTC XSD 60.4.16)")
        for n in ("007", "015", "025", "028", "029", "056")
    },
}
# md:MetaData around a declaration / around responses: our driver schema (xsd/cds-envelope/) imports HMRC's
# MetaData schema together with the content schema, so the envelope's strict xs:any finds its declarations;
# it is read as if it sat in HMRC's folder, so its relative imports find HMRC's files.
ENVELOPES: dict[str, tuple[str, str]] = {
    DEC_NS: (f"{_CDS}/declaration/", "DocumentMetaData_2_DMS.xsd + WCO_DEC_2_DMS.xsd"),
    RES_NS: (f"{_CDS}/notification/", "DocumentMetaData_2_DMS.xsd + WCO_RES_2_DMS.xsd"),
}
_DRIVERS = {f"{_CDS}/declaration/": "declaration.xsd", f"{_CDS}/notification/": "notification.xsd"}


@dataclass(frozen=True)
class Envelope:
    """The CDS ``md:MetaData`` header (DE-less: WCO data model version, type, agency, customisation)."""

    version: str | None = None
    type_name: str | None = None
    country: str | None = None
    agency: str | None = None
    customization_version: str | None = None


def wrap(root: etree._Element, params: dict[str, object]) -> etree._Element:
    """``root`` inside a CDS ``md:MetaData`` envelope, header from the territory's parameters
    (HMRC samples: version 3.6, type DEC/RES, GB, HMRC, customisation v2.1)."""
    md = etree.Element(METADATA, nsmap={"md": MD_NS})
    header = (
        ("WCODataModelVersionCode", params.get("envelope_version")),
        ("WCOTypeName", "RES" if etree.QName(root).namespace == RES_NS else "DEC"),
        ("ResponsibleCountryCode", params.get("envelope_country")),
        ("ResponsibleAgencyName", params.get("envelope_agency")),
        ("AgencyAssignedCustomizationVersionCode", params.get("envelope_customization_version")),
    )
    for local, value in header:
        if value:
            etree.SubElement(md, f"{{{MD_NS}}}{local}").text = str(value)
    md.append(root)
    return md


def inner(root: etree._Element) -> etree._Element:
    """The Declaration / Response of an enveloped document (the document itself otherwise)."""
    if root.tag != METADATA:
        return root
    return next(c for c in root if isinstance(c.tag, str) and etree.QName(c).namespace in ENVELOPES)


def folder() -> Path:
    """Where the official schemas are installed (``EATA_OFFICIAL_SCHEMAS``): they are the publishers', not ours."""
    configured = official_schemas()
    if configured is None or not _found(configured):
        raise refuse(
            Code.NOT_CONFIGURED,
            "/",
            "the official schemas are not installed: set EATA_OFFICIAL_SCHEMAS to the folder holding "
            "uk-cds-wco-dms/ and eu-ncts-p5/ as HMRC and the EU publish them",
        )
    return configured


# Folders and schema files found once stay found for the process (one stat each, not one per inbound
# document); what is missing is looked for again, so installing it later is seen.
_FOUND: set[Path] = set()


def _found(path: Path, *, folder: bool = True) -> bool:
    if path not in _FOUND:
        if not (path.is_dir() if folder else path.is_file()):
            return False
        _FOUND.add(path)
    return True


_local = threading.local()  # one compiled schema per thread: a schema's error log is its own state


def _driver(where: Path, name: str) -> etree.XMLSchema:
    cache: dict[tuple[Path, str], etree.XMLSchema] = _local.__dict__.setdefault("drivers", {})
    if (where, name) not in cache:
        doc = etree.parse(str(data_dir("xsd") / "cds-envelope" / name))
        doc.docinfo.URL = str(where / name)  # its relative imports resolve in the publisher's folder
        cache[(where, name)] = etree.XMLSchema(doc)
    return cache[(where, name)]


def _schema(relative: str) -> etree.XMLSchema:
    base = folder()
    if relative in _DRIVERS:
        return _driver(base / relative, _DRIVERS[relative])
    path = base / relative
    if not _found(path, folder=False):
        raise refuse(Code.NOT_CONFIGURED, "/", f"the official schema {relative} is missing from {base}")
    return schemas.compiled(path)


def validate(root: etree._Element, relative: str, name: str) -> None:
    """Raise 109 naming the official schema and each violation (XPath, line, libxml2's message)."""
    found = schemas.problems(_schema(relative), root)
    if found:
        raise Refusal(
            [
                Problem(Code.SCHEMA, p.pointer, f"not valid under the official schema {name}: {p.message}")
                for p in found
            ]
        )


def has_official(tag: str) -> bool:
    return tag in OFFICIAL


def check(root: etree._Element) -> None:
    """Validate a bare (unwrapped) national document against its official schema, when we have it."""
    known = OFFICIAL.get(root.tag)
    if known is not None:
        validate(root, *known)


def unwrap(root: etree._Element) -> tuple[etree._Element, Envelope | None]:
    """The document to map and its envelope: ``md:MetaData`` validated and opened, anything else checked.

    A notification may carry several ``Response`` elements; the first is the answer read (CDS sends one
    notification per decision).
    """
    if root.tag != METADATA:
        check(root)
        return root, None
    inner = [c for c in root if isinstance(c.tag, str) and etree.QName(c).namespace in ENVELOPES]
    if not inner:
        raise refuse(
            Code.SCHEMA, "/MetaData", "the md:MetaData envelope holds no WCO Declaration or Response to read"
        )
    validate(root, *ENVELOPES[etree.QName(inner[0]).namespace])

    def text(local: str) -> str | None:
        value = root.findtext(f"{{{MD_NS}}}{local}")
        return value.strip() or None if value is not None else None

    envelope = Envelope(
        version=text("WCODataModelVersionCode"),
        type_name=text("WCOTypeName"),
        country=text("ResponsibleCountryCode"),
        agency=text("ResponsibleAgencyName"),
        customization_version=text("AgencyAssignedCustomizationVersionCode"),
    )
    # a detached copy: XPaths in later refusals then start at the Declaration / Response itself
    return etree.fromstring(etree.tostring(inner[0])), envelope
