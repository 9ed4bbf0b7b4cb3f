"""/metrics never opens an AMQP connection of its own: the broker's queue depths are sampled at most once
per interval and cached, refreshed in the background; the outbox figures are read on every scrape."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import pytest

from gateway.api.metrics import BrokerSampler, Metrics
from gateway.relay.depths import Depth


class Broker:
    def __init__(self) -> None:
        self.calls = 0
        self.work = 3
        self.down = False
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, _url: str, territories: Sequence[str]) -> list[Depth]:
        self.calls += 1
        self.gate.wait(10)
        if self.down:
            raise ConnectionError("Connection refused")
        out = []
        for t in territories:
            out += [
                Depth(t, "work", f"eata.work.{t}", self.work, 1),
                Depth(t, "retry 1000ms", f"eata.retry.{t}.1000ms", 2, 0),
                Depth(t, "dead", f"eata.dead.{t}", 1, 0),
            ]
        return out


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def _metrics(broker: Broker, clock: Clock, pending: list[int]) -> tuple[Metrics, BrokerSampler]:
    m = Metrics()
    sampler = BrokerSampler(
        "amqp://nowhere",
        ["NO", "SE"],
        outbox_counts=lambda: {"outbox_pending": pending[0]},
        interval=15,
        depths=broker,
        clock=clock,
    )
    m.sampler = sampler
    return m, sampler


def _wait_refreshed() -> None:
    for t in threading.enumerate():
        if t.name == "eata-metrics-broker":
            t.join(10)


def test_scrapes_share_one_sample_per_interval_and_refresh_in_the_background() -> None:
    broker, clock, pending = Broker(), Clock(), [4]
    m, _ = _metrics(broker, clock, pending)
    first = m.render().decode()  # the first scrape waits for one sample
    assert 'eata_queue_depth{queue="eata.work.NO",role="work",territory="NO"} 3.0' in first
    assert (
        'eata_dlq_size{territory="SE"} 1.0' in first and 'eata_retrying_messages{territory="NO"} 2.0' in first
    )
    assert 'eata_outbox_messages{state="outbox_pending"} 4.0' in first
    for _ in range(20):
        m.render()
    assert broker.calls == 1  # twenty more scrapes, no broker connection

    pending[0], broker.work = 0, 7
    clock.now += 14
    assert 'eata_outbox_messages{state="outbox_pending"} 0.0' in m.render().decode()  # outbox: every scrape
    assert broker.calls == 1
    clock.now += 2  # the cache is now older than the interval: one refresh, in the background
    broker.gate.clear()
    stale = m.render().decode()  # answers at once with what it has
    assert 'territory="NO"} 3.0' in stale and "eata_queue_sample_age_seconds 16.0" in stale
    for _ in range(5):
        m.render()  # the refresh under way is not started twice
    broker.gate.set()
    _wait_refreshed()
    assert broker.calls == 2
    fresh = m.render().decode()
    assert 'eata_queue_depth{queue="eata.work.NO",role="work",territory="NO"} 7.0' in fresh
    assert "eata_queue_sample_age_seconds 0.0" in fresh


def test_a_broker_away_never_breaks_the_scrape_and_is_tried_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker, clock, pending = Broker(), Clock(), [9]
    broker.down = True
    m, _ = _metrics(broker, clock, pending)
    with caplog.at_level(logging.WARNING, logger="eata.metrics"):
        text = m.render().decode()
        for _ in range(10):
            m.render()
    assert 'eata_outbox_messages{state="outbox_pending"} 9.0' in text and "eata_queue_depth{" not in text
    assert broker.calls == 1
    assert [r.getMessage() for r in caplog.records if r.name == "eata.metrics"] == [
        "broker queue sampling failed: Connection refused"
    ]
    broker.down = False
    clock.now += 15
    assert 'territory="NO"} 3.0' in m.render().decode()  # no sample yet: this scrape waits for one
    assert broker.calls == 2
