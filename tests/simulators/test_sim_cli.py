"""``eata-gateway simulate`` serves a territory over HTTP from the command line."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from conformance.simulators.server import free_port


def test_simulate_command_serves_a_territory(tmp_path: Path) -> None:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "gateway",
        "simulate",
        "--territory",
        "CH",
        "--port",
        str(port),
        "--keys-dir",
        str(tmp_path / "keys"),
        "--make-test-pki",
        "--faults",
        "flaky",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", trust_env=False).json()
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    proc.stdout.read() if proc.stdout else ""
                )
                time.sleep(0.1)
        assert health == {"ok": True, "territories": ["CH"]}
        faults = httpx.get(f"http://127.0.0.1:{port}/_control/faults", trust_env=False).json()
        assert faults == {"profile": "flaky"}
        assert (tmp_path / "keys" / "sim-ch.key.pem").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_simulate_refuses_unknown_fault_profile(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gateway.cli import app

    result = CliRunner().invoke(app, ["simulate", "--territory", "CH", "--faults", "meteor"])
    assert result.exit_code == 2
