"""XSD validation on the hot path with libxml2 (lxml.etree.XMLSchema), compiled once per schema.

Violations come back as 1xx problems with the XPath of the offending element and the schema's message.
``xmlschema`` is ~100x slower per document: it stays out of the hot path.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Protocol, cast

from lxml import etree

from gateway.errors import Code, Problem, Refusal
from gateway.resources import data_dir


class _LogEntry(Protocol):
    """What a libxml2 error log entry carries (lxml-stubs declare ``_ErrorLog`` without its entries)."""

    path: str
    line: int
    message: str


_local = threading.local()  # XMLSchema objects are not safe to share across threads while validating


@cache
def _schema_doc(path: Path) -> etree._ElementTree:
    # Our own XSDs are trusted files, but still parsed without network access.
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.parse(str(path), parser)


def compiled(path: Path) -> etree.XMLSchema:
    cache_ = getattr(_local, "schemas", None)
    if cache_ is None:
        cache_ = _local.schemas = {}
    schema = cache_.get(path)
    if schema is None:
        schema = cache_[path] = etree.XMLSchema(_schema_doc(path))
    return schema


def profile(relative: str) -> Path:
    return data_dir("xsd") / relative


_ELEMENT = re.compile(r"Element '([^']+)'")


def problems(schema: etree.XMLSchema, root: etree._Element, limit: int = 20) -> list[Problem]:
    if schema.validate(root):
        return []
    tree = root.getroottree()
    out: list[Problem] = []
    for err in list(cast("Iterable[_LogEntry]", schema.error_log))[:limit]:
        where = err.path or tree.getpath(root)
        out.append(Problem(Code.SCHEMA, where, f"line {err.line}: {err.message}"))
    return out


def validate(schema_path: Path, root: etree._Element) -> None:
    """Raise :class:`Refusal` (109) listing each violation with its XPath."""
    found = problems(compiled(schema_path), root)
    if found:
        raise Refusal(found)
