"""Test oracle: the mapping engine as an interpreter, before it was compiled (issue 16).

A verbatim copy of gateway/translate/engine.py at the time it was replaced: tests/translate/test_engine_compiled.py
checks the compiled engine gives the same bytes, dicts and refusals; benchmarks/mapping.py times both.
Imported only by tests and benchmarks, never by the runtime.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import jmespath
from jmespath import functions
from lxml import etree

from gateway.errors import Code, Problem, Refusal, refuse
from gateway.translate.mapping import Mapping, Rule, codes_for, reverse_codes, substitute

_Element = etree._Element


class _Functions(functions.Functions):
    """Extra JMESPath functions for ``when`` conditions."""

    @functions.signature({"types": ["string", "null"]}, {"types": ["string"]})
    def _func_matches(self, value: str | None, pattern: str) -> bool:
        """``matches(path, 'regex')``: the whole value matches an XSD-style pattern (e.g. an MRN)."""
        return value is not None and re.fullmatch(pattern, value) is not None


_OPTIONS = jmespath.Options(custom_functions=_Functions())
# Constants that are positions or our defaults, not meanings: a national system may number a block
# differently (a real IE015 may list the carnet's N955 as its third supporting document) or pack the
# goods otherwise (typeOfPackages 1A, not our PK), so they never identify a block.
_POSITIONS = frozenset({"sequenceNumber", "SequenceNumeric", "LineNumeric", "typeOfPackages"})


# Qualified tags and ElementPath strings depend only on a mapping's namespaces: built once per process
# (keyed by the namespaces, not the mapping object), not once per message.
_TAGS: dict[tuple[Any, ...], dict[str, str]] = {}
_PATHS: dict[tuple[Any, ...], dict[tuple[str, ...], str]] = {}
# A block's identifying constants, worked out once per rule (keyed by id, checked by identity).
_CONSTS: dict[int, tuple[Rule, tuple[Rule, ...]]] = {}


def _ns_key(m: Mapping) -> tuple[Any, ...]:
    return (m.child_ns, tuple(m.nsmap.items()))


def _walk(data: Any, keys: tuple[str, ...]) -> Any:
    if keys == (".",):
        return data
    for k in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(k)
    return data


def _qualify(local: str, default_ns: str | None, nsmap: dict[str | None, str]) -> str:
    prefix, sep, name = local.partition(":")
    if sep:
        return f"{{{nsmap[prefix]}}}{name}"
    return f"{{{default_ns}}}{local}" if default_ns else local


class _Out:
    def __init__(self, m: Mapping, territory: str, params: dict[str, Any], root: dict[str, Any]):
        self.m = m
        self.territory = territory
        self.params = params
        self.root = root
        self.tags = _TAGS.setdefault(_ns_key(m), {})
        self.index = 0  # position inside the innermost group, for ${index}

    def tag(self, local: str) -> str:
        t = self.tags.get(local)
        if t is None:
            t = self.tags[local] = _qualify(local, self.m.child_ns, self.m.nsmap)
        return t

    def parent_for(self, el: _Element, path: tuple[str, ...]) -> _Element:
        for seg in path:
            tag = self.tag(seg)
            last = el[-1] if len(el) else None
            if last is not None and last.tag == tag:
                el = last
            else:
                found = None
                for child in reversed(el):
                    if child.tag == tag:
                        found = child
                        break
                el = found if found is not None else etree.SubElement(el, tag)
        return el

    def run(self, rules: tuple[Rule, ...], scope: Any, el: _Element, at: str) -> None:
        for r in rules:
            if r.in_only or (r.if_param is not None and not self.params.get(r.if_param)):
                continue
            if r.when is not None and not r.when.search(scope, options=_OPTIONS):
                continue
            if r.kind == "field":
                self.field(r, scope, el, at)
            elif r.kind == "const":
                value = r.value or ""
                if "${index}" in value:
                    value = value.replace("${index}", str(self.index))
                self.put(el, r.xml, substitute(value, self.params))
            elif r.kind == "derived":
                self.derived(r, scope, el)
            elif r.kind == "block":
                inner = _walk(scope, r.settable) if r.json else scope
                if inner is None:
                    continue
                target = etree.SubElement(self.parent_for(el, r.xml[:-1]), self.tag(r.xml[-1]))
                self.run(r.rules, inner, target, f"{at}/{r.json.replace('.', '/')}" if r.json else at)
            else:  # group
                entries = _walk(scope, r.settable) or ()
                parent = self.parent_for(el, r.xml[:-1])
                tag = self.tag(r.xml[-1])
                base = f"{at}/{r.json.replace('.', '/')}" if r.json else at
                outer = self.index
                for i, entry in enumerate(entries):
                    self.index = i + 1
                    self.run(r.rules, entry, etree.SubElement(parent, tag), f"{base}/{i}")
                self.index = outer

    def field(self, r: Rule, scope: Any, el: _Element, at: str) -> None:
        value = _walk(self.root if r.absolute else scope, r.settable)
        if value is None:
            if r.required:
                where = "/" + "/".join(r.settable) if r.absolute else f"{at}/{'/'.join(r.settable)}"
                raise refuse(Code.MISSING, where, "this field is required by the national message")
            return
        if r.codelist:
            code = codes_for(r.codelist, self.territory).get(str(value))
            if code is None:
                raise refuse(
                    Code.UNKNOWN_CODE,
                    f"{at}/{'/'.join(r.settable)}",
                    f"{value!r} has no code in {r.codelist} for {self.territory}",
                )
            value = code
        self.put(el, r.xml, r.fmt.out(value) if r.fmt else str(value))

    def derived(self, r: Rule, scope: Any, el: _Element) -> None:
        keys = r.settable
        if r.value == "count":
            entries = _walk(self.root if r.absolute else scope, keys) or ()
            self.put(el, r.xml, str(len(entries)))
            return
        entries = _walk(self.root if r.absolute else scope, keys[:-1]) or ()
        total = sum((Decimal(str(e[keys[-1]])) for e in entries if e.get(keys[-1]) is not None), Decimal(0))
        self.put(el, r.xml, format(total.normalize(), "f"))

    def put(self, el: _Element, path: tuple[str, ...], text: str) -> None:
        if path[-1].startswith("@"):
            self.parent_for(el, path[:-1]).set(path[-1][1:], text)
        else:
            etree.SubElement(self.parent_for(el, path[:-1]), self.tag(path[-1])).text = text


def to_xml(
    m: Mapping, data: dict[str, Any], territory: str, params: dict[str, Any] | None = None
) -> _Element:
    """Build the national XML tree for a JSON-mode message dict."""
    # lxml takes None as the default namespace's prefix; lxml-stubs type the keys as str only
    root = etree.Element(m.root, nsmap=m.nsmap)  # type: ignore[arg-type]
    _Out(m, territory, m.params_for(territory, params), data).run(m.rules, data, root, "")
    return root


class _Back:
    def __init__(self, m: Mapping, territory: str, params: dict[str, Any], root: dict[str, Any]):
        self.m = m
        self.territory = territory
        self.params = params
        self.root = root
        self.paths = _PATHS.setdefault(_ns_key(m), {})

    def path(self, segs: tuple[str, ...]) -> str:
        p = self.paths.get(segs)
        if p is None:
            p = self.paths[segs] = "/".join(_qualify(s, self.m.child_ns, self.m.nsmap) for s in segs)
        return p

    def run(self, rules: tuple[Rule, ...], el: _Element, out: dict[str, Any]) -> None:
        for r in rules:
            if r.out_only:
                continue
            if r.kind == "field":
                self.field(r, el, out)
            elif r.kind == "block":
                target = self.matching(r, el)
                if not target:
                    continue
                scope: dict[str, Any] = {}
                self.run(r.rules, target[0], scope)
                if r.json:
                    existing = _walk(out, r.settable)
                    _set(out, r.settable, _merge(existing, scope) if isinstance(existing, dict) else scope)
                else:
                    out.update(_merge(out, scope))
            elif r.kind == "group":
                entries = []
                for child in self.matching(r, el):
                    entry: dict[str, Any] = {}
                    self.run(r.rules, child, entry)
                    entries.append(entry.get(".", entry) if "." in entry else entry)
                if entries:
                    _set(out, r.settable, entries)

    def matching(self, r: Rule, el: _Element) -> list[_Element]:
        """Elements at a block's path whose constant children match (how twins are told apart).

        Positional constants (``${index}``) and conditional ones do not identify a block.
        """
        found = el.findall(self.path(r.xml))
        cached = _CONSTS.get(id(r))
        if cached is None or cached[0] is not r:
            cached = _CONSTS[id(r)] = (r, _identifying(r))
        consts = cached[1]
        if not consts:
            return found
        expected = [(self.path(c.xml), substitute(c.value or "", self.params)) for c in consts]
        return [f for f in found if all(f.findtext(p) == v for p, v in expected)]

    def field(self, r: Rule, el: _Element, out: dict[str, Any]) -> None:
        if r.xml[-1].startswith("@"):
            holder = el.find(self.path(r.xml[:-1])) if len(r.xml) > 1 else el
            text = holder.get(r.xml[-1][1:]) if holder is not None else None
        else:
            text = el.findtext(self.path(r.xml))
        if text is None:
            return
        value: Any = r.fmt.back(text) if r.fmt else text
        if r.codelist:
            back = reverse_codes(r.codelist, self.territory)
            if text not in back:
                where = el.getroottree().getpath(el) + "/" + "/".join(r.xml)
                raise Refusal(Problem(Code.UNKNOWN_CODE, where, f"code {text!r} is not in {r.codelist}"))
            value = back[text]
        _set(self.root if r.absolute else out, r.settable, value)


def _identifying(r: Rule) -> tuple[Rule, ...]:
    return tuple(
        c
        for c in r.rules
        if c.kind == "const"
        and c.when is None
        and not c.xml[-1].startswith("@")
        and "${index}" not in (c.value or "")
        and c.xml[-1] not in _POSITIONS
    )


def _set(out: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    for k in keys[:-1]:
        out = out.setdefault(k, {})
    out[keys[-1]] = value


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    merged = dict(a)
    for k, v in b.items():
        merged[k] = _merge(merged[k], v) if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


def from_xml(
    m: Mapping, root: _Element, territory: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Read a national XML tree back into the JSON-mode dict the mapping describes."""
    if root.tag != m.root:
        raise refuse(Code.SCHEMA, "/", f"expected a {m.root} document, got {root.tag}")
    out: dict[str, Any] = {}
    _Back(m, territory, m.params_for(territory, params), out).run(m.rules, root, out)
    return out
