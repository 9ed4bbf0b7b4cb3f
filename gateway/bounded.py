"""A dict that forgets its oldest entries, so a long-running process's in-memory memo stays flat.

Used where memory is only a shortcut: the callback inbox (the store decides duplicates for good) and
the simulators (a real customs system keeps every decision in its database; a simulator serving a
week-long soak must not grow without end, so a duplicate older than ``limit`` is no longer recognised).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

from gateway.settings import current

K = TypeVar("K")
V = TypeVar("V")

DEFAULT_LIMIT = current().memo_limit


class Bounded(OrderedDict[K, V]):
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        super().__init__()
        self.limit = max(1, limit)

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        while len(self) > self.limit:
            self.popitem(last=False)
