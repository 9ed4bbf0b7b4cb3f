"""The full suite (30 territories × all scenarios) against the simulators, once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.runner import Options, SuiteResult, run_suite
from conformance.runner.reports import write_reports


@pytest.fixture(scope="session")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[SuiteResult, dict[str, Path]]:
    result = run_suite(Options(out_dir=tmp_path_factory.mktemp("conformance-full")))
    return result, write_reports(result)
