"""One engine runs a mapping both ways: a JSON-mode dict → lxml tree, and the tree → the same dict.

Each mapping is compiled once per process (issue 16) into two plans of small closures, one per rule
(``writing`` and ``reading``): qualified tags, json keys, formats and blocks' identifying constants are
worked out at compile time, so a message only walks its data and its elements. ``when`` conditions are
compiled by ``conditions``.

The tree written and the dict read back are those of the rule-by-rule interpreter this replaced
(tests/translate/test_engine_compiled.py and test_engine_features.py compare the two).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from gateway.errors import Code, refuse
from gateway.translate.mapping import Mapping
from gateway.translate.reading import In, compile_in, read
from gateway.translate.writing import Out, compile_out, write

_Element = etree._Element


def _qualify(local: str, default_ns: str | None, nsmap: dict[str | None, str]) -> str:
    prefix, sep, name = local.partition(":")
    if sep:
        return f"{{{nsmap[prefix]}}}{name}"
    return f"{{{default_ns}}}{local}" if default_ns else local


class _Plan:
    __slots__ = ("back", "mapping", "out")

    def __init__(self, m: Mapping):
        tags: dict[str, str] = {}

        def tag(local: str) -> str:
            t = tags.get(local)
            if t is None:
                t = tags[local] = _qualify(local, m.child_ns, m.nsmap)
            return t

        self.mapping = m  # held, so the id keying the plan is never reused
        self.out = compile_out(m.rules, tag)
        self.back = compile_in(m.rules, tag)


_PLANS: dict[int, _Plan] = {}


def _plan(m: Mapping) -> _Plan:
    """The compiled plans of ``m``, built on first use (mappings are frozen; keyed by identity)."""
    plan = _PLANS.get(id(m))
    if plan is None or plan.mapping is not m:
        plan = _PLANS[id(m)] = _Plan(m)
    return plan


def to_xml(
    m: Mapping, data: dict[str, Any], territory: str, params: dict[str, Any] | None = None
) -> _Element:
    """Build the national XML tree for a JSON-mode message dict."""
    plan = _plan(m)
    # lxml takes None as the default namespace's prefix; lxml-stubs type the keys as str only
    root = etree.Element(m.root, nsmap=m.nsmap)  # type: ignore[arg-type]
    write(plan.out, Out(territory, m.params_for(territory, params), data), data, root, "")
    return root


def from_xml(
    m: Mapping, root: _Element, territory: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Read a national XML tree back into the JSON-mode dict the mapping describes."""
    if root.tag != m.root:
        raise refuse(Code.SCHEMA, "/", f"expected a {m.root} document, got {root.tag}")
    plan = _plan(m)
    out: dict[str, Any] = {}
    read(plan.back, In(territory, m.params_for(territory, params), out), root, out)
    return out
