"""Scenario files (``conformance/scenarios/*.yaml``) read into frozen dataclasses, checked field by field.

A malformed file raises :class:`ScenarioError` naming the file and the field, e.g.
``12-unknown-office.yaml: steps[0].office: 'nowhere' is not one of entry, exit, ...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import TITLES
from gateway.model import Annex, TransactionKind
from gateway.territories import EATA_COUNTRIES, EU_MEMBERS, NON_EU_EATA

SCENARIOS_DIR = Path(__file__).resolve().parents[1] / "scenarios"

OFFICES = ("entry", "exit", "unknown", "destination", "other-member-state")
SENDS = ("normal", "again", "bad-signature", "schema-invalid")
# How the simulator answers one step: normally, or naming an LRN/MRN the gateway never sent (simulators only)
ANSWERS = {"normal": None, "unknown-reference": "unknown_reference:1"}
GROUPS = ("all", "eu", "non-eu", "transit")
# Scenario fault names → simulator fault profiles (conformance/simulators/faults.py). The hang outlasts the
# runner's shortened read timeout; the 5xx answers every attempt, so retries run out.
FAULTS = {"timeout": "hang=1", "http-500": "http_5xx"}
CARNET_FIELDS = ("annex", "intended_use", "currency", "issuing_country")


class ScenarioError(ValueError):
    """A scenario file the runner cannot play; the message names the file and the field."""

    def __init__(self, path: Path | str, where: str, message: str) -> None:
        self.path, self.where = Path(path), where
        super().__init__(f"{Path(path).name}: {where}: {message}")


@dataclass(frozen=True, slots=True)
class Expect:
    """What customs must answer: committed, cancelled, rejected with a code, or failed with a code."""

    outcome: str  # committed | cancelled | rejected | failed | refused (the gateway refused the answer)
    code: int | None = None
    pointer: bool = False  # the refusal must point at the failing element

    def __str__(self) -> str:
        if self.outcome == "rejected":
            return f"rejection {self.code}" + (" with a pointer" if self.pointer else "")
        if self.outcome == "refused":
            return f"the answer refused by the gateway with {self.code}"
        if self.outcome == "failed":
            return f"failure {self.code}"
        return {"committed": "commit", "cancelled": "cancellation"}[self.outcome]


@dataclass(frozen=True, slots=True)
class Step:
    kind: TransactionKind
    items: str
    office: str
    day: int
    expect: Expect
    send: str = "normal"
    final_day: int | None = None  # transit start: the final date for the office of destination
    seals: tuple[str, ...] = ()
    cancel: str | None = None  # the officer's reason: this step cancels the last committed one
    answer: str = "normal"  # unknown-reference: the simulator answers naming an LRN/MRN never sent


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    title: str
    purpose: str
    basis: str
    applies_to: tuple[str, ...]  # one group (all, eu, non-eu, transit) or territory codes
    steps: tuple[Step, ...]
    path: Path
    faults: str | None = None  # scenario fault name (timeout, http-500)
    home: bool = False  # the carnet is issued in the territory under test (EU two-step export)
    carnet: Mapping[str, str] = field(default_factory=dict)

    @property
    def sim_faults(self) -> str | None:
        return FAULTS[self.faults] if self.faults else None

    def territories(self, known: list[str]) -> list[str]:
        """The territories of ``known`` this scenario applies to."""
        group = self.applies_to[0] if len(self.applies_to) == 1 else None
        if group == "all":
            return list(known)
        if group == "transit":  # territories whose adapters speak NCTS for transit (today: all 30)
            from gateway.adapters import registry

            return [c for c in known if registry.get(c).dialect(TransactionKind.TRANSIT_START) == "ncts"]
        if group == "eu":
            return [c for c in known if c in EU_MEMBERS]
        if group == "non-eu":
            return [c for c in known if c in NON_EU_EATA]
        return [c for c in known if c in self.applies_to]

    @property
    def needs_simulator(self) -> bool:
        """Steps a real endpoint cannot be driven through by the gateway alone (faults, officer actions)."""
        return self.faults is not None or any(
            s.cancel is not None or s.answer != "normal" for s in self.steps
        )


def _req(data: Mapping[str, Any], key: str, path: Path, where: str) -> Any:
    if key not in data or data[key] in (None, ""):
        raise ScenarioError(path, f"{where}{key}", "is required")
    return data[key]


def _text(data: Mapping[str, Any], key: str, path: Path, where: str = "") -> str:
    value = _req(data, key, path, where)
    if not isinstance(value, str):
        raise ScenarioError(path, f"{where}{key}", f"must be text, not {type(value).__name__}")
    return value.strip()


def _expect(raw: Any, path: Path, where: str) -> Expect:
    if raw in ("committed", "cancelled"):
        return Expect(raw)
    if isinstance(raw, Mapping):
        unknown = set(raw) - {"rejected", "failed", "refused", "pointer"}
        outcomes = [k for k in ("rejected", "failed", "refused") if k in raw]
        if unknown or len(outcomes) != 1:
            raise ScenarioError(
                path, where, f"{dict(raw)!r} must name exactly one of rejected/failed/refused (plus pointer)"
            )
        code = raw[outcomes[0]]
        if not isinstance(code, int) or code not in TITLES:
            raise ScenarioError(path, f"{where}.{outcomes[0]}", f"{code!r} is not a code of gateway.errors")
        return Expect(outcomes[0], code, bool(raw.get("pointer", False)))
    raise ScenarioError(
        path, where, f"{raw!r} is not committed, cancelled, {{rejected: code}} or {{failed: code}}"
    )


_STEP_KEYS = {"kind", "items", "office", "day", "send", "answer", "expect", "final_day", "seals", "cancel"}


def _step(raw: Any, path: Path, n: int) -> Step:
    where = f"steps[{n}]."
    if not isinstance(raw, Mapping):
        raise ScenarioError(path, f"steps[{n}]", "must be a mapping")
    if unknown := set(raw) - _STEP_KEYS:
        raise ScenarioError(
            path, where + sorted(unknown)[0], f"unknown field; known: {', '.join(sorted(_STEP_KEYS))}"
        )
    kind = _text(raw, "kind", path, where)
    try:
        tx_kind = TransactionKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in TransactionKind)
        raise ScenarioError(path, where + "kind", f"{kind!r} is not a transaction kind ({known})") from None
    items = str(_req(raw, "items", path, where))
    from gateway.errors import Refusal
    from gateway.items import parse_items

    try:
        parse_items(items, range(1, 1000))
    except Refusal as exc:
        raise ScenarioError(path, where + "items", str(exc)) from None
    office = _text(raw, "office", path, where)
    if office not in OFFICES:
        raise ScenarioError(path, where + "office", f"{office!r} is not one of {', '.join(OFFICES)}")
    day = _req(raw, "day", path, where) if "day" in raw else 0
    if not isinstance(day, int) or day < 0:
        raise ScenarioError(path, where + "day", f"{day!r} must be a whole number of days ≥ 0")
    send = raw.get("send", "normal")
    if send not in SENDS:
        raise ScenarioError(path, where + "send", f"{send!r} is not one of {', '.join(SENDS)}")
    if send == "again" and n == 0:
        raise ScenarioError(
            path, where + "send", "'again' re-uses the previous step's message: not on step 0"
        )
    final_day = raw.get("final_day")
    if final_day is not None and (not isinstance(final_day, int) or final_day < 0):
        raise ScenarioError(path, where + "final_day", f"{final_day!r} must be a whole number of days ≥ 0")
    seals = raw.get("seals") or []
    if not isinstance(seals, list) or not all(isinstance(s, str) and s for s in seals):
        raise ScenarioError(path, where + "seals", "must be a list of seal identifiers")
    cancel = raw.get("cancel")
    reason: str | None = None
    if cancel is not None:
        if not isinstance(cancel, Mapping) or not isinstance(cancel.get("reason"), str):
            raise ScenarioError(path, where + "cancel", "must be {reason: text}")
        reason = cancel["reason"]
    answer = raw.get("answer", "normal")
    if answer not in ANSWERS:
        raise ScenarioError(path, where + "answer", f"{answer!r} is not one of {', '.join(ANSWERS)}")
    expect = _expect(_req(raw, "expect", path, where), path, where + "expect")
    if (expect.outcome == "cancelled") != (reason is not None):
        raise ScenarioError(path, where + "expect", "a cancel step expects 'cancelled', and only it does")
    return Step(tx_kind, items, office, day, expect, send, final_day, tuple(seals), reason, answer)


_KEYS = {"id", "title", "purpose", "basis", "applies_to", "carnet", "faults", "home", "steps"}


def load_scenario(path: Path) -> Scenario:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(path, "(file)", f"not valid YAML: {exc}") from None
    if not isinstance(raw, Mapping):
        raise ScenarioError(path, "(file)", "must be a YAML mapping")
    if unknown := set(raw) - _KEYS:
        raise ScenarioError(path, sorted(unknown)[0], f"unknown field; known: {', '.join(sorted(_KEYS))}")
    applies = _req(raw, "applies_to", path, "")
    if isinstance(applies, str):
        if applies not in GROUPS:
            raise ScenarioError(
                path, "applies_to", f"{applies!r} is not one of {', '.join(GROUPS)} or a list"
            )
        applies_to: tuple[str, ...] = (applies,)
    elif isinstance(applies, list) and applies:
        bad = [c for c in applies if c not in EATA_COUNTRIES]
        if bad:
            raise ScenarioError(path, "applies_to", f"{bad[0]!r} is not an eATA territory (no adapter file)")
        applies_to = tuple(applies)
    else:
        raise ScenarioError(
            path, "applies_to", "must be all, eu, non-eu, transit or a list of territory codes"
        )
    faults = raw.get("faults")
    if faults is not None and faults not in FAULTS:
        raise ScenarioError(path, "faults", f"{faults!r} is not one of {', '.join(FAULTS)} (or null)")
    carnet = raw.get("carnet") or {}
    if not isinstance(carnet, Mapping):
        raise ScenarioError(path, "carnet", "must be a mapping of carnet overrides")
    for key, value in carnet.items():
        if key not in CARNET_FIELDS:
            raise ScenarioError(
                path, f"carnet.{key}", f"cannot be overridden; known: {', '.join(CARNET_FIELDS)}"
            )
        if key == "annex" and value not in {a.value for a in Annex}:
            raise ScenarioError(path, "carnet.annex", f"{value!r} is not an annex")
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ScenarioError(path, "steps", "must be a non-empty list")
    home = raw.get("home", False)
    if not isinstance(home, bool):
        raise ScenarioError(path, "home", "must be true or false")
    return Scenario(
        id=_text(raw, "id", path),
        title=_text(raw, "title", path),
        purpose=_text(raw, "purpose", path),
        basis=_text(raw, "basis", path),
        applies_to=applies_to,
        steps=tuple(_step(s, path, n) for n, s in enumerate(steps)),
        path=path,
        faults=faults,
        home=home,
        carnet={str(k): str(v) for k, v in carnet.items()},
    )


def load_scenarios(directory: Path = SCENARIOS_DIR, ids: list[str] | None = None) -> list[Scenario]:
    """Every ``*.yaml`` in ``directory`` in file order; ``ids`` selects some (unknown ids are an error)."""
    scenarios = [load_scenario(p) for p in sorted(directory.glob("*.yaml"))]
    seen: dict[str, Path] = {}
    for s in scenarios:
        if s.id in seen:
            raise ScenarioError(s.path, "id", f"{s.id!r} is already used by {seen[s.id].name}")
        seen[s.id] = s.path
    if ids:
        unknown = [i for i in ids if i not in seen]
        if unknown:
            raise ScenarioError(
                directory, "--scenario", f"unknown scenario {unknown[0]!r}; known: {', '.join(seen)}"
            )
        scenarios = [s for s in scenarios if s.id in ids]
    return scenarios
