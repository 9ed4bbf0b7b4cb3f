"""Choosing the mapping for a message, and the two directions with XSD checks around the engine."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from lxml import etree

from gateway.errors import Code, Problem, Refusal, refuse
from gateway.messages import Declaration, Response
from gateway.model import TransactionKind
from gateway.model.load import problems_from_validation
from gateway.resources import data_dir
from gateway.translate import engine, official, schemas
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


@cache
def _unambiguous(dialect: str) -> tuple[str, ...]:
    """The dialect's mappings, refused at load when two claim the same message (model, kind and outcome)
    or the same root element: first-match by file name would silently shadow one of them."""
    names = mappings_of(dialect)
    seen: dict[tuple[str, str, str], str] = {}
    roots: dict[tuple[str, str], str] = {}
    problems: list[Problem] = []
    for name in names:
        m = mapping(dialect, name)
        for outcome in m.params.get("outcomes") or ("endorsement", "rejection", None):
            for kind in m.kinds:
                other = seen.setdefault((m.model, kind, str(outcome)), name)
                if other != name:
                    problems.append(
                        Problem(
                            Code.NOT_CONFIGURED,
                            f"mappings/{dialect}/{name}.yaml",
                            f"{name}.yaml and {other}.yaml both map the {m.model} for {kind}"
                            + (f" ({outcome})" if outcome else ""),
                        )
                    )
        other = roots.setdefault((m.model, m.root), name)
        if other != name:
            problems.append(
                Problem(
                    Code.NOT_CONFIGURED,
                    f"mappings/{dialect}/{name}.yaml",
                    f"{name}.yaml and {other}.yaml both read the root element {m.root}",
                )
            )
    if problems:
        raise Refusal(list(dict.fromkeys(problems)))
    return tuple(names)


def mapping_for(message: Message, dialect: str | None = None) -> Mapping:
    model = "declaration" if isinstance(message, Declaration) else "response"
    dialect = dialect or dialect_for(message.kind)
    outcome = _outcome(message)
    for name in _unambiguous(dialect):
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
        for name in _unambiguous(dialect):
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
    merged = m.params_for(territory, params)
    if merged.get("envelope") == "cds-metadata":  # CDS: every declaration and notification in md:MetaData
        root = official.wrap(root, merged)
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
    root, _envelope = official.unwrap(root)  # the official schema first (md:MetaData opened)
    m = _by_root().get(root.tag)
    if m is None:
        raise refuse(Code.SCHEMA, "/", f"{root.tag} is not a message this gateway understands")
    if m.xsd and not official.has_official(root.tag):
        schemas.validate(schemas.profile(m.xsd), root)
    _refuse_what_eata_cannot_use(m, root)
    data = engine.from_xml(m, root, territory, params)
    for path, placeholder in m.placeholders.items():
        _drop_if(data, path.split("."), placeholder)
    if m.model == "response" and isinstance(data.get("rejection"), dict):
        # a rejection (CDS DMSREJ: Error, RejectionDateTime) also names the MRN of what it rejects
        # (Declaration/ID): that is no endorsement
        data.pop("endorsement", None)
    if m.context:
        found = context(data) if callable(context) else context
        if isinstance(found, (Declaration, Response)):
            found = found.model_dump(mode="json", exclude_none=True)
        found = _as_answer_context(m, found, data)
        for key in m.context:
            if found and key in found:
                data[key] = _deep_merge(found[key], data.get(key))
    if m.outcome:
        _decide_outcome(m, root, data)
    _national_code(data)
    for path, default in m.defaults.items():  # what the dialect means when it says nothing
        keys = path.split(".")
        parent = _walk_dict(data, keys[:-1])
        if isinstance(parent, dict) and parent.get(keys[-1]) is None:
            parent[keys[-1]] = default
    _refuse_missing(m, root, data)
    model = _MODELS[m.model]
    try:
        return model.model_validate_json(json.dumps(data))
    except Exception as exc:  # pydantic ValidationError: the document lacks what the message needs
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            raise Refusal(problems_from_validation(exc)) from None
        raise


# A mapping's ``refuses`` XPaths, compiled once per process: keyed by id, the mapping held so its id is
# never reused (mappings are frozen). An etree.XPath serialises its own evaluations, so threads may share it.
_XPATHS: dict[int, tuple[Mapping, dict[str, etree.XPath]]] = {}


def _xpath(m: Mapping, root: etree._Element, expr: str) -> bool:
    """A ``refuses`` XPath (``d:`` is the mapping's child namespace): does the document match it?"""
    held = _XPATHS.get(id(m))
    if held is None or held[0] is not m:
        held = _XPATHS[id(m)] = (m, {})
    compiled = held[1].get(expr)
    if compiled is None:
        names = {k: v for k, v in m.nsmap.items() if k}
        if m.child_ns:
            names["d"] = m.child_ns
        compiled = held[1][expr] = etree.XPath(expr, namespaces=names)
    return bool(compiled(root))


def _refuse_what_eata_cannot_use(m: Mapping, root: etree._Element) -> None:
    """Officially valid documents that are not eATA business (e.g. a CPD carnet): refused by name."""
    for rule in m.refuses:
        if _xpath(m, root, rule["xpath"]):
            raise refuse(int(rule.get("code", Code.BAD_VALUE)), rule["pointer"], rule["says"])


def _decide_outcome(m: Mapping, root: etree._Element, data: dict[str, Any]) -> None:
    """The national indicator decides: an endorsement stays one only for an indicator that commits."""
    from gateway.translate.mapping import outcome_codes

    where = m.outcome["xml"]
    text = root.findtext(where)
    entry = outcome_codes(m.outcome["codelist"]).get((text or "").strip())
    if entry is None:
        raise refuse(
            Code.UNKNOWN_CODE,
            f"{root.tag.split('}')[-1]}/{where}",
            f"code {text!r} is not in {m.outcome['codelist']}",
        )
    answer = data.pop("endorsement", None) or {}
    if entry["outcome"] == "endorsement":
        data["endorsement"] = {
            **answer,
            "seals_intact": entry.get("seals_intact", answer.get("seals_intact")),
        }
        return
    data["rejection"] = {
        "office": answer.get("office"),
        "at": answer.get("at"),
        "code": int(entry.get("code", Code.CUSTOMS_REJECTED)),
        "reason": f"{where.split('/')[-1]} {text}: {entry['name']}; the voucher stays open",
    }


def _national_code(data: dict[str, Any]) -> None:
    """A rejection's code as read: an eATA code (100-599) stays one; a national code (a real CDS DMSREJ
    says e.g. ``CDS12056``) becomes 510 (rejected by customs), the national code kept in the reason."""
    r = data.get("rejection")
    if not isinstance(r, dict) or not isinstance(r.get("code"), str):
        return
    text = r["code"].strip()
    if text.isdigit() and 100 <= int(text) <= 599:
        r["code"] = int(text)
        r["reason"] = r.get("reason") or f"rejected by customs with code {text}"
        return
    r["code"] = int(Code.CUSTOMS_REJECTED)
    said = r.get("reason")
    r["reason"] = (
        f"national code {text}: {said}" if said else f"rejected by customs with national code {text}"
    )


def _walk_dict(data: Any, keys: list[str]) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _as_answer_context(m: Mapping, found: Any, data: dict[str, Any]) -> Any:
    """An answer read against the *declaration* it answers: carnet, transaction and kind from it, and
    the declaration's office for the decision the document carries (real answers name neither)."""
    if m.model != "response" or not isinstance(found, dict) or "office" not in found:
        return found
    out = {k: found[k] for k in ("carnet_id", "transaction_id", "kind") if k in found}
    if "message_id" in found:  # the LRN answered, for answers that name only the movement (IE025)
        out["in_reply_to"] = found["message_id"]
    for answer in ("endorsement", "rejection"):
        if isinstance(data.get(answer), dict):
            out[answer] = {"office": found["office"]}
    return out


def _fill(text: str, data: dict[str, Any]) -> str:
    return re.sub(r"\$\{([a-z_.]+)\}", lambda g: str(_walk_dict(data, g.group(1).split("."))), text)


def _refuse_missing(m: Mapping, root: etree._Element, data: dict[str, Any]) -> None:
    """Each eATA fact the document (and its context) lacks, named with where the dialect carries it."""
    problems = []
    for rule in m.requires:
        value: Any = data
        for key in rule["json"].split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value in (None, "", [], {}):
            says = _fill(rule["says"], data)
            pointer = rule.get("pointer") or "/" + rule["json"].replace(".", "/")  # the eATA field
            problems.append(Problem(int(rule.get("code", Code.MISSING)), pointer, says))
            if rule.get("stop"):  # later facts would only repeat what this one already says
                break
    if problems:
        raise Refusal(problems)


def _drop_if(data: dict[str, Any], keys: list[str], value: str) -> None:
    for k in keys[:-1]:
        inner = data.get(k)
        data = inner if isinstance(inner, dict) else {}
    if data.get(keys[-1]) == value:
        del data[keys[-1]]


def _deep_merge(base: Any, over: Any) -> Any:
    """``over`` (what the document carried) wins; ``base`` (the context) fills the rest. Goods lines
    merge by their general-list item number (a document naming an item the context lacks keeps it)."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: _deep_merge(base.get(k), v) for k, v in over.items()}}
    if isinstance(base, list) and isinstance(over, list) and all(isinstance(e, dict) for e in base + over):
        known = {e.get("item_number"): e for e in base}
        return [_deep_merge(known.get(e.get("item_number")), e) for e in over]
    return base if over is None else over


def from_bytes(data: bytes, territory: str, *, limits: XmlLimits | None = None, **kw: Any) -> Message:
    root = parse_xml(data, limits=limits) if limits else parse_xml(data)
    return from_xml(root, territory, **kw)
