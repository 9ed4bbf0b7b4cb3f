"""Tables of the guarantee chain relay: messages sent and received, refusals, carnets and claims.

On the service's shared metadata (``gateway.store.tables.metadata``) so one database holds everything; in
the store package so :func:`gateway.store.schema.target_metadata` gathers them without importing the chain.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, LargeBinary, String, Table, Text

from gateway.store.tables import metadata

sent = Table(
    "chain_sent",
    metadata,
    Column("message_id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("carnet_id", String(40), nullable=False, index=True),
    Column("sender", String(200), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("sent_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=1),
    Column("acked_at", Float, nullable=True),
    Column("ack_status", String(16), nullable=True),  # accepted | refused
    Column("ack_code", Integer, nullable=True),
    Column("ack_detail", Text, nullable=True),
    Column("body", LargeBinary, nullable=False),  # the signed bytes, re-sent as they are
)

received = Table(
    "chain_received",
    metadata,
    Column("recipient", String(200), primary_key=True),
    Column("message_id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("carnet_id", String(40), nullable=False),
    Column("sender", String(200), nullable=False),
    Column("received_at", Float, nullable=False),
    Column("status", String(16), nullable=False),  # accepted | refused
    Column("code", Integer, nullable=True),
    Column("ack", LargeBinary, nullable=True),  # the signed ack; a duplicate gets these bytes again
)

refused = Table(
    "chain_refused",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recipient", String(200), nullable=False),
    Column("message_id", String(64), nullable=True),  # as claimed by an unverified message
    Column("code", Integer, nullable=False),
    Column("pointer", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", Float, nullable=False),
)

carnets = Table(
    "chain_carnets",
    metadata,
    Column("party", String(200), primary_key=True),
    Column("carnet_id", String(40), primary_key=True),
    Column("status", String(32), nullable=False),  # issued | amended | returned | replaced | closed
    Column("detail", Text, nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("updated", Float, nullable=False),
)

claims = Table(
    "chain_claims",
    metadata,
    Column("claim_id", String(64), primary_key=True),
    Column("carnet_id", String(40), nullable=False, index=True),
    Column("territory", String(2), nullable=False),
    Column("customs", String(200), nullable=False),
    Column("guaranteeing", String(200), nullable=False),
    Column("issuing", String(200), nullable=False),
    # notified → with_guaranteeing → with_issuing → proof_sent | proof_missing → proof_forwarded → closed
    Column("state", String(32), nullable=False),
    Column("claim", Text, nullable=False),  # the eATA JSON of the claim, status and dates kept current
    Column("evidence", Text, nullable=True),
    Column("regularisation_fee", String(32), nullable=True),  # Annex A Art. 11, when charged
    Column("history", Text, nullable=False),
    Column("updated", Float, nullable=False),
)
