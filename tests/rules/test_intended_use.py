"""Intended use as data (issue 14, item 7): processing, repair or manufacture refused at issue with
Annex A Art. 2.4, unless the annex category allows it; the category must belong to the carnet's annex."""

from __future__ import annotations

import pytest

from gateway.errors import Code
from gateway.rules import carnet_problems
from tests.rules.helpers import doc


def problems(use: dict, annex: str = "B2") -> list[tuple[int, str, str | None]]:
    return [(p.code, p.pointer, p.article) for p in carnet_problems(doc(use=use, annex=annex).carnet)]


def test_filming_equipment_for_professional_use_is_sound() -> None:
    assert problems({"category": "B2.cinematographic", "activities": ["professional_use"]}) == []


@pytest.mark.parametrize("activity", ["processing", "repair", "manufacture"])
def test_processing_repair_or_manufacture_is_refused_at_issue(activity: str) -> None:
    use = {"category": "B2.other", "activities": ["professional_use", activity]}
    assert problems(use) == [(Code.INTENDED_USE, "/carnet/use/activities/1", "Annex A Art. 2.4")]


def test_unless_the_category_allows_it() -> None:
    assert problems({"category": "B2.spare_parts", "activities": ["repair"]}) == []
    assert problems({"category": "B2.servicing", "activities": ["servicing", "repair"]}) == []
    assert problems({"category": "B1.display", "activities": ["demonstration", "manufacture"]}, "B1") == []
    assert problems({"category": "B2.spare_parts", "activities": ["processing"]})[0][2] == "Annex A Art. 2.4"


def test_the_category_must_belong_to_the_annex() -> None:
    assert problems({"category": "B1.display"}, "B2") == [
        (Code.INTENDED_USE, "/carnet/use/category", "Annex A Appendix I")
    ]
