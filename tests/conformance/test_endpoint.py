"""``--endpoint``: the suite against one national system named by a tester (here a simulator on its own port)."""

from __future__ import annotations

import os
from pathlib import Path

from conformance.runner import Options, run_suite
from conformance.runner.results import PASSED, SKIPPED
from conformance.simulators.server import start_simulator
from conformance.simulators.testing import make_keys


def test_endpoint_mode_plays_what_it_can_and_skips_the_rest(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    make_keys(keys, ["CH"])
    saved = os.environ.get("EATA_KEYS_DIR")
    os.environ["EATA_KEYS_DIR"] = str(keys)  # the tester's gateway key
    try:
        with start_simulator(["CH"], keys_dir=keys) as national:
            options = Options(
                territories=["CH"],
                scenarios=[
                    "journey-no-eu-ch",
                    "unknown-office",
                    "invalid-signature",
                    "cancellation",
                    "endpoint-5xx",
                ],
                out_dir=tmp_path / "out",
                endpoint=f"{national.url}/customs/CH/soap",
                trust=keys / "ca.cert.pem",
                signer=keys / "sim-ch.cert.pem",
            )
            result = run_suite(options)
    finally:
        if saved is None:
            os.environ.pop("EATA_KEYS_DIR", None)
        else:
            os.environ["EATA_KEYS_DIR"] = saved
    assert result.target.endswith("/customs/CH/soap")
    statuses = {c.scenario: c.status for c in result.cases}
    assert statuses == {
        "journey-no-eu-ch": PASSED,
        "unknown-office": PASSED,
        "invalid-signature": PASSED,
        "cancellation": SKIPPED,
        "endpoint-5xx": SKIPPED,
    }
    assert result.ok
    assert "EATA_ENDPOINT_CH" not in os.environ  # the endpoint was set for the run only
