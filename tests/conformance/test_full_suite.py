"""All 30 territories pass every applicable scenario against their simulators; the reports are well-formed."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from conformance.runner import SuiteResult, load_scenarios
from conformance.runner.reports import matrix
from gateway.adapters import registry
from gateway.territories import EU_MEMBERS


def test_every_territory_passes_every_applicable_scenario(
    full_run: tuple[SuiteResult, dict[str, Path]],
) -> None:
    result, _ = full_run
    assert result.territories == sorted(registry.codes()) and len(result.territories) == 30
    failures = [(c.territory, c.scenario, c.diagnosis) for c in result.failures()]
    assert failures == []
    assert result.ok and result.counts()["passed"] == len(result.cases)
    scenarios = load_scenarios()
    expected = sum(len(s.territories(result.territories)) for s in scenarios)
    assert len(result.cases) == expected
    # applicability: the CH journey only in CH, EU scenarios only in the 27 member states
    assert {c.territory for c in result.cases if c.scenario == "journey-no-eu-ch"} == {"CH"}
    assert {c.territory for c in result.cases if c.scenario == "eu-entry-exit"} == set(EU_MEMBERS)


def test_fault_scenarios_give_the_documented_outcomes(full_run: tuple[SuiteResult, dict[str, Path]]) -> None:
    result, _ = full_run
    for case in result.cases:
        if case.scenario in ("endpoint-timeout", "endpoint-5xx"):
            seen = case.steps[0].observed
            assert seen.outcome == "failed", (case.territory, seen)
            assert seen.code == (504 if case.scenario == "endpoint-timeout" else 503)
            assert "after 3 attempts" in seen.detail  # retried, then the documented outcome


def test_matrix_is_all_pass(full_run: tuple[SuiteResult, dict[str, Path]]) -> None:
    from rich.console import Console

    console = Console(width=400, record=True)
    console.print(matrix(full_run[0]))
    text = console.export_text()
    assert "✗" not in text and "!" not in text and text.count("✓") == len(full_run[0].cases)


def test_junit_json_html_are_written_and_well_formed(full_run: tuple[SuiteResult, dict[str, Path]]) -> None:
    result, paths = full_run
    root = etree.parse(str(paths["junit"])).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == result.territories
    assert sum(int(s.get("tests")) for s in suites) == len(result.cases)
    assert all(s.get("failures") == "0" and s.get("errors") == "0" for s in suites)

    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["ok"] is True and len(data["cases"]) == len(result.cases)
    assert data["gateway_version"] and data["python_version"]

    page = paths["html"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>")
    assert "<style>" in page and "<script" not in page and "<link" not in page
    assert "http://" not in page.split("<h2>Cases</h2>")[0]  # no external assets in the page's head/summary
    etree.fromstring(page.encode(), etree.HTMLParser(recover=False))
    assert "gateway version" in page and result.python_version in page


def test_evidence_files_exist_and_are_not_empty(full_run: tuple[SuiteResult, dict[str, Path]]) -> None:
    result, _ = full_run
    out = Path(result.out_dir)
    files = [f for c in result.cases for s in c.steps for f in s.evidence]
    assert len(files) > 2 * len(result.cases)
    for f in files:
        path = out / f
        assert path.is_file() and path.stat().st_size > 0, f
    gb = result.case("GB", "two-consignments")
    names = {Path(f).name for f in gb.steps[0].evidence}  # type: ignore[union-attr]
    assert {"step1-request.xml", "step1-answer.xml"} <= names  # REST: the answer pushed to the callback
    assert any(n.endswith("-request.txt") for n in names) and any(n.endswith("-response.txt") for n in names)
    request = next(out / f for f in gb.steps[0].evidence if f.endswith("http1-request.txt"))  # type: ignore[union-attr]
    assert b"(redacted)" in request.read_bytes()  # credentials never land in evidence
