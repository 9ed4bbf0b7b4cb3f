"""The service's two background loops: drain the outbox to RabbitMQ, and consume result events.

Both survive broker outages: they back off and reconnect, and nothing is lost meanwhile — the outbox
holds accepted submissions, and result events wait in their durable queue.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from pika.exceptions import AMQPError
from sqlalchemy.exc import SQLAlchemyError

from gateway.relay.backoff import Backoff, quiet_pika, reason
from gateway.relay.connect import connect
from gateway.relay.envelope import Envelope
from gateway.relay.publisher import Publisher
from gateway.relay.topology import GATEWAY_GROUP, Topology, events_queue

log = logging.getLogger("eata.background")
Handler = Callable[[str, str, str, bytes], str]  # (territory, carnet_id, message_id, body) → outcome


class OutboxDrainer:
    """Drains the outbox every ``interval_s`` (and when woken). While the broker is away it says so once
    per outage — one warning when publishing stops, one line when it works again — backs off, and keeps
    :attr:`down_since` / :attr:`error` for ``/readyz``; ``on_failures`` is told of each failed round (metrics)."""

    def __init__(
        self,
        publisher: Publisher,
        territories: list[str],
        interval_s: float = 1.0,
        *,
        on_failures: Callable[[int], None] | None = None,
    ) -> None:
        self.publisher = publisher
        self.territories = territories
        self.interval_s = interval_s
        self.on_failures = on_failures
        self.error: str | None = None  # why publishing stopped; None while it works
        self.down_since: float | None = None
        self._declared = False
        quiet_pika()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="outbox-drainer", daemon=True)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> OutboxDrainer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self.thread.join(timeout=10)
        self.publisher.close()

    def round(self) -> str | None:
        """One drain round; returns why it stopped short (None: the outbox went out)."""
        try:
            if not self._declared:
                self.publisher.declare(self.territories)
                self._declared = True
            self.publisher.drain()
            why = self.publisher.drain_error
        except (AMQPError, OSError, ConnectionError) as exc:
            why = f"broker unreachable: {reason(exc)}"
        except SQLAlchemyError as exc:
            why = f"store unreachable: {reason(exc)}"
        if why is not None and self.on_failures is not None:
            self.on_failures(1)
        self._outage(why)
        return why

    def _outage(self, why: str | None) -> None:
        if why is None:
            if self.down_since is not None:
                log.warning(
                    "outbox: publishing again after %.0f s (%s)", time.time() - self.down_since, self.error
                )
            self.error = self.down_since = None
            return
        if self.down_since is None:
            self.down_since = time.time()
            log.warning("outbox: cannot publish, accepted submissions wait in the outbox: %s", why)
        self.error = why

    def _run(self) -> None:
        quiet_pika()
        backoff = Backoff(first=self.interval_s, cap=max(self.interval_s, 30.0))
        while not self._stop.is_set():
            if self.round() is None:
                backoff.reset()
                self._wake.wait(self.interval_s)
            else:  # broker away: wait longer each time (a wake does not hurry a reconnect)
                self._stop.wait(backoff.next())
            self._wake.clear()


class ResultConsumer:
    """Consumes ``eata.events.gateway``; acks each result only after the handler recorded it."""

    def __init__(self, url: str, handler: Handler) -> None:
        self.url = url
        self.handler = handler
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="result-consumer", daemon=True)

    def start(self) -> ResultConsumer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        quiet_pika()
        backoff = Backoff(first=1.0, cap=30.0)
        while not self._stop.is_set():
            try:
                conn = connect(self.url)  # the first of the setting's nodes that answers
            except (AMQPError, OSError) as exc:
                delay = backoff.next()
                log.warning(
                    "result consumer: broker unreachable (%s); attempt %d, next in %.1f s",
                    reason(exc),
                    backoff.attempts,
                    delay,
                )
                self._stop.wait(delay)
                continue
            if backoff.attempts:
                log.warning("result consumer: connected again after %d attempts", backoff.attempts)
                backoff.reset()
            try:
                Topology().declare(conn)
                ch = conn.channel()
                ch.basic_qos(prefetch_count=32)
                for method, props, body in ch.consume(events_queue(GATEWAY_GROUP), inactivity_timeout=0.5):
                    if self._stop.is_set():
                        break
                    if method is None:
                        continue
                    env = Envelope.from_amqp(props, body)
                    try:
                        self.handler(env.territory, env.carnet_id, env.correlation_id or env.message_id, body)
                    except Exception:  # recorded by the handler where it can; never lose the event silently
                        log.exception("result %s could not be recorded; it stays queued", env.message_id)
                        ch.basic_nack(method.delivery_tag, requeue=True)
                        self._stop.wait(1)
                        continue
                    ch.basic_ack(method.delivery_tag)
                ch.cancel()
            except (AMQPError, OSError) as exc:
                log.warning("result consumer: lost the broker (%s), reconnecting", reason(exc))
            finally:
                with contextlib.suppress(AMQPError, OSError):
                    conn.close()
