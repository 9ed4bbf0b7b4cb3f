"""Scenario files: the 20 shipped ones load; a malformed one is refused naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.runner import ScenarioError, load_scenarios
from conformance.runner.scenarios import load_scenario

GOOD = """\
id: sample
title: t
purpose: p
basis: b
applies_to: all
steps:
  - {kind: importation, items: "1-4", office: entry, day: 0, expect: committed}
"""


def test_shipped_scenarios_load() -> None:
    scenarios = load_scenarios()
    assert len(scenarios) == 20
    assert len({s.id for s in scenarios}) == 20
    by_id = {s.id: s for s in scenarios}
    assert by_id["schema-invalid"].steps[0].expect.pointer is True
    assert by_id["endpoint-timeout"].sim_faults and by_id["eu-two-step-export"].home


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("office: entry", "office: nowhere", "steps[0].office"),
        ("kind: importation", "kind: smuggling", "steps[0].kind"),
        ("expect: committed", "expect: {rejected: 999}", "steps[0].expect.rejected"),
        ("expect: committed", "expect: maybe", "steps[0].expect"),
        ('items: "1-4"', 'items: "4-1"', "steps[0].items"),
        ("applies_to: all", "applies_to: [GB, XX]", "applies_to"),
        ("applies_to: all", "applies_to: europe", "applies_to"),
        ("title: t\n", "", "title"),
        ("day: 0", "day: -3", "steps[0].day"),
        ("basis: b", "basis: b\ncolour: red", "colour"),
    ],
)
def test_malformed_scenario_names_file_and_field(tmp_path: Path, old: str, new: str, where: str) -> None:
    path = tmp_path / "99-broken.yaml"
    assert old in GOOD
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"99-broken.yaml: {where}:"), str(info.value)


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nbasis: a: b\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^bad\.yaml: \(file\): not valid YAML"):
        load_scenario(path)


def test_unknown_scenario_id_is_refused() -> None:
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'"):
        load_scenarios(ids=["nope"])
