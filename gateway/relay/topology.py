"""Exchanges and queues, declared idempotently by whoever starts first (publisher, worker, CLI).

A territory is served from one work queue ``eata.work.XX`` (one active consumer), or — partitioned into N —
from N sub-queues ``eata.work.XX.0`` … ``eata.work.XX.<N-1>``, each with one active consumer, filled by
RabbitMQ's consistent-hash exchange ``eata.hash.XX`` on the carnet header: every message of a carnet lands
in the same sub-queue, so N worker processes serve the territory and each carnet keeps its order. The
partition count is an argument of that exchange, so the broker remembers it: a declarer that does not know
(the API's publisher) finds the exchange and leaves the layout alone; a worker asking for another N is
refused (:class:`TopologyError`) instead of re-routing carnets mid-stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import ChannelClosedByBroker, ConnectionClosedByBroker

log = logging.getLogger("eata.relay.topology")

OUTBOUND = "eata.outbound"
EVENTS = "eata.events"
DEFAULT_DELAYS_MS: tuple[int, ...] = (1_000, 10_000, 60_000)
GATEWAY_GROUP = "gateway"  # the gateway's own result consumer; declared so results are always routable


HASH_HEADER = "x-eata-carnet"  # envelope.H_CARNET: what the partitions are keyed on
PARTITIONS_ARG = "x-eata-partitions"
HASH_PLUGIN = "rabbitmq_consistent_hash_exchange"


def work_queue(territory: str, partition: int | None = None) -> str:
    return f"eata.work.{territory}" if partition is None else f"eata.work.{territory}.{partition}"


def hash_exchange(territory: str) -> str:
    return f"eata.hash.{territory}"


def dead_queue(territory: str) -> str:
    return f"eata.dead.{territory}"


def retry_queue(territory: str, delay_ms: int, partition: int | None = None) -> str:
    # The delay is in the name: a per-queue TTL cannot change once declared, a new name can.
    part = "" if partition is None else f"{partition}."
    return f"eata.retry.{territory}.{part}{delay_ms}ms"


def partitions_from_env(value: str | None = None) -> dict[str, int]:
    """``EATA_PARTITIONS``: ``NO=4,SE=2`` (territories not named: 1)."""
    if value is None:
        from gateway.settings import current

        value = current().partitions
    raw = value
    out: dict[str, int] = {}
    for item in raw.split(","):
        code, sep, n = item.partition("=")
        if not item.strip():
            continue
        if not sep or not n.strip().isdigit() or int(n) < 1:
            raise ValueError(f"EATA_PARTITIONS: expected XX=N items, got {item!r}")
        out[code.strip().upper()] = int(n)
    return out


def partitioned(connection: pika.BlockingConnection, territory: str) -> bool:
    """Whether the territory is served from sub-queues (its hash exchange exists on the broker)."""
    ch = connection.channel()
    try:
        ch.exchange_declare(hash_exchange(territory), "x-consistent-hash", passive=True)
        return True
    except ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return False
        raise
    finally:
        if ch.is_open:
            ch.close()


def partition_count(connection: pika.BlockingConnection, territory: str, limit: int = 256) -> int:
    """How many sub-queues a partitioned territory has (probed; 0 when not partitioned)."""
    if not partitioned(connection, territory):
        return 0
    ch = connection.channel()
    n = 0
    try:
        while n < limit:
            try:
                ch.queue_declare(work_queue(territory, n), passive=True)
            except ChannelClosedByBroker:
                break
            n += 1
    finally:
        if ch.is_open:
            ch.close()
    return n


def events_queue(group: str) -> str:
    return f"eata.events.{group}"


def supports_quorum(connection: pika.BlockingConnection) -> bool:
    """Quorum queues exist from RabbitMQ 3.8; we need TTL on them (3.10+) for the retry tiers."""
    props = getattr(connection._impl, "server_properties", None) or {}  # pika keeps them only here
    version = props.get("version", b"0")
    version = version.decode() if isinstance(version, bytes) else str(version)
    try:
        major, minor = (int(x) for x in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (3, 10)


@dataclass(frozen=True)
class Topology:
    """The relay's broker layout for a set of territories."""

    territories: Sequence[str] = ()
    delays_ms: Sequence[int] = DEFAULT_DELAYS_MS
    quorum: bool | None = None  # None: detect from the broker version
    # sub-queues per territory: an int for every territory, or per code; None: $EATA_PARTITIONS
    partitions: int | Mapping[str, int] | None = None
    _declared: set[str] = field(default_factory=set, compare=False, repr=False)

    def partitions_of(self, territory: str) -> int:
        if isinstance(self.partitions, int):
            return max(1, self.partitions)
        table = partitions_from_env() if self.partitions is None else self.partitions
        return max(1, int(table.get(territory, 1)))

    def queue_args(self, connection: pika.BlockingConnection) -> dict[str, object]:
        quorum = supports_quorum(connection) if self.quorum is None else self.quorum
        return {"x-queue-type": "quorum"} if quorum else {"x-queue-type": "classic"}

    def declare(self, connection: pika.BlockingConnection, territories: Sequence[str] = ()) -> None:
        ch = connection.channel()
        try:
            ch.exchange_declare(OUTBOUND, "topic", durable=True)
            ch.exchange_declare(EVENTS, "topic", durable=True)
            args = self.queue_args(connection)
            _declare(ch, events_queue(GATEWAY_GROUP), args)
            ch.queue_bind(events_queue(GATEWAY_GROUP), EVENTS, routing_key="#")
            for territory in (*self.territories, *territories):
                self._declare_territory(ch, territory, args)
        finally:
            if ch.is_open:
                ch.close()

    def _declare_territory(self, ch: BlockingChannel, territory: str, args: dict[str, object]) -> None:
        n = self.partitions_of(territory)
        if n > 1:
            self._declare_partitioned(ch, territory, args, n)
            return
        work = work_queue(territory)
        # One active consumer per territory queue: further workers stand by and take over when it goes,
        # so a carnet's transactions reach customs in order (an importation before its re-exportation).
        # Parallelism is within the active worker (delivery threads by carnet) and across territories.
        _declare(ch, work, {**args, "x-single-active-consumer": True})
        if not partitioned(ch.connection, territory):
            ch.queue_bind(work, OUTBOUND, routing_key=f"{territory}.*")
        else:  # routed by its hash exchange: no second copy here
            log.info("%s is partitioned on the broker; %s takes no new messages", territory, work)
        _declare(ch, dead_queue(territory), args)
        self._declare_retries(ch, territory, args, None)

    def _declare_partitioned(
        self, ch: BlockingChannel, territory: str, args: dict[str, object], n: int
    ) -> None:
        exchange = hash_exchange(territory)
        had = partition_count(ch.connection, territory)
        if had and had != n:
            time.sleep(1.0)  # another declarer may be half-way through the same layout
            had = partition_count(ch.connection, territory)
        if had and had != n:
            raise TopologyError(
                f"{territory} has {had} partitions on the broker, not {n}; change the partition count "
                "only with its queues drained (docs/operations.md)"
            )
        try:
            ch.exchange_declare(
                exchange,
                "x-consistent-hash",
                durable=True,
                arguments={"hash-header": HASH_HEADER, PARTITIONS_ARG: n},
            )
        except (ChannelClosedByBroker, ConnectionClosedByBroker) as exc:
            if "exchange type" in (exc.reply_text or ""):
                raise TopologyError(
                    f"partitions need the {HASH_PLUGIN} plugin: rabbitmq-plugins enable {HASH_PLUGIN}"
                ) from exc
            raise
        for i in range(n):
            work = work_queue(territory, i)
            _declare(ch, work, {**args, "x-single-active-consumer": True})
            ch.queue_bind(work, exchange, routing_key="1")  # weight: one bucket each (jump hash)
            self._declare_retries(ch, territory, args, i)
        ch.exchange_bind(exchange, OUTBOUND, routing_key=f"{territory}.*")
        # the unpartitioned queue (if an older layout left it) no longer takes new messages
        legacy = work_queue(territory)
        _declare(ch, legacy, {**args, "x-single-active-consumer": True})
        ch.queue_unbind(legacy, OUTBOUND, routing_key=f"{territory}.*")
        _declare(ch, dead_queue(territory), args)

    def _declare_retries(
        self, ch: BlockingChannel, territory: str, args: dict[str, object], partition: int | None
    ) -> None:
        work = work_queue(territory, partition)
        for delay in self.delays_ms:
            retry_args = dict(args)
            retry_args.update(
                {
                    "x-message-ttl": int(delay),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": work,
                }
            )
            if args.get("x-queue-type") == "quorum":
                # quorum dead-lettering is at-most-once unless asked; a retry must not vanish
                retry_args.update({"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
            _declare(ch, retry_queue(territory, delay, partition), retry_args)

    def declare_events_queue(
        self, connection: pika.BlockingConnection, group: str, pattern: str = "#"
    ) -> str:
        """A durable queue for one consumer group of result events (competing consumers share it)."""
        ch = connection.channel()
        try:
            ch.exchange_declare(EVENTS, "topic", durable=True)
            name = events_queue(group)
            _declare(ch, name, self.queue_args(connection))
            ch.queue_bind(name, EVENTS, routing_key=pattern)
            return name
        finally:
            if ch.is_open:
                ch.close()


def _declare(ch: BlockingChannel, name: str, args: dict[str, object]) -> None:
    try:
        ch.queue_declare(name, durable=True, arguments=args)
    except ChannelClosedByBroker as exc:
        if exc.reply_code == 406:
            raise TopologyError(f"queue {name} exists with other arguments: {exc.reply_text}") from exc
        raise


class TopologyError(RuntimeError):
    """The broker holds a queue under our name but with incompatible arguments (type, TTL, ...)."""
