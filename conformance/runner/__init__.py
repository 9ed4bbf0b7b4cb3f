"""The conformance runner: scenarios × territories against the simulators or a real national endpoint.

``run_suite(Options(...)) -> SuiteResult``; reports in :mod:`conformance.runner.reports`.
"""

from conformance.runner.results import CaseResult, SuiteResult
from conformance.runner.runner import Options, run_suite
from conformance.runner.scenarios import Scenario, ScenarioError, load_scenarios

__all__ = ["CaseResult", "Options", "Scenario", "ScenarioError", "SuiteResult", "load_scenarios", "run_suite"]
