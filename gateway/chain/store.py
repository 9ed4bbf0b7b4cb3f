"""What the guarantee chain relay remembers: messages sent (and whether they were acknowledged), messages
received (with the signed ack, so a re-sent message gets the very same answer), refusals, carnets as the
chain knows them, and claims as they travel the chain (Annex A Art. 8-11).

The tables (``gateway.store.chain_tables``) live on the service's shared metadata so one database holds
everything; the chain relay writes through the relay store's connection handling (WAL, one writer lock).
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from sqlalchemy import (
    Connection,
    insert,
    select,
    text,
    update,
)

from gateway.chain.tx import ChainTx, in_list
from gateway.relay.store import Store
from gateway.store.chain_tables import carnets, claims, received, refused, sent
from gateway.store.schema import ensure


@dataclass(frozen=True, slots=True)
class SentRow:
    message_id: str
    kind: str
    carnet_id: str
    sender: str
    recipient: str
    sent_at: float
    attempts: int
    acked_at: float | None
    ack_status: str | None
    ack_code: int | None
    ack_detail: str | None
    body: bytes

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if k != "body"}


@dataclass(frozen=True, slots=True)
class ClaimRow:
    claim_id: str
    carnet_id: str
    territory: str
    customs: str
    guaranteeing: str
    issuing: str
    state: str
    claim: dict[str, Any]
    evidence: list[dict[str, Any]] | None
    regularisation_fee: str | None
    history: list[dict[str, Any]]


class ChainStore:
    """Chain bookkeeping on a relay :class:`Store` (its engine, its writer lock)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        ensure(store.engine)
        self._stripes = [threading.Lock() for _ in range(64)]

    @contextmanager
    def handling_many(self, recipient: str, message_ids: Sequence[str]) -> Iterator[None]:
        """One handler at a time for each message of a batch to a recipient, across consumers and replicas:
        the duplicate check, the handlers' effects and the records run inside it, so a copy being handled
        elsewhere waits and then finds the first copy's ack. Every id's lock is taken in one order (two
        batches never deadlock). PostgreSQL: advisory locks held by a transaction (released if the process
        dies); SQLite (one machine): process locks."""
        keys = sorted({f"{recipient}\x1f{mid}" for mid in message_ids})
        if not self.store.postgres:
            stripes = sorted({zlib.crc32(k.encode()) % len(self._stripes) for k in keys})
            with ExitStack() as stack:
                for i in stripes:
                    stack.enter_context(self._stripes[i])
                yield
            return
        with self.store.engine.connect() as conn, conn.begin():
            for k in keys:
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": k})
            yield

    # -- sent / acks --------------------------------------------------------------------------
    def record_sent_many(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[SentRow]:
        """Record messages to send, in the caller's transaction (its outbox rows go in the same
        one). ``rows`` hold message_id, kind, carnet_id, sender, recipient, body; ids already recorded keep
        their first row, returned as stored."""
        tx = ChainTx(conn)
        try:
            stored = _sent_in(tx, list(dict.fromkeys(r["message_id"] for r in rows)))
            now = time.time()
            new: dict[str, dict[str, Any]] = {}
            for r in rows:
                if r["message_id"] not in stored:
                    new.setdefault(r["message_id"], {**r, "sent_at": now, "attempts": 1})
            tx.many(_SQL_SEND, list(new.values()))
        finally:
            tx.close()
        stored.update({mid: _sent(_Values(v)) for mid, v in new.items()})
        return [stored[r["message_id"]] for r in rows]

    def sent_rows_in(self, message_ids: Sequence[str]) -> dict[str, SentRow]:
        if not message_ids:
            return {}
        with self.store.read() as conn:
            tx = ChainTx(conn)
            try:
                return _sent_in(tx, list(dict.fromkeys(message_ids)))
            finally:
                tx.close()

    def sent_row(self, message_id: str) -> SentRow | None:
        with self.store.read() as conn:
            row = conn.execute(select(sent).where(sent.c.message_id == message_id)).first()
        return None if row is None else _sent(row)

    def sent_rows(self, carnet_id: str | None = None) -> list[SentRow]:
        q = select(sent).order_by(sent.c.sent_at)
        if carnet_id:
            q = q.where(sent.c.carnet_id == carnet_id)
        with self.store.read() as conn:
            return [_sent(r) for r in conn.execute(q).all()]

    def count_attempt(self, message_id: str) -> None:
        with self.store.begin() as conn:
            conn.execute(
                update(sent).where(sent.c.message_id == message_id).values(attempts=sent.c.attempts + 1)
            )

    def record_ack(
        self, message_id: str, status: str, code: int | None, detail: str | None, from_: str
    ) -> bool:
        """Mark a sent message acknowledged; only its recipient may acknowledge it. False if unknown."""
        with self.store.begin() as conn:
            res = conn.execute(
                update(sent)
                .where(sent.c.message_id == message_id, sent.c.recipient == from_, sent.c.acked_at.is_(None))
                .values(acked_at=time.time(), ack_status=status, ack_code=code, ack_detail=detail)
            )
            if res.rowcount:
                return True
            known = conn.execute(
                select(sent.c.message_id).where(sent.c.message_id == message_id, sent.c.recipient == from_)
            ).first()
            return known is not None  # a repeated ack of an acked message is fine

    def record_acks(self, acks: Sequence[tuple[str, str, int | None, str | None, str]]) -> list[bool]:
        """:meth:`record_ack` for a batch of ``(message_id, status, code, detail, from)``, one transaction."""
        if not acks:
            return []
        with self.store.begin() as conn:
            tx = ChainTx(conn)
            try:
                ids, params = in_list("m", list({a[0] for a in acks}))
                known = {r[0]: (r[1], r[2]) for r in tx.all(_SQL_ACKED_IN.format(ids), params)}
                now, out, todo = time.time(), [], {}
                for mid, status, code, detail, from_ in acks:
                    row = known.get(mid)
                    out.append(row is not None and row[0] == from_)
                    if out[-1] and row is not None and row[1] is None and mid not in todo:
                        todo[mid] = {"m": mid, "at": now, "st": status, "code": code, "det": detail}
                tx.many(_SQL_ACK, list(todo.values()))
            finally:
                tx.close()
        return out

    def pending(self, older_than: float = 0.0, sender: str | None = None) -> list[SentRow]:
        """Sent messages with no acknowledgement yet, sent at least ``older_than`` seconds ago."""
        q = (
            select(sent)
            .where(sent.c.acked_at.is_(None), sent.c.sent_at <= time.time() - older_than)
            .order_by(sent.c.sent_at)
        )
        if sender:
            q = q.where(sent.c.sender == sender)
        with self.store.read() as conn:
            return [_sent(r) for r in conn.execute(q).all()]

    # -- received ------------------------------------------------------------------------------
    def received_ack(self, recipient: str, message_id: str) -> tuple[str, bytes | None] | None:
        """``(status, signed ack)`` if this recipient already handled the message."""
        with self.store.read() as conn:
            row = conn.execute(
                select(received.c.status, received.c.ack).where(
                    received.c.recipient == recipient, received.c.message_id == message_id
                )
            ).first()
        return None if row is None else (row[0], None if row[1] is None else bytes(row[1]))

    def receiving(self, recipient: str, message_ids: Sequence[str]) -> ReceivedBatch:
        """The records of one batch of deliveries to ``recipient`` (see :class:`ReceivedBatch`)."""
        return ReceivedBatch(self, recipient, list(dict.fromkeys(message_ids)))

    def received_count(self, recipient: str | None = None) -> int:
        q = select(received.c.message_id)
        if recipient:
            q = q.where(received.c.recipient == recipient)
        with self.store.read() as conn:
            return len(conn.execute(q).all())

    def record_refused(
        self, recipient: str, message_id: str | None, code: int, pointer: str, reason: str
    ) -> None:
        with self.store.begin() as conn:
            conn.execute(
                insert(refused).values(
                    recipient=recipient,
                    message_id=message_id,
                    code=code,
                    pointer=pointer,
                    reason=reason,
                    at=time.time(),
                )
            )

    def refusals(self, recipient: str | None = None) -> list[dict[str, Any]]:
        q = select(refused).order_by(refused.c.id)
        if recipient:
            q = q.where(refused.c.recipient == recipient)
        with self.store.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q).all()]

    # -- carnets as the chain knows them -------------------------------------------------------
    def set_carnet(
        self, party: str, carnet_id: str, status: str, detail: dict[str, Any], message_id: str
    ) -> None:
        with self.store.begin() as conn:
            values = {
                "status": status,
                "detail": json.dumps(detail, default=str),
                "message_id": message_id,
                "updated": time.time(),
            }
            res = conn.execute(
                update(carnets)
                .where(carnets.c.party == party, carnets.c.carnet_id == carnet_id)
                .values(**values)
            )
            if not res.rowcount:
                conn.execute(insert(carnets).values(party=party, carnet_id=carnet_id, **values))

    def change_carnet(
        self,
        party: str,
        carnet_id: str,
        status: str,
        detail: dict[str, Any],
        message_id: str,
        check: Callable[[str | None], None],
        tx: ChainTx | None = None,
    ) -> None:
        """Read the carnet's status, let ``check`` refuse the change (it raises), then write the new status:
        one transaction (the row locked on PostgreSQL, SQLite's one writer), so two changes of one carnet
        cannot both pass the check on the same old status. ``tx``: in that transaction (a consumer batch's),
        else in one of its own."""
        if tx is None:
            with self.store.begin() as conn:
                own = ChainTx(conn)
                try:
                    self.change_carnet(party, carnet_id, status, detail, message_id, check, own)
                finally:
                    own.close()
            return
        key = {"p": party, "c": carnet_id}
        row = tx.one(_SQL_CARNET_LOCK if tx.postgres else _SQL_CARNET, key)
        check(None if row is None else str(row[0]))
        values = {
            **key,
            "s": status,
            "d": json.dumps(detail, default=str),
            "m": message_id,
            "t": time.time(),
        }
        tx.run(_SQL_CARNET_NEW if row is None else _SQL_CARNET_SET, values)

    def carnet_status(self, party: str, carnet_id: str) -> str | None:
        with self.store.read() as conn:
            row = conn.execute(
                select(carnets.c.status).where(carnets.c.party == party, carnets.c.carnet_id == carnet_id)
            ).first()
        return None if row is None else str(row[0])

    # -- claims --------------------------------------------------------------------------------
    def upsert_claim(
        self,
        claim_id: str,
        *,
        state: str,
        event: str,
        claim: dict[str, Any] | None = None,
        route: dict[str, str] | None = None,
        evidence: Sequence[dict[str, Any]] | None = None,
        regularisation_fee: str | None = None,
    ) -> ClaimRow:
        """Move a claim to ``state`` and append ``event`` to its history (who did what, when)."""
        with self.store.begin() as conn:
            row = conn.execute(select(claims).where(claims.c.claim_id == claim_id)).first()
            entry = {"at": time.time(), "state": state, "event": event}
            if row is None:
                if claim is None or route is None:
                    raise LookupError(f"claim {claim_id} is not known here")
                conn.execute(
                    insert(claims).values(
                        claim_id=claim_id,
                        carnet_id=claim["carnet_id"],
                        territory=claim["territory"],
                        customs=route["customs"],
                        guaranteeing=route["guaranteeing"],
                        issuing=route["issuing"],
                        state=state,
                        claim=json.dumps(claim, default=str),
                        evidence=None if evidence is None else json.dumps(list(evidence), default=str),
                        regularisation_fee=regularisation_fee,
                        history=json.dumps([entry]),
                        updated=time.time(),
                    )
                )
            else:
                values: dict[str, Any] = {
                    "state": state,
                    "history": json.dumps([*json.loads(row.history), entry]),
                    "updated": time.time(),
                }
                if claim is not None:
                    values["claim"] = json.dumps(claim, default=str)
                if evidence is not None:
                    values["evidence"] = json.dumps(list(evidence), default=str)
                if regularisation_fee is not None:
                    values["regularisation_fee"] = regularisation_fee
                conn.execute(update(claims).where(claims.c.claim_id == claim_id).values(**values))
            out = conn.execute(select(claims).where(claims.c.claim_id == claim_id)).one()
        return _claim(out)

    def claim(self, claim_id: str) -> ClaimRow | None:
        with self.store.read() as conn:
            row = conn.execute(select(claims).where(claims.c.claim_id == claim_id)).first()
        return None if row is None else _claim(row)


@dataclass
class ReceivedBatch:
    """The dedup records of one consumer batch, in as few write transactions as its handlers allow.

    :meth:`tx` is the open transaction (begun if none is). Handlers that work in it (``batched``) have
    their effects committed together with their messages' records and signed acks, so a crash leaves
    either both or neither. Before any other handler runs, :meth:`release` ends the transaction (that
    handler writes through its own, as before). Whenever a transaction begins, the batch's ids are looked
    up in it: those recorded meanwhile (a racing copy, another process on one SQLite file) join
    :attr:`prior`, so a batched handler never runs for a message already recorded.
    """

    chain: ChainStore
    recipient: str
    message_ids: list[str]
    prior: dict[str, tuple[str, bytes | None]] = field(default_factory=dict)  # recorded before: (status, ack)
    stored: dict[str, bytes | None] = field(default_factory=dict)  # recorded by this batch: the ack kept
    _pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    _tx: ChainTx | None = None
    _stack: ExitStack | None = None

    def tx(self) -> ChainTx:
        if self._tx is None:
            stack = ExitStack()
            tx = ChainTx(stack.enter_context(self.chain.store.begin()))
            stack.callback(tx.close)
            self._stack, self._tx = stack, tx
            todo = [m for m in self.message_ids if m not in self.prior and m not in self.stored]
            for mid, found in _received_in(tx, self.recipient, todo).items():
                if mid in self._pending:  # handled outside, recorded by a racing copy: its ack wins
                    del self._pending[mid]
                    self.stored[mid] = found[1]
                else:
                    self.prior[mid] = found
        return self._tx

    def add(self, msg: dict[str, Any], status: str, code: int | None, ack: bytes | None) -> None:
        """A handled message and its signed ack, recorded at the next :meth:`commit`."""
        self._pending[msg["MessageID"]] = {
            "recipient": self.recipient,
            "message_id": msg["MessageID"],
            "kind": msg["Kind"],
            "carnet_id": msg["CarnetID"],
            "sender": msg["From"],
            "received_at": time.time(),
            "status": status,
            "code": code,
            "ack": ack,
        }

    @property
    def uncommitted(self) -> int:
        return len(self._pending)

    def release(self) -> None:
        """End the open transaction, if one is (what was added is recorded in it): before a handler that
        writes through its own transactions. Records added while none is open wait for :meth:`commit`."""
        if self._tx is not None:
            self.commit()

    def commit(self) -> None:
        """Record what was added and commit the open transaction (if there is anything to commit)."""
        if self._pending:
            tx = self.tx()  # may find some recorded meanwhile: those are dropped from _pending
            rows = list(self._pending.values())
            tx.many(_SQL_RECEIVE, rows)
            self.stored.update({r["message_id"]: r["ack"] for r in rows})
            self._pending.clear()
        if self._stack is not None:
            stack, self._stack, self._tx = self._stack, None, None
            stack.close()

    def __enter__(self) -> ReceivedBatch:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.commit()
        elif self._stack is not None:  # roll back: handler effects and records alike
            stack, self._stack, self._tx = self._stack, None, None
            stack.__exit__(kind, exc, tb)


def _received_in(
    tx: ChainTx, recipient: str, message_ids: Sequence[str]
) -> dict[str, tuple[str, bytes | None]]:
    if not message_ids:
        return {}
    ids, params = in_list("m", message_ids)
    rows = tx.all(_SQL_RECEIVED_IN.format(ids), {"r": recipient, **params})
    return {r[0]: (r[1], None if r[2] is None else bytes(r[2])) for r in rows}


def _sent_in(tx: ChainTx, message_ids: Sequence[str]) -> dict[str, SentRow]:
    if not message_ids:
        return {}
    ids, params = in_list("m", message_ids)
    return {r[0]: _sent_tuple(r) for r in tx.all(_SQL_SENT_IN.format(ids), params)}


_SENT_COLUMNS = (
    "message_id, kind, carnet_id, sender, recipient, sent_at, attempts, acked_at, ack_status, ack_code, "
    "ack_detail, body"
)
_SQL_SENT_IN = f"SELECT {_SENT_COLUMNS} FROM chain_sent WHERE message_id IN {{}}"
_SQL_SEND = (
    "INSERT INTO chain_sent (message_id, kind, carnet_id, sender, recipient, sent_at, attempts, body) "
    "VALUES (:message_id, :kind, :carnet_id, :sender, :recipient, :sent_at, :attempts, :body)"
)
_SQL_ACKED_IN = "SELECT message_id, recipient, acked_at FROM chain_sent WHERE message_id IN {}"
_SQL_ACK = (
    "UPDATE chain_sent SET acked_at = :at, ack_status = :st, ack_code = :code, ack_detail = :det "
    "WHERE message_id = :m AND acked_at IS NULL"
)
_SQL_RECEIVED_IN = (
    "SELECT message_id, status, ack FROM chain_received WHERE recipient = :r AND message_id IN {}"
)
_SQL_RECEIVE = (
    "INSERT INTO chain_received (recipient, message_id, kind, carnet_id, sender, received_at, status, code, "
    "ack) VALUES (:recipient, :message_id, :kind, :carnet_id, :sender, :received_at, :status, :code, :ack)"
)
_SQL_CARNET = "SELECT status FROM chain_carnets WHERE party = :p AND carnet_id = :c"
_SQL_CARNET_LOCK = _SQL_CARNET + " FOR UPDATE"  # PostgreSQL: two changes of one carnet queue here
_SQL_CARNET_NEW = (
    "INSERT INTO chain_carnets (party, carnet_id, status, detail, message_id, updated) "
    "VALUES (:p, :c, :s, :d, :m, :t)"
)
_SQL_CARNET_SET = (
    "UPDATE chain_carnets SET status = :s, detail = :d, message_id = :m, updated = :t "
    "WHERE party = :p AND carnet_id = :c"
)


class _Values(dict[str, Any]):
    """A row just inserted, read like a result row (absent columns are NULL)."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


def _sent(r: Any) -> SentRow:
    return SentRow(
        r.message_id,
        r.kind,
        r.carnet_id,
        r.sender,
        r.recipient,
        r.sent_at,
        r.attempts,
        r.acked_at,
        r.ack_status,
        r.ack_code,
        r.ack_detail,
        bytes(r.body),
    )


def _sent_tuple(r: tuple[Any, ...]) -> SentRow:
    mid, kind, carnet_id, sender, recipient, sent_at, attempts, acked_at, status, code, detail, body = r
    return SentRow(
        mid,
        kind,
        carnet_id,
        sender,
        recipient,
        sent_at,
        attempts,
        acked_at,
        status,
        code,
        detail,
        bytes(body),
    )


def _claim(r: Any) -> ClaimRow:
    return ClaimRow(
        r.claim_id,
        r.carnet_id,
        r.territory,
        r.customs,
        r.guaranteeing,
        r.issuing,
        r.state,
        json.loads(r.claim),
        None if r.evidence is None else json.loads(r.evidence),
        r.regularisation_fee,
        json.loads(r.history),
    )
