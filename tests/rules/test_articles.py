"""One table of the Convention's articles (issue 14, item 10): every article the rules cite is in it,
docs/rules.md is generated from it, and every example it names gives its verdict."""

from __future__ import annotations

import re

import pytest

from gateway.articles import ARTICLES, RULES, doc_path, render
from gateway.errors import Refusal
from gateway.model import load_document
from gateway.rules import judge
from tests.conftest import EXAMPLES, ROOT

CITED = re.compile(r'"((?:Convention|Annex [AB][0-9]?) (?:Art\. [0-9.]+[a-z]?|Appendix [IV]+))"')


def test_docs_rules_md_is_up_to_date() -> None:
    assert doc_path().read_text() == render(), "run: python -m gateway.articles"


def test_every_article_cited_by_the_rules_and_claims_is_in_the_table() -> None:
    cited = set()
    for folder in ("rules", "claims"):
        for f in (ROOT / "gateway" / folder).glob("*.py"):
            cited |= set(CITED.findall(f.read_text()))
    assert cited and cited <= set(ARTICLES), sorted(cited - set(ARTICLES))
    assert {r.article for r in RULES if r.article} <= set(ARTICLES)


@pytest.mark.parametrize("rule", [r for r in RULES if r.example], ids=lambda r: f"{r.code}")
def test_each_rules_example_gives_its_verdict(rule) -> None:  # type: ignore[no-untyped-def]
    data = (EXAMPLES / rule.example).read_bytes()
    if rule.example.startswith("invalid-"):
        with pytest.raises(Refusal) as info:
            judge(load_document(data))
        assert info.value.problems[0].code == rule.code
    else:  # recorded with a flag
        assert rule.code in {n.code for n in judge(load_document(data)).notices}
