"""``eata-gateway conformance run`` for a small subset: exit 0 when all pass, 1 when a case fails, 2 unusable."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli import app


def test_run_subset_passes(tmp_path: Path) -> None:
    args = [
        "conformance",
        "run",
        "--territory",
        "GB,CH",
        "--scenario",
        "unknown-office,endpoint-5xx",
        "--out",
        str(tmp_path),
        "--no-progress",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "4 passed, 0 failed" in result.output
    assert {p.name for p in tmp_path.iterdir()} >= {"junit.xml", "results.json", "report.html", "evidence"}
    assert json.loads((tmp_path / "results.json").read_text())["ok"] is True


def test_run_against_nonconforming_simulators_fails(tmp_path: Path) -> None:
    args = [
        "conformance",
        "run",
        "--territory",
        "NO",
        "--scenario",
        "expired-carnet,two-consignments",
        "--faults",
        "nonconforming",
        "--out",
        str(tmp_path),
        "--no-progress",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "expected rejection 203, national system committed the declaration" in result.output
    assert "1 passed, 1 failed" in result.output


def test_bad_input_is_unusable(tmp_path: Path) -> None:
    for args in (
        ["--territory", "XX"],
        ["--scenario", "nope"],
        ["--faults", "meteor"],
        ["--territory", "GB,NO", "--endpoint", "https://customs.invalid/x"],
    ):
        result = CliRunner().invoke(
            app, ["conformance", "run", "--out", str(tmp_path), "--no-progress", *args]
        )
        assert result.exit_code == 2, (args, result.output)
        assert "not started" in result.output
