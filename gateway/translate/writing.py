"""JSON → XML: a mapping's rules compiled into one writer per rule.

Each scope (the root, a block, a group entry) keeps *slots*: the latest element it created at each path
its rules write through (``Address`` for ``Address/CityName``), so a field finds its parent without
searching the tree. Paths below a block or group element (filled by that rule's own scope) are searched
as before, from the slot of that element.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any

from lxml import etree

from gateway.errors import Code, refuse
from gateway.translate.conditions import condition
from gateway.translate.mapping import Rule, codes_for, substitute
from gateway.translate.paths import Path, getter, walk

_Element = etree._Element
_SubElement = etree.SubElement


@cache
def _codes(name: str, territory: str) -> dict[str, str]:
    """A code list as one territory writes it (code lists are read once per process)."""
    return codes_for(name, territory)


class Out:
    """One ``to_xml`` call: what every rule may read besides its scope."""

    __slots__ = ("index", "params", "root", "territory")

    def __init__(self, territory: str, params: dict[str, Any], root: dict[str, Any]):
        self.territory = territory
        self.params = params
        self.root = root
        self.index = 0  # position inside the innermost group, for ${index}


Slots = list[Any]  # one scope's latest element per tracked path (None: not created yet)
Writer = Callable[[Out, Any, _Element, Slots, str], None]
Parent = Callable[[_Element, Slots], _Element]


class OutScope:
    __slots__ = ("size", "steps")

    def __init__(self, steps: tuple[Writer, ...], size: int):
        self.steps = steps
        self.size = size


_NO_SLOTS: Slots = []  # a scope that tracks no path (never written to)


def write(scope: OutScope, ctx: Out, data: Any, el: _Element, at: str) -> None:
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

        def descend(el: _Element, slots: Slots) -> _Element:
            for sid, tag in chain:
                found: _Element | None = slots[sid]
                if found is None:
                    found = slots[sid] = _SubElement(el, tag)
                el = found
            for tag in tail:
                el = _latest(el, tag)
            return el

        return descend

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


def compile_out(rules: tuple[Rule, ...], tag: Callable[[str], str]) -> OutScope:
    layout = _Layout(rules, tag)
    steps = [_guarded(r, _writer(r, layout, tag)) for r in rules if not r.in_only]
    return OutScope(tuple(steps), len(layout.ids))


def _guarded(r: Rule, writer: Writer) -> Writer:
    name = r.if_param
    if name is None and r.when is None:
        return writer
    when = condition(r.when) if r.when is not None else None

    def guarded(ctx: Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
        if name is not None and not ctx.params.get(name):
            return
        if when is not None and not when(scope):
            return
        writer(ctx, scope, el, slots, at)

    return guarded


def _writer(r: Rule, layout: _Layout, tag: Callable[[str], str]) -> Writer:
    if r.kind == "field":
        return _field_writer(r, layout)
    if r.kind == "const":
        return _const_writer(r, layout)
    if r.kind == "derived":
        return _derived_writer(r, layout)
    sub = compile_out(r.rules, tag)
    steps, size = sub.steps, sub.size
    get = getter(r.settable) if r.json else None  # no json: the scope itself
    suffix = f"/{r.json.replace('.', '/')}" if r.json else ""
    if r.kind == "block":
        new, leaf = layout.new(r.xml), layout.leaf(r.xml)

        def block(ctx: Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
            inner = get(scope) if get else scope
            if inner is None:
                return
            target = _SubElement(el, leaf) if leaf is not None else new(el, slots)
            own: Slots = [None] * size if size else _NO_SLOTS
            where = at + suffix
            for step in steps:  # write, inlined: one call less per block
                step(ctx, inner, target, own, where)

        return block
    parent = layout.parent(r.xml[:-1])
    entry_tag = tag(r.xml[-1])
    noted = layout.created(r.xml)

    def group(ctx: Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
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
            for step in steps:  # write, inlined
                step(ctx, entry, child, own, where)
        ctx.index = outer

    return group


def _field_writer(r: Rule, layout: _Layout) -> Writer:
    get = getter(r.settable)
    key = r.settable[0] if len(r.settable) == 1 and r.settable != (".",) else None
    absolute, required, codelist = r.absolute, r.required, r.codelist
    joined = "/".join(r.settable)
    fmt: Callable[[Any], str] = r.fmt.out if r.fmt else str
    put, leaf = layout.put(r.xml), layout.leaf(r.xml)

    def field(ctx: Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
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

            def fixed(ctx: Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
                _SubElement(el, leaf).text = value

            return fixed
        return lambda ctx, scope, el, slots, at: put(el, slots, value)

    def const(ctx: Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
        text = value.replace("${index}", str(ctx.index)) if positional else value
        put(el, slots, substitute(text, ctx.params) if parametrised else text)

    return const


def _derived_writer(r: Rule, layout: _Layout) -> Writer:
    keys, absolute = r.settable, r.absolute
    put = layout.put(r.xml)
    if r.value == "count":

        def count(ctx: Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
            entries = walk(ctx.root if absolute else scope, keys) or ()
            put(el, slots, str(len(entries)))

        return count
    head, last = keys[:-1], keys[-1]

    def total(ctx: Out, scope: Any, el: _Element, slots: Slots, at: str) -> None:
        entries = walk(ctx.root if absolute else scope, head) or ()
        found = sum((Decimal(str(e[last])) for e in entries if e.get(last) is not None), Decimal(0))
        put(el, slots, format(found.normalize(), "f"))

    return total
