"""The registry finds one valid adapter per eATA territory, from files alone."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters._quirks import upper_case_names, upper_case_names_required
from conformance.simulators.testing import journey_declaration
from gateway.adapter_spec import Adapter, Office
from gateway.adapters import registry
from gateway.cli import app
from gateway.errors import Code, Refusal
from gateway.territories import EATA_COUNTRIES, EU_MEMBERS

ROOT = Path(__file__).resolve().parents[2]


def test_one_adapter_file_per_territory() -> None:
    assert set(registry.codes()) == EATA_COUNTRIES
    files = {p.stem.upper() for p in (ROOT / "adapters").glob("*.py") if not p.stem.startswith("_")}
    assert files == EATA_COUNTRIES


def test_config_facts() -> None:
    adapters = {a.code: a for a in registry.all()}
    assert all(a.live_date == date(2026, 6, 1) for a in adapters.values())
    assert {a.grace for c, a in adapters.items() if c in EU_MEMBERS} == {"unconfirmed"}
    assert {adapters[c].grace for c in ("GB", "NO", "CH")} == {"committed"}
    assert [c for c, a in adapters.items() if a.transport == "rest"] == ["GB"]
    soap = {a.soap_version for a in adapters.values() if a.transport == "soap"}
    assert soap == {"1.1", "1.2"}  # both bindings exercised
    for a in adapters.values():
        assert a.dialect("importation") == "wco-dec" and a.dialect("re_exportation") == "wco-dec"
        assert a.dialect("transit_start") == "ncts" and a.dialect("transit_discharge") == "ncts"
        assert all(o.id.startswith(a.prefixes) for o in a.offices or ())
    assert "GB000060" in adapters["GB"].office_ids  # from mappings/codelists/customs-offices.yaml
    assert adapters["DK"].offices == ()  # ids not on file yet: any DK office accepted
    assert adapters["DK"].knows_office("DK123456") and not adapters["DK"].knows_office("SE603340")
    assert not adapters["CH"].knows_office("CH999999")


def test_endpoint_defaults_to_the_simulator_and_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.settings import Settings

    monkeypatch.delenv("EATA_ENDPOINT_CH", raising=False)
    monkeypatch.setenv("EATA_SIMULATOR_URL", "http://127.0.0.1:8299")
    ch, gb = registry.get("CH"), registry.get("gb")
    settings = Settings.from_env()
    assert settings.link(ch).endpoint == "http://127.0.0.1:8299/customs/CH/soap"
    link = settings.link(gb)
    assert link.endpoint == "http://127.0.0.1:8299/customs/GB" and (link.token_url or "").endswith(
        "/oauth/token"
    )
    monkeypatch.setenv("EATA_ENDPOINT_CH", "https://passar.example/eata")
    assert Settings.from_env().link(ch).endpoint == "https://passar.example/eata"


def test_without_a_simulator_a_missing_endpoint_or_secret_names_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gateway.settings import MissingSetting, Settings

    for name in ("EATA_SIMULATOR_URL", "EATA_ENDPOINT_CH", "EATA_ENDPOINT_GB", "EATA_OAUTH_SECRET_GB"):
        monkeypatch.delenv(name, raising=False)
    ch, gb = registry.get("CH"), registry.get("GB")
    with pytest.raises(MissingSetting, match="EATA_ENDPOINT_CH"):
        Settings.from_env().require([ch])
    monkeypatch.setenv("EATA_ENDPOINT_GB", "https://cds.example/eata")
    monkeypatch.setenv("EATA_TOKEN_URL_GB", "https://cds.example/oauth/token")
    with pytest.raises(MissingSetting, match="EATA_OAUTH_SECRET_GB"):
        Settings.from_env().require([gb])
    monkeypatch.setenv("EATA_OAUTH_SECRET_GB", "s3cret")
    link = Settings.from_env().link(gb)
    assert link.credentials == ("eata-gateway-gb", "s3cret") and link.endpoint == "https://cds.example/eata"


def test_unknown_territory_is_not_configured() -> None:
    with pytest.raises(Refusal) as exc:
        registry.get("US")
    assert exc.value.code == Code.NOT_CONFIGURED


def test_validation_names_every_problem() -> None:
    bad = Adapter(
        code="CH",
        name="x",
        language="de",
        agency="x",
        national_system="x",
        transport="rest",
        offices=(Office("FR00617C", "Roissy"),),
    )
    with pytest.raises(Refusal) as exc:
        registry.validate(bad, "de")
    messages = " ".join(p.message for p in exc.value.problems)
    assert "does not match" in messages and "OAuth" in messages and "FR00617C" in messages


def test_quirk_hooks() -> None:
    d = journey_declaration("FR", message_id="Q1")
    assert upper_case_names_required(d) is not None
    fixed = upper_case_names(d)
    assert fixed.holder.name == d.holder.name.upper() and upper_case_names_required(fixed) is None
    de = registry.get("DE")
    assert de.check is not None
    assert de.check(d.model_copy(update={"intended_place_of_use": None})).code == Code.MISSING  # type: ignore[union-attr]


def test_cli_territories_json_lists_30() -> None:
    result = CliRunner().invoke(app, ["territories", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 30 and {r["code"] for r in rows} == EATA_COUNTRIES
    gb = next(r for r in rows if r["code"] == "GB")
    assert gb["transport"] == "rest" and gb["live_date"] == "2026-06-01" and gb["offices"]
    assert gb["dialects"]["transit_start"] == "ncts"
