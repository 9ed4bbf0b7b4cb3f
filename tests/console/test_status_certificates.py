"""`eata-gateway status` names the certificates of EATA_KEYS_DIR that expire within 30 days."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devtools.rabbit import RabbitNode
from gateway.cli import app
from tests.console.test_browser import expiring_certificate

pytestmark = pytest.mark.broker


def test_status_warns_of_expiring_certificates(
    rabbit: RabbitNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    expiring_certificate(keys / "trust" / "CH" / "signers" / "bazg.pem", days=6)
    expiring_certificate(keys / "trust" / "CH" / "anchors" / "ca.pem", days=400)
    monkeypatch.setenv("EATA_KEYS_DIR", str(keys))
    store = ["--store", f"sqlite:///{tmp_path / 'relay.db'}", "--amqp", rabbit.url]
    runner = CliRunner()
    out = runner.invoke(app, ["status", "-t", "CH", *store, "--json"])
    assert out.exit_code == 0, out.output
    certs = {c["role"]: c for c in json.loads(out.output)["certificates"]}
    assert certs["signer"]["days_left"] == 6 and certs["signer"]["level"] == "urgent"
    assert certs["anchor"]["level"] == "ok" and certs["signer"]["territory"] == "CH"
    text = runner.invoke(app, ["status", "-t", "CH", *store])
    assert text.exit_code == 0 and "certificate urgent" in text.output and "expires in 6 days" in text.output
