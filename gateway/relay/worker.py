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
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError, ChannelClosed
from pika.spec import Basic

from gateway.errors import Code, Refusal
from gateway.relay.backoff import Backoff, quiet_pika, reason
from gateway.relay.connect import connect, parameters
from gateway.relay.envelope import H_ATTEMPTS, H_CODE, H_ORIGIN, H_REASON, Envelope, new_id
from gateway.relay.outcome import Deliver, Done, Final, Outcome, Retry
from gateway.relay.publisher import ConfirmChannel, Outgoing
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
    carnet: bytes  # the ordering key: never two of a carnet in one batch


BATCH = 4  # messages a lane takes at once (one claim, finish, confirm wait, ack); 16 doubled p50 at 100 msg/s


class _Confirms:
    """The worker's confirm channel, shared by its lanes: a lane hands over its batch's publishes and waits
    once for all their confirms (:class:`gateway.relay.publisher.ConfirmChannel`, pipelined)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._lock = threading.Lock()
        self._chan: ConfirmChannel | None = None

    def _channel(self) -> ConfirmChannel:
        with self._lock:
            if self._chan is None or not self._chan.is_open:
                if self._chan is not None:
                    self._chan.close()
                self._chan = ConfirmChannel(self._url)
            return self._chan

    def _drop(self, chan: ConfirmChannel) -> None:
        with self._lock:
            if self._chan is chan:
                self._chan = None
        chan.close()

    def send(self, items: Sequence[Outgoing]) -> None:
        """All confirmed (and routed), or raise; what failed goes once more on a fresh channel (a copy
        twice is fine: consumers dedupe)."""
        todo = list(items)
        for attempt in (1, 2):
            if not todo:
                return
            try:
                chan = self._channel()
            except (ConnectionError, AMQPError, OSError):
                if attempt == 2:
                    raise
                continue
            results = chan.send(todo)
            failed = [(item, err) for item, err in zip(todo, results, strict=True) if err is not None]
            if not failed:
                return
            if any(err != "unroutable" for _, err in failed):
                self._drop(chan)
            if attempt == 2:
                why = "; ".join(sorted({err for _, err in failed if err}))
                raise ConnectionError(f"{len(failed)} of {len(todo)} publishes not confirmed: {why}")
            todo = [item for item, _ in failed]

    def close(self) -> None:
        with self._lock:
            chan, self._chan = self._chan, None
        if chan is not None:
            chan.close()


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
        batch: int = BATCH,
    ) -> None:
        self.url = url
        self.territory = territory
        self.deliver = deliver
        self.store = store
        self.concurrency = max(1, concurrency)
        self.prefetch = max(self.concurrency, prefetch)
        self.delays_ms = tuple(delays_ms)
        self.max_attempts = max_attempts
        self.batch = max(1, batch)
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
        self._confirms = _Confirms(url)
        # consumer thread only: delivery tags of the current channel not yet acked, in arrival order,
        # and those finished but waiting behind an earlier unfinished one (see _settle)
        self._unacked: deque[int] = deque()
        self._finished: set[int] = set()

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
            self._confirms.close()
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
                # a new generation before the channel: opening it runs queued ack callbacks, which must
                # already see the older deliveries as void (their tags mean nothing on this channel)
                self._gen += 1
                gen = self._gen
                self._unacked.clear()
                self._finished.clear()
                self._ch = self._conn.channel()
                self._ch.basic_qos(prefetch_count=self.prefetch)
                tag = self._ch.basic_consume(
                    self.queue, lambda _c, m, p, b, g=gen: self._dispatch(g, m, p, b)
                )
                while not self._stopping.is_set():
                    self._conn.process_data_events(time_limit=0.2)
                    if not self._ch.is_open:  # closed by the broker (e.g. 406): pika raises nothing here
                        raise ChannelClosed(0, f"the broker closed the consumer channel of {self.queue}")
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
                if self._conn is not None and self._conn.is_open:  # only its channel went: not left open
                    with contextlib.suppress(Exception):
                        self._conn.close()
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
        if gen == self._gen:
            self._unacked.append(method.delivery_tag)
        self._lanes[lane].put(_Item(gen, method.delivery_tag, props, body, key))

    def _ack(self, items: Sequence[_Item], *, requeue: bool = False) -> None:
        """Ack (or, after a failure, requeue) a batch on the consumer's thread: pika channels are not
        thread-safe. One callback per batch."""
        conn, ch = self._conn, self._ch

        def _do() -> None:
            # decided here, on the consumer's thread, where generation and channel change: a batch read
            # under the old generation must not ack its tags on the new channel (406 closes it)
            tags = [i.tag for i in items if i.gen == self._gen]
            if tags and ch is not None and ch.is_open and ch is self._ch:
                self._settle(ch, tags, requeue)

        if conn is not None and conn.is_open:
            with contextlib.suppress(Exception):
                conn.add_callback_threadsafe(_do)

    def _settle(self, ch: BlockingChannel, tags: list[int], requeue: bool) -> None:
        """Acks go out as ``multiple=True`` up to the first message still in work (lanes finish out of
        order, and a multiple ack covers every earlier tag). Finished messages stuck behind a slow one
        are acked one by one once they fill half the prefetch, so the channel keeps flowing."""
        if requeue:
            for tag in tags:
                ch.basic_nack(tag, requeue=True)
                with contextlib.suppress(ValueError):
                    self._unacked.remove(tag)
        else:
            self._finished.update(tags)
        last = None
        while self._unacked and self._unacked[0] in self._finished:
            last = self._unacked.popleft()
            self._finished.discard(last)
        if last is not None:
            ch.basic_ack(last, multiple=True)
            self.stats["ack frames"] += 1
        if len(self._finished) >= max(1, self.prefetch // 2):
            for tag in sorted(self._finished):
                ch.basic_ack(tag)
                self.stats["ack frames"] += 1
                with contextlib.suppress(ValueError):
                    self._unacked.remove(tag)
            self._finished.clear()

    # -- delivery lanes (threads) ---------------------------------------------------------------
    def _take(self, lane: queue.Queue[_Item | None], first: _Item) -> tuple[list[_Item], _Item | None, bool]:
        """``first`` and what else waits in the lane, up to a batch, stopping before a second message of
        a carnet (its claim must see the first one finished). Returns (batch, left over, stop seen)."""
        batch, carnets = [first], {first.carnet}
        while len(batch) < self.batch:
            try:
                nxt = lane.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                return batch, None, True
            if nxt.carnet in carnets:
                return batch, nxt, False
            batch.append(nxt)
            carnets.add(nxt.carnet)
        return batch, None, False

    def _lane(self, index: int) -> None:
        lane = self._lanes[index]
        carry: _Item | None = None
        while True:
            first = carry if carry is not None else lane.get()
            if first is None:
                return
            batch, carry, stop = self._take(lane, first)
            current = [i for i in batch if i.gen == self._gen]  # others: their channel is gone, they return
            try:
                if current:
                    self.stats["batches"] += 1
                    self._handle(current)
                    self._ack(current)
            except Exception:
                # Nothing acked: the batch comes back after the channel closes (or at restart).
                log.exception("could not finish %d message(s); requeueing them", len(current))
                self.stats["errors"] += 1
                self._ack(current, requeue=True)
                time.sleep(self.reconnect_delay)
            finally:
                with self._busy_lock:
                    self._busy -= len(batch)
            if stop:
                if carry is not None:
                    lane.put(carry)
                lane.put(None)
                carry = None

    def _handle(self, items: list[_Item]) -> None:
        """A batch: claim all in one transaction, deliver one by one, publish what must be durable before
        the outcome is recorded (retry copies, dead letters), record all outcomes in one transaction, then
        publish what they cause (result events, released successors) with one confirm wait."""
        before: list[Outgoing] = []  # confirmed before the outcomes are recorded
        envs: list[Envelope] = []
        for item in items:
            try:
                envs.append(Envelope.from_amqp(item.props, item.body))
            except Refusal as refusal:
                before.append(self._dead_raw(item, refusal.code, str(refusal)))
        finished: list[tuple[Envelope, str, int | None, bytes | None]] = []
        seen_again: list[tuple[Envelope, Seen]] = []
        for env, (status, seen) in zip(envs, self.store.claim_many(envs, self.queue), strict=True):
            if status == "parked":
                self.stats["parked"] += 1
                continue
            if status == "seen":
                assert seen is not None
                self.stats["duplicate"] += 1
                seen_again.append((env, seen))
                continue
            outcome = self._call(env)
            if isinstance(outcome, Done):
                finished.append((env, "done", None, outcome.result_event))
            elif isinstance(outcome, Retry) and env.attempt < self.max_attempts:
                delay = self.delays_ms[min(env.attempt, len(self.delays_ms)) - 1]
                nxt = env.with_(attempt=env.attempt + 1)
                queue_name = retry_queue(self.territory, delay, self.partition)
                before.append(Outgoing("", queue_name, nxt, nxt.properties({H_REASON: outcome.reason})))
                self.stats["retried"] += 1  # the carnet stays held by this message until it finishes
            else:
                code = outcome.code
                reason = (
                    outcome.reason
                    if isinstance(outcome, Final)
                    else f"gave up after {env.attempt} attempts: {outcome.reason}"
                )
                extra = {H_REASON: reason, H_CODE: code, H_ATTEMPTS: env.attempt, H_ORIGIN: self.queue}
                before.append(Outgoing("", dead_queue(self.territory), env, env.properties(extra)))
                finished.append((env, "dead", code, None))
        if before:
            self._confirms.send(before)
        after: list[Outgoing] = []
        unpark: list[int] = []
        for (env, outcome_name, _code, event), released in zip(
            finished, self.store.finish_many(finished), strict=True
        ):
            self.stats[outcome_name] += 1
            seen = Seen("done", None, event, env.generation) if outcome_name == "done" else None
            after += self._follow_up(env, seen, released, unpark)
        for env, seen in seen_again:
            after += self._follow_up(env, seen, self.store.released(env.carnet_id), unpark)
        if after:
            self._confirms.send(after)
        self.store.unpark_many(unpark)

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
        self,
        env: Envelope,
        seen: Seen | None,
        released: list[tuple[int, str, Envelope]],
        unpark: list[int],
    ) -> list[Outgoing]:
        """Everything a finished message causes; safe to repeat after a crash (consumers dedupe). The
        released successors' parking rows go (``unpark``) only once their copies are confirmed."""
        out = []
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
            out.append(Outgoing(EVENTS, f"{env.routing_key}.result", event))
        for seq, queue_name, nxt in released:
            out.append(Outgoing("", queue_name, nxt))
            unpark.append(seq)
        return out

    def _dead_raw(self, item: _Item, code: int, reason: str) -> Outgoing:
        props = item.props
        headers = dict(props.headers or {})
        headers.update({H_REASON: reason, H_CODE: code, H_ATTEMPTS: 0, H_ORIGIN: self.queue})
        props.headers = headers
        props.delivery_mode = pika.DeliveryMode.Persistent.value
        self.stats["dead"] += 1
        # an envelope only to carry the bytes (the message could not be read as one)
        raw = Envelope(
            kind="unreadable",
            territory=self.territory,
            carnet_id="",
            body=item.body,
            message_id=props.message_id or new_id(),
        )
        return Outgoing("", dead_queue(self.territory), raw, props)


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
