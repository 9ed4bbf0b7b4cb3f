"""Database access for the service: parties, carnet documents (versioned), PIN attempts, events."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.model import CarnetDocument, load_document
from gateway.store import tables as t
from gateway.store.bell import Bell
from gateway.store.engine import make_engine
from gateway.store.schema import ensure
from gateway.store.secrets import hash_pin, key_hash, new_key

_WROTE_EVENTS = "eata.wrote_events"  # in Connection.info while a transaction holds new events


class NotFound(LookupError):
    pass


class Conflict(RuntimeError):
    """Someone else changed the row first (optimistic concurrency)."""


@dataclass(frozen=True, slots=True)
class Party:
    id: str
    role: str
    name: str
    territory: str | None


def _party(row: Any) -> Party | None:
    return Party(row.id, row.role, row.name, row.territory) if row else None


@dataclass(frozen=True, slots=True)
class PinTally:
    """One PIN attempt, recorded, and the times of the attempts in the window (oldest first) of the
    same caller and on the same carnet, this one included."""

    attempt_id: int
    by_caller: list[float]
    by_carnet: list[float]


@dataclass(frozen=True, slots=True)
class CarnetRow:
    doc: CarnetDocument
    issuer_id: str
    holder_id: str | None
    pin_hash: str
    version: int


class Database:
    def __init__(self, url: str = "sqlite:///eata-gateway.db", *, engine: Engine | None = None) -> None:
        self.engine = engine or make_engine(url)
        ensure(self.engine)  # at the code's schema revision (an empty database is created), else refused
        self._lock = threading.Lock()
        self.events_written = Bell()  # rung once a transaction that added events has committed

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self._lock:
            with self.engine.begin() as conn:
                try:
                    yield conn
                finally:
                    wrote = conn.info.pop(_WROTE_EVENTS, False)
            if wrote:  # committed (an exception above skips this)
                self.events_written.ring()

    # -- parties ------------------------------------------------------------------------------
    def add_party(self, role: str, name: str, territory: str | None = None) -> tuple[Party, str]:
        """Register a party; returns it with its API key, shown once and stored only as a hash."""
        key = new_key()
        party = Party(uuid.uuid4().hex, role, name, territory)
        with self.begin() as c:
            c.execute(
                insert(t.parties).values(
                    id=party.id, role=role, name=name, territory=territory, key_hash=key_hash(key)
                )
            )
        return party, key

    def party_by_key(self, key: str) -> Party | None:
        with self.engine.connect() as c:
            row = c.execute(select(t.parties).where(t.parties.c.key_hash == key_hash(key))).first()
        return _party(row)

    def add_party_cert(self, party_id: str, sha256: str, subject: str) -> None:
        """Let ``party_id`` also authenticate with the client certificate of this DER SHA-256."""
        with self.begin() as c:
            c.execute(insert(t.party_certs).values(sha256=sha256.lower(), party_id=party_id, subject=subject))

    def party_by_cert(self, sha256: str) -> Party | None:
        with self.engine.connect() as c:
            row = c.execute(
                select(t.parties)
                .join(t.party_certs, t.party_certs.c.party_id == t.parties.c.id)
                .where(t.party_certs.c.sha256 == sha256.lower())
            ).first()
        return _party(row)

    def party(self, party_id: str) -> Party | None:
        with self.engine.connect() as c:
            row = c.execute(select(t.parties).where(t.parties.c.id == party_id)).first()
        return _party(row)

    # -- webhooks -------------------------------------------------------------------------------
    def add_webhook(
        self,
        hook_id: str,
        party_id: str,
        url: str,
        kinds: list[str],
        secret: str,
        after: int,
        *,
        cap: int | None = None,
    ) -> bool:
        """Add a subscription; False (nothing added) when the party has ``cap`` already — counted in the
        same transaction as the insert."""
        with self.begin() as c:
            if cap is not None:
                have = c.execute(
                    select(func.count()).select_from(t.webhooks).where(t.webhooks.c.party_id == party_id)
                ).scalar_one()
                if have >= cap:
                    return False
            c.execute(
                insert(t.webhooks).values(
                    id=hook_id,
                    party_id=party_id,
                    url=url,
                    kinds=",".join(kinds),
                    secret=secret,
                    last_event_id=after,
                    failures=0,
                    retry_at=0.0,
                )
            )
        return True

    def webhooks(
        self, party_id: str | None = None, *, after: str = "", limit: int | None = None
    ) -> list[dict[str, Any]]:
        q = select(t.webhooks).where(t.webhooks.c.id > after).order_by(t.webhooks.c.id).limit(limit)
        if party_id is not None:
            q = q.where(t.webhooks.c.party_id == party_id)
        with self.engine.connect() as c:
            return [dict(r._mapping) | {"kinds": r.kinds.split(",")} for r in c.execute(q)]

    def update_webhook(self, hook_id: str, **values: Any) -> None:
        with self.begin() as c:
            c.execute(update(t.webhooks).where(t.webhooks.c.id == hook_id).values(**values))

    def delete_webhook(self, hook_id: str, party_id: str) -> bool:
        with self.begin() as c:
            gone = c.execute(
                delete(t.webhooks).where(t.webhooks.c.id == hook_id, t.webhooks.c.party_id == party_id)
            )
        return bool(gone.rowcount)

    def last_event_id(self) -> int:
        with self.engine.connect() as c:
            return int(c.execute(select(func.max(t.events.c.id))).scalar() or 0)

    # -- carnets ------------------------------------------------------------------------------
    def create_carnet(self, doc: CarnetDocument, issuer_id: str, pin: str) -> None:
        with self.begin() as c:
            exists = c.execute(
                select(t.carnets.c.carnet_id).where(t.carnets.c.carnet_id == doc.carnet.carnet_id)
            ).first()
            if exists:
                raise Conflict(f"carnet {doc.carnet.carnet_id} already exists")
            c.execute(
                insert(t.carnets).values(
                    carnet_id=doc.carnet.carnet_id,
                    issuer_id=issuer_id,
                    pin_hash=hash_pin(pin),
                    doc=doc.model_dump_json(by_alias=True, exclude_none=True),
                    version=1,
                    updated=time.time(),
                )
            )

    def carnet(self, carnet_id: str) -> CarnetRow:
        with self.engine.connect() as c:
            row = c.execute(select(t.carnets).where(t.carnets.c.carnet_id == carnet_id)).first()
        if row is None:
            raise NotFound(carnet_id)
        return CarnetRow(load_document(row.doc), row.issuer_id, row.holder_id, row.pin_hash, row.version)

    def save(self, doc: CarnetDocument, expected_version: int, conn: Connection | None = None) -> int:
        """Write a new version of a carnet's document; :class:`Conflict` if it changed meanwhile."""

        def run(c: Connection) -> int:
            result = c.execute(
                update(t.carnets)
                .where(t.carnets.c.carnet_id == doc.carnet.carnet_id, t.carnets.c.version == expected_version)
                .values(
                    doc=doc.model_dump_json(by_alias=True, exclude_none=True),
                    version=expected_version + 1,
                    updated=time.time(),
                )
            )
            if result.rowcount != 1:
                raise Conflict(f"carnet {doc.carnet.carnet_id} changed meanwhile")
            return expected_version + 1

        if conn is not None:
            return run(conn)
        with self.begin() as c:
            return run(c)

    def bind_holder(self, carnet_id: str, holder_id: str) -> None:
        with self.begin() as c:
            c.execute(update(t.carnets).where(t.carnets.c.carnet_id == carnet_id).values(holder_id=holder_id))

    def claim_holder(self, carnet_id: str, holder_id: str) -> bool:
        """Bind the carnet to ``holder_id`` unless another holder has it (one atomic UPDATE, so two
        holders with the right PIN at once cannot both get it); True if ``holder_id`` holds it now."""
        c_ = t.carnets.c
        with self.begin() as c:
            done = c.execute(
                update(t.carnets)
                .where(c_.carnet_id == carnet_id, (c_.holder_id.is_(None)) | (c_.holder_id == holder_id))
                .values(holder_id=holder_id)
            )
        return bool(done.rowcount)

    def carnets_of(self, party: Party) -> list[str]:
        col = t.carnets.c.issuer_id if party.role == "issuer" else t.carnets.c.holder_id
        with self.engine.connect() as c:
            return [r[0] for r in c.execute(select(t.carnets.c.carnet_id).where(col == party.id))]

    # -- PIN attempts (counted before each check; limits per caller and per carnet) -------------
    def pin_attempt(self, carnet_id: str, party_id: str, since: float) -> PinTally:
        """Record an attempt *before* its PIN is checked, then count the attempts since ``since``.

        The attempt is committed first and the counts are read after that, in a new transaction: of any
        number of parallel attempts, the last to count sees every one of them, so no more than the limit
        ever get their PIN checked (no read-then-write race, under SQLite's lock or PostgreSQL's READ
        COMMITTED alike). Attempts older than ``since`` are forgotten on the way.
        """
        a = t.pin_attempts.c
        with self.begin() as c:
            c.execute(delete(t.pin_attempts).where(a.at < since))
            key = c.execute(
                insert(t.pin_attempts).values(carnet_id=carnet_id, party_id=party_id, at=time.time())
            ).inserted_primary_key
            assert key is not None  # an INSERT of one row: its key is known
            attempt = key[0]
        with self.engine.connect() as c:

            def times(where: Any) -> list[float]:
                return [r[0] for r in c.execute(select(a.at).where(where, a.at >= since).order_by(a.at))]

            return PinTally(int(attempt), times(a.party_id == party_id), times(a.carnet_id == carnet_id))

    def forget_pin_attempt(self, attempt_id: int) -> None:
        """Drop one attempt: refused before its PIN was checked, or the right PIN."""
        with self.begin() as c:
            c.execute(delete(t.pin_attempts).where(t.pin_attempts.c.id == attempt_id))

    # -- events (timeline, real-time feed) -----------------------------------------------------
    def add_event(
        self,
        carnet_id: str,
        kind: str,
        detail: dict[str, Any],
        *,
        transaction_id: str | None = None,
        territory: str | None = None,
        conn: Connection | None = None,
    ) -> None:
        values = dict(
            carnet_id=carnet_id,
            transaction_id=transaction_id,
            territory=territory,
            kind=kind,
            detail=json.dumps(detail, default=str),
            at=time.time(),
        )
        if conn is not None:
            conn.execute(insert(t.events).values(**values))
            conn.info[_WROTE_EVENTS] = True  # begin() rings the bell after the commit
            return
        with self.begin() as c:
            c.execute(insert(t.events).values(**values))
            c.info[_WROTE_EVENTS] = True

    def events(
        self,
        *,
        carnet_ids: list[str] | None = None,
        transaction_id: str | None = None,
        territory: str | None = None,
        after: int = 0,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        q = select(t.events).where(t.events.c.id > after).order_by(t.events.c.id).limit(limit)
        if carnet_ids is not None:
            q = q.where(t.events.c.carnet_id.in_(carnet_ids))
        if transaction_id is not None:
            q = q.where(t.events.c.transaction_id == transaction_id)
        if territory is not None:
            q = q.where(t.events.c.territory == territory)
        with self.engine.connect() as c:
            return [
                {
                    "id": r.id,
                    "carnet_id": r.carnet_id,
                    "transaction_id": r.transaction_id,
                    "territory": r.territory,
                    "kind": r.kind,
                    "at": r.at,
                    "detail": json.loads(r.detail),
                }
                for r in c.execute(q)
            ]

    # -- submissions (tracking IDs ⇄ relay message IDs) ----------------------------------------
    def add_submission(
        self,
        tracking_id: str,
        message_id: str,
        carnet_id: str,
        transaction_id: str,
        territory: str,
        conn: Connection,
    ) -> None:
        conn.execute(
            insert(t.submissions).values(
                tracking_id=tracking_id,
                message_id=message_id,
                carnet_id=carnet_id,
                transaction_id=transaction_id,
                territory=territory,
                at=time.time(),
            )
        )

    def submission(
        self, *, message_id: str | None = None, tracking_id: str | None = None
    ) -> dict[str, Any] | None:
        col, value = (
            (t.submissions.c.message_id, message_id)
            if message_id
            else (t.submissions.c.tracking_id, tracking_id)
        )
        with self.engine.connect() as c:
            row = c.execute(select(t.submissions).where(col == value)).first()
        return dict(row._mapping) if row else None

    def latest_submission(self, transaction_id: str) -> dict[str, Any] | None:
        """The newest submission of a transaction: the only one an answer may still reply to."""
        with self.engine.connect() as c:
            row = c.execute(
                select(t.submissions)
                .where(t.submissions.c.transaction_id == transaction_id)
                .order_by(t.submissions.c.at.desc())
                .limit(1)
            ).first()
        return dict(row._mapping) if row else None

    # -- national references (LRN sent, MRN sent or allocated) per transaction ------------------
    def add_reference(
        self,
        value: str,
        scheme: str,
        direction: str,
        sub: dict[str, Any],
        conn: Connection,
    ) -> None:
        """Record that ``value`` (an LRN or MRN) was sent or received for submission ``sub``."""
        r = t.references.c
        seen = conn.execute(
            select(r.id).where(r.value == value, r.scheme == scheme, r.message_id == sub["message_id"])
        ).first()
        if seen is None:
            conn.execute(
                insert(t.references).values(
                    value=value,
                    scheme=scheme,
                    direction=direction,
                    message_id=sub["message_id"],
                    carnet_id=sub["carnet_id"],
                    transaction_id=sub["transaction_id"],
                    territory=sub["territory"],
                    at=time.time(),
                )
            )

    def references(self, value: str, scheme: str | None = None) -> list[dict[str, Any]]:
        """Every record of reference ``value`` (of ``scheme``, LRN or MRN), oldest first."""
        r = t.references.c
        q = select(t.references).where(r.value == value).order_by(r.id)
        if scheme is not None:
            q = q.where(r.scheme == scheme)
        with self.engine.connect() as c:
            return [dict(row._mapping) for row in c.execute(q)]

    # -- customs answers applied (once each, in the transaction of their effect) ----------------
    def answer_seen(self, message_id: str, conn: Connection | None = None) -> bool:
        query = select(t.answers.c.message_id).where(t.answers.c.message_id == message_id)
        if conn is not None:
            return conn.execute(query).first() is not None
        with self.engine.connect() as c:
            return c.execute(query).first() is not None

    def add_answer(
        self, message_id: str, territory: str, in_reply_to: str, outcome: str, conn: Connection
    ) -> None:
        """:class:`Conflict` when the same answer was recorded meanwhile (the caller's transaction rolls back)."""
        try:
            conn.execute(
                insert(t.answers).values(
                    message_id=message_id,
                    territory=territory,
                    in_reply_to=in_reply_to,
                    outcome=outcome,
                    at=time.time(),
                )
            )
        except IntegrityError:
            raise Conflict(f"answer {message_id} recorded meanwhile") from None

    # -- shares -------------------------------------------------------------------------------
    def add_share(
        self, token_hash: str, carnet_id: str, travel_id: str, transactions: list[str], expires: float
    ) -> None:
        with self.begin() as c:
            c.execute(
                insert(t.shares).values(
                    token_hash=token_hash,
                    carnet_id=carnet_id,
                    travel_id=travel_id,
                    transactions=json.dumps(transactions),
                    expires=expires,
                )
            )

    def share(self, token_hash: str) -> dict[str, Any] | None:
        with self.engine.connect() as c:
            row = c.execute(select(t.shares).where(t.shares.c.token_hash == token_hash)).first()
        if row is None:
            return None
        return {**dict(row._mapping), "transactions": json.loads(row.transactions)}
