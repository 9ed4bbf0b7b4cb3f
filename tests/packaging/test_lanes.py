"""The suite runs in two lanes, and `make test` (which CI runs) runs both: a slow module left out of the
slow table would only slow the fast lane, but a table entry naming no file would hide nothing and rot."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SLOW

ROOT = Path(__file__).resolve().parents[2]


def test_every_slow_module_exists() -> None:
    assert [m for m in SLOW if not (ROOT / m).is_file()] == []


def test_make_test_runs_the_fast_lane_then_the_slow_one() -> None:
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").split("\ntest:", 1)[1].split("\n\n", 1)[0]
    runs = [line.strip() for line in lines.splitlines() if "-m pytest" in line]
    assert len(runs) == 2 and '-m "not slow"' in runs[0] and runs[1].endswith("-m slow"), runs
