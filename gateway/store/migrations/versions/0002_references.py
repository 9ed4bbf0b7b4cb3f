"""National references per transaction (LRN sent, MRN received): the ``references`` table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Float, Integer, MetaData, String, Table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    md = MetaData()
    table = Table(
        "references",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("value", String(64), nullable=False, index=True),
        Column("scheme", String(8), nullable=False),
        Column("direction", String(8), nullable=False),
        Column("message_id", String(64), nullable=False),
        Column("carnet_id", String(40), nullable=False),
        Column("transaction_id", String(64), nullable=False, index=True),
        Column("territory", String(2), nullable=False),
        Column("at", Float, nullable=False),
    )
    table.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    op.drop_table("references")
