"""Baseline: the schema of the release before Alembic (service tables, relay outbox/dedup/holds/parking,
guarantee chain), frozen here as it was.

On an empty database it creates every table. On a database made by an earlier release (which created
tables and added columns at start, with no version) it adopts what is there: missing tables are created,
missing columns and indexes added, rows kept. That release's rule guarantees the adoption is enough:
columns were only ever added, nullable or with a server default.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Boolean, Column, Float, Integer, LargeBinary, MetaData, String, Table, Text

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def frozen() -> MetaData:
    """The tables as the last release without Alembic defined them (do not edit: write a new revision)."""
    md = MetaData()
    Table(
        "parties",
        md,
        Column("id", String(64), primary_key=True),
        Column(
            "role", String(32), nullable=False
        ),  # holder, representative, issuer, customs, chain, operator
        Column("name", String(200), nullable=False),
        Column("territory", String(2), nullable=True),  # customs of territory XX
        Column("key_hash", String(64), nullable=False, unique=True),  # sha256 of a 256-bit API key
    )
    Table(
        "party_certs",
        md,
        Column("sha256", String(64), primary_key=True),  # of the certificate's DER
        Column("party_id", String(64), nullable=False),
        Column("subject", String(400), nullable=False),
    )
    Table(
        "webhooks",
        md,
        Column("id", String(32), primary_key=True),
        Column("party_id", String(64), nullable=False, index=True),
        Column("url", String(2000), nullable=False),
        Column("kinds", String(400), nullable=False),  # comma-separated event kinds
        Column("secret", String(64), nullable=False),  # shared HMAC key, shown to the party once
        Column("last_event_id", Integer, nullable=False, default=0),  # delivered up to here
        Column("failures", Integer, nullable=False, default=0),  # consecutive failed deliveries
        Column("retry_at", Float, nullable=False, default=0.0),
        Column("disabled", String(400), nullable=True),  # why deliveries stopped, if they did
    )
    Table(
        "carnets",
        md,
        Column("carnet_id", String(40), primary_key=True),
        Column("issuer_id", String(64), nullable=False, index=True),
        Column("holder_id", String(64), nullable=True, index=True),
        Column("pin_hash", String(200), nullable=False),
        Column("doc", Text, nullable=False),
        Column("version", Integer, nullable=False, default=1),
        Column("updated", Float, nullable=False),
    )
    Table(
        "pin_attempts",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("carnet_id", String(40), nullable=False, index=True),
        Column("at", Float, nullable=False, index=True),
        Column("party_id", String(64), nullable=True, index=True),  # the caller who tried (per-caller limit)
    )
    Table(
        "events",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("carnet_id", String(40), nullable=False, index=True),
        Column("transaction_id", String(64), nullable=True, index=True),
        Column("territory", String(2), nullable=True),
        Column("kind", String(32), nullable=False),  # submitted, committed, rejected, cancelled, ...
        Column("detail", Text, nullable=False),
        Column("at", Float, nullable=False),
    )
    Table(
        "submissions",
        md,
        Column("tracking_id", String(64), primary_key=True),
        Column("message_id", String(64), nullable=False, unique=True),
        Column("carnet_id", String(40), nullable=False),
        Column("transaction_id", String(64), nullable=False),
        Column("territory", String(2), nullable=False),
        Column("at", Float, nullable=False),
    )
    Table(
        "answers",
        md,
        Column("message_id", String(64), primary_key=True),  # the answer's own message ID
        Column("territory", String(2), nullable=False),
        Column("in_reply_to", String(64), nullable=False, index=True),
        Column("outcome", String(32), nullable=False),  # committed, rejected
        Column("at", Float, nullable=False),
    )
    Table(
        "shares",
        md,
        Column("token_hash", String(64), primary_key=True),
        Column("carnet_id", String(40), nullable=False),
        Column("travel_id", String(64), nullable=False),
        Column("transactions", Text, nullable=False),
        Column("expires", Float, nullable=False),
    )
    Table(
        "relay_outbox",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("message_id", String(64), nullable=False, index=True),
        Column("exchange", String(255), nullable=False),
        Column("routing_key", String(255), nullable=False),
        Column("meta", Text, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("created", Float, nullable=False),
        Column("failed", Text, nullable=True),  # unroutable or nacked: kept for an operator, not re-sent
    )
    Table(
        "relay_dedup",
        md,
        Column("message_id", String(64), primary_key=True),
        Column("outcome", String(16), nullable=False),  # done | dead
        Column("code", Integer, nullable=True),
        Column("event", LargeBinary, nullable=True),  # the result event, re-sent if a crash ate the first one
        Column("generation", Integer, nullable=False, default=0),
        Column("at", Float, nullable=False),
    )
    Table(
        "relay_holds",
        md,
        Column("carnet_id", String(128), primary_key=True),
        Column("message_id", String(64), nullable=False),
        Column("since", Float, nullable=False),
    )
    Table(
        "relay_parked",
        md,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("carnet_id", String(128), nullable=False, index=True),
        Column("message_id", String(64), nullable=False),
        Column("queue", String(255), nullable=False),
        Column("meta", Text, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("released", Boolean, nullable=False, default=False),
    )
    Table(
        "chain_sent",
        md,
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
    Table(
        "chain_received",
        md,
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
    Table(
        "chain_refused",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("recipient", String(200), nullable=False),
        Column("message_id", String(64), nullable=True),  # as claimed by an unverified message
        Column("code", Integer, nullable=False),
        Column("pointer", Text, nullable=False),
        Column("reason", Text, nullable=False),
        Column("at", Float, nullable=False),
    )
    Table(
        "chain_carnets",
        md,
        Column("party", String(200), primary_key=True),
        Column("carnet_id", String(40), primary_key=True),
        Column("status", String(32), nullable=False),  # issued | amended | returned | replaced | closed
        Column("detail", Text, nullable=False),
        Column("message_id", String(64), nullable=False),
        Column("updated", Float, nullable=False),
    )
    Table(
        "chain_claims",
        md,
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
    return md


def upgrade() -> None:
    adopt(frozen())


def adopt(md: MetaData) -> None:
    """Create ``md``'s missing tables; add missing columns and indexes to the tables already there."""
    bind = op.get_bind()
    have = set(sa.inspect(bind).get_table_names())
    for table in md.sorted_tables:
        if table.name not in have:
            table.create(bind)
            continue
        found = sa.inspect(bind)
        columns = {c["name"] for c in found.get_columns(table.name)}
        for column in table.columns:
            if column.name in columns:
                continue
            if not column.nullable and column.server_default is None:
                raise RuntimeError(f"{table.name}.{column.name} is NOT NULL without a default: cannot adopt")
            # a DefaultClause (every server_default of ours) has .arg; the base FetchedValue does not
            default = column.server_default.arg if column.server_default is not None else None  # type: ignore[attr-defined]
            op.add_column(
                table.name,
                sa.Column(column.name, column.type, nullable=column.nullable, server_default=default),
            )
        indexes = {i["name"] for i in found.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(frozen().sorted_tables):
        table.drop(bind, checkfirst=True)
