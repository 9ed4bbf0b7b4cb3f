"""``eata-gateway chain send|pending|consume`` and ``claims notify`` against the session broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from chain_helpers import wait_for

from gateway.chain.relay import ChainRelay, chain_queue
from tests.broker import depth
from tests.conftest import EXAMPLES, ROOT

JOURNEY = EXAMPLES / "journey-no-eu-ch.json"


def cli(relay: ChainRelay, keys_dir: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(relay, keys_dir),
        cwd=ROOT,
        **kw,  # type: ignore[call-overload]
    )


def _env(relay: ChainRelay, keys_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(EATA_AMQP_URL=relay.url, EATA_STORE_URL=relay.store.url, EATA_CHAIN_KEYS=str(keys_dir))
    return env


def test_send_pending_consume(relay: ChainRelay, keys_dir: Path) -> None:
    r = cli(
        relay, keys_dir, "chain", "send", "carnet_issued", "--carnet", str(JOURNEY), "--to", "WCF", "--json"
    )
    assert r.returncode == 0, r.stderr
    sent = json.loads(r.stdout)
    assert sent["sender"] == "NO-OCC" and sent["kind"] == "carnet_issued"
    r = cli(relay, keys_dir, "chain", "pending", "--json")
    assert [p["message_id"] for p in json.loads(r.stdout)] == [sent["message_id"]]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gateway", "chain", "consume", "--party", party],
            env=_env(relay, keys_dir),
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for party in ("WCF", "NO-OCC")
    ]
    try:
        wait_for(lambda: not relay.pending(), timeout=60)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            assert p.wait(30) == 0, p.stderr.read() if p.stderr else ""
    row = relay.chain.sent_row(sent["message_id"])
    assert row is not None and row.ack_status == "accepted"
    assert relay.chain.carnet_status("WCF", "NO/2026/000123") == "issued"


def test_claims_notify_refuses_a_barred_claim_and_publishes_nothing(
    relay: ChainRelay, keys_dir: Path, tmp_path: Path
) -> None:
    d = json.loads(JOURNEY.read_text())
    d["claims"] = [
        {
            "claim_id": "CH-2028-1",
            "territory": "CH",
            "carnet_id": "NO/2026/000123",
            "items": "1-2",
            "duties": "1000.00",
            "currency": "CHF",
            "notified_on": "2028-09-01",
        }
    ]
    f = tmp_path / "barred.json"
    f.write_text(json.dumps(d))
    r = cli(relay, keys_dir, "claims", "notify", str(f), "--json")
    assert r.returncode == 1, r.stderr
    p = json.loads(r.stdout)["problems"][0]
    assert (p["code"], p["pointer"], p["article"]) == (320, "/claims/0/notified_on", "Annex A Art. 8.4")
    assert depth(relay.url, chain_queue("CH-SCF")) == 0 and relay.chain.sent_rows() == []
    d["claims"][0]["notified_on"] = "2027-09-15"
    f.write_text(json.dumps(d))
    r = cli(relay, keys_dir, "claims", "notify", str(f), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["to"] == "CH-SCF"
    assert depth(relay.url, chain_queue("CH-SCF")) == 1
