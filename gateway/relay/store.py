"""The relay's own state, in the gateway's database: outbox, dedup record, carnet holds and parked messages.

SQLite (WAL) by default, any SQLAlchemy URL otherwise. Every write that must be atomic with another runs
in one ``begin()`` block; on SQLite that block starts with BEGIN IMMEDIATE so two writers never deadlock
on a read-then-write upgrade.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from gateway.relay.envelope import Envelope
from gateway.store.engine import is_postgres, make_engine
from gateway.store.relay_tables import holds, outbox, parked
from gateway.store.schema import ensure


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    exchange: str
    routing_key: str
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class Seen:
    outcome: str
    code: int | None
    event: bytes | None
    generation: int


class Store:
    """Injected into publisher and worker; tests give each its own temp file."""

    def __init__(self, url: str = "sqlite:///eata-relay.db", *, engine: Engine | None = None) -> None:
        self.url = url if engine is None else engine.url.render_as_string(hide_password=True)
        self.engine = engine or make_engine(url)
        self.postgres = is_postgres(self.engine)
        # SQLite: threads of a process queue on a lock rather than on SQLite's busy handler. PostgreSQL
        # takes row locks itself (and a long drain transaction must not stall every other writer).
        self._write_lock: Any = contextlib.nullcontext() if self.postgres else threading.Lock()
        # raw fast path only on an engine we configured (WAL, autocommit driver); a shared engine (the API's)
        # keeps its own transaction handling
        self._raw = engine is None and self.engine.dialect.name == "sqlite"
        self._local = threading.local()
        ensure(self.engine)  # at the code's schema revision (an empty database is created), else refused

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction. Threads of one process queue on a lock rather than on SQLite's busy
        handler, whose back-off sleeps (up to 100 ms) would cap a multi-threaded worker at ~100 msg/s."""
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot: plain BEGIN (WAL readers never block the writer)."""
        with self.engine.connect() as conn:
            conn.info["eata_read"] = True
            try:
                yield conn
            finally:
                conn.info.pop("eata_read", None)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- outbox ----------------------------------------------------------------------------------
    def outbox_put(self, conn: Connection, env: Envelope, exchange: str, routing_key: str) -> int:
        res = conn.execute(
            insert(outbox).values(
                message_id=env.message_id,
                exchange=exchange,
                routing_key=routing_key,
                meta=env.meta_json(),
                body=env.body,
                created=time.time(),
            )
        )
        key = res.inserted_primary_key
        assert key is not None  # an INSERT of one row: its key is known
        return int(key[0])

    def outbox_put_many(self, conn: Connection, rows: Sequence[tuple[Envelope, str, str]]) -> list[int]:
        """Many rows in one statement (``INSERT … RETURNING``, ids in the order given)."""
        if not rows:
            return []
        now = time.time()
        res = conn.execute(
            insert(outbox).returning(outbox.c.id, sort_by_parameter_order=True),
            [
                {
                    "message_id": env.message_id,
                    "exchange": exchange,
                    "routing_key": routing_key,
                    "meta": env.meta_json(),
                    "body": env.body,
                    "created": now,
                }
                for env, exchange, routing_key in rows
            ],
        )
        return [int(r[0]) for r in res]

    def outbox_pending(
        self, limit: int = 1000, after_id: int = 0, older_than: float = 0.0
    ) -> list[OutboxRow]:
        q = (
            select(outbox)
            .where(
                outbox.c.failed.is_(None),
                outbox.c.id > after_id,
                outbox.c.created <= time.time() - older_than,
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with self.read() as conn:
            rows = conn.execute(q).all()
        return [OutboxRow(r.id, r.exchange, r.routing_key, Envelope.from_meta(r.meta, r.body)) for r in rows]

    def outbox_rows(self, ids: Sequence[int]) -> list[OutboxRow]:
        with self.read() as conn:
            rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id)).all()
        return [OutboxRow(r.id, r.exchange, r.routing_key, Envelope.from_meta(r.meta, r.body)) for r in rows]

    # Several gateway replicas drain one PostgreSQL outbox. A sender holds its rows locked
    # (``FOR UPDATE SKIP LOCKED``) from reading them until they are confirmed and deleted, in one
    # transaction: another replica skips them, and sees them again only if the sender died (at-least-once).
    # Drain rounds also take a transaction-scoped advisory lock, so one replica drains at a time and the
    # outbox leaves in id order (a carnet's transactions in the order they were accepted).
    def outbox_turn(self, conn: Connection) -> bool:
        """PostgreSQL: True if this transaction may drain now (no other replica is draining)."""
        if not self.postgres:
            return True
        return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _DRAIN_LOCK}).scalar())

    def outbox_claim(
        self,
        conn: Connection,
        *,
        limit: int = 1000,
        after_id: int = 0,
        older_than: float = 0.0,
        ids: Sequence[int] | None = None,
    ) -> list[OutboxRow]:
        """Pending rows, locked for this transaction on PostgreSQL (rows another sender holds are skipped)."""
        q = select(outbox).where(outbox.c.failed.is_(None)).order_by(outbox.c.id)
        if ids is not None:
            q = q.where(outbox.c.id.in_(ids))
        else:
            q = q.where(outbox.c.id > after_id, outbox.c.created <= time.time() - older_than).limit(limit)
        if self.postgres:
            q = q.with_for_update(skip_locked=True)
        rows = conn.execute(q).all()
        return [OutboxRow(r.id, r.exchange, r.routing_key, Envelope.from_meta(r.meta, r.body)) for r in rows]

    def outbox_done(self, ids: Sequence[int], conn: Connection | None = None) -> None:
        if not ids:
            return
        if conn is not None:
            conn.execute(delete(outbox).where(outbox.c.id.in_(ids)))
            return
        with self.begin() as c:
            c.execute(delete(outbox).where(outbox.c.id.in_(ids)))

    def outbox_failed(self, failures: dict[int, str], conn: Connection | None = None) -> None:
        if not failures:
            return
        with contextlib.nullcontext(conn) if conn is not None else self.begin() as c:
            for row_id, why in failures.items():
                c.execute(update(outbox).where(outbox.c.id == row_id).values(failed=why))

    def outbox_oldest_age(self) -> float:
        """Seconds since the oldest pending (unsent, not failed) outbox row was accepted; 0 when empty."""
        with self.read() as conn:
            oldest = conn.execute(
                select(func.min(outbox.c.created)).where(outbox.c.failed.is_(None))
            ).scalar()
        return 0.0 if oldest is None else max(0.0, time.time() - float(oldest))

    def outbox_counts(self) -> dict[str, int]:
        def count(table: Any, *where: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

        with self.read() as conn:
            return {
                "outbox_pending": count(outbox, outbox.c.failed.is_(None)),
                "outbox_failed": count(outbox, outbox.c.failed.is_not(None)),
                "holds": count(holds),
                "parked": count(parked),
            }

    # -- dedup, holds, parking (worker) ------------------------------------------------------------
    # Hot path: two short write transactions per message. On SQLite they run on a per-thread raw DB-API
    # connection with fixed SQL: SQLAlchemy's per-statement machinery was half the worker's CPU.
    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[_Tx]:
        if not self._raw:
            with self.begin() if write else self.read() as conn:
                yield _Tx(conn, None)
            return
        raw = getattr(self._local, "raw", None)
        if raw is None:
            raw = self._local.raw = self.engine.raw_connection()  # keeps our PRAGMAs; held by this thread
        cur = raw.cursor()
        with self._write_lock if write else contextlib.nullcontext():
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield _Tx(None, cur)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    def seen(self, conn: Connection, message_id: str) -> Seen | None:
        return _Tx(conn, None).seen(message_id)

    def claim(self, env: Envelope, queue: str) -> tuple[str, Seen | None]:
        """Decide what to do with an arriving message, atomically.

        Returns ``("seen", record)`` if already finished, ``("go", None)`` if this message now holds its
        carnet, ``("parked", None)`` if an earlier message of the carnet holds it (the message is now
        stored and may be acked).
        """
        with self._tx() as tx:
            return self._claim(tx, env, queue)

    def claim_many(self, envs: Sequence[Envelope], queue: str) -> list[tuple[str, Seen | None]]:
        """:meth:`claim` for each, in order, in one transaction (a worker's batch)."""
        with self._tx() as tx:
            return [self._claim(tx, env, queue) for env in envs]

    def _claim(self, tx: _Tx, env: Envelope, queue: str) -> tuple[str, Seen | None]:
        record = tx.seen(env.message_id)
        if record is not None and not (record.outcome == "dead" and env.generation > record.generation):
            return "seen", record
        holder = tx.one(_SQL_HOLDER, {"c": env.carnet_id})
        if holder is None:
            tx.run(_SQL_HOLD, {"c": env.carnet_id, "m": env.message_id, "t": time.time()})
            return "go", None
        if holder[0] == env.message_id:
            return "go", None
        if tx.one(_SQL_IS_PARKED, {"c": env.carnet_id, "m": env.message_id}) is None:
            tx.run(
                _SQL_PARK,
                {
                    "c": env.carnet_id,
                    "m": env.message_id,
                    "q": queue,
                    "meta": env.meta_json(),
                    "b": env.body,
                },
            )
        return "parked", None

    def finish(
        self, env: Envelope, outcome: str, *, code: int | None = None, event: bytes | None = None
    ) -> list[tuple[int, str, Envelope]]:
        """Record the outcome and hand the carnet to its next parked message, in one transaction.

        Returns the released-but-not-yet-republished parked messages of the carnet (see :meth:`released`).
        """
        with self._tx() as tx:
            return self._finish(tx, env, outcome, code, event)

    def finish_many(
        self, finished: Sequence[tuple[Envelope, str, int | None, bytes | None]]
    ) -> list[list[tuple[int, str, Envelope]]]:
        """:meth:`finish` for each (envelope, outcome, code, event), in order, in one transaction."""
        if not finished:
            return []
        with self._tx() as tx:
            return [self._finish(tx, env, outcome, code, event) for env, outcome, code, event in finished]

    def _finish(
        self, tx: _Tx, env: Envelope, outcome: str, code: int | None, event: bytes | None
    ) -> list[tuple[int, str, Envelope]]:
        tx.run(
            _SQL_RECORD,
            {
                "m": env.message_id,
                "o": outcome,
                "c": code,
                "e": event,
                "g": env.generation,
                "t": time.time(),
            },
        )
        if not tx.run(_SQL_UNHOLD, {"c": env.carnet_id, "m": env.message_id}):
            return []  # not the holder (a duplicate, or a poison message that never claimed)
        nxt = tx.one(_SQL_NEXT_PARKED, {"c": env.carnet_id})
        if nxt is None:
            return []
        tx.run(_SQL_HOLD, {"c": env.carnet_id, "m": nxt[1], "t": time.time()})
        tx.run(_SQL_RELEASE, {"s": nxt[0]})
        return tx.released(env.carnet_id)

    def released(self, carnet_id: str) -> list[tuple[int, str, Envelope]]:
        """Parked messages handed their carnet but not yet re-published: (seq, queue, envelope)."""
        with self._tx(write=False) as tx:
            return tx.released(carnet_id)

    def unpark(self, seq: int) -> None:
        self.unpark_many([seq])

    def unpark_many(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        with self._tx() as tx:
            for seq in seqs:
                tx.run(_SQL_UNPARK, {"s": seq})


class _Tx:
    """The few statements of the hot path, on a SQLAlchemy connection or a raw sqlite3 cursor."""

    def __init__(self, conn: Connection | None, cur: Any) -> None:
        self.conn, self.cur = conn, cur

    def one(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        if self.cur is not None:
            return self.cur.execute(sql, params).fetchone()
        assert self.conn is not None
        row = self.conn.execute(_text(sql), params).first()
        return None if row is None else tuple(row)

    def all(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        if self.cur is not None:
            return list(self.cur.execute(sql, params).fetchall())
        assert self.conn is not None
        return [tuple(r) for r in self.conn.execute(_text(sql), params).all()]

    def run(self, sql: str, params: dict[str, Any]) -> int:
        if self.cur is not None:
            return int(self.cur.execute(sql, params).rowcount)
        assert self.conn is not None
        return int(self.conn.execute(_text(sql), params).rowcount)

    def seen(self, message_id: str) -> Seen | None:
        r = self.one(_SQL_SEEN, {"m": message_id})
        return None if r is None else Seen(r[0], r[1], None if r[2] is None else bytes(r[2]), r[3])

    def released(self, carnet_id: str) -> list[tuple[int, str, Envelope]]:
        rows = self.all(_SQL_RELEASED, {"c": carnet_id})
        return [(r[0], r[1], Envelope.from_meta(r[2], r[3])) for r in rows]


@functools.cache
def _text(sql: str) -> Any:
    return text(sql)


_DRAIN_LOCK = 0x6561_7461_6F62  # "eataob": the outbox drain's advisory lock key (PostgreSQL)

_SQL_SEEN = "SELECT outcome, code, event, generation FROM relay_dedup WHERE message_id = :m"
_SQL_HOLDER = "SELECT message_id FROM relay_holds WHERE carnet_id = :c"
_SQL_HOLD = "INSERT INTO relay_holds (carnet_id, message_id, since) VALUES (:c, :m, :t)"
_SQL_UNHOLD = "DELETE FROM relay_holds WHERE carnet_id = :c AND message_id = :m"
_SQL_IS_PARKED = "SELECT seq FROM relay_parked WHERE carnet_id = :c AND message_id = :m"
_SQL_PARK = (
    "INSERT INTO relay_parked (carnet_id, message_id, queue, meta, body, released) "
    "VALUES (:c, :m, :q, :meta, :b, FALSE)"
)
_SQL_NEXT_PARKED = (
    "SELECT seq, message_id FROM relay_parked WHERE carnet_id = :c AND NOT released ORDER BY seq LIMIT 1"
)
_SQL_RELEASE = "UPDATE relay_parked SET released = TRUE WHERE seq = :s"
_SQL_RELEASED = (
    "SELECT seq, queue, meta, body FROM relay_parked WHERE carnet_id = :c AND released ORDER BY seq"
)
_SQL_UNPARK = "DELETE FROM relay_parked WHERE seq = :s"
# ON CONFLICT works on SQLite >= 3.24 and PostgreSQL
_SQL_RECORD = (
    "INSERT INTO relay_dedup (message_id, outcome, code, event, generation, at) VALUES (:m, :o, :c, :e, :g, :t) "
    "ON CONFLICT (message_id) DO UPDATE SET outcome = excluded.outcome, code = excluded.code, "
    "event = excluded.event, generation = excluded.generation, at = excluded.at"
)
