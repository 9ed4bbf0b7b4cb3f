"""A rule's ``when`` condition as a Python callable.

Conditions that are a field, a dotted path or ``==`` / ``!=`` against a literal (every ``when`` but
``matches``) run as Python with JMESPath's own semantics; the rest is left to JMESPath's interpreter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jmespath
from jmespath import functions, visitor
from jmespath.parser import ParsedResult

Condition = Callable[[Any], Any]


class _Functions(functions.Functions):
    """Extra JMESPath functions for ``when`` conditions."""

    @functions.signature({"types": ["string", "null"]}, {"types": ["string"]})
    def _func_matches(self, value: str | None, pattern: str) -> bool:
        """``matches(path, 'regex')``: the whole value matches an XSD-style pattern (e.g. an MRN)."""
        return value is not None and re.fullmatch(pattern, value) is not None


_OPTIONS = jmespath.Options(custom_functions=_Functions())


def condition(when: ParsedResult) -> Condition:
    """A ``when`` as Python: fields, dotted paths and ``==`` / ``!=`` against a literal (every ``when``
    but ``matches``) give what JMESPath's interpreter gives; anything else is left to JMESPath."""
    try:
        return _node(when.parsed)
    except _Unsupported:
        return lambda scope: when.search(scope, options=_OPTIONS)


class _Unsupported(Exception):
    pass


def _node(node: Any) -> Condition:  # a JMESPath AST node: {type, children, value}
    kind, children = node["type"], node["children"]
    if kind == "field":
        name = node["value"]

        def field(value: Any) -> Any:
            try:  # as JMESPath's visit_field: anything without .get gives null
                return value.get(name)
            except AttributeError:
                return None

        return field
    if kind == "subexpression":
        steps = [_node(c) for c in children]

        def path(value: Any) -> Any:
            for step in steps:
                value = step(value)
            return value

        return path
    if kind == "literal":
        constant = node["value"]
        return lambda value: constant
    if kind == "comparator" and node["value"] in ("eq", "ne"):
        compare = _COMPARE[node["value"]]  # JMESPath's own (0/1 never equal false/true)
        left, right = (_node(c) for c in children)
        return lambda value: compare(left(value), right(value))
    raise _Unsupported(kind)


_COMPARE = visitor.TreeInterpreter.COMPARATOR_FUNC
