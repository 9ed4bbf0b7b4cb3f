"""docs/conformance.md publishes every error code of gateway/errors.py, as generated."""

from __future__ import annotations

from pathlib import Path

from conformance.runner.codes import codes, table

DOC = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"


def test_every_code_is_in_the_doc() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name, value in codes():
        assert f"| {value} | `{name}` |" in text, name


def test_doc_table_is_the_generated_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    inside = text.split("<!-- codes:start -->\n", 1)[1].split("<!-- codes:end -->", 1)[0]
    assert inside == table(), "regenerate with: python -m conformance.runner.codes"
