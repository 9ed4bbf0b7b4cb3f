"""Two mapping files claiming the same message are refused at load, naming both (no silent shadowing)."""

from __future__ import annotations

import pytest

from gateway.errors import Code, Refusal
from gateway.translate import core
from gateway.translate.mapping import mapping


def test_every_shipped_dialect_is_unambiguous() -> None:
    for dialect in core._dialects():
        assert core._unambiguous(dialect)


def test_an_overlapping_mapping_is_refused_with_both_file_names(monkeypatch: pytest.MonkeyPatch) -> None:
    real = mapping("wco-dec", "declaration")
    monkeypatch.setattr(core, "mappings_of", lambda dialect: ["declaration", "declaration-v2"])
    monkeypatch.setattr(core, "mapping", lambda dialect, name: real)
    core._unambiguous.cache_clear()
    try:
        with pytest.raises(Refusal) as info:
            core._unambiguous("wco-dec")
    finally:
        core._unambiguous.cache_clear()
    assert info.value.code == Code.NOT_CONFIGURED
    text = str(info.value)
    assert "declaration-v2.yaml and declaration.yaml both map the declaration for importation" in text
