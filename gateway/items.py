"""Item selections exactly as holders type them in the app: ``1-4``, ``1-2,4``, ``7`` or ``all``."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from gateway.errors import Code, refuse

ALL = "all"
_TOKEN = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_items(text: str, general_list: Collection[int] | None = None, *, at: str = "") -> tuple[int, ...]:
    """Parse a selection into ascending item numbers.

    ``general_list`` (the carnet's item numbers) resolves ``all`` and checks membership; vouchers use
    the general list's item numbers (Annex A, Appendix I). Errors name the token at fault.
    """
    stripped = text.strip()
    if stripped.lower() == ALL:
        if general_list is None:
            raise refuse(Code.ITEM_RANGE, at, "'all' needs the carnet's general list to resolve")
        return tuple(sorted(general_list))
    if not stripped:
        raise refuse(Code.ITEM_RANGE, at, "no items selected")
    seen: set[int] = set()
    for token in stripped.split(","):
        m = _TOKEN.match(token)
        if not m:
            raise refuse(Code.ITEM_RANGE, at, f"'{token.strip()}' is not an item number or a range like 1-4")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if lo < 1:
            raise refuse(Code.ITEM_RANGE, at, f"item numbers start at 1, not {lo}")
        if hi < lo:
            raise refuse(Code.ITEM_RANGE, at, f"range {lo}-{hi} is reversed; write {hi}-{lo}")
        if hi - lo > 100_000:
            raise refuse(Code.ITEM_RANGE, at, f"range {lo}-{hi} is larger than any general list")
        overlap = seen.intersection(range(lo, hi + 1))
        if overlap:
            raise refuse(Code.ITEM_RANGE, at, f"item {min(overlap)} is selected twice")
        seen.update(range(lo, hi + 1))
    if general_list is not None:
        missing = sorted(seen.difference(general_list))
        if missing:
            raise refuse(
                Code.ITEM_NOT_ON_LIST,
                at,
                f"item {format_items(missing)} is not on the carnet's general list",
                "Annex A Art. 5.3",
            )
    return tuple(sorted(seen))


def format_items(numbers: Iterable[int]) -> str:
    """Canonical form: ascending, consecutive runs collapsed (``1-4,6``)."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)
