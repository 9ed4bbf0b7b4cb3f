"""One settings object: docs/operations.md lists its variables as generated, and nothing else in the
runtime reads the environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gateway.settings import Link, MissingSetting, Settings, current, markdown, use

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"
# the one module that reads the environment
READERS = {"gateway/settings.py": "the settings themselves"}


def test_doc_table_is_the_generated_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    inside = text.split("<!-- settings:start -->\n", 1)[1].split("<!-- settings:end -->", 1)[0]
    assert inside == markdown(), "regenerate with: python -m gateway.settings --markdown"


def _reads_environment(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(a.name in ("environ", "getenv") for a in node.names)
        ):
            return True
    return False


def test_only_the_settings_read_the_environment() -> None:
    readers = {str(p.relative_to(ROOT)) for p in (ROOT / "gateway").rglob("*.py") if _reads_environment(p)}
    assert readers <= set(READERS), sorted(readers - set(READERS))


def test_per_territory_values_are_gathered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EATA_ENDPOINT_NO", "https://toll.example/eata")
    monkeypatch.setenv("EATA_OAUTH_SECRET_gb", "s3cret")
    monkeypatch.setenv("EATA_TOKEN_URL_GB", "https://cds.example/token")
    s = Settings.from_env()
    assert s.endpoints["NO"] == "https://toll.example/eata"
    assert s.oauth_secrets == {"GB": "s3cret"} and s.token_urls == {"GB": "https://cds.example/token"}
    with pytest.raises(ValueError):  # frozen
        s.max_body = 1  # type: ignore[misc]


def test_a_command_installs_its_settings() -> None:
    mine = Settings(simulator_url="http://127.0.0.1:1")
    with use(mine):
        assert current() is mine
    assert current() is not mine


def test_a_link_has_everything_a_delivery_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.adapters import registry

    monkeypatch.delenv("EATA_ENDPOINT_NO", raising=False)
    monkeypatch.delenv("EATA_SIMULATOR_URL", raising=False)
    with pytest.raises(MissingSetting, match="EATA_ENDPOINT_NO"):
        Settings.from_env().link(registry.get("NO"))
    s = Settings(
        endpoints={"NO": "https://toll.example/eata"}, keys_dir=Path("/k"), callback_url="https://g/cb/"
    )
    assert s.link(registry.get("NO")) == Link(
        "NO", "https://toll.example/eata", "https://g/cb/NO", Path("/k")
    )
