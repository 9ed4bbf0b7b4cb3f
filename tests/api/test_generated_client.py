"""A Python client generated from the gateway's OpenAPI (openapi-python-client) drives a carnet from issue
to a committed importation in Switzerland, through a real broker, relay workers and the simulators: the
contract is good enough to build working clients from."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.simulators.testing import loopback_world
from devtools.rabbit import RabbitNode
from gateway.adapters.delivery import relay_deliver
from gateway.relay.worker import Worker
from gateway.runtime import Runtime
from gateway.serving import ThreadedServer, free_port
from tests.api.conftest import TRAVEL, day, draft_carnet

pytestmark = pytest.mark.broker
CID = "NO/2026/000999"
PIN = "482913"


def generate(spec: dict[str, Any], where: Path) -> Any:
    """``openapi-python-client generate`` on the spec; returns the generated package, imported."""
    exe = shutil.which("openapi-python-client")
    if exe is None:
        pytest.skip("openapi-python-client is part of the test extras")
    where.mkdir(parents=True, exist_ok=True)
    (where / "openapi.json").write_text(json.dumps(spec))
    (where / "config.yaml").write_text("package_name_override: eata_client\npost_hooks: []\n")
    out = where / "client"
    done = subprocess.run(
        [
            exe,
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.yaml",
            "--meta",
            "none",
            "--output-path",
            str(out),
        ],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (where / "pkg").mkdir()
    out.rename(where / "pkg" / "eata_client")
    sys.path.insert(0, str(where / "pkg"))
    try:
        return importlib.import_module("eata_client")
    finally:
        sys.path.remove(str(where / "pkg"))


@pytest.fixture
def live(
    rabbit: RabbitNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Runtime]]:
    from gateway.api.settings import Settings

    with loopback_world(tmp_path):
        port = free_port()
        monkeypatch.setenv("EATA_AMQP_URL", rabbit.url)
        monkeypatch.setenv("EATA_DATABASE_URL", f"sqlite:///{tmp_path / 'gateway.db'}")
        monkeypatch.setenv("EATA_CALLBACK_URL", f"http://127.0.0.1:{port}/customs/callback")
        runtime = Runtime(Settings()).start()
        server = ThreadedServer(runtime.app, port=port).start()
        workers = [Worker(rabbit.url, t, relay_deliver, runtime.store, concurrency=2) for t in ("NO", "CH")]
        threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
        for t in threads:
            t.start()
        try:
            yield server.url, runtime
        finally:
            for w in workers:
                w.stop()
            for t in threads:
                t.join(timeout=20)
            server.stop()
            runtime.stop()


def test_generated_client_issues_a_carnet_and_commits_an_importation(
    live: tuple[str, Runtime], tmp_path: Path
) -> None:
    url, runtime = live
    spec = httpx.get(f"{url}/openapi.json").json()
    client_pkg = generate(spec, tmp_path / "generated")
    api = importlib.import_module("eata_client.api.issuing_associations.create_carnet_v1_carnets_post")
    m = importlib.import_module("eata_client.models")
    ops = {
        name: importlib.import_module(f"eata_client.api.{tag}.{name}")
        for tag, name in [
            ("issuing_associations", "issue_v1_carnets_carnet_id_issue_post"),
            ("holders", "download_v1_carnets_carnet_id_download_post"),
            ("holders", "sign_v1_carnets_carnet_id_signature_post"),
            ("holders", "create_travel_v1_carnets_carnet_id_travels_post"),
            ("holders", "prepare_v1_carnets_carnet_id_transactions_post"),
            ("holders", "submit_v1_carnets_carnet_id_transactions_transaction_id_submit_post"),
            ("holders", "timeline_v1_carnets_carnet_id_transactions_transaction_id_timeline_get"),
            ("holders", "get_carnet_v1_carnets_carnet_id_get"),
        ]
    }
    _, issuer_key = runtime.db.add_party("issuer", "Oslo Chamber of Commerce")
    _, holder_key = runtime.db.add_party("holder", "Nordlys Film AS")
    issuer = client_pkg.Client(
        base_url=url, headers={"X-API-Key": issuer_key}, raise_on_unexpected_status=True
    )
    holder = client_pkg.Client(
        base_url=url, headers={"X-API-Key": holder_key}, raise_on_unexpected_status=True
    )

    def ok(response: Any, status: int) -> Any:
        assert response.status_code == status, (response.status_code, response.content[:500])
        assert not isinstance(response.parsed, m.Problem), response.parsed
        return response.parsed

    created = ok(
        api.sync_detailed(
            client=issuer, body=m.CreateCarnet.from_dict({"carnet": draft_carnet(CID), "pin": PIN})
        ),
        201,
    )
    assert created.carnet.carnet_id == CID
    ok(ops["issue_v1_carnets_carnet_id_issue_post"].sync_detailed(CID, client=issuer), 200)
    # a wrong PIN comes back as the documented problem, typed
    wrong = ops["download_v1_carnets_carnet_id_download_post"].sync_detailed(
        CID, client=holder, body=m.Download(pin="000000")
    )
    assert (
        wrong.status_code == 404
        and isinstance(wrong.parsed, m.Problem)
        and wrong.parsed.problems[0].code == 301
    )
    ok(
        ops["download_v1_carnets_carnet_id_download_post"].sync_detailed(
            CID, client=holder, body=m.Download(pin=PIN)
        ),
        200,
    )
    ok(
        ops["sign_v1_carnets_carnet_id_signature_post"].sync_detailed(
            CID, client=holder, body=m.SignCarnet(signer="Ingrid Berg")
        ),
        200,
    )
    ok(
        ops["create_travel_v1_carnets_carnet_id_travels_post"].sync_detailed(
            CID, client=holder, body=m.Travel.from_dict(TRAVEL)
        ),
        201,
    )

    def declare(kind: str, office: str, items: str) -> str:
        body = m.PrepareTransaction.from_dict(
            {
                "kind": kind,
                "territory": office[:2],
                "office": office,
                "date": day(0),
                "items": items,
                "travel_id": "t1",
            }
        )
        tx = ok(
            ops["prepare_v1_carnets_carnet_id_transactions_post"].sync_detailed(
                CID, client=holder, body=body
            ),
            201,
        )
        tracking = ok(
            ops["submit_v1_carnets_carnet_id_transactions_transaction_id_submit_post"].sync_detailed(
                CID, tx.transaction_id, client=holder
            ),
            202,
        )
        assert tracking.tracking_id
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            events = ok(
                ops["timeline_v1_carnets_carnet_id_transactions_transaction_id_timeline_get"].sync_detailed(
                    CID, tx.transaction_id, client=holder
                ),
                200,
            )
            kinds = [e["kind"] if isinstance(e, dict) else e.to_dict()["kind"] for e in events]
            if {"committed", "rejected", "held", "paper_fallback"} & set(kinds):
                assert "committed" in kinds, kinds
                return tx.transaction_id
            time.sleep(0.2)
        raise AssertionError(f"{kind} not answered in time")

    declare("activation", "NO01011A", "all")
    declare("exportation", "NO02011B", "all")
    importation = declare("importation", "CH001801", "all")
    doc = ok(ops["get_carnet_v1_carnets_carnet_id_get"].sync_detailed(CID, client=holder), 200)
    tx = next(t for t in doc.transactions if t.transaction_id == importation)
    assert str(tx.state.value if hasattr(tx.state, "value") else tx.state) == "committed"
    assert tx.endorsement.office == "CH001801"
