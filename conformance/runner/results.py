"""What a run found: per step the expectation and the observed answer, per case a verdict and a diagnosis."""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from conformance.runner.scenarios import Expect

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"


@dataclass
class Observation:
    """The customs answer as the gateway saw it."""

    outcome: str  # committed | cancelled | rejected | failed | error
    code: int | None = None
    pointer: str | None = None
    detail: str = ""  # the officer's reason, the fault message, the transport's reason
    reference: str | None = None  # the endorsement's reference (MRN) when committed

    def describe(self) -> str:
        """How the diagnosis sentence tells what happened."""
        said = f" ({self.detail})" if self.detail else ""
        if self.outcome == "committed":
            return "national system committed the declaration"
        if self.outcome == "cancelled":
            return "national system cancelled the transaction"
        if self.outcome == "rejected":
            where = f" at {self.pointer}" if self.pointer else ""
            return f"national system rejected it with {self.code}{where}{said}"
        if self.outcome == "failed":
            return f"the delivery failed with {self.code}{said}"
        if self.outcome == "refused":
            return f"the gateway refused the answer with {self.code}{said}"
        return f"the runner could not play the step{said}"


def diagnose(expect: Expect, seen: Observation) -> str | None:
    """None when ``seen`` meets ``expect``; else one sentence a tester can act on."""
    ok = seen.outcome == expect.outcome and (expect.code is None or seen.code == expect.code)
    if ok and expect.pointer and not (seen.pointer and seen.pointer != "/"):
        return f"expected {expect}, national system rejected it with {seen.code} but named no element"
    if ok:
        return None
    return f"expected {expect}, {seen.describe()}"


@dataclass
class StepResult:
    index: int
    kind: str
    territory: str  # where the step was sent (another member state for eu-entry-exit)
    office: str
    message_id: str
    expect: str
    observed: Observation
    diagnosis: str | None
    evidence: list[str] = field(default_factory=list)  # paths relative to the out dir
    at: str = ""  # ISO timestamp
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.diagnosis is None


@dataclass
class CaseResult:
    territory: str
    scenario: str
    title: str
    status: str  # passed | failed | error | skipped
    diagnosis: str | None = None
    steps: list[StepResult] = field(default_factory=list)
    started: str = ""
    seconds: float = 0.0

    @property
    def codes(self) -> list[int]:
        """Error codes seen in the case's answers (what the report lists)."""
        return [s.observed.code for s in self.steps if s.observed.code is not None]


def gateway_version() -> str:
    try:
        return version("eata-gateway")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class SuiteResult:
    cases: list[CaseResult]
    territories: list[str]
    scenarios: list[str]
    target: str  # "simulators" or the endpoint URL
    faults: str
    started: str
    finished: str
    seconds: float  # playing the cases
    out_dir: str
    setup_seconds: float = 0.0  # keys and servers (simulators) before the first case
    gateway_version: str = field(default_factory=gateway_version)
    python_version: str = field(default_factory=platform.python_version)

    @property
    def ok(self) -> bool:
        return all(c.status in (PASSED, SKIPPED) for c in self.cases)

    def counts(self) -> dict[str, int]:
        out = {PASSED: 0, FAILED: 0, ERROR: 0, SKIPPED: 0}
        for c in self.cases:
            out[c.status] += 1
        return out

    def case(self, territory: str, scenario: str) -> CaseResult | None:
        return next((c for c in self.cases if c.territory == territory and c.scenario == scenario), None)

    def failures(self) -> list[CaseResult]:
        return [c for c in self.cases if c.status in (FAILED, ERROR)]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["counts"] = self.counts()
        return data
