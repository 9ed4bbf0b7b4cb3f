"""The relay's CLI commands against the private node."""

from __future__ import annotations

import json

import pytest
from relay_helpers import running
from typer.testing import CliRunner

from devtools.rabbit import RabbitNode
from gateway.cli import app
from gateway.errors import Code
from gateway.relay import Envelope, Final, Publisher, Store, Topology, Worker

runner = CliRunner()

pytestmark = pytest.mark.broker


def test_status_and_dlq_commands(rabbit: RabbitNode, store: Store, territory: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    msgs = [Envelope(kind="claim", territory=territory, carnet_id=f"C{i}", body=b"{}") for i in range(3)]
    with Publisher(rabbit.url, store, topology=Topology(delays_ms=(100,))) as pub:
        pub.declare([territory])
        pub.publish(msgs)
    w = Worker(rabbit.url, territory, lambda e: Final(Code.CUSTOMS_REJECTED, "no"), store, delays_ms=(100,))
    with running(w):
        import time

        deadline = time.monotonic() + 20
        while w.stats["dead"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    amqp = ["--amqp", rabbit.url]

    r = runner.invoke(
        app, ["status", "-t", territory, "--delays", "100", "--store", store.url, "--json", *amqp]
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    dead = next(q for q in data["queues"] if q["role"] == "dead")
    assert dead["messages"] == 3 and data["store"]["outbox_pending"] == 0

    r = runner.invoke(app, ["dlq", "list", "-t", territory, "--json", *amqp])
    assert r.exit_code == 0, r.output
    listed = json.loads(r.output)
    assert {x["message_id"] for x in listed} == {m.message_id for m in msgs}
    assert all(x["code"] == Code.CUSTOMS_REJECTED for x in listed)

    r = runner.invoke(app, ["dlq", "show", "-t", territory, msgs[0].message_id, "--json", *amqp])
    assert r.exit_code == 0 and json.loads(r.output)["reason"] == "no"

    r = runner.invoke(app, ["dlq", "replay", "-t", territory, "--id", msgs[1].message_id, "--json", *amqp])
    assert json.loads(r.output) == {"replayed": 1}
    r = runner.invoke(app, ["dlq", "purge", "-t", territory, "--yes", "--json", *amqp])
    assert json.loads(r.output) == {"purged": 2}
