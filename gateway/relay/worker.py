"""The consuming side: take envelopes off a territory's work queue and hand them to a delivery callable.

A worker consumes one queue: its territory's, or one partition of it (``eata.work.XX.<n>``, see
:mod:`gateway.relay.topology`); a carnet's messages always land in the same partition, so N processes
serve a territory and each carnet keeps its order. One consumer channel per process (prefetch P) feeds
N delivery threads; a message goes to the thread ``hash(carnet) % N``, so two messages of a carnet never
run at once in a process and keep queue order.
Across a retry, order is kept by the store: the carnet stays *held* by the message in retry and later
messages of that carnet are *parked* in the store, then released one by one in arrival order.

Per message, the ack comes last — after the outcome is safely recorded and everything it causes
(result event, retry copy, dead letter, released successor) is confirmed by the broker. A crash at any
point therefore means a redelivery, which the dedup record turns into "just finish the follow-ups".
"""

from __future__ import annotations

import contextlib
import logging
import queue
import signal
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import (
    AMQPConnectionError,
    AMQPError,
    ChannelWrongStateError,
    ConnectionWrongStateError,
    StreamLostError,
)
from pika.spec import Basic

from gateway.errors import Code, Refusal
from gateway.relay.backoff import Backoff, quiet_pika, reason
from gateway.relay.connect import connect, parameters
from gateway.relay.envelope import H_ATTEMPTS, H_CODE, H_ORIGIN, H_REASON, Envelope
from gateway.relay.outcome import Deliver, Done, Final, Outcome, Retry
from gateway.relay.store import Seen, Store
from gateway.relay.topology import (
    DEFAULT_DELAYS_MS,
    EVENTS,
    Topology,
    dead_queue,
    partitioned,
    retry_queue,
    work_queue,
)

log = logging.getLogger("eata.relay.worker")


@dataclass(frozen=True, slots=True)
class _Item:
    gen: int  # consumer-channel generation: acks for an older channel are void (it redelivers)
    tag: int
    props: pika.BasicProperties
    body: bytes


class _Publishing:
    """A thread's own confirm channel (BlockingChannel: one publish at a time is right here)."""

    def __init__(self, params: list[pika.URLParameters]) -> None:
        self._params = params
        self._conn: pika.BlockingConnection | None = None
        self._ch: BlockingChannel | None = None

    def channel(self) -> BlockingChannel:
        if self._ch is None or not self._ch.is_open or self._conn is None or not self._conn.is_open:
            self.close()
            self._conn = connect(self._params)
            self._ch = self._conn.channel()
            self._ch.confirm_delivery()
        return self._ch

    def publish(self, exchange: str, routing_key: str, body: bytes, props: pika.BasicProperties) -> None:
        """Confirmed and mandatory; one reconnect-and-retry (a copy twice is fine, consumers dedupe)."""
        for attempt in (1, 2):
            try:
                self.channel().basic_publish(exchange, routing_key, body, props, mandatory=True)
                return
            except (AMQPConnectionError, ChannelWrongStateError, ConnectionWrongStateError, StreamLostError):
                self.close()
                if attempt == 2:
                    raise
            except Exception:
                self.close()
                raise

    def keepalive(self) -> None:
        """Serve heartbeats while the lane is idle, or the broker drops this connection after 2 intervals."""
        if self._conn is not None and self._conn.is_open:
            try:
                self._conn.process_data_events(time_limit=0)
            except AMQPError:
                self.close()

    def close(self) -> None:
        if self._conn is not None and self._conn.is_open:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = self._ch = None


class Worker:
    """Deliver a territory's messages with ``deliver`` (see :mod:`gateway.relay.outcome`)."""

    def __init__(
        self,
        url: str,
        territory: str,
        deliver: Deliver,
        store: Store,
        *,
        concurrency: int = 4,
        prefetch: int = 64,
        delays_ms: Sequence[int] = DEFAULT_DELAYS_MS,
        max_attempts: int = 4,
        topology: Topology | None = None,
        reconnect_delay: float = 1.0,
        partitions: int = 1,
        partition: int | None = None,
    ) -> None:
        self.url = url
        self.territory = territory
        self.deliver = deliver
        self.store = store
        self.concurrency = max(1, concurrency)
        self.prefetch = max(self.concurrency, prefetch)
        self.delays_ms = tuple(delays_ms)
        self.max_attempts = max_attempts
        if partitions > 1 and (partition is None or not 0 <= partition < partitions):
            raise ValueError(
                f"a worker of a territory in {partitions} partitions consumes one of 0..{partitions - 1}"
            )
        self.partition = partition if partitions > 1 else None
        self.topology = topology or Topology(delays_ms=self.delays_ms, partitions={territory: partitions})
        self.reconnect_delay = reconnect_delay
        self.queue = work_queue(territory, self.partition)
        self.stats: Counter[str] = Counter()
        self._params = parameters(url, heartbeat=30)  # every node of the setting, first reachable wins
        self._stopping = threading.Event()
        self._lanes: list[queue.Queue[_Item | None]] = [queue.Queue() for _ in range(self.concurrency)]
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._gen = 0
        self._conn: pika.BlockingConnection | None = None
        self._ch: BlockingChannel | None = None

    # -- control -----------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop consuming; messages already received are finished and acked, then ``run`` returns."""
        self._stopping.set()

    def install_signal_handlers(self) -> None:
        def _handler(_sig: int, _frame: FrameType | None) -> None:
            self.stop()

        signal.signal(signal.SIGTERM, _handler)
        signal.signal(signal.SIGINT, _handler)

    def run(self) -> None:
        threads = [
            threading.Thread(target=self._lane, args=(i,), name=f"eata-deliver-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for t in threads:
            t.start()
        try:
            self._consume()
        finally:
            for lane in self._lanes:
                lane.put(None)
            for t in threads:
                t.join()
            self._settle_acks()
            if self._conn is not None and self._conn.is_open:
                with contextlib.suppress(Exception):
                    self._conn.close()

    # -- consumer (main thread) ----------------------------------------------------------------
    def _consume(self) -> None:
        declared = False
        backoff = Backoff(first=self.reconnect_delay / 2, cap=max(self.reconnect_delay, 15.0))
        quiet_pika()
        while not self._stopping.is_set():
            try:
                self._conn = connect(self._params)
                if backoff.attempts:
                    log.warning(
                        "broker reachable again after %d attempts; consuming %s", backoff.attempts, self.queue
                    )
                    backoff.reset()
                if not declared:
                    self.topology.declare(self._conn, [self.territory])
                    declared = True
                    if self.partition is None and partitioned(self._conn, self.territory):
                        log.warning(
                            "%s is partitioned on the broker: %s takes no new messages (start the workers "
                            "with --partitions N)",
                            self.territory,
                            self.queue,
                        )
                self._ch = self._conn.channel()
                self._ch.basic_qos(prefetch_count=self.prefetch)
                self._gen += 1
                gen = self._gen
                tag = self._ch.basic_consume(
                    self.queue, lambda _c, m, p, b, g=gen: self._dispatch(g, m, p, b)
                )
                while not self._stopping.is_set():
                    self._conn.process_data_events(time_limit=0.2)
                self._ch.basic_cancel(tag)
                self._settle_acks()
                return
            except (AMQPError, OSError) as exc:
                if self._stopping.is_set():
                    return
                delay = backoff.next()
                log.warning(
                    "broker %s (%s); reconnect attempt %d in %.1f s",
                    "connection lost" if self._ch is not None else "unreachable",
                    reason(exc),
                    backoff.attempts,
                    delay,
                )
                self.stats["reconnects"] += 1
                self._conn = self._ch = None
                self._stopping.wait(delay)

    def _settle_acks(self) -> None:
        """After cancel: wait until every received message is finished and its ack sent."""
        while self._conn is not None and self._conn.is_open:
            pending = any(not lane.empty() for lane in self._lanes)
            with self._busy_lock:
                busy = self._busy
            if not pending and not busy:
                self._conn.process_data_events(time_limit=0)
                return
            try:
                self._conn.process_data_events(time_limit=0.05)
            except AMQPError:
                return

    def _dispatch(self, gen: int, method: Basic.Deliver, props: pika.BasicProperties, body: bytes) -> None:
        carnet = (props.headers or {}).get("x-eata-carnet", b"")
        key = carnet.encode() if isinstance(carnet, str) else bytes(carnet or b"")
        lane = zlib.crc32(key) % self.concurrency
        with self._busy_lock:
            self._busy += 1
        self._lanes[lane].put(_Item(gen, method.delivery_tag, props, body))

    def _ack(self, item: _Item, *, requeue: bool = False) -> None:
        """Ack (or, after a failure, requeue) on the consumer's thread: pika channels are not thread-safe."""
        conn, ch = self._conn, self._ch

        def _do() -> None:
            if item.gen == self._gen and ch is not None and ch.is_open:
                if requeue:
                    ch.basic_nack(item.tag, requeue=True)
                else:
                    ch.basic_ack(item.tag)

        if conn is not None and conn.is_open:
            with contextlib.suppress(Exception):
                conn.add_callback_threadsafe(_do)

    # -- delivery lanes (threads) ---------------------------------------------------------------
    def _lane(self, index: int) -> None:
        pub = _Publishing(self._params)
        lane = self._lanes[index]
        try:
            while True:
                try:
                    item = lane.get(timeout=5.0)
                except queue.Empty:
                    pub.keepalive()
                    continue
                if item is None:
                    return
                try:
                    if item.gen == self._gen:
                        self._handle(pub, item)
                        self._ack(item)
                    # else: the channel that gave it is gone; the broker redelivers it
                except Exception:
                    # Nothing acked: the message comes back after the channel closes (or at restart).
                    log.exception("could not finish a message; requeueing it")
                    self.stats["errors"] += 1
                    self._ack(item, requeue=True)
                    time.sleep(self.reconnect_delay)
                finally:
                    with self._busy_lock:
                        self._busy -= 1
        finally:
            pub.close()

    def _handle(self, pub: _Publishing, item: _Item) -> None:
        try:
            env = Envelope.from_amqp(item.props, item.body)
        except Refusal as refusal:
            self._dead_raw(pub, item, refusal.code, str(refusal))
            return
        status, seen = self.store.claim(env, self.queue)
        if status == "parked":
            self.stats["parked"] += 1
            return
        if status == "seen":
            assert seen is not None
            self.stats["duplicate"] += 1
            self._follow_up(pub, env, seen, self.store.released(env.carnet_id))
            return
        outcome = self._call(env)
        if isinstance(outcome, Done):
            released = self.store.finish(env, "done", event=outcome.result_event)
            self.stats["done"] += 1
            self._follow_up(pub, env, Seen("done", None, outcome.result_event, env.generation), released)
        elif isinstance(outcome, Retry) and env.attempt < self.max_attempts:
            delay = self.delays_ms[min(env.attempt, len(self.delays_ms)) - 1]
            nxt = env.with_(attempt=env.attempt + 1)
            pub.publish(
                "",
                retry_queue(self.territory, delay, self.partition),
                nxt.body,
                nxt.properties({H_REASON: outcome.reason}),
            )
            self.stats["retried"] += 1  # the carnet stays held by this message until it finishes
        else:
            code = outcome.code
            reason = (
                outcome.reason
                if isinstance(outcome, Final)
                else f"gave up after {env.attempt} attempts: {outcome.reason}"
            )
            extra = {H_REASON: reason, H_CODE: code, H_ATTEMPTS: env.attempt, H_ORIGIN: self.queue}
            pub.publish("", dead_queue(self.territory), env.body, env.properties(extra))
            released = self.store.finish(env, "dead", code=code)
            self.stats["dead"] += 1
            self._follow_up(pub, env, None, released)

    def _call(self, env: Envelope) -> Outcome:
        try:
            outcome = self.deliver(env)
        except Refusal as refusal:
            return Final(refusal.code, f"poison: {refusal}")
        except Exception as exc:
            return Final(Code.INTERNAL, f"poison: deliver raised {type(exc).__name__}: {exc}")
        if not isinstance(outcome, Done | Retry | Final):
            return Final(Code.INTERNAL, f"deliver returned {type(outcome).__name__}, not an Outcome")
        return outcome

    def _follow_up(
        self, pub: _Publishing, env: Envelope, seen: Seen | None, released: list[tuple[int, str, Envelope]]
    ) -> None:
        """Everything a finished message causes; safe to repeat after a crash (consumers dedupe)."""
        if seen is not None and seen.outcome == "done" and seen.event is not None:
            event = Envelope(
                kind=env.kind,
                territory=env.territory,
                carnet_id=env.carnet_id,
                body=seen.event,
                message_id=f"{env.message_id}.result",
                correlation_id=env.message_id,
                content_type="application/json",
            )
            pub.publish(EVENTS, f"{env.routing_key}.result", event.body, event.properties())
        for seq, queue_name, nxt in released:
            pub.publish("", queue_name, nxt.body, nxt.properties())
            self.store.unpark(seq)

    def _dead_raw(self, pub: _Publishing, item: _Item, code: int, reason: str) -> None:
        props = item.props
        headers = dict(props.headers or {})
        headers.update({H_REASON: reason, H_CODE: code, H_ATTEMPTS: 0, H_ORIGIN: self.queue})
        props.headers = headers
        props.delivery_mode = pika.DeliveryMode.Persistent.value
        pub.publish("", dead_queue(self.territory), item.body, props)
        self.stats["dead"] += 1


def load_callable(spec: str) -> Callable[..., object]:
    """``module:function`` → the function (for ``--deliver``)."""
    import importlib

    module, _, name = spec.partition(":")
    if not name:
        raise ValueError(f"expected module:function, got {spec!r}")
    obj: object = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec} is not callable")
    return obj
