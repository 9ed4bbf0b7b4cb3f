"""Upgrading keeps the data: a database an older release made gains the new tables and columns at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, inspect

from gateway.store import Database, tables
from gateway.store.migrate import migrate
from gateway.store.secrets import key_hash


def test_an_older_database_gains_new_columns_and_tables_and_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = MetaData()  # as an earlier release had it: parties without territory, no webhooks table
    parties = Table(
        "parties",
        old,
        Column("id", String(64), primary_key=True),
        Column("role", String(32), nullable=False),
        Column("name", String(200), nullable=False),
        Column("key_hash", String(64), nullable=False, unique=True),
    )
    engine = create_engine(url)
    old.create_all(engine)
    with engine.begin() as c:
        c.execute(
            insert(parties).values(id="p1", role="holder", name="Nordlys Film AS", key_hash=key_hash("k1"))
        )
    engine.dispose()

    db = Database(url)
    columns = {c["name"] for c in inspect(db.engine).get_columns("parties")}
    assert "territory" in columns
    assert "webhooks" in inspect(db.engine).get_table_names()
    found = db.party_by_key("k1")
    assert found is not None and found.name == "Nordlys Film AS" and found.territory is None
    assert migrate(db.engine, tables.metadata) == []  # a second start adds nothing


def test_a_new_required_column_without_default_needs_a_written_step(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    before, after = MetaData(), MetaData()
    Table("t", before, Column("id", Integer, primary_key=True))
    Table("t", after, Column("id", Integer, primary_key=True), Column("must", String(5), nullable=False))
    before.create_all(engine)
    with pytest.raises(RuntimeError, match=r"t\.must is new and NOT NULL"):
        migrate(engine, after)
