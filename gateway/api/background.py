"""The service's two background loops: drain the outbox to RabbitMQ, and consume result events.

Both survive broker outages: they back off and reconnect, and nothing is lost meanwhile — the outbox
holds accepted submissions, and result events wait in their durable queue.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

import pika
from pika.exceptions import AMQPError

from gateway.relay.envelope import Envelope
from gateway.relay.publisher import Publisher
from gateway.relay.topology import GATEWAY_GROUP, Topology, events_queue

log = logging.getLogger("eata.background")
Handler = Callable[[str, str, str, bytes], str]  # (territory, carnet_id, message_id, body) → outcome


class OutboxDrainer:
    def __init__(self, publisher: Publisher, territories: list[str], interval_s: float = 1.0) -> None:
        self.publisher = publisher
        self.territories = territories
        self.interval_s = interval_s
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

    def _run(self) -> None:
        declared = False
        while not self._stop.is_set():
            try:
                if not declared:
                    self.publisher.declare(self.territories)
                    declared = True
                self.publisher.drain()
            except (AMQPError, OSError, ConnectionError) as exc:
                log.warning("outbox drain failed, will retry: %s", exc)
            self._wake.wait(self.interval_s)
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
        while not self._stop.is_set():
            try:
                conn = pika.BlockingConnection(pika.URLParameters(self.url))
            except (AMQPError, OSError) as exc:
                log.warning("result consumer cannot connect, will retry: %s", exc)
                self._stop.wait(2)
                continue
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
                log.warning("result consumer lost the broker, reconnecting: %s", exc)
            finally:
                with contextlib.suppress(AMQPError, OSError):
                    conn.close()
