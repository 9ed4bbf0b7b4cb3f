"""Grace policy and routing plans: the six ICC itinerary cases, and dates around the grace windows."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.grace import GracePolicy, Mode, PaperStatus, default_policy, plan_travel
from gateway.model import TransactionKind as K

DURING = date(2026, 10, 5)
down = lambda country: lambda c: c != country  # noqa: E731  # the national endpoint of `country` is down


@pytest.mark.parametrize(
    ("origin", "destination", "transits", "available", "case"),
    [
        ("TR", "US", [], lambda c: True, "paper→paper"),  # neither live in eATA
        ("TR", "CH", [], lambda c: True, "paper→digital"),
        ("NO", "CH", ["SE", "DE"], lambda c: True, "digital→digital"),
        ("NO", "US", [], lambda c: True, "digital→paper"),
        ("TR", "CH", ["BG", "RS"], lambda c: True, "paper→mixed"),  # EU transit digital, Serbia paper
        ("NO", "CH", ["SE", "DE"], down("CH"), "digital→mixed"),  # CH down: paper fallback there
    ],
)
def test_six_itinerary_cases(
    origin: str, destination: str, transits: list[str], available, case: str
) -> None:  # type: ignore[no-untyped-def]
    assert plan_travel(origin, destination, transits, DURING, available=available).case == case


def test_the_eu_is_one_transit() -> None:
    plan = plan_travel("NO", "CH", ["SE", "DK", "DE"], DURING)
    assert [(leg.kind, leg.country) for leg in plan.legs] == [
        (K.EXPORTATION, "NO"),
        (K.TRANSIT_START, "SE"),
        (K.TRANSIT_DISCHARGE, "DE"),
        (K.IMPORTATION, "CH"),
    ]


def test_round_trip_returns_through_the_same_transit_reversed() -> None:
    plan = plan_travel("NO", "CH", ["SE", "DE"], DURING, round_trip=True)
    assert [(leg.kind, leg.country) for leg in plan.legs][4:] == [
        (K.RE_EXPORTATION, "CH"),
        (K.TRANSIT_START, "DE"),
        (K.TRANSIT_DISCHARGE, "SE"),
        (K.RE_IMPORTATION, "NO"),
    ]


def test_digital_to_paper_gets_both_export_and_stamp_instruction() -> None:
    export = plan_travel("NO", "US", [], DURING).legs[0]
    assert export.mode == Mode.DIGITAL
    assert any("yellow exportation counterfoil" in i for i in export.instructions)


@pytest.mark.parametrize(
    ("country", "day", "mode", "rule"),
    [
        ("GB", date(2026, 5, 31), Mode.PAPER, None),  # before eATA went live
        ("GB", date(2026, 6, 1), Mode.PAPER_FALLBACK, "gb-no-ch-grace-year"),
        ("NO", date(2027, 5, 31), Mode.PAPER_FALLBACK, "gb-no-ch-grace-year"),
        ("CH", date(2027, 6, 1), Mode.HOLD, "icc-gtp-encouraged"),  # after the year: only encouraged
        ("DE", date(2026, 10, 5), Mode.HOLD, "icc-gtp-encouraged"),  # EU: unconfirmed
        ("DE", date(2028, 1, 1), Mode.HOLD, None),  # after ICC's plan: nothing
        ("FR", date(2028, 1, 1), Mode.HOLD, None),
    ],
)
def test_fallback_before_during_after_grace(country: str, day: date, mode: Mode, rule: str | None) -> None:
    leg = plan_travel("NO" if country != "NO" else "SE", country, [], day, available=down(country)).legs[-1]
    assert leg.mode == mode
    if rule:
        assert leg.decision.rule == rule
    if mode == Mode.HOLD:
        assert any("held and retried" in i for i in leg.instructions)


def test_operator_confirmation_turns_an_eu_state_into_paper_fallback() -> None:
    base = default_policy()
    confirmed = GracePolicy(
        base.live,
        base.paper,
        GracePolicy.from_data(
            {},
            [
                {
                    "id": "de-confirmed-by-operator",
                    "territories": ["DE"],
                    "from": date(2026, 6, 1),
                    "until": date(2027, 12, 31),
                    "status": "confirmed",
                    "source": "Generalzolldirektion letter of 2026-07-01",
                }
            ],
        ).overrides,
    )
    leg = plan_travel("NO", "DE", [], DURING, available=down("DE"), policy=confirmed).legs[-1]
    assert leg.mode == Mode.PAPER_FALLBACK
    assert leg.decision.paper == PaperStatus.CONFIRMED
    assert "Generalzolldirektion" in (leg.decision.source or "")


def test_every_decision_names_its_rule_and_source() -> None:
    d = default_policy().decide("GB", DURING)
    assert d.rule == "gb-no-ch-grace-year" and "one year" in (d.source or "")
    assert "accepts the paper carnet" in d.explain()
