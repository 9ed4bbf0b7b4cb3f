"""Item selections as holders type them in the app."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import Code, Refusal
from gateway.items import format_items, parse_items

LIST = range(1, 11)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1-4", (1, 2, 3, 4)),
        ("1-2,4", (1, 2, 4)),
        ("7", (7,)),
        (" 3 - 5 , 9 ", (3, 4, 5, 9)),
        ("all", tuple(LIST)),
    ],
)
def test_valid_selections(text: str, expected: tuple[int, ...]) -> None:
    assert parse_items(text, LIST) == expected


@pytest.mark.parametrize(
    ("text", "code", "fragment"),
    [
        ("4-1", Code.ITEM_RANGE, "reversed"),
        ("0", Code.ITEM_RANGE, "start at 1"),
        ("1-3,2", Code.ITEM_RANGE, "selected twice"),
        ("1,1", Code.ITEM_RANGE, "selected twice"),
        ("a-b", Code.ITEM_RANGE, "not an item number"),
        ("1,,2", Code.ITEM_RANGE, "not an item number"),
        ("-3", Code.ITEM_RANGE, "not an item number"),
        ("", Code.ITEM_RANGE, "no items"),
        ("9-12", Code.ITEM_NOT_ON_LIST, "11-12"),
    ],
)
def test_bad_selections_name_the_fault(text: str, code: int, fragment: str) -> None:
    with pytest.raises(Refusal) as info:
        parse_items(text, LIST, at="/items")
    assert info.value.code == code
    assert fragment in info.value.problems[0].message
    assert info.value.problems[0].pointer == "/items"


def test_format_items_joins_runs() -> None:
    assert format_items([8, 1, 3, 2]) == "1-3,8"


@given(st.sets(st.integers(min_value=1, max_value=500), min_size=1))
def test_format_parse_round_trip(numbers: set[int]) -> None:
    text = format_items(numbers)
    assert parse_items(text) == tuple(sorted(numbers))
    assert format_items(parse_items(text)) == text
