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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

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
    def handling(self, recipient: str, message_id: str) -> Iterator[None]:
        """One handler at a time for a message to a recipient, across consumers and replicas: the
        duplicate check, the handler's effects and :meth:`record_received` run inside it, so a copy
        being handled elsewhere waits and then finds the first copy's ack. PostgreSQL: an advisory lock
        held by a transaction (released if the process dies); SQLite (one machine): a process lock."""
        key = f"{recipient}\x1f{message_id}"
        if not self.store.postgres:
            with self._stripes[zlib.crc32(key.encode()) % len(self._stripes)]:
                yield
            return
        with self.store.engine.connect() as conn, conn.begin():
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})
            yield

    @contextmanager
    def handling_many(self, recipient: str, message_ids: Sequence[str]) -> Iterator[None]:
        """:meth:`handling` for a batch: every id's lock, taken in one order (two batches never deadlock)."""
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
    def record_sent(
        self, message_id: str, kind: str, carnet_id: str, sender: str, recipient: str, body: bytes
    ) -> SentRow:
        """Record a message to send; a message already recorded keeps its first bytes (idempotent)."""
        with self.store.begin() as conn:
            row = conn.execute(select(sent).where(sent.c.message_id == message_id)).first()
            if row is None:
                conn.execute(
                    insert(sent).values(
                        message_id=message_id,
                        kind=kind,
                        carnet_id=carnet_id,
                        sender=sender,
                        recipient=recipient,
                        sent_at=time.time(),
                        attempts=1,
                        body=body,
                    )
                )
                row = conn.execute(select(sent).where(sent.c.message_id == message_id)).one()
        return _sent(row)

    def record_sent_many(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[SentRow]:
        """:meth:`record_sent` for a batch, in the caller's transaction (its outbox rows go in the same
        one). ``rows`` hold message_id, kind, carnet_id, sender, recipient, body; ids already recorded keep
        their first row, returned as stored."""
        mids = list(dict.fromkeys(r["message_id"] for r in rows))
        stored = {
            r.message_id: _sent(r) for r in conn.execute(select(sent).where(sent.c.message_id.in_(mids)))
        }
        now = time.time()
        new: dict[str, dict[str, Any]] = {}
        for r in rows:
            if r["message_id"] not in stored:
                new.setdefault(r["message_id"], {**r, "sent_at": now, "attempts": 1})
        if new:
            conn.execute(insert(sent), list(new.values()))
        stored.update({mid: _sent(_Values(v)) for mid, v in new.items()})
        return [stored[r["message_id"]] for r in rows]

    def sent_rows_in(self, message_ids: Sequence[str]) -> dict[str, SentRow]:
        if not message_ids:
            return {}
        with self.store.read() as conn:
            q = select(sent).where(sent.c.message_id.in_(list(message_ids)))
            return {r.message_id: _sent(r) for r in conn.execute(q)}

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
            q = select(sent.c.message_id, sent.c.recipient, sent.c.acked_at).where(
                sent.c.message_id.in_(list({a[0] for a in acks}))
            )
            known = {r.message_id: (r.recipient, r.acked_at) for r in conn.execute(q)}
            now, out, todo = time.time(), [], {}
            for mid, status, code, detail, from_ in acks:
                row = known.get(mid)
                out.append(row is not None and row[0] == from_)
                if out[-1] and row is not None and row[1] is None and mid not in todo:
                    todo[mid] = {"b_mid": mid, "b_at": now, "b_st": status, "b_code": code, "b_det": detail}
            if todo:
                conn.execute(
                    update(sent)
                    .where(sent.c.message_id == bindparam("b_mid"), sent.c.acked_at.is_(None))
                    .values(
                        acked_at=bindparam("b_at"),
                        ack_status=bindparam("b_st"),
                        ack_code=bindparam("b_code"),
                        ack_detail=bindparam("b_det"),
                    ),
                    list(todo.values()),
                )
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

    def record_received(
        self,
        recipient: str,
        msg: dict[str, Any],
        status: str,
        code: int | None,
        ack: bytes | None,
    ) -> bytes | None:
        """Record a handled message with its ack; if a racing copy got there first, return *its* ack
        (the primary key decides: of two inserts, one wins and the other reads the winner's row)."""
        mid = msg["MessageID"]
        for _ in range(2):
            try:
                with self.store.begin() as conn:
                    row = conn.execute(
                        select(received.c.ack).where(
                            received.c.recipient == recipient, received.c.message_id == mid
                        )
                    ).first()
                    if row is not None:
                        return None if row[0] is None else bytes(row[0])
                    conn.execute(
                        insert(received).values(
                            recipient=recipient,
                            message_id=mid,
                            kind=msg["Kind"],
                            carnet_id=msg["CarnetID"],
                            sender=msg["From"],
                            received_at=time.time(),
                            status=status,
                            code=code,
                            ack=ack,
                        )
                    )
                return ack
            except IntegrityError:
                continue  # inserted meanwhile by a racing copy: read its ack
        raise RuntimeError(f"chain message {mid} to {recipient}: neither recorded nor found")

    def received_acks(
        self, recipient: str, message_ids: Sequence[str]
    ) -> dict[str, tuple[str, bytes | None]]:
        """:meth:`received_ack` for a batch: ``{message_id: (status, signed ack)}`` of those handled."""
        if not message_ids:
            return {}
        with self.store.read() as conn:
            q = select(received.c.message_id, received.c.status, received.c.ack).where(
                received.c.recipient == recipient, received.c.message_id.in_(list(message_ids))
            )
            return {r[0]: (r[1], None if r[2] is None else bytes(r[2])) for r in conn.execute(q)}

    def record_received_many(
        self, recipient: str, items: Sequence[tuple[dict[str, Any], str, int | None, bytes | None]]
    ) -> dict[str, bytes | None]:
        """:meth:`record_received` for a batch of ``(message, status, code, ack)`` with distinct ids, one
        transaction; returns each id's ack as stored (a racing copy's, where it got there first)."""
        mids = [m["MessageID"] for m, *_ in items]
        for _ in range(2):
            try:
                with self.store.begin() as conn:
                    q = select(received.c.message_id, received.c.ack).where(
                        received.c.recipient == recipient, received.c.message_id.in_(mids)
                    )
                    stored = {r[0]: None if r[1] is None else bytes(r[1]) for r in conn.execute(q)}
                    now = time.time()
                    rows = [
                        {
                            "recipient": recipient,
                            "message_id": msg["MessageID"],
                            "kind": msg["Kind"],
                            "carnet_id": msg["CarnetID"],
                            "sender": msg["From"],
                            "received_at": now,
                            "status": status,
                            "code": code,
                            "ack": ack,
                        }
                        for msg, status, code, ack in items
                        if msg["MessageID"] not in stored
                    ]
                    if rows:
                        conn.execute(insert(received), rows)
                return {**{r["message_id"]: r["ack"] for r in rows}, **stored}
            except IntegrityError:
                continue  # a racing copy inserted meanwhile: read its ack
        raise RuntimeError(f"chain messages to {recipient}: neither recorded nor found")

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
    ) -> None:
        """Read the carnet's status, let ``check`` refuse the change (it raises), then write the new status:
        one transaction (the row locked on PostgreSQL, SQLite's one writer), so two changes of one carnet
        cannot both pass the check on the same old status."""
        with self.store.begin() as conn:
            where = (carnets.c.party == party, carnets.c.carnet_id == carnet_id)
            row = conn.execute(select(carnets.c.status).where(*where).with_for_update()).first()
            check(None if row is None else str(row[0]))
            values = {
                "status": status,
                "detail": json.dumps(detail, default=str),
                "message_id": message_id,
                "updated": time.time(),
            }
            if row is None:
                conn.execute(insert(carnets).values(party=party, carnet_id=carnet_id, **values))
            else:
                conn.execute(update(carnets).where(*where).values(**values))

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
