"""The grace policy: is eATA live in a territory on a date, and may a holder fall back to paper?

Pure: rules come from ``policy.yaml`` (package data) plus operator overrides passed in. Each decision
names the rule and source that made it, so an officer or a holder can check it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from gateway.territories import EU_MEMBERS, eata_countries
from gateway.yamlio import load_yaml


def _group(name: str) -> frozenset[str]:
    """``EATA``: every territory with an adapter; ``EU``: the Union's member states."""
    groups: dict[str, Callable[[], frozenset[str]]] = {"EATA": eata_countries, "EU": lambda: EU_MEMBERS}
    if name not in groups:
        raise ValueError(f"unknown territory group {name!r}: EATA, EU or a list of codes")
    return groups[name]()


class PaperStatus(StrEnum):
    COMMITTED = "committed"  # the territory has said it accepts paper (UK/NO/CH grace year)
    CONFIRMED = "confirmed"  # an operator recorded the territory's confirmation, with its source
    UNCONFIRMED = "unconfirmed"  # encouraged (ICC), not committed: do not rely on it
    REFUSED = "refused"  # an operator recorded that the territory does not accept paper
    NONE = "none"  # no rule covers the date


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    territories: frozenset[str]
    start: date
    end: date | None
    source: str
    status: PaperStatus | None = None  # paper rules only

    def covers(self, territory: str, day: date) -> bool:
        return territory in self.territories and self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class Decision:
    territory: str
    day: date
    live: bool
    paper: PaperStatus
    rule: str | None
    source: str | None

    @property
    def paper_accepted(self) -> bool:
        return self.paper in (PaperStatus.COMMITTED, PaperStatus.CONFIRMED)

    def explain(self) -> str:
        where = f"{self.territory} on {self.day}"
        if not self.live:
            return f"eATA is not live in {where}: the paper carnet is used"
        if self.paper_accepted:
            return f"{where} accepts the paper carnet when eATA cannot be used ({self.rule}: {self.source})"
        if self.paper == PaperStatus.UNCONFIRMED:
            return f"{where} is encouraged but not committed to accept paper ({self.rule}); confirm with the office"
        return f"{where} does not accept paper: an eATA declaration is required"


def _rule(raw: dict[str, Any]) -> Rule:
    terr = raw["territories"]
    members = _group(terr) if isinstance(terr, str) else frozenset(terr)
    if not all(isinstance(t, str) and len(t) == 2 for t in members):
        raise ValueError(
            f"rule {raw['id']}: territories must be quoted 2-letter codes (YAML reads NO as false)"
        )
    status = raw.get("status")
    return Rule(
        raw["id"],
        frozenset(members),
        raw["from"],
        raw.get("until"),
        raw["source"],
        PaperStatus(status) if status else None,
    )


@dataclass(frozen=True)
class GracePolicy:
    live: tuple[Rule, ...]
    paper: tuple[Rule, ...]
    overrides: tuple[Rule, ...] = ()  # operator's records win over the published rules

    @classmethod
    def from_data(cls, data: dict[str, Any], overrides: list[dict[str, Any]] | None = None) -> GracePolicy:
        return cls(
            tuple(_rule(r) for r in data.get("live", ())),
            tuple(_rule(r) for r in data.get("paper", ())),
            tuple(_rule(r) for r in overrides or ()),
        )

    def decide(self, territory: str, day: date) -> Decision:
        live = next((r for r in self.live if r.covers(territory, day)), None)
        for r in (*self.overrides, *self.paper):
            if r.covers(territory, day):
                return Decision(
                    territory, day, live is not None, r.status or PaperStatus.NONE, r.id, r.source
                )
        return Decision(territory, day, live is not None, PaperStatus.NONE, live.id if live else None, None)


@cache
def default_policy() -> GracePolicy:
    data = load_yaml(Path(__file__).parent / "policy.yaml")
    overrides: list[dict[str, Any]] = []
    from gateway.settings import current

    path = current().grace_overrides
    if path:
        overrides = load_yaml(Path(path)).get("overrides", [])
    return GracePolicy.from_data(data, overrides)
