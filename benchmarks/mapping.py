"""Mapping-engine benchmark (issue 16): per-message µs of ``to_xml`` and ``from_xml`` on the relay
benchmark's message (the NO importation declaration, as benchmarks/relay.py builds it), then the top
functions under cProfile.

    python benchmarks/mapping.py [--messages 500] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if (ROOT.parent / "shared" / "standards").is_dir():  # the official schemas, as tests/conftest.py does
    os.environ.setdefault("EATA_OFFICIAL_SCHEMAS", str(ROOT.parent / "shared" / "standards"))

from conformance.simulators.testing import journey_declaration  # noqa: E402
from gateway.translate import from_xml, to_xml  # noqa: E402

TERRITORY = "NO"  # as benchmarks/relay.py: SOAP, no national quirk rule


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=500)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    decl = journey_declaration(TERRITORY, message_id="BENCH", carnet_id="BENCHC000")
    root = to_xml(decl, TERRITORY)
    from_xml(root, TERRITORY)  # warm: mappings, schemas, codelists loaded once per process
    n = args.messages
    t = time.perf_counter()
    for _ in range(n):
        to_xml(decl, TERRITORY)
    enc = (time.perf_counter() - t) / n * 1e6
    t = time.perf_counter()
    for _ in range(n):
        from_xml(root, TERRITORY)
    dec = (time.perf_counter() - t) / n * 1e6
    print(f"to_xml   {enc:8.1f} µs/message (with XSD profile check)")
    print(f"from_xml {dec:8.1f} µs/message")
    for name, fn in (
        ("to_xml", lambda: to_xml(decl, TERRITORY)),
        ("from_xml", lambda: from_xml(root, TERRITORY)),
    ):
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            fn()
        prof.disable()
        print(f"\n--- {name}: top {args.top} by own time ---")
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
