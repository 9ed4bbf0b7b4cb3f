"""Choosing the mapping for a message, and the two directions with XSD checks around the engine."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from lxml import etree

from gateway.errors import Code, Refusal, refuse
from gateway.messages import Declaration, Response
from gateway.model import TransactionKind
from gateway.model.load import problems_from_validation
from gateway.resources import data_dir
from gateway.translate import engine, schemas
from gateway.translate.mapping import Mapping, mapping, mappings_of
from gateway.xmlsafe import XmlLimits, parse_xml

Message = Declaration | Response
TRANSIT_KINDS = frozenset({TransactionKind.TRANSIT_START, TransactionKind.TRANSIT_DISCHARGE})
_MODELS: dict[str, type[Declaration] | type[Response]] = {"declaration": Declaration, "response": Response}


def dialect_for(kind: TransactionKind) -> str:
    """Default dialect: NCTS for the blue transit leg, the WCO declaration for the rest.

    An adapter may say otherwise for its territory.
    """
    return "ncts" if kind in TRANSIT_KINDS else "wco-dec"


def _outcome(message: Message) -> str | None:
    if isinstance(message, Response):
        return "endorsement" if message.committed else "rejection"
    return None


@cache
def _dialects() -> tuple[str, ...]:
    root = data_dir("mappings")
    return tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "codelists"))


def mapping_for(message: Message, dialect: str | None = None) -> Mapping:
    model = "declaration" if isinstance(message, Declaration) else "response"
    dialect = dialect or dialect_for(message.kind)
    outcome = _outcome(message)
    for name in mappings_of(dialect):
        m = mapping(dialect, name)
        outcomes = m.params.get("outcomes")
        if (
            m.model == model
            and message.kind.value in m.kinds
            and (outcome is None or not outcomes or outcome in outcomes)
        ):
            return m
    raise refuse(
        Code.NOT_CONFIGURED,
        "/kind",
        f"dialect {dialect} has no {model} message for {message.kind.value}"
        + (f" ({outcome})" if outcome else ""),
    )


@cache
def _by_root() -> dict[str, Mapping]:
    found: dict[str, Mapping] = {}
    for dialect in _dialects():
        for name in mappings_of(dialect):
            m = mapping(dialect, name)
            found.setdefault(m.root, m)
    return found


def to_xml(
    message: Message, territory: str, *, dialect: str | None = None, params: dict[str, Any] | None = None
) -> etree._Element:
    """Build the national document for ``message`` and check it against the dialect's XSD profile."""
    m = mapping_for(message, dialect)
    root = engine.to_xml(
        m,
        message.model_dump(mode="json", exclude_none=True),
        territory,
        {"territory": territory, **(params or {})},
    )
    if m.xsd:
        schemas.validate(schemas.profile(m.xsd), root)
    return root


def to_bytes(message: Message, territory: str, **kw: Any) -> bytes:
    return etree.tostring(to_xml(message, territory, **kw), xml_declaration=True, encoding="UTF-8")


Context = Message | dict[str, Any] | Callable[[dict[str, Any]], "Message | dict[str, Any] | None"] | None


def from_xml(
    root: etree._Element, territory: str, *, params: dict[str, Any] | None = None, context: Context = None
) -> Message:
    """Read a national document (already parsed safely and, where signed, verified) into a message.

    ``context`` is the message this document relates to (or a function finding it from what the
    document does carry); it fills only the fields the mapping declares it cannot carry.
    """
    m = _by_root().get(root.tag)
    if m is None:
        raise refuse(Code.SCHEMA, "/", f"{root.tag} is not a message this gateway understands")
    if m.xsd:
        schemas.validate(schemas.profile(m.xsd), root)
    data = engine.from_xml(m, root, territory, params)
    for path, placeholder in m.placeholders.items():
        _drop_if(data, path.split("."), placeholder)
    if m.context:
        found = context(data) if callable(context) else context
        if isinstance(found, (Declaration, Response)):
            found = found.model_dump(mode="json", exclude_none=True)
        for key in m.context:
            if found and key in found:
                data[key] = _deep_merge(found[key], data.get(key))
    model = _MODELS[m.model]
    try:
        return model.model_validate_json(json.dumps(data))
    except Exception as exc:  # pydantic ValidationError: the document lacks what the message needs
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            raise Refusal(problems_from_validation(exc)) from None
        raise


def _drop_if(data: dict[str, Any], keys: list[str], value: str) -> None:
    for k in keys[:-1]:
        data = data.get(k) if isinstance(data.get(k), dict) else {}
    if data.get(keys[-1]) == value:
        del data[keys[-1]]


def _deep_merge(base: Any, over: Any) -> Any:
    """``over`` (what the document carried) wins; ``base`` (the context) fills the rest."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: _deep_merge(base.get(k), v) for k, v in over.items()}}
    return base if over is None else over


def from_bytes(data: bytes, territory: str, *, limits: XmlLimits | None = None, **kw: Any) -> Message:
    root = parse_xml(data, limits=limits) if limits else parse_xml(data)
    return from_xml(root, territory, **kw)
