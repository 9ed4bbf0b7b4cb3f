"""Mapping-engine benchmark (issue 16): per-message µs of ``to_xml`` and ``from_xml`` on the relay
benchmark's message (the NO importation declaration, as benchmarks/relay.py builds it), for the compiled
engine and the interpreter it replaced (tests/translate/reference_engine.py, the tests' oracle), timed
in interleaved rounds in this one process; then the top functions of the compiled engine under cProfile.

Two levels: the engine alone (``engine.to_xml`` / ``engine.from_xml`` on the JSON dict and the tree),
and the translation as the relay calls it (``gateway.translate.to_xml``: model dump, engine, XSD profile
check; ``from_xml``: official schema, engine, model validation), with ``core.engine`` swapped for the old
run. Medians over the rounds; the ratio is new/old (below 1: faster).

    python benchmarks/mapping.py [--messages 100] [--rounds 21] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if (ROOT.parent / "shared" / "standards").is_dir():  # the official schemas, as tests/conftest.py does
    os.environ.setdefault("EATA_OFFICIAL_SCHEMAS", str(ROOT.parent / "shared" / "standards"))

from conformance.simulators.testing import journey_declaration  # noqa: E402
from gateway.translate import core, engine, from_xml, mapping_for, official, to_xml  # noqa: E402
from tests.translate import reference_engine  # noqa: E402  (the oracle: benchmarks only, never the runtime)

TERRITORY = "NO"  # as benchmarks/relay.py: SOAP, no national quirk rule


def _per_message(fn: Callable[[], Any], n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1e6


def _with(module: Any, fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` with the translation core calling ``module`` as its engine."""

    def run() -> Any:
        names = vars(core)  # the module's own namespace: what ``engine.to_xml`` in core.py looks up
        names["engine"] = module
        try:
            return fn()
        finally:
            names["engine"] = engine

    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    decl = journey_declaration(TERRITORY, message_id="BENCH", carnet_id="BENCHC000")
    root = to_xml(decl, TERRITORY)
    from_xml(root, TERRITORY)  # warm: mappings, schemas, codelists (and the compiled plans) once per process
    m = mapping_for(decl)
    data = decl.model_dump(mode="json", exclude_none=True)
    params = {"territory": TERRITORY}
    inner = official.unwrap(root)[0]
    cases: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "engine to_xml": (
            lambda: engine.to_xml(m, data, TERRITORY, params),
            lambda: reference_engine.to_xml(m, data, TERRITORY, params),
        ),
        "engine from_xml": (
            lambda: engine.from_xml(m, inner, TERRITORY),
            lambda: reference_engine.from_xml(m, inner, TERRITORY),
        ),
        "to_xml (with XSD profile)": (
            lambda: to_xml(decl, TERRITORY),
            _with(reference_engine, lambda: to_xml(decl, TERRITORY)),
        ),
        "from_xml (with official XSD)": (
            lambda: from_xml(root, TERRITORY),
            _with(reference_engine, lambda: from_xml(root, TERRITORY)),
        ),
    }
    for new, old in cases.values():  # same answers, and both warm
        assert _with(reference_engine, old)() is not None and new() is not None
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in cases}
    for i in range(args.rounds):
        for name, (new, old) in cases.items():
            pair = ((new, 0), (old, 1)) if i % 2 == 0 else ((old, 1), (new, 0))  # alternate who goes first
            for fn, which in pair:
                times[name][which].append(_per_message(fn, args.messages))
    print(
        f"load average {os.getloadavg()[0]:.2f}; {args.rounds} rounds × {args.messages} messages; µs/message"
    )
    print(f"{'':32} {'old':>9} {'new':>9} {'new/old':>8}")
    for name, (new_t, old_t) in times.items():
        a, b = statistics.median(old_t), statistics.median(new_t)
        print(f"{name:32} {a:9.1f} {b:9.1f} {b / a:8.2f}")
    for name, fn in (
        ("to_xml", lambda: to_xml(decl, TERRITORY)),
        ("from_xml", lambda: from_xml(root, TERRITORY)),
    ):
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.messages):
            fn()
        prof.disable()
        print(f"\n--- {name}: top {args.top} by own time ---")
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
