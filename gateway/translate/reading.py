"""XML → JSON: a mapping's rules compiled into one reader per field, block and group.

Each scope indexes the children of its element by tag once (and of the elements along the paths its
rules read), so a field is a dict lookup, not an ElementPath ``findtext``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from gateway.errors import Code, Problem, Refusal
from gateway.translate.mapping import Rule, reverse_codes, substitute
from gateway.translate.paths import Path, walk

_Element = etree._Element

# Constants that are positions or our defaults, not meanings: a national system may number a block
# differently (a real IE015 may list the carnet's N955 as its third supporting document) or pack the
# goods otherwise (typeOfPackages 1A, not our PK), so they never identify a block.
_POSITIONS = frozenset({"sequenceNumber", "SequenceNumeric", "LineNumeric", "typeOfPackages"})


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


class In:
    """One ``from_xml`` call: what every rule may read besides its element."""

    __slots__ = ("params", "root", "territory")

    def __init__(self, territory: str, params: dict[str, Any], root: dict[str, Any]):
        self.territory = territory
        self.params = params
        self.root = root


Index = dict[Any, list[_Element]]  # children by tag, in document order (a comment's tag is a function)
Levels = list[Index]  # one scope: the children of each path its rules read through (0: the element itself)
Candidates = list[Any]  # one scope: per block path with identifying constants, its elements and indexes
Reader = Callable[[In, _Element, Levels, Candidates, dict[str, Any]], None]
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


class InScope:
    __slots__ = ("candidates", "levels", "steps")

    def __init__(self, levels: tuple[tuple[int, str], ...], steps: tuple[Reader, ...], candidates: int):
        self.levels = levels  # (index of the parent path, tag) per path after the element itself
        self.steps = steps
        self.candidates = candidates


def read(scope: InScope, ctx: In, el: _Element, out: dict[str, Any], first: Index | None = None) -> None:
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


def compile_in(rules: tuple[Rule, ...], tag: Callable[[str], str]) -> InScope:
    reading = _Reading(tag)
    steps = tuple(
        _field_reader(r, reading) if r.kind == "field" else _block_reader(r, reading, tag)
        for r in rules
        if not r.out_only and r.kind in ("field", "block", "group")
    )
    return InScope(tuple(reading.levels), steps, len(reading.candidates))


def _field_reader(r: Rule, reading: _Reading) -> Reader:
    keys, absolute, codelist = r.settable, r.absolute, r.codelist
    # ``str`` of a text is that text: no call
    back: Callable[[str], Any] | None = r.fmt.back if r.fmt and r.fmt.back is not str else None
    joined = "/".join(r.xml)
    attribute = r.xml[-1][1:] if r.xml[-1].startswith("@") else None
    holder = r.xml[:-1] if attribute else r.xml
    at, tag = reading.lookup(holder) if holder else (-1, "")
    single = keys[0] if len(keys) == 1 else None

    def field(ctx: In, el: _Element, levels: Levels, candidates: Candidates, out: dict[str, Any]) -> None:
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
    sub = compile_in(r.rules, tag)
    at, own = reading.lookup(r.xml)
    consts: list[Wanted] = [
        (len(c.xml) == 1, "/".join(tag(s) for s in c.xml), c.value or "") for c in _identifying(r)
    ]
    fixed = all("${" not in value for _, _, value in consts)
    keys, has_json = r.settable, bool(r.json)
    slot = reading.candidate(r.xml) if consts else -1

    def matching(
        ctx: In, levels: Levels, candidates: Candidates, first: bool
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

        def group(ctx: In, el: _Element, levels: Levels, candidates: Candidates, out: dict[str, Any]) -> None:
            entries = []
            for child, index in matching(ctx, levels, candidates, False):
                entry: dict[str, Any] = {}
                read(sub, ctx, child, entry, index)
                entries.append(entry.get(".", entry) if "." in entry else entry)
            if entries:
                _set(out, keys, entries)

        return group

    def block(ctx: In, el: _Element, levels: Levels, candidates: Candidates, out: dict[str, Any]) -> None:
        found = matching(ctx, levels, candidates, True)
        if not found:
            return
        target, index = found[0]
        scope: dict[str, Any] = {}
        read(sub, ctx, target, scope, index)
        if has_json:
            existing = walk(out, keys)
            _set(out, keys, _merge(existing, scope) if isinstance(existing, dict) else scope)
        else:
            out.update(_merge(out, scope))

    return block
