"""Prometheus metrics of the gateway (own registry, so several apps in one test process don't clash).

Counters move as this process records customs outcomes (the service's observers); gauges are sampled
on scrape from the broker (queue depths, retry tiers, dead letters) and the outbox by ``sampler``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from gateway.relay.backoff import reason

log = logging.getLogger("eata.metrics")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "eata_messages_total",
            "Customs outcomes by territory, transaction kind and outcome",
            ["territory", "kind", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "eata_customs_latency_seconds",
            "Submission to customs' outcome",
            ["territory"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "eata_queue_depth",
            "Messages waiting per relay queue",
            ["territory", "role", "queue"],
            registry=self.registry,
        )
        self.retrying = Gauge(
            "eata_retrying_messages",
            "Messages waiting in retry tiers before another delivery attempt",
            ["territory"],
            registry=self.registry,
        )
        self.dlq = Gauge(
            "eata_dlq_size", "Messages in dead-letter queues", ["territory"], registry=self.registry
        )
        self.outbox = Gauge(
            "eata_outbox_messages", "Accepted submissions by outbox state", ["state"], registry=self.registry
        )
        self.outbox_oldest_age = Gauge(
            "eata_outbox_oldest_age_seconds",
            "Age of the oldest accepted submission not yet published (0 when the outbox is empty)",
            registry=self.registry,
        )
        self.outbox_failures = Counter(
            "eata_outbox_publish_failures",
            "Outbox drain rounds that stopped short (broker unreachable, rows not confirmed)",
            registry=self.registry,
        )
        self.outbox_publishing = Gauge(
            "eata_outbox_publishing",
            "1 while the outbox drainer can publish, 0 during an outage",
            registry=self.registry,
        )
        self.requests = Counter(
            "eata_submissions_total", "Transactions submitted through the API", registry=self.registry
        )
        self.sampler: Callable[[Metrics], None] | None = None  # fills the gauges on scrape

    def submitted(self, *_: object) -> None:
        self.requests.inc()

    def answered(self, territory: str, kind: str, outcome: str, seconds: float | None) -> None:
        self.messages.labels(territory, kind, outcome).inc()
        if seconds is not None:
            self.latency.labels(territory).observe(max(0.0, seconds))

    def render(self) -> bytes:
        if self.sampler is not None:
            try:
                self.sampler(self)
            except Exception as exc:  # a broker hiccup must not break the scrape
                log.warning("metrics sampling failed: %s", reason(exc))
        return generate_latest(self.registry)


def broker_sampler(
    amqp_url: str,
    territories: Sequence[str],
    outbox_counts: Callable[[], dict[str, int]] | None = None,
    outbox_age: Callable[[], float] | None = None,
    publishing: Callable[[], bool] | None = None,
) -> Callable[[Metrics], None]:
    """Sample queue depths of ``territories`` (and the outbox backlog, its oldest row's age and whether
    the drainer publishes) into the gauges. The outbox is sampled first: the broker may be the one away."""
    from gateway.relay.depths import queue_depths

    def sample(m: Metrics) -> None:
        if outbox_counts is not None:
            with contextlib.suppress(Exception):
                for state, n in outbox_counts().items():
                    m.outbox.labels(state).set(n)
        if outbox_age is not None:
            with contextlib.suppress(Exception):
                m.outbox_oldest_age.set(outbox_age())
        if publishing is not None:
            m.outbox_publishing.set(1 if publishing() else 0)
        retrying: dict[str, int] = {}
        for d in queue_depths(amqp_url, territories):
            if d.messages is None:
                continue
            m.queue_depth.labels(d.territory, d.role, d.queue).set(d.messages)
            if d.role == "dead":
                m.dlq.labels(d.territory).set(d.messages)
            elif d.role.startswith("retry"):
                retrying[d.territory] = retrying.get(d.territory, 0) + d.messages
        for t in territories:
            m.retrying.labels(t).set(retrying.get(t, 0))

    return sample
