"""Prometheus metrics of the gateway (own registry, so several apps in one test process don't clash).

Counters move as this process records customs outcomes (the service's observers); gauges are filled on
scrape by ``sampler``: the outbox from our own database, the queue depths (work, retry tiers, dead
letters) from a cache of the broker's figures refreshed at most every 15 s (``BrokerSampler``), so no
scrape opens an AMQP connection. RabbitMQ's own Prometheus plugin (``rabbitmq_prometheus``) exports the
broker's full view; docs/operations.md says which metric comes from where.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from gateway.relay.backoff import reason

if TYPE_CHECKING:
    from gateway.relay.depths import Depth

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
        self.queue_sample_age = Gauge(
            "eata_queue_sample_age_seconds",
            "Age of the queue depths above: sampled from the broker in the background, at most every 15 s",
            registry=self.registry,
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


class BrokerSampler:
    """Fills the gauges on scrape: the outbox (our own database, cheap) each time, the broker's queue depths
    from a cache refreshed at most once per ``interval`` seconds — a scrape never opens an AMQP connection
    of its own. The first scrape waits for one sample; later ones answer at once with the cached depths
    and, when they are older than ``interval``, start one refresh in the background (a failed refresh is
    logged and tried again an interval later). ``eata_queue_sample_age_seconds`` says how old they are."""

    def __init__(
        self,
        amqp_url: str,
        territories: Sequence[str],
        outbox_counts: Callable[[], dict[str, int]] | None = None,
        outbox_age: Callable[[], float] | None = None,
        publishing: Callable[[], bool] | None = None,
        *,
        interval: float = 15.0,
        depths: Callable[[str, Sequence[str]], list[Depth]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.amqp_url, self.territories, self.interval = amqp_url, list(territories), interval
        self.outbox_counts, self.outbox_age, self.publishing = outbox_counts, outbox_age, publishing
        self._depths = depths
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: list[Depth] | None = None
        self._sampled_at: float | None = None  # when the cache was filled
        self._tried_at = -math.inf  # when a refresh last started
        self._refreshing = False

    def __call__(self, m: Metrics) -> None:
        if self.outbox_counts is not None:
            with contextlib.suppress(Exception):
                for state, n in self.outbox_counts().items():
                    m.outbox.labels(state).set(n)
        if self.outbox_age is not None:
            with contextlib.suppress(Exception):
                m.outbox_oldest_age.set(self.outbox_age())
        if self.publishing is not None:
            m.outbox_publishing.set(1 if self.publishing() else 0)
        depths = self.depths()
        if depths is None:
            return
        retrying: dict[str, int] = {}
        for d in depths:
            if d.messages is None:
                continue
            m.queue_depth.labels(d.territory, d.role, d.queue).set(d.messages)
            if d.role == "dead":
                m.dlq.labels(d.territory).set(d.messages)
            elif d.role.startswith("retry"):
                retrying[d.territory] = retrying.get(d.territory, 0) + d.messages
        for t in self.territories:
            m.retrying.labels(t).set(retrying.get(t, 0))
        if self._sampled_at is not None:
            m.queue_sample_age.set(max(0.0, self._clock() - self._sampled_at))

    def depths(self) -> list[Depth] | None:
        """The cached depths (None before the first sample succeeded), refreshed when due."""
        with self._lock:
            due = not self._refreshing and self._clock() - self._tried_at >= self.interval
            if due:
                self._refreshing, self._tried_at = True, self._clock()
            first = self._cache is None
        if due and first:
            self._refresh()
        elif due:
            threading.Thread(target=self._refresh, name="eata-metrics-broker", daemon=True).start()
        return self._cache

    def _refresh(self) -> None:
        try:
            if self._depths is None:
                from gateway.relay.depths import queue_depths

                self._depths = queue_depths
            depths = self._depths(self.amqp_url, self.territories)
            with self._lock:
                self._cache, self._sampled_at = depths, self._clock()
        except Exception as exc:  # a broker hiccup must not break the scrape
            log.warning("broker queue sampling failed: %s", reason(exc))
        finally:
            with self._lock:
                self._refreshing = False


def broker_sampler(
    amqp_url: str,
    territories: Sequence[str],
    outbox_counts: Callable[[], dict[str, int]] | None = None,
    outbox_age: Callable[[], float] | None = None,
    publishing: Callable[[], bool] | None = None,
    interval: float = 15.0,
) -> BrokerSampler:
    """Sample queue depths of ``territories`` (at most once per ``interval`` seconds, cached), and on each
    scrape the outbox backlog, its oldest row's age and whether the drainer publishes, into the gauges."""
    return BrokerSampler(amqp_url, territories, outbox_counts, outbox_age, publishing, interval=interval)
