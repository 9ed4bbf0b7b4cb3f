"""How the chain relay publishes: one confirm channel, pipelined batches, and the outbox only where it
is the record.

A notice (``ChainRelay.send_many``) is accepted when its chain_sent and outbox rows commit; the rows are
written in that transaction as fixed SQL, and on SQLite the confirmed ones are deleted the same way
(PostgreSQL: ``Publisher.send_accepted``, which locks them against a replica's drainer). What the broker
does not confirm stays in the outbox for ``Publisher.drain``, as with the relay's publisher.

An ack needs no outbox: its signed bytes are already recorded with the message it answers, and the
delivery is acked to the broker only once the ack is confirmed, so an ack that does not get through
means a redelivery, which sends the recorded bytes again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from sqlalchemy import Connection

from gateway.chain.tx import ChainTx, in_list
from gateway.relay.envelope import Envelope
from gateway.relay.publisher import ConfirmChannel, Outgoing, Publisher, PublishError, Unroutable
from gateway.relay.store import Store


class ChainSender:
    """Confirmed publishing for one :class:`~gateway.chain.relay.ChainRelay`; thread-safe."""

    def __init__(self, url: str, store: Store, publisher: Publisher, exchange: str) -> None:
        self.url = url
        self.store = store
        self.publisher = publisher  # drains the outbox; on PostgreSQL sends the notices
        self.exchange = exchange
        self._lock = threading.Lock()
        self._chan: ConfirmChannel | None = None

    def _channel(self) -> ConfirmChannel:
        if self._chan is None or not self._chan.is_open:
            if self._chan is not None:
                self._chan.close()
            self._chan = ConfirmChannel(self.url, timeout=self.publisher.timeout)
        return self._chan

    def confirm(self, envelopes: Sequence[Envelope]) -> list[str | None]:
        """Publish pipelined with one wait for every confirm: per envelope ``None`` or why not."""
        if not envelopes:
            return []
        items = [Outgoing(self.exchange, e.routing_key, e) for e in envelopes]
        with self._lock:
            try:
                results = self._channel().send(items)
            except ConnectionError as exc:
                results = [str(exc)] * len(items)
            if any(err not in (None, "unroutable") for err in results) and self._chan is not None:
                # as Publisher does: a channel nacked once may go on being nacked; the next batch opens afresh
                self._chan.close()
                self._chan = None
        return results

    def send(self, envelopes: Sequence[Envelope]) -> None:
        """Publish without the outbox (acks); raises :class:`Unroutable` / :class:`PublishError`."""
        _raise_for(self.publisher, envelopes, self.confirm(envelopes))

    def put(self, conn: Connection, envelopes: Sequence[Envelope]) -> list[int]:
        """Outbox rows in the caller's transaction; their ids, in order."""
        tx = ChainTx(conn)
        try:
            now = time.time()
            ids = []
            for e in envelopes:
                params = {
                    "m": e.message_id,
                    "x": self.exchange,
                    "k": e.routing_key,
                    "meta": e.meta_json(),
                    "b": e.body,
                    "t": now,
                }
                ids.append(tx.insert(_SQL_PUT, params))
            return ids
        finally:
            tx.close()

    def send_put(self, ids: Sequence[int], envelopes: Sequence[Envelope]) -> None:
        """Publish outbox rows just committed (``put``); confirmed rows leave the outbox, the rest stay for
        the drainer and raise :class:`Unroutable` / :class:`PublishError`."""
        if self.store.postgres:
            self.publisher.send_accepted(ids)
            return
        results = self.confirm(envelopes)
        done = [i for i, err in zip(ids, results, strict=True) if err is None]
        unroutable = [{"i": i, "f": err} for i, err in zip(ids, results, strict=True) if err == "unroutable"]
        if done or unroutable:
            with self.store.begin() as conn:
                tx = ChainTx(conn)
                try:
                    if done:
                        where, params = in_list("i", done)
                        tx.run(_SQL_DONE.format(where), params)
                    tx.many(_SQL_FAILED, unroutable)  # kept aside for an operator, not re-sent
                finally:
                    tx.close()
        _raise_for(self.publisher, envelopes, results)

    def close(self) -> None:
        with self._lock:
            if self._chan is not None:
                self._chan.close()
                self._chan = None


def _raise_for(publisher: Publisher, envelopes: Sequence[Envelope], results: Sequence[str | None]) -> None:
    failures = {e.message_id: err for e, err in zip(envelopes, results, strict=True) if err is not None}
    if not failures:
        return
    publisher.failures_total += len(failures)
    if set(failures.values()) == {"unroutable"}:
        raise Unroutable(failures)
    raise PublishError(failures)


_SQL_PUT = (
    "INSERT INTO relay_outbox (message_id, exchange, routing_key, meta, body, created) "
    "VALUES (:m, :x, :k, :meta, :b, :t)"
)
_SQL_DONE = "DELETE FROM relay_outbox WHERE id IN {}"
_SQL_FAILED = "UPDATE relay_outbox SET failed = :f WHERE id = :i"
