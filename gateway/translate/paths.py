"""A rule's json path as keys, walked in a message dict: shared by the writing and the reading plans."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Path = tuple[str, ...]


def walk(data: Any, keys: Path) -> Any:
    if keys == (".",):
        return data
    for k in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(k)
    return data


def getter(keys: Path) -> Callable[[Any], Any]:
    """``walk`` for one rule's keys, with the one-key case (most fields) unrolled."""
    if keys == (".",):
        return lambda data: data
    if len(keys) == 1:
        (key,) = keys
        return lambda data: data.get(key) if isinstance(data, dict) else None
    return lambda data: walk(data, keys)
