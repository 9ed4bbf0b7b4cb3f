"""Routing plans: for each leg of a travel, digital, paper, paper fallback, or hold — and why.

ICC's Global Transition Plan names six itinerary cases (paper→paper, paper→digital, digital→digital,
digital→paper, paper→mixed, digital→mixed); a plan says which one a travel is and what each office and
the holder must do. Pure: endpoint availability (circuit state) is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from gateway.grace.policy import Decision, GracePolicy, PaperStatus, default_policy
from gateway.model import VOUCHER_COLOUR, TransactionKind
from gateway.territories import customs_territory

K = TransactionKind


class Mode(StrEnum):
    DIGITAL = "digital"  # eATA declaration through the national system
    PAPER = "paper"  # eATA is not live there: the paper carnet is stamped
    PAPER_FALLBACK = "paper_fallback"  # live, but eATA cannot be used now and paper is accepted
    HOLD = "hold"  # live, cannot be used now, and paper is not accepted: keep and retry


@dataclass(frozen=True, slots=True)
class Leg:
    kind: TransactionKind
    country: str
    territory: str
    mode: Mode
    decision: Decision
    instructions: tuple[str, ...] = ()

    @property
    def paperish(self) -> bool:
        return self.mode in (Mode.PAPER, Mode.PAPER_FALLBACK)


@dataclass(frozen=True, slots=True)
class RoutingPlan:
    day: date
    legs: tuple[Leg, ...]

    @property
    def case(self) -> str:
        """ICC transition-plan itinerary case, e.g. ``digital→mixed``."""
        origin = "paper" if self.legs[0].paperish else "digital"
        rest = {("paper" if leg.paperish else "digital") for leg in self.legs[1:]}
        return f"{origin}→{rest.pop() if len(rest) == 1 else 'mixed'}"


def _legs(origin: str, destination: str, transits: Sequence[str], round_trip: bool) -> list[tuple[K, str]]:
    outward: list[tuple[K, str]] = [(K.EXPORTATION, origin)]
    home, away = customs_territory(origin), customs_territory(destination)
    run: list[str] = []
    for country in [*transits, None]:
        territory = customs_territory(country) if country else None
        if run and territory != customs_territory(run[0]):
            # one transit per customs territory: start at the first office, discharge at the last
            outward += [(K.TRANSIT_START, run[0]), (K.TRANSIT_DISCHARGE, run[-1])]
            run = []
        if country and territory not in (home, away):
            run.append(country)
    outward.append((K.IMPORTATION, destination))
    if not round_trip:
        return outward
    back = [(K.RE_EXPORTATION, destination)]
    transit_legs = [leg for leg in outward if leg[0] in (K.TRANSIT_START, K.TRANSIT_DISCHARGE)]
    for i in range(len(transit_legs) - 2, -1, -2):  # same transits, travelled the other way
        back += [(K.TRANSIT_START, transit_legs[i + 1][1]), (K.TRANSIT_DISCHARGE, transit_legs[i][1])]
    back.append((K.RE_IMPORTATION, origin))
    return outward + back


def plan_travel(
    origin: str,
    destination: str,
    transits: Sequence[str] = (),
    day: date | None = None,
    *,
    available: Callable[[str], bool] = lambda _country: True,
    policy: GracePolicy | None = None,
    round_trip: bool = False,
) -> RoutingPlan:
    """Plan every leg of a travel from ``origin`` (the issuing country) to ``destination``."""
    day = day or date.today()
    policy = policy or default_policy()
    legs = [
        decide_leg(kind, country, day, available=available, policy=policy)
        for kind, country in _legs(origin, destination, transits, round_trip)
    ]
    return RoutingPlan(day, tuple(_mixed(legs)))


def decide_leg(
    kind: TransactionKind,
    country: str,
    day: date,
    *,
    available: Callable[[str], bool] = lambda _country: True,
    policy: GracePolicy | None = None,
) -> Leg:
    """How one declaration goes: digital, paper, paper fallback or hold — and what to tell people."""
    d = (policy or default_policy()).decide(country, day)
    if not d.live:
        mode = Mode.PAPER
    elif available(country):
        mode = Mode.DIGITAL
    elif d.paper_accepted:
        mode = Mode.PAPER_FALLBACK
    else:
        mode = Mode.HOLD
    return Leg(kind, country, customs_territory(country), mode, d, _instructions(kind, mode, d))


def _instructions(kind: K, mode: Mode, d: Decision) -> tuple[str, ...]:
    colour = VOUCHER_COLOUR.get(kind, "")
    match mode:
        case Mode.DIGITAL:
            return (f"declare {kind.value} electronically; customs commit it in eATA",)
        case Mode.PAPER:
            return (
                f"present the paper carnet: customs stamp the {colour} {kind.value} voucher and counterfoil",
            )
        case Mode.PAPER_FALLBACK:
            return (
                f"eATA cannot be used in {d.territory} now; the paper carnet is accepted ({d.rule})",
                f"present the printed {colour} {kind.value} voucher; customs stamp voucher and counterfoil",
                "the paper endorsement is recorded in the gateway afterwards (reconciliation)",
            )
        case Mode.HOLD:
            why = (
                "paper is only encouraged, not committed"
                if d.paper == PaperStatus.UNCONFIRMED
                else "paper is not accepted"
            )
            return (
                f"eATA cannot be used in {d.territory} now and {why}: the declaration is held and retried",
                "the holder and the operator are told; travel only once customs confirm",
            )


def _mixed(legs: list[Leg]) -> list[Leg]:
    """Leaving a digital country for a paper one: the digital export AND the paper cover + counterfoil."""
    if not legs or legs[0].mode != Mode.DIGITAL or not any(leg.paperish for leg in legs[1:]):
        return legs
    first = legs[0]
    extra = "customs also stamp the paper carnet's cover and the yellow exportation counterfoil (ICC transition plan)"
    return [
        Leg(
            first.kind,
            first.country,
            first.territory,
            first.mode,
            first.decision,
            (*first.instructions, extra),
        ),
        *legs[1:],
    ]
