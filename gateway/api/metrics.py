"""Prometheus metrics of the gateway (own registry, so several apps in one test process don't clash)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "eata_messages_total",
            "Customs messages by territory, kind and outcome",
            ["territory", "kind", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "eata_customs_latency_seconds",
            "Submission to customs answer",
            ["territory"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "eata_queue_depth", "Messages waiting per relay queue", ["queue"], registry=self.registry
        )
        self.retries = Counter(
            "eata_retries_total", "Deliveries retried", ["territory"], registry=self.registry
        )
        self.dlq = Gauge(
            "eata_dlq_size", "Messages in dead-letter queues", ["territory"], registry=self.registry
        )
        self.requests = Counter(
            "eata_submissions_total", "Transactions submitted through the API", registry=self.registry
        )
        self.sampler: Callable[[Metrics], None] | None = None  # fills the gauges from the broker on scrape

    def submitted(self, *_: object) -> None:
        self.requests.inc()

    def answered(self, territory: str, kind: str, outcome: str, seconds: float | None) -> None:
        self.messages.labels(territory, kind, outcome).inc()
        if seconds is not None:
            self.latency.labels(territory).observe(seconds)

    def render(self) -> bytes:
        if self.sampler is not None:
            with contextlib.suppress(Exception):  # a broker hiccup must not break the scrape
                self.sampler(self)
        return generate_latest(self.registry)
