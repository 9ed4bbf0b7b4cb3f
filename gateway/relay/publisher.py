"""Confirmed, pipelined publishing through an outbox.

``Publisher.publish`` first writes the envelopes to the outbox (the caller's acceptance is durable from
then on), then sends them with many publishes in flight on one confirm-mode channel, and deletes each
row only when the broker has confirmed it. A crash anywhere in between leaves the rows in the outbox;
``drain()`` at the next start sends them again (at-least-once; consumers dedupe by message ID).

pika's BlockingChannel waits for each confirm in turn (~1.4k msg/s here), so the channel lives on a
SelectConnection whose ioloop runs in a background thread; callers hand it batches and wait on the batch.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pika
from pika.channel import Channel
from pika.spec import Basic
from sqlalchemy import Connection

from gateway.errors import Code, Problem, Refusal
from gateway.relay.backoff import reason
from gateway.relay.connect import connect, first_reachable
from gateway.relay.envelope import Envelope
from gateway.relay.store import OutboxRow, Store
from gateway.relay.topology import OUTBOUND, Topology

WINDOW = 2_000  # publishes in flight per batch; bounds memory and broker-side buffering


class PublishError(Refusal):
    """Some messages were not confirmed; ``failures`` maps message_id → reason. Rows stay in the outbox."""

    def __init__(self, failures: dict[str, str]):
        self.failures = failures
        super().__init__(
            [Problem(Code.INTERNAL, f"/messages/{mid}", why) for mid, why in list(failures.items())[:20]]
        )


class Unroutable(PublishError):
    """The broker had no queue for a routing key (mandatory publish returned)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    exchange: str
    routing_key: str
    envelope: Envelope
    props: pika.BasicProperties | None = None  # instead of the envelope's own (extra headers, a raw copy)


@dataclass
class _Batch:
    results: list[str | None]
    left: int
    done: threading.Event = field(default_factory=threading.Event)

    def settle(self, index: int, error: str | None) -> None:
        if self.results[index] is None:
            self.results[index] = error
        self.left -= 1
        if self.left <= 0:
            self.done.set()


class ConfirmChannel:
    """A confirm-mode channel on a SelectConnection in its own thread; ``send`` pipelines a batch."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self._timeout = timeout
        self._seq = 0
        self._pending: dict[int, tuple[_Batch, int]] = {}
        self._returned: set[int] = set()
        self._by_mid: dict[str, list[int]] = {}
        self._mid_by_tag: dict[int, str] = {}
        first_reachable(url, self._open)  # the first node of the setting that answers

    def _open(self, params: pika.URLParameters) -> None:
        self._ready = threading.Event()
        self._error: str | None = None
        self._channel: Channel | None = None
        self._conn = pika.SelectConnection(
            params,
            on_open_callback=self._on_open,
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_close,
        )
        self._thread = threading.Thread(target=self._conn.ioloop.start, name="eata-confirm", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._timeout) or self._error:
            self.close()
            raise ConnectionError(f"cannot open a confirm channel: {self._error or 'timeout'}")

    @property
    def is_open(self) -> bool:
        return (
            self._ready.is_set()
            and self._error is None
            and self._channel is not None
            and self._channel.is_open
        )

    # -- ioloop thread ------------------------------------------------------------------------
    def _on_open(self, conn: pika.SelectConnection) -> None:
        conn.channel(on_open_callback=self._on_channel)

    def _on_open_error(self, _conn: object, err: BaseException | str) -> None:
        # pika's connection errors often print as "": say what it was, or the caller takes this for open
        self._error = (reason(err) if isinstance(err, BaseException) else str(err)) or repr(err)
        self._ready.set()
        self._conn.ioloop.stop()

    def _on_close(self, _conn: object, reason: BaseException) -> None:
        self._error = self._error or f"connection closed: {reason}"
        self._fail_all(self._error)
        self._ready.set()
        self._conn.ioloop.stop()

    def _on_channel(self, ch: Channel) -> None:
        self._channel = ch
        ch.add_on_return_callback(self._on_return)
        ch.add_on_close_callback(self._on_channel_close)
        ch.confirm_delivery(self._on_confirm, callback=lambda _frame: self._ready.set())

    def _on_channel_close(self, _ch: Channel, reason: BaseException) -> None:
        self._error = self._error or f"channel closed: {reason}"
        self._fail_all(self._error)
        if self._conn.is_open:
            self._conn.close()

    def _on_return(
        self, _ch: Channel, _method: Basic.Return, props: pika.BasicProperties, _body: bytes
    ) -> None:
        # basic.return comes before the ack of the same message; remember which publish it was
        tags = self._by_mid.get(props.message_id or "")
        if tags:
            self._returned.add(tags[0])

    def _on_confirm(self, frame: pika.frame.Method) -> None:
        method = frame.method
        nack = isinstance(method, Basic.Nack)
        tags = (
            sorted(t for t in self._pending if t <= method.delivery_tag)
            if method.multiple
            else [method.delivery_tag]
        )
        for tag in tags:
            entry = self._pending.pop(tag, None)
            if entry is None:
                continue
            batch, index = entry
            mid = self._mid_by_tag.pop(tag, "")
            same = self._by_mid.get(mid)
            if same is not None:
                if tag in same:
                    same.remove(tag)
                if not same:
                    del self._by_mid[mid]
            if nack:
                batch.settle(index, "nacked by the broker")
            elif tag in self._returned:
                self._returned.discard(tag)
                batch.settle(index, "unroutable")
            else:
                batch.settle(index, None)

    def _fail_all(self, why: str) -> None:
        pending, self._pending = self._pending, {}
        self._by_mid.clear()
        self._mid_by_tag.clear()
        for batch, index in pending.values():
            batch.settle(index, why)

    def _publish_batch(self, items: Sequence[Outgoing], batch: _Batch) -> None:
        ch = self._channel
        for i, item in enumerate(items):
            if ch is None or not ch.is_open:
                batch.settle(i, self._error or "channel closed")
                continue
            self._seq += 1
            self._pending[self._seq] = (batch, i)
            self._by_mid.setdefault(item.envelope.message_id, []).append(self._seq)
            self._mid_by_tag[self._seq] = item.envelope.message_id
            ch.basic_publish(
                item.exchange,
                item.routing_key,
                item.envelope.body,
                item.envelope.properties() if item.props is None else item.props,
                mandatory=True,
            )

    # -- caller side ---------------------------------------------------------------------------
    def send(self, items: Sequence[Outgoing]) -> list[str | None]:
        """Publish all, wait for every confirm; per item ``None`` (confirmed) or the reason it was not."""
        results: list[str | None] = []
        for start in range(0, len(items), WINDOW):
            chunk = items[start : start + WINDOW]
            if not self.is_open:
                results.extend([self._error or "not connected"] * len(chunk))
                continue
            batch = _Batch([None] * len(chunk), len(chunk))
            self._conn.ioloop.add_callback_threadsafe(lambda c=chunk, b=batch: self._publish_batch(c, b))
            if not batch.done.wait(self._timeout):
                results.extend(r or "no confirm in time" for r in batch.results)
                continue
            results.extend(batch.results)
        return results

    def close(self) -> None:
        def _close() -> None:
            if self._conn.is_open:
                self._conn.close()
            elif not self._conn.is_closed:
                return
            else:
                self._conn.ioloop.stop()

        if self._thread.is_alive():
            self._conn.ioloop.add_callback_threadsafe(_close)
            self._thread.join(10)


class Publisher:
    """Outbox + pipelined confirms. Thread-safe for callers: batches are serialised on one channel."""

    def __init__(
        self, url: str, store: Store, *, topology: Topology | None = None, timeout: float = 30.0
    ) -> None:
        self.url = url
        self.store = store
        self.topology = topology or Topology()
        self.timeout = timeout
        self._lock = threading.Lock()
        self._chan: ConfirmChannel | None = None
        self.failures_total = 0  # rows sent but not confirmed (broker down, nacked, unroutable)
        self.drain_error: str | None = (
            None  # why the last drain round stopped short; None when it went through
        )

    def _channel(self) -> ConfirmChannel:
        if self._chan is None or not self._chan.is_open:
            if self._chan is not None:
                self._chan.close()
            self._chan = ConfirmChannel(self.url, timeout=self.timeout)
        return self._chan

    def declare(self, territories: Sequence[str]) -> None:
        conn = connect(self.url)
        try:
            self.topology.declare(conn, territories)
        finally:
            conn.close()

    def accept(self, envelopes: Iterable[Envelope], exchange: str = OUTBOUND) -> list[int]:
        """Write to the outbox only (durable acceptance); ``flush``/``drain`` sends later."""
        with self.store.begin() as conn:
            return self.store.outbox_put_many(conn, [(e, exchange, e.routing_key) for e in envelopes])

    def publish(self, envelopes: Iterable[Envelope], exchange: str = OUTBOUND) -> None:
        """Accept then send; raises :class:`Unroutable` / :class:`PublishError` for what was not confirmed."""
        self.send_accepted(self.accept(envelopes, exchange))

    def send_accepted(self, ids: Sequence[int]) -> None:
        """Send outbox rows accepted earlier (e.g. written by the caller in its own transaction, with the
        records they belong to), pipelined with one wait for all confirms; confirmed rows leave the outbox,
        the rest stay for ``drain`` and raise :class:`Unroutable` / :class:`PublishError`."""
        if not self.store.postgres:
            self._send_rows(self.store.outbox_rows(ids))
            return
        error: PublishError | None = None
        with self.store.begin() as conn:  # rows a replica's drainer took meanwhile are its to send
            try:
                self._send_rows(self.store.outbox_claim(conn, ids=ids), conn=conn)
            except PublishError as exc:
                error = exc  # the confirmed rows' deletion still commits
        if error is not None:
            raise error

    def drain(self, *, older_than: float = 0.0, batch: int = WINDOW) -> int:
        """Send every outbox row left unconfirmed (by a crash, a broker outage); returns how many went.

        A round stops at the first batch the broker did not take (it is down: the rest would fail the
        same way); :attr:`drain_error` then says why, and :attr:`failures_total` counts the rows.
        """
        sent, after = 0, 0
        while True:
            with self.store.begin() if self.store.postgres else contextlib.nullcontext() as conn:
                if conn is not None and not self.store.outbox_turn(conn):
                    return sent  # another replica is draining this round
                if conn is not None:
                    rows = self.store.outbox_claim(conn, limit=batch, after_id=after, older_than=older_than)
                else:
                    rows = self.store.outbox_pending(batch, after_id=after, older_than=older_than)
                if not rows:
                    self.drain_error = None
                    return sent
                after = rows[-1].id
                try:
                    sent += self._send_rows(rows, conn=conn)
                except Unroutable:
                    pass  # kept aside as failed (for an operator), not a broker outage
                except PublishError as exc:
                    reasons = sorted(set(exc.failures.values()))
                    self.drain_error = (
                        f"{len(exc.failures)} of {len(rows)} not confirmed: {'; '.join(reasons[:3])}"
                    )
                    return sent

    def _send_rows(self, rows: Sequence[OutboxRow], *, conn: Connection | None = None) -> int:
        """Send ``rows``; confirmed ones leave the outbox (in ``conn``'s transaction when given). Raises
        :class:`Unroutable` / :class:`PublishError` for the rest, after recording what was confirmed."""
        if not rows:
            return 0
        with self._lock:
            try:
                results = self._channel().send(
                    [Outgoing(r.exchange, r.routing_key, r.envelope) for r in rows]
                )
            except ConnectionError as exc:
                results = [str(exc)] * len(rows)
            if any(err not in (None, "unroutable") for err in results) and self._chan is not None:
                # A channel opened while a node was down can go on being nacked after its queues' new
                # leaders are elected (it still enqueues towards the old one): the next round opens afresh.
                self._chan.close()
                self._chan = None
        ok = [r.id for r, err in zip(rows, results, strict=True) if err is None]
        self.store.outbox_done(ok, conn)
        unroutable = {r.id: err for r, err in zip(rows, results, strict=True) if err == "unroutable"}
        self.store.outbox_failed(unroutable, conn)
        failures = {
            r.envelope.message_id: err for r, err in zip(rows, results, strict=True) if err is not None
        }
        if failures:
            self.failures_total += len(failures)
            if set(failures.values()) == {"unroutable"}:
                raise Unroutable(failures)
            raise PublishError(failures)
        return len(ok)

    def close(self) -> None:
        with self._lock:
            if self._chan is not None:
                self._chan.close()
                self._chan = None

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
