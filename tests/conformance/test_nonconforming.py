"""The suite can fail: a non-conforming simulator and transport faults fail exactly the expected cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.runner import Options, run_suite
from conformance.runner.results import FAILED, PASSED

NONCONFORMING = {
    "expired-carnet": "expected rejection 203, national system committed the declaration",
    "unknown-office": "expected rejection 304, national system rejected it with 510",
    "duplicate-message": "expected rejection 299, national system committed the declaration",
}


def test_nonconforming_territories_fail_exactly_the_expected_cases(tmp_path: Path) -> None:
    # GB (REST) and SE (SOAP) misbehave; CH conforms and runs beside them against the same simulator.
    options = Options(
        territories=["CH", "GB", "SE"],
        out_dir=tmp_path,
        territory_faults={"GB": "nonconforming", "SE": "nonconforming"},
    )
    result = run_suite(options)
    failed = {(c.territory, c.scenario) for c in result.cases if c.status != PASSED}
    assert failed == {(code, s) for code in ("GB", "SE") for s in NONCONFORMING}
    for case in result.failures():
        assert case.status == FAILED
        assert NONCONFORMING[case.scenario] in (case.diagnosis or ""), case.diagnosis
    assert not result.ok


def test_a_down_territory_fails_what_needs_an_answer(tmp_path: Path) -> None:
    options = Options(
        territories=["NO", "DE"],
        scenarios=["two-consignments", "endpoint-5xx"],
        out_dir=tmp_path,
        territory_faults={"NO": "down"},
    )
    result = run_suite(options)
    statuses = {(c.territory, c.scenario): c.status for c in result.cases}
    assert statuses == {
        ("DE", "two-consignments"): PASSED,
        ("DE", "endpoint-5xx"): PASSED,
        ("NO", "two-consignments"): FAILED,
        ("NO", "endpoint-5xx"): PASSED,  # 503 was expected anyway
    }
    case = result.case("NO", "two-consignments")
    assert case is not None and "expected commit, the delivery failed with 503" in (case.diagnosis or "")


def test_hostile_answers_fail_with_121(tmp_path: Path) -> None:
    result = run_suite(
        Options(
            territories=["CH"],
            scenarios=["another-office"],
            out_dir=tmp_path,
            territory_faults={"CH": "hostile"},
        )
    )
    case = result.case("CH", "another-office")
    assert case is not None and case.status == FAILED
    assert "expected commit, the delivery failed with 121" in (case.diagnosis or "")


@pytest.mark.parametrize("profile", ["nonconforming"])
def test_nonconforming_is_a_documented_preset(profile: str) -> None:
    from conformance.simulators.faults import PRESETS, parse

    assert {f.kind for f in parse(profile)} == {"accept_expired", "generic_errors", "no_duplicate_check"}
    assert profile in PRESETS
    doc = (Path(__file__).resolve().parents[2] / "docs" / "conformance.md").read_text(encoding="utf-8")
    for diagnosis in NONCONFORMING.values():
        assert diagnosis in doc
