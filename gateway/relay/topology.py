"""Exchanges and queues, declared idempotently by whoever starts first (publisher, worker, CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import ChannelClosedByBroker

OUTBOUND = "eata.outbound"
EVENTS = "eata.events"
DEFAULT_DELAYS_MS: tuple[int, ...] = (1_000, 10_000, 60_000)
GATEWAY_GROUP = "gateway"  # the gateway's own result consumer; declared so results are always routable


def work_queue(territory: str) -> str:
    return f"eata.work.{territory}"


def dead_queue(territory: str) -> str:
    return f"eata.dead.{territory}"


def retry_queue(territory: str, delay_ms: int) -> str:
    # The delay is in the name: a per-queue TTL cannot change once declared, a new name can.
    return f"eata.retry.{territory}.{delay_ms}ms"


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
    _declared: set[str] = field(default_factory=set, compare=False, repr=False)

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
        work = work_queue(territory)
        # One active consumer per territory queue: further workers stand by and take over when it goes,
        # so a carnet's transactions reach customs in order (an importation before its re-exportation).
        # Parallelism is within the active worker (delivery threads by carnet) and across territories.
        _declare(ch, work, {**args, "x-single-active-consumer": True})
        ch.queue_bind(work, OUTBOUND, routing_key=f"{territory}.*")
        _declare(ch, dead_queue(territory), args)
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
            _declare(ch, retry_queue(territory, delay), retry_args)

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
