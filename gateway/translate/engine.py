"""One engine runs a mapping both ways: a JSON-mode dict → lxml tree, and the tree → the same dict.

Each mapping is compiled once per process (issue 16) into two plans of small closures, one per rule:
qualified tags, json keys, formats and blocks' identifying constants are worked out at compile time, so
a message only walks its data and its elements.

- Writing, each scope (the root, a block, a group entry) keeps *slots*: the latest element it created at
  each path its rules write through (``Address`` for ``Address/CityName``), so a field finds its parent
  without searching the tree. Paths below a block or group element (filled by that rule's own scope)
  are searched as before, from the slot of that element.
- Reading, each scope indexes the children of its element by tag once (and of the elements along the
  paths its rules read), so a field is a dict lookup, not an ElementPath ``findtext``.

- ``when`` conditions that are a field, a dotted path or ``==`` / ``!=`` against a literal run as Python
  with JMESPath's own semantics; the rest (``matches``) is left to JMESPath.

The tree written and the dict read back are those of the rule-by-rule interpreter this replaced
(tests/translate/test_engine_compiled.py and test_engine_features.py compare the two).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any

import jmespath
from jmespath import functions, visitor
from jmespath.parser import ParsedResult
from lxml import etree

from gateway.errors import Code, Problem, Refusal, refuse
from gateway.translate.mapping import Mapping, Rule, codes_for, reverse_codes, substitute

_Element = etree._Element
_SubElement = etree.SubElement
Path = tuple[str, ...]


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


def _walk(data: Any, keys: Path) -> Any:
    if keys == (".",):
        return data
    for k in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(k)
    return data


def _getter(keys: Path) -> Callable[[Any], Any]:
    """``_walk`` for one rule's keys, with the one-key case (most fields) unrolled."""
    if keys == (".",):
        return lambda data: data
    if len(keys) == 1:
        (key,) = keys
        return lambda data: data.get(key) if isinstance(data, dict) else None
    return lambda data: _walk(data, keys)


Condition = Callable[[Any], Any]


def _condition(when: ParsedResult) -> Condition:
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


def _qualify(local: str, default_ns: str | None, nsmap: dict[str | None, str]) -> str:
    prefix, sep, name = local.partition(":")
    if sep:
        return f"{{{nsmap[prefix]}}}{name}"
    return f"{{{default_ns}}}{local}" if default_ns else local


@cache
def _codes(name: str, territory: str) -> dict[str, str]:
    """A code list as one territory writes it (code lists are read once per process)."""
    return codes_for(name, territory)


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


def _set(out: dict[str, Any], keys: Path, value: Any) -> None:
    for k in keys[:-1]:
        out = out.setdefault(k, {})
    out[keys[-1]] = value


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    merged = dict(a)
    for k, v in b.items():
        merged[k] = _merge(merged[k], v) if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


# --- writing -------------------------------------------------------------------------------------------


class _Out:
    """One ``to_xml`` call: what every rule may read besides its scope."""

    __slots__ = ("index", "params", "root", "territory")

    def __init__(self, territory: str, params: dict[str, Any], root: dict[str, Any]):
        self.territory = territory
        self.params = params
        self.root = root
        self.index = 0  # position inside the innermost group, for ${index}


Slots = list[Any]  # one scope's latest element per tracked path (None: not created yet)
Writer = Callable[[_Out, Any, _Element, Slots, str], None]
Parent = Callable[[_Element, Slots], _Element]


class _OutScope:
    __slots__ = ("size", "steps")

    def __init__(self, steps: tuple[Writer, ...], size: int):
        self.steps = steps
        self.size = size


_NO_SLOTS: Slots = []  # a scope that tracks no path (never written to)


def _write(scope: _OutScope, ctx: _Out, data: Any, el: _Element, at: str) -> None:
    slots: Slots = [None] * scope.size if scope.size else _NO_SLOTS
    for step in scope.steps:
        step(ctx, data, el, slots, at)


def _latest(el: _Element, tag: str) -> _Element:
    """The last child with ``tag``, or a new one: how a rule finds its parent below another rule's block."""
    for child in reversed(el):
        if child.tag == tag:
            return child
    return _SubElement(el, tag)


class _Layout:
    """Which paths of one scope are tracked in slots, and how a rule reaches its parent.

    A path is tracked when some rule writes through it and no block or group of this scope owns an
    element above it: then every element at that path is created by this scope's rules (so the slot is
    exact). A slot replaced by a new element clears the slots below it (the new element is empty).
    """

    def __init__(self, rules: tuple[Rule, ...], tag: Callable[[str], str]):
        written = [r for r in rules if not r.in_only]
        self.owned = {r.xml for r in written if r.kind in ("block", "group")}
        self.ids: dict[Path, int] = {}
        for r in written:
            self._chain(r.xml[:-1], track=True)
        self.tag = tag

    def _chain(self, path: Path, track: bool = False) -> tuple[list[tuple[int, str]], Path]:
        chain: list[tuple[int, str]] = []
        for k in range(1, len(path) + 1):
            p = path[:k]
            if track:
                self.ids.setdefault(p, len(self.ids))
            chain.append((self.ids[p], p[-1]))
            if p in self.owned:
                return chain, path[k:]
        return chain, ()

    def parent(self, path: Path) -> Parent | None:
        """How a rule reaches the element at ``path`` (None: the scope's element itself)."""
        raw, rest = self._chain(path)
        chain = tuple((sid, self.tag(local)) for sid, local in raw)
        tail = tuple(self.tag(local) for local in rest)
        if not chain:
            return None
        if len(chain) == 1 and not tail:
            ((sid, tag),) = chain

            def one(el: _Element, slots: Slots) -> _Element:
                found: _Element | None = slots[sid]
                if found is None:
                    found = slots[sid] = _SubElement(el, tag)
                return found

            return one

        def walk(el: _Element, slots: Slots) -> _Element:
            for sid, tag in chain:
                found: _Element | None = slots[sid]
                if found is None:
                    found = slots[sid] = _SubElement(el, tag)
                el = found
            for tag in tail:
                el = _latest(el, tag)
            return el

        return walk

    def created(self, path: Path) -> tuple[int, tuple[int, ...]] | None:
        """The slot a new element at ``path`` takes, and the slots it clears; None: not tracked."""
        sid = self.ids.get(path)
        if sid is None:
            return None
        n = len(path)
        return sid, tuple(i for p, i in self.ids.items() if len(p) > n and p[:n] == path)

    def new(self, path: Path) -> Callable[[_Element, Slots], _Element]:
        """A new element at ``path`` (its parent reached as :meth:`parent` says), noted in its slot."""
        parent = self.parent(path[:-1])
        tag = self.tag(path[-1])
        noted = self.created(path)
        if noted is None:
            if parent is None:
                return lambda el, slots: _SubElement(el, tag)
            return lambda el, slots: _SubElement(parent(el, slots), tag)
        sid, below = noted

        def new(el: _Element, slots: Slots) -> _Element:
            made = _SubElement(parent(el, slots) if parent else el, tag)
            slots[sid] = made
            for i in below:
                slots[i] = None
            return made

        return new

    def leaf(self, path: Path) -> str | None:
        """The tag, when ``path`` is a new child of the scope's element that nothing writes through
        (most fields): then a writer makes it itself, one call less than :meth:`put`."""
        if len(path) != 1 or path[0].startswith("@") or self.created(path) is not None:
            return None
        return self.tag(path[0])

    def put(self, path: Path) -> Callable[[_Element, Slots, str], None]:
        """Write a text at ``path``: a new element, or an attribute of the element before the ``@``."""
        parent = self.parent(path[:-1])
        if path[-1].startswith("@"):
            name = path[-1][1:]
            if parent is None:
                return lambda el, slots, text: el.set(name, text)
            return lambda el, slots, text: parent(el, slots).set(name, text)
        tag = self.tag(path[-1])
        noted = self.created(path)
        if noted is None:  # the common case, one call: a new leaf nothing writes through
            if parent is None:

                def leaf(el: _Element, slots: Slots, text: str) -> None:
                    _SubElement(el, tag).text = text

                return leaf

            def nested(el: _Element, slots: Slots, text: str) -> None:
                _SubElement(parent(el, slots), tag).text = text

            return nested
        new = self.new(path)

        def put(el: _Element, slots: Slots, text: str) -> None:
            new(el, slots).text = text

        return put


def _compile_out(rules: tuple[Rule, ...], tag: Callable[[str], str]) -> _OutScope:
    layout = _Layout(rules, tag)
    steps = [_guarded(r, _writer(r, layout, tag)) for r in rules if not r.in_only]
    return _OutScope(tuple(steps), len(layout.ids))


def _guarded(r: Rule, write: Writer) -> Writer:
    name = r.if_param
    if name is None and r.when is None:
        return write
    when = _condition(r.when) if r.when is not None else None

    def guarded(ctx: _Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
        if name is not None and not ctx.params.get(name):
            return
        if when is not None and not when(scope):
            return
        write(ctx, scope, el, slots, at)

    return guarded


def _writer(r: Rule, layout: _Layout, tag: Callable[[str], str]) -> Writer:
    if r.kind == "field":
        return _field_writer(r, layout)
    if r.kind == "const":
        return _const_writer(r, layout)
    if r.kind == "derived":
        return _derived_writer(r, layout)
    sub = _compile_out(r.rules, tag)
    steps, size = sub.steps, sub.size
    get = _getter(r.settable) if r.json else None  # no json: the scope itself
    suffix = f"/{r.json.replace('.', '/')}" if r.json else ""
    if r.kind == "block":
        new, leaf = layout.new(r.xml), layout.leaf(r.xml)

        def block(ctx: _Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
            inner = get(scope) if get else scope
            if inner is None:
                return
            target = _SubElement(el, leaf) if leaf is not None else new(el, slots)
            own: Slots = [None] * size if size else _NO_SLOTS
            where = at + suffix
            for step in steps:  # _write, inlined: one call less per block
                step(ctx, inner, target, own, where)

        return block
    parent = layout.parent(r.xml[:-1])
    entry_tag = tag(r.xml[-1])
    noted = layout.created(r.xml)

    def group(ctx: _Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
        entries = (get(scope) if get else scope) or ()
        holder = parent(el, slots) if parent else el
        base = at + suffix
        outer = ctx.index
        for i, entry in enumerate(entries):
            ctx.index = i + 1
            child = _SubElement(holder, entry_tag)
            if noted is not None:  # later rules of this scope writing through the entries find the last
                slots[noted[0]] = child
            own: Slots = [None] * size if size else _NO_SLOTS
            where = f"{base}/{i}"
            for step in steps:  # _write, inlined
                step(ctx, entry, child, own, where)
        ctx.index = outer

    return group


def _field_writer(r: Rule, layout: _Layout) -> Writer:
    get = _getter(r.settable)
    key = r.settable[0] if len(r.settable) == 1 and r.settable != (".",) else None
    absolute, required, codelist = r.absolute, r.required, r.codelist
    joined = "/".join(r.settable)
    fmt: Callable[[Any], str] = r.fmt.out if r.fmt else str
    put, leaf = layout.put(r.xml), layout.leaf(r.xml)

    def field(ctx: _Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
        data = ctx.root if absolute else scope
        # one key (most fields): the getter unrolled here, one call less per field
        value = (data.get(key) if isinstance(data, dict) else None) if key is not None else get(data)
        if value is None:
            if required:
                where = f"/{joined}" if absolute else f"{at}/{joined}"
                raise refuse(Code.MISSING, where, "this field is required by the national message")
            return
        if codelist:
            code = _codes(codelist, ctx.territory).get(str(value))
            if code is None:
                raise refuse(
                    Code.UNKNOWN_CODE,
                    f"{at}/{joined}",
                    f"{value!r} has no code in {codelist} for {ctx.territory}",
                )
            value = code
        if leaf is not None:
            _SubElement(el, leaf).text = fmt(value)
        else:
            put(el, slots, fmt(value))

    return field


def _const_writer(r: Rule, layout: _Layout) -> Writer:
    value = r.value or ""
    positional = "${index}" in value
    parametrised = "${" in value.replace("${index}", "")
    put, leaf = layout.put(r.xml), layout.leaf(r.xml)
    if not positional and not parametrised:
        if leaf is not None:

            def fixed(ctx: _Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
                _SubElement(el, leaf).text = value

            return fixed
        return lambda ctx, scope, el, slots, at: put(el, slots, value)

    def const(ctx: _Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
        text = value.replace("${index}", str(ctx.index)) if positional else value
        put(el, slots, substitute(text, ctx.params) if parametrised else text)

    return const


def _derived_writer(r: Rule, layout: _Layout) -> Writer:
    keys, absolute = r.settable, r.absolute
    put = layout.put(r.xml)
    if r.value == "count":

        def count(ctx: _Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
            entries = _walk(ctx.root if absolute else scope, keys) or ()
            put(el, slots, str(len(entries)))

        return count
    head, last = keys[:-1], keys[-1]

    def total(ctx: _Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
        entries = _walk(ctx.root if absolute else scope, head) or ()
        found = sum((Decimal(str(e[last])) for e in entries if e.get(last) is not None), Decimal(0))
        put(el, slots, format(found.normalize(), "f"))

    return total


# --- reading -------------------------------------------------------------------------------------------


class _In:
    """One ``from_xml`` call: what every rule may read besides its element."""

    __slots__ = ("params", "root", "territory")

    def __init__(self, territory: str, params: dict[str, Any], root: dict[str, Any]):
        self.territory = territory
        self.params = params
        self.root = root


Index = dict[Any, list[_Element]]  # children by tag, in document order (a comment's tag is a function)
Levels = list[Index]  # one scope: the children of each path its rules read through (0: the element itself)
Candidates = list[Any]  # one scope: per block path with identifying constants, its elements and indexes
Reader = Callable[[_In, _Element, Levels, Candidates, dict[str, Any]], None]
_NOTHING: Index = {}


def _index(el: _Element) -> Index:
    found: Index = {}
    for child in el:
        tag = child.tag
        same = found.get(tag)
        if same is None:
            found[tag] = [child]
        else:
            same.append(child)
    return found


def _index_all(els: list[_Element]) -> Index:
    """The children of several elements, as ElementPath ``a/b`` visits them: each ``a`` in turn."""
    if len(els) == 1:
        return _index(els[0])
    found: Index = {}
    for el in els:
        for tag, children in _index(el).items():
            found.setdefault(tag, []).extend(children)
    return found


class _InScope:
    __slots__ = ("candidates", "levels", "steps")

    def __init__(self, levels: tuple[tuple[int, str], ...], steps: tuple[Reader, ...], candidates: int):
        self.levels = levels  # (index of the parent path, tag) per path after the element itself
        self.steps = steps
        self.candidates = candidates


def _read(scope: _InScope, ctx: _In, el: _Element, out: dict[str, Any], first: Index | None = None) -> None:
    levels: Levels = [first if first is not None else _index(el)]
    for parent, tag in scope.levels:
        found = levels[parent].get(tag)
        levels.append(_index_all(found) if found else _NOTHING)
    candidates: Candidates = [None] * scope.candidates
    for step in scope.steps:
        step(ctx, el, levels, candidates, out)


class _Reading:
    """One scope's paths while its readers are compiled: each path read through gets an index."""

    def __init__(self, tag: Callable[[str], str]):
        self.tag = tag
        self.paths: dict[Path, int] = {(): 0}
        self.levels: list[tuple[int, str]] = []
        self.candidates: dict[Path, int] = {}

    def level(self, path: Path) -> int:
        at = self.paths.get(path)
        if at is None:
            parent = self.level(path[:-1])
            at = self.paths[path] = len(self.paths)
            self.levels.append((parent, self.tag(path[-1])))
        return at

    def lookup(self, path: Path) -> tuple[int, str]:
        """Where the elements at ``path`` are listed: (the index of its parent path, its tag)."""
        return self.level(path[:-1]), self.tag(path[-1])

    def candidate(self, path: Path) -> int:
        return self.candidates.setdefault(path, len(self.candidates))


def _compile_in(rules: tuple[Rule, ...], tag: Callable[[str], str]) -> _InScope:
    reading = _Reading(tag)
    steps = tuple(
        _field_reader(r, reading) if r.kind == "field" else _block_reader(r, reading, tag)
        for r in rules
        if not r.out_only and r.kind in ("field", "block", "group")
    )
    return _InScope(tuple(reading.levels), steps, len(reading.candidates))


def _field_reader(r: Rule, reading: _Reading) -> Reader:
    keys, absolute, codelist = r.settable, r.absolute, r.codelist
    # ``str`` of a text is that text: no call
    back: Callable[[str], Any] | None = r.fmt.back if r.fmt and r.fmt.back is not str else None
    joined = "/".join(r.xml)
    attribute = r.xml[-1][1:] if r.xml[-1].startswith("@") else None
    holder = r.xml[:-1] if attribute else r.xml
    at, tag = reading.lookup(holder) if holder else (-1, "")
    single = keys[0] if len(keys) == 1 else None

    def field(ctx: _In, el: _Element, levels: Levels, candidates: Candidates, out: dict[str, Any]) -> None:
        if at < 0:  # an attribute of the element itself
            text = el.get(attribute) if attribute else None
        else:
            found = levels[at].get(tag)
            if found is None:
                return
            text = found[0].get(attribute) if attribute else found[0].text or ""
        if text is None:
            return
        value = back(text) if back else text
        if codelist:
            codes = reverse_codes(codelist, ctx.territory)
            if text not in codes:
                where = el.getroottree().getpath(el) + "/" + joined
                raise Refusal(Problem(Code.UNKNOWN_CODE, where, f"code {text!r} is not in {codelist}"))
            value = codes[text]
        target = ctx.root if absolute else out
        if single is not None:
            target[single] = value
        else:
            _set(target, keys, value)

    return field


Wanted = tuple[bool, str, str]  # an identifying constant: one step?, its path, its value


def _block_reader(r: Rule, reading: _Reading, tag: Callable[[str], str]) -> Reader:
    """A block (its first element whose identifying constants match) or a group (every such element)."""
    sub = _compile_in(r.rules, tag)
    at, own = reading.lookup(r.xml)
    consts: list[Wanted] = [
        (len(c.xml) == 1, "/".join(tag(s) for s in c.xml), c.value or "") for c in _identifying(r)
    ]
    fixed = all("${" not in value for _, _, value in consts)
    keys, has_json = r.settable, bool(r.json)
    slot = reading.candidate(r.xml) if consts else -1

    def matching(
        ctx: _In, levels: Levels, candidates: Candidates, first: bool
    ) -> list[tuple[_Element, Index | None]]:
        """The elements at the rule's path whose identifying constants match (a block: the first)."""
        if not consts:
            found = levels[at].get(own) or ()
            return [(found[0], None)] if first and found else [(f, None) for f in found]
        # worked out before looking, as ever: a parameter not configured is refused even with no element
        wanted = consts if fixed else [(one, p, substitute(v, ctx.params)) for one, p, v in consts]
        listed: list[tuple[_Element, Index]] | None = candidates[slot]
        if listed is None:  # the blocks of one scope at one path (twins) share their candidates
            listed = candidates[slot] = [(f, _index(f)) for f in levels[at].get(own) or ()]
        matched: list[tuple[_Element, Index | None]] = []
        for f, index in listed:
            for single, path, value in wanted:  # el.findtext(path) == value, one step from the index
                if single:
                    hit = index.get(path)
                    if hit is None or (hit[0].text or "") != value:
                        break
                elif f.findtext(path) != value:
                    break
            else:
                matched.append((f, index))
                if first:
                    break
        return matched

    if r.kind == "group":

        def group(
            ctx: _In, el: _Element, levels: Levels, candidates: Candidates, out: dict[str, Any]
        ) -> None:
            entries = []
            for child, index in matching(ctx, levels, candidates, False):
                entry: dict[str, Any] = {}
                _read(sub, ctx, child, entry, index)
                entries.append(entry.get(".", entry) if "." in entry else entry)
            if entries:
                _set(out, keys, entries)

        return group

    def block(ctx: _In, el: _Element, levels: Levels, candidates: Candidates, out: dict[str, Any]) -> None:
        found = matching(ctx, levels, candidates, True)
        if not found:
            return
        target, index = found[0]
        scope: dict[str, Any] = {}
        _read(sub, ctx, target, scope, index)
        if has_json:
            existing = _walk(out, keys)
            _set(out, keys, _merge(existing, scope) if isinstance(existing, dict) else scope)
        else:
            out.update(_merge(out, scope))

    return block


# --- plans ---------------------------------------------------------------------------------------------


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
        self.out = _compile_out(m.rules, tag)
        self.back = _compile_in(m.rules, tag)


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
    _write(plan.out, _Out(territory, m.params_for(territory, params), data), data, root, "")
    return root


def from_xml(
    m: Mapping, root: _Element, territory: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Read a national XML tree back into the JSON-mode dict the mapping describes."""
    if root.tag != m.root:
        raise refuse(Code.SCHEMA, "/", f"expected a {m.root} document, got {root.tag}")
    plan = _plan(m)
    out: dict[str, Any] = {}
    _read(plan.back, _In(territory, m.params_for(territory, params), out), root, out)
    return out
