"""Values cached per object by identity (certificates and keys hash slowly): found again only for the very
same object, and the cache stays bounded."""

from __future__ import annotations

from gateway.signing.enveloped import _PerObject


def test_a_value_is_made_once_per_object_and_never_shared_with_an_equal_one() -> None:
    made: list[object] = []

    def make(obj: list[int]) -> int:
        made.append(obj)
        return len(made)

    cache: _PerObject[list[int], int] = _PerObject(make, limit=2)
    a, b = [1], [1]  # equal, not the same object
    assert cache(a) == 1 and cache(a) == 1
    assert cache(b) == 2
    assert made == [a, b]
    c = [2]
    assert cache(c) == 3  # over the limit: the cache starts again
    assert cache(a) == 4
