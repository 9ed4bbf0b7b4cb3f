"""Conformance benchmark: the full run (30 territories × all scenarios against the simulators) must take ≤ 60 s.

Floor, measured in the same run: one territory (SE) playing every scenario that applies to it with one
worker, i.e. the suite done serially, scaled to the number of cases of the full run. The ratio
full / serial-scaled says what running territories in parallel buys on this machine (below 1 is a gain;
on a machine with few cores the GIL and the one simulator process bound it). The floor plays the fault
scenarios too (retries against a hanging or failing system: waiting, not work), in the same share of
cases as the full run, so both sides carry the same waits. Both runs include their
own set-up (TEST PKI for 30 territories, simulator and callback servers) so they compare like with like;
the set-up is printed separately.

    python benchmarks/conformance.py [--workers N]
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from conformance.runner import Options, run_suite  # noqa: E402
from conformance.runner.runner import plan  # noqa: E402
from conformance.runner.scenarios import load_scenarios  # noqa: E402
from gateway.adapters import registry  # noqa: E402

LIMIT = 60.0
FLOOR_TERRITORY = "SE"  # SOAP, an EU member: every scenario but the CH journey applies


def timed(options: Options) -> tuple[float, float, int, int]:
    """Wall time of the whole call, the runner's own time (without set-up), cases, failures."""
    t = time.perf_counter()
    result = run_suite(options)
    wall = time.perf_counter() - t
    for case in result.failures():
        print(f"  FAILED {case.territory} {case.scenario}: {case.diagnosis}")
    return wall, result.seconds, len(result.cases), len(result.failures())


def main() -> None:
    workers = int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 30
    cases_full = len(plan(load_scenarios(), registry.codes()))
    with tempfile.TemporaryDirectory() as tmp:
        serial = timed(Options(territories=[FLOOR_TERRITORY], workers=1, out_dir=Path(tmp) / "serial"))
        full = timed(Options(workers=workers, out_dir=Path(tmp) / "full"))
    per_case = serial[1] / serial[2]
    scaled = per_case * cases_full
    print(
        f"cpus: {os.cpu_count()}  workers: {workers}  cases: {full[2]} (30 territories × applicable scenarios)"
    )
    print(f"{'run':<34} {'wall s':>7} {'play s':>7} {'cases':>6} {'failed':>6}")
    print(
        f"{'serial floor: ' + FLOOR_TERRITORY + ', 1 worker':<34} {serial[0]:>7.2f} {serial[1]:>7.2f} "
        f"{serial[2]:>6} {serial[3]:>6}"
    )
    print(f"{'full run, parallel':<34} {full[0]:>7.2f} {full[1]:>7.2f} {full[2]:>6} {full[3]:>6}")
    print(f"serial floor scaled to {cases_full} cases: {scaled:.2f} s ({per_case * 1e3:.0f} ms a case)")
    print(f"ratio full / serial-scaled (play time): {full[1] / scaled:.2f}×")
    print(f"set-up (keys, servers) in the full run: {full[0] - full[1]:.2f} s")
    status = "OK" if full[0] <= LIMIT else "TOO SLOW"
    print(f"full run wall time {full[0]:.1f} s, limit {LIMIT:.0f} s: {status}")
    # ru_maxrss is KiB on Linux: the whole process, simulators, libxml2 and OpenSSL included.
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if full[3] or full[0] > LIMIT:
        sys.exit(1)


if __name__ == "__main__":
    main()
