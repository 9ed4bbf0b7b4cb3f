"""Property tests: generated journeys replay deterministically and never re-export more than imported."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.items import format_items
from gateway.model import load_document
from gateway.rules import Where, replay
from tests.rules.helpers import base_carnet, tx

# Offices abroad, by customs territory (the EU one territory with several member-state offices).
ABROAD = {
    "EU": ["DE004600", "FR000630", "SE000300"],
    "CH": ["CH001000", "CH002000"],
    "GB": ["GB000060", "GB000011"],
}
HOME = "NO000100"


@st.composite
def journeys(draw: st.DrawFn) -> list[dict]:
    """Random valid itineraries: each step picks items whose state allows the move."""
    where = dict.fromkeys(range(1, 5), "home")  # item -> home | out | territory
    day = date(2026, 10, 1)
    txs = [tx(0, "activation", HOME, day.isoformat(), "all")]
    for n in range(1, draw(st.integers(min_value=1, max_value=25))):
        day += timedelta(days=draw(st.integers(min_value=0, max_value=10)))
        moves = []
        if any(v == "home" for v in where.values()):
            moves.append("exportation")
        if any(v == "out" for v in where.values()):
            moves += ["importation", "re_importation"]
        if any(v in ABROAD for v in where.values()):
            moves.append("re_exportation")
        kind = draw(st.sampled_from(moves))
        if kind == "exportation":
            pool, office, new = [i for i, v in where.items() if v == "home"], HOME, "out"
        elif kind == "re_importation":
            pool, office, new = [i for i, v in where.items() if v == "out"], HOME, "home"
        elif kind == "importation":
            territory = draw(st.sampled_from(sorted(ABROAD)))
            pool, office, new = (
                [i for i, v in where.items() if v == "out"],
                draw(st.sampled_from(ABROAD[territory])),
                territory,
            )
        else:
            territory = draw(st.sampled_from(sorted({v for v in where.values() if v in ABROAD})))
            pool, office, new = (
                [i for i, v in where.items() if v == territory],
                draw(st.sampled_from(ABROAD[territory])),
                "out",
            )
        chosen = draw(st.lists(st.sampled_from(pool), min_size=1, unique=True))
        for i in chosen:
            where[i] = new
        extra = {"not_processed_abroad": True} if kind == "re_importation" else {}
        txs.append(tx(n, kind, office, day.isoformat(), format_items(chosen), **extra))
    return txs


def build(txs: list[dict]):  # type: ignore[no-untyped-def]
    carnet = base_carnet(valid_until="2027-08-31")
    return load_document(json.dumps({"schema": "eata/v1", "carnet": carnet, "transactions": txs}))


@settings(max_examples=150, deadline=None)
@given(journeys())
def test_generated_journeys_are_accepted_and_consistent(txs: list[dict]) -> None:
    d = build([t for t in txs if t["date"] <= "2027-08-31"])
    ledger = replay(d)
    imported, reexported = Counter(), Counter()
    for t in ledger.applied:
        for i in (int(x) for part in t.items.split(",") for x in _expand(part)) if t.items != "all" else []:
            if t.kind == "importation":
                imported[i] += 1
            elif t.kind == "re_exportation":
                reexported[i] += 1
    for item in range(1, 5):
        assert reexported[item] <= imported[item]
        assert imported[item] - reexported[item] == (
            1 if ledger.positions[item].where == Where.ADMITTED else 0
        )


@settings(max_examples=50, deadline=None)
@given(journeys())
def test_replay_is_deterministic(txs: list[dict]) -> None:
    d = build([t for t in txs if t["date"] <= "2027-08-31"])
    assert replay(d).positions == replay(d).positions


def _expand(part: str) -> range:
    lo, _, hi = part.partition("-")
    return range(int(lo), int(hi or lo) + 1)
