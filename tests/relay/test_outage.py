"""Operational truth while the broker is away: the outbox drainer says so once per outage (not per row) and
once when it publishes again, /metrics and /readyz show what waits and why, and a worker's reconnects are
one line per attempt with growing delays, no pika ERROR lines or tracebacks."""

from __future__ import annotations

import logging
import socket
import threading
import time

import httpx
import pytest

from devtools.rabbit import RabbitNode
from gateway.api.background import OutboxDrainer
from gateway.api.settings import Settings
from gateway.relay import Envelope, Publisher, Store
from gateway.relay.outcome import Done
from gateway.relay.worker import Worker
from gateway.serving import serving

pytestmark = pytest.mark.broker


def _dead_broker() -> str:
    with socket.socket() as s:  # a port nobody listens on: connection refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"amqp://guest:guest@127.0.0.1:{port}/%2F?connection_attempts=1&socket_timeout=1"


def _envs(territory: str, n: int) -> list[Envelope]:
    return [
        Envelope(kind="declaration", territory=territory, carnet_id=f"C{i % 5}", body=b"<x/>")
        for i in range(n)
    ]


def _ours(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger]


def test_the_drainer_logs_an_outage_once_and_its_end_once(
    rabbit: RabbitNode, store: Store, territory: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    publisher = Publisher(_dead_broker(), store, timeout=2)
    failures: list[int] = []
    drainer = OutboxDrainer(publisher, [territory], on_failures=failures.append)  # one per failed round
    publisher.accept(_envs(territory, 120))
    for _ in range(4):
        assert drainer.round() is not None
    assert drainer.error and "broker unreachable" in drainer.error and drainer.down_since
    assert failures == [1, 1, 1, 1]
    lines = [r.getMessage() for r in _ours(caplog, "eata.background")]
    assert len(lines) == 1 and "cannot publish" in lines[0], lines
    assert not [r for r in caplog.records if r.name.startswith("pika") and r.levelno >= logging.ERROR]
    assert not [r for r in caplog.records if r.exc_info]

    publisher.url = rabbit.url  # the broker is back
    publisher.declare([territory])
    assert drainer.round() is None
    assert drainer.error is None and drainer.down_since is None
    lines = [r.getMessage() for r in _ours(caplog, "eata.background")]
    assert len(lines) == 2 and "publishing again" in lines[1], lines
    assert store.outbox_counts()["outbox_pending"] == 0
    publisher.close()


def test_rows_not_confirmed_are_counted_once_per_attempt(store: Store, territory: str) -> None:
    publisher = Publisher(_dead_broker(), store, timeout=2)
    publisher.accept(_envs(territory, 30))
    publisher.drain()
    assert publisher.failures_total == 30 and "30 of 30 not confirmed" in (publisher.drain_error or "")
    publisher.close()


def test_readyz_and_metrics_say_what_is_down(db_url: str) -> None:
    from gateway.runtime import Runtime

    runtime = Runtime(Settings(database_url=db_url, amqp_url=_dead_broker(), share_secret="x"))
    assert runtime.drainer is not None
    runtime.drainer.publisher.accept(_envs("NO", 7))
    time.sleep(0.05)
    runtime.drainer.publisher.timeout = 2
    assert runtime.drainer.round() is not None
    assert runtime.drainer.round() is not None
    with serving(runtime.app) as server:
        ready = httpx.get(f"{server.url}/readyz", timeout=30)
        metrics = httpx.get(f"{server.url}/metrics", timeout=30).text
    assert ready.status_code == 503
    failures = ready.json()["failures"]
    assert "broker" in failures and "not publishing" in failures["outbox"]
    assert "7 waiting" in failures["outbox"]
    assert "eata_outbox_publish_failures_total 2.0" in metrics
    assert 'eata_outbox_messages{state="outbox_pending"} 7.0' in metrics
    assert "eata_outbox_publishing 0.0" in metrics
    age = next(line for line in metrics.splitlines() if line.startswith("eata_outbox_oldest_age_seconds "))
    assert float(age.split()[1]) > 0
    runtime.drainer.publisher.close()
    runtime.store.dispose()


def test_a_worker_reconnects_with_back_off_one_line_per_attempt(
    store: Store, territory: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    worker = Worker(_dead_broker(), territory, lambda e: Done(None), store, reconnect_delay=0.4)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    time.sleep(3.5)
    worker.stop()
    thread.join(10)
    assert not thread.is_alive()
    lines = [r.getMessage() for r in _ours(caplog, "eata.relay.worker")]
    assert 3 <= len(lines) <= 6, lines  # 0.2 + 0.4 + 0.8 + 1.6 s …: not a reconnect storm
    assert all("reconnect attempt" in line and "unreachable" in line for line in lines), lines
    delays = [float(line.rsplit(" in ", 1)[1].split()[0]) for line in lines]
    assert delays == sorted(delays) or delays[-1] > delays[0], delays
    assert not [r for r in caplog.records if r.name.startswith("pika") and r.levelno >= logging.ERROR]
    assert not [r for r in caplog.records if r.exc_info]
