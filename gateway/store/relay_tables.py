"""Tables of the relay's state: outbox, dedup record, carnet holds and parked messages.

They live in the store package, not beside the relay code, so :func:`gateway.store.schema.target_metadata`
gathers every table without importing the relay (the relay depends on the store, never the reverse).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Integer, LargeBinary, MetaData, String, Table, Text

metadata = MetaData()

outbox = Table(
    "relay_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False, index=True),
    Column("exchange", String(255), nullable=False),
    Column("routing_key", String(255), nullable=False),
    Column("meta", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created", Float, nullable=False),
    Column("failed", Text, nullable=True),  # unroutable or nacked: kept for an operator, not re-sent
)

dedup = Table(
    "relay_dedup",
    metadata,
    Column("message_id", String(64), primary_key=True),
    Column("outcome", String(16), nullable=False),  # done | dead
    Column("code", Integer, nullable=True),
    Column("event", LargeBinary, nullable=True),  # the result event, re-sent if a crash ate the first one
    Column("generation", Integer, nullable=False, default=0),
    Column("at", Float, nullable=False),
)

holds = Table(
    "relay_holds",
    metadata,
    Column("carnet_id", String(128), primary_key=True),
    Column("message_id", String(64), nullable=False),
    Column("since", Float, nullable=False),
)

parked = Table(
    "relay_parked",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("carnet_id", String(128), nullable=False, index=True),
    Column("message_id", String(64), nullable=False),
    Column("queue", String(255), nullable=False),
    Column("meta", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("released", Boolean, nullable=False, default=False),
)
