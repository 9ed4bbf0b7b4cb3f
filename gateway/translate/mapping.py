"""Declarative mappings: one YAML file per dialect and message, read into frozen rule trees.

A rule pairs a JSON path with an XML path. Going out, the JSON side is a JMESPath expression; coming
back, it must be a plain dotted path so the engine can set it. Rule kinds:

- field: ``{json, xml, format?, codelist?, when?, required?}``
- const: ``{xml, value, when?}`` — written out; on the way back it identifies blocks, nothing more
- block: ``{xml, rules, json?, when?}`` — always a new element; ``json`` scopes its rules to an object;
  ``rules: []`` writes an empty element (a required container whose children are all optional)
- group: ``{xml, json, rules}`` — one new element per list entry (goods items); ``${index}`` in a
  constant inside it is the entry's 1-based position
- derived: ``{xml, count: list}`` or ``{xml, sum: list.field}`` — written out only (totals, counts)

Any rule may say ``if: param``: it is written only for territories whose parameter ``param`` is set
(e.g. the UK's carnet as a DE 2/1 previous document); it is always read back when present.

``when`` is JMESPath on the current scope, with one extra function: ``matches(path, 'regex')`` is true
when the value matches the whole pattern (e.g. write a reference as an NCTS MRN only when it is one).
It is checked on the way out only; on the way back a block is recognised by its constant children
(constants with ``when`` or ``${index}`` do not count), and a later rule overwrites an earlier one.

Values may name territory parameters as ``${name}``; codelists come from ``mappings/codelists``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jmespath
from jmespath.parser import ParsedResult

from gateway.errors import Code, refuse
from gateway.resources import data_dir
from gateway.translate.formats import FORMATS, Format
from gateway.yamlio import load_yaml

_PLAIN = re.compile(r"^/?[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")
_PARAM = re.compile(r"\$\{([a-z_.]+)\}")


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str  # field | const | block | group
    xml: tuple[str, ...]  # path segments; a last segment '@name' is an attribute
    json: str | None = None
    getter: ParsedResult | None = None
    fmt: Format | None = None
    codelist: str | None = None
    when: ParsedResult | None = None
    required: bool = False
    value: str | None = None
    rules: tuple[Rule, ...] = ()
    out_only: bool = False  # derived values (e.g. national procedure codes from the kind)
    in_only: bool = False  # a meaning read from a code the other way writes as a constant
    if_param: str | None = None  # written out only when this territory parameter is set (read always)

    @property
    def absolute(self) -> bool:
        """A json path starting with '/' reads from the message root, even inside a group."""
        return bool(self.json and self.json.startswith("/"))

    @property
    def settable(self) -> tuple[str, ...]:
        return _settable(self.json)


@lru_cache(maxsize=4096)
def _settable(json: str | None) -> tuple[str, ...]:
    """A rule's json path as keys, split once per distinct path (rules are read on every message)."""
    if json == ".":  # the scope itself: a list of plain values (e.g. seal numbers)
        return (".",)
    return tuple(json.lstrip("/").split(".")) if json else ()


@dataclass(frozen=True)
class Mapping:
    dialect: str
    message: str
    root: str  # Clark notation {ns}Local
    child_ns: str | None  # namespace of descendants; None for unqualified locals (NCTS)
    nsmap: dict[str | None, str]
    model: str  # "declaration" | "response"
    kinds: tuple[str, ...]
    rules: tuple[Rule, ...]
    params: dict[str, Any] = field(default_factory=dict)  # defaults; territories override
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    xsd: str | None = None  # profile XSD, relative to xsd/
    # Fields the national message cannot carry (official schemas without free text, e.g. NCTS IE007 and
    # IE025): on the way back they come from the message this one relates to, and only these may.
    context: tuple[str, ...] = ()
    placeholders: dict[str, str] = field(default_factory=dict)  # dotted path -> value meaning "absent"
    # Inbound, after the official schema: eATA facts a document must yield (``{json, pointer, says}``,
    # checked once the context is merged) and officially valid documents eATA refuses by name
    # (``{xpath, pointer, says, code?}``, e.g. a CPD carnet where an ATA carnet belongs).
    requires: tuple[dict[str, Any], ...] = ()
    refuses: tuple[dict[str, Any], ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)  # dotted path -> value when the document is silent
    # A national indicator deciding the eATA outcome (``{xml, codelist}``; IE025 releaseIndicator)
    outcome: dict[str, str] = field(default_factory=dict)

    def params_for(self, territory: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        merged = {**self.params, **self.overrides.get(territory, {})}
        return {**merged, **(extra or {})}


def _rule(raw: dict[str, Any], where: str) -> Rule:
    made = _bare_rule(raw, where)
    return replace(made, if_param=str(raw["if"])) if "if" in raw else made


def _bare_rule(raw: dict[str, Any], where: str) -> Rule:
    xml = tuple(s for s in str(raw["xml"]).split("/") if s)
    when = jmespath.compile(raw["when"]) if "when" in raw else None
    for op in ("count", "sum"):
        if op in raw:
            return Rule("derived", xml, json=str(raw[op]), value=op, when=when, out_only=True)
    if "value" in raw:
        return Rule("const", xml, value=str(raw["value"]), when=when)
    children = tuple(_rule(r, f"{where}/{i}") for i, r in enumerate(raw.get("rules", ())))
    path = raw.get("json")
    if path is not None and path != "." and not _PLAIN.match(path):
        raise ValueError(f"{where}: json path {path!r} must be a plain dotted path to map both ways")
    if "group" in raw or raw.get("kind") == "group":
        return Rule("group", xml, json=raw.get("group", path), rules=children, when=when)
    if children or "rules" in raw:  # ``rules: []``: an empty element a schema requires
        return Rule("block", xml, json=path, rules=children, when=when)
    if path is None:
        raise ValueError(f"{where}: a field needs a json path")
    fmt = FORMATS[raw.get("format", "str")]
    return Rule(
        "field",
        xml,
        json=path,
        getter=jmespath.compile("@" if path == "." else path.lstrip("/")),
        fmt=fmt,
        codelist=raw.get("codelist"),
        when=when,
        required=bool(raw.get("required", False)),
        out_only=raw.get("direction") == "out",
        in_only=raw.get("direction") == "in",
    )


def load_mapping(path: Path) -> Mapping:
    raw = load_yaml(path)
    nsmap = {(None if k in ("", "default") else k): v for k, v in (raw.get("namespaces") or {}).items()}
    return Mapping(
        dialect=raw["dialect"],
        message=raw["message"],
        root=raw["root"],
        child_ns=raw.get("child_namespace"),
        nsmap=nsmap,
        model=raw["model"],
        kinds=tuple(raw.get("kinds", ())),
        rules=tuple(_rule(r, f"{path.name}/rules/{i}") for i, r in enumerate(raw["rules"])),
        params=raw.get("params") or {},
        overrides=raw.get("overrides") or {},
        xsd=raw.get("xsd"),
        context=tuple(raw.get("context") or ()),
        placeholders={str(k): str(v) for k, v in (raw.get("placeholders") or {}).items()},
        requires=tuple(raw.get("requires") or ()),
        refuses=tuple(raw.get("refuses") or ()),
        defaults=dict(raw.get("defaults") or {}),
        outcome=dict(raw.get("outcome") or {}),
    )


@cache
def mapping(dialect: str, message: str) -> Mapping:
    path = data_dir("mappings") / dialect / f"{message}.yaml"
    if not path.is_file():
        raise refuse(Code.NOT_CONFIGURED, "", f"no mapping for message {message!r} in dialect {dialect!r}")
    return load_mapping(path)


def mappings_of(dialect: str) -> list[str]:
    return sorted(p.stem for p in (data_dir("mappings") / dialect).glob("*.yaml"))


@cache
def codelist(name: str) -> dict[str, dict[str, str]]:
    """A bidirectional code list: ``{territory|default: {json value: xml code}}`` (injective)."""
    file, _, section = name.partition(".")
    raw = load_yaml(data_dir("mappings") / "codelists" / f"{file}.yaml")
    table = raw["mappings"][section] if section else raw["mappings"]
    return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in table.items()}


@cache
def outcome_codes(name: str) -> dict[str, dict[str, Any]]:
    """An outcome code list (``codes: {code: {outcome, code?, seals_intact?, name}}``)."""
    raw = load_yaml(data_dir("mappings") / "codelists" / f"{name}.yaml")
    return {str(k): dict(v) for k, v in raw["codes"].items()}


def codes_for(name: str, territory: str) -> dict[str, str]:
    table = codelist(name)
    return {**table.get("default", {}), **table.get(territory, {})}


@cache
def reverse_codes(name: str, territory: str) -> dict[str, str]:
    codes = codes_for(name, territory)
    back = {v: k for k, v in codes.items()}
    if len(back) != len(codes):
        raise ValueError(f"code list {name} maps two values to one code for {territory}; it cannot map back")
    return back


def substitute(text: str, params: dict[str, Any]) -> str:
    def one(m: re.Match[str]) -> str:
        value: Any = params
        for part in m.group(1).split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            raise refuse(Code.NOT_CONFIGURED, "", f"territory parameter {m.group(1)!r} is not configured")
        return str(value)

    return _PARAM.sub(one, text)
