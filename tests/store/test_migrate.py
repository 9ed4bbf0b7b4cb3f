"""The schema's version (Alembic), on SQLite and PostgreSQL: a database made by an earlier release is refused
until `eata-gateway db upgrade`, which keeps its rows; the migrations build exactly the code's schema; a new
database is created at head; `db current` tells where a database stands."""

from __future__ import annotations

import importlib.util

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, Table, insert, inspect, select, text
from typer.testing import CliRunner

import gateway.cli.db
import gateway.cli.serve  # noqa: F401  (the commands this test runs, registered on the app)
from gateway.api.settings import Settings
from gateway.cli import app
from gateway.relay.envelope import Envelope
from gateway.relay.store import Store
from gateway.store import Database, schema
from gateway.store.engine import make_engine
from gateway.store.secrets import key_hash

runner = CliRunner()


def _baseline() -> MetaData:
    """The tables as the last release before Alembic made them (frozen in the baseline revision)."""
    spec = importlib.util.spec_from_file_location(
        "baseline", schema.MIGRATIONS / "versions" / "0001_baseline.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.frozen()  # type: ignore[no-any-return]


def _older_release(url: str) -> None:
    """A database as the previous releases left it (their create_all + add-columns at start, no version),
    with rows: every table of the baseline, except that parties has no territory column yet and there are
    no webhooks (an even older release's database, which the baseline adopts)."""
    md = _baseline()
    old = MetaData()
    for table in md.sorted_tables:
        if table.name in ("webhooks", "parties"):
            continue
        table.to_metadata(old)
    parties = Table(
        "parties",
        old,
        Column("id", String(64), primary_key=True),
        Column("role", String(32), nullable=False),
        Column("name", String(200), nullable=False),
        Column("key_hash", String(64), nullable=False, unique=True),
    )
    env = Envelope(kind="declaration", territory="NO", carnet_id="NO/1", body=b"<x/>")
    engine = make_engine(url)
    old.create_all(engine)
    with engine.begin() as c:
        c.execute(
            insert(parties).values(id="p1", role="holder", name="Nordlys Film AS", key_hash=key_hash("k1"))
        )
        c.execute(
            insert(old.tables["relay_outbox"]).values(
                message_id=env.message_id,
                exchange="eata.out",
                routing_key="NO",
                meta=env.meta_json(),
                body=env.body,
                created=1.5,
            )
        )
        c.execute(
            insert(old.tables["events"]).values(carnet_id="NO/1", kind="submitted", detail="{}", at=2.25)
        )
    engine.dispose()


def test_an_older_release_database_is_refused_then_upgraded_with_its_rows(empty_db_url: str) -> None:
    _older_release(empty_db_url)
    assert schema.state(empty_db_url).status == "unversioned"
    with pytest.raises(schema.SchemaBehind, match="eata-gateway db upgrade"):
        Database(empty_db_url)

    out = runner.invoke(app, ["db", "current", "--url", empty_db_url])
    assert out.exit_code == 1 and "unversioned" in out.output
    out = runner.invoke(app, ["db", "upgrade", "--url", empty_db_url])
    assert out.exit_code == 0, out.output
    assert f"to {schema.head()}" in out.output

    db = Database(empty_db_url)
    found = db.party_by_key("k1")
    assert found is not None and found.name == "Nordlys Film AS" and found.territory is None
    assert "webhooks" in inspect(db.engine).get_table_names()
    assert db.events()[0]["at"] == 2.25
    store = Store(engine=db.engine)
    assert [r.envelope.body for r in store.outbox_pending()] == [b"<x/>"]
    out = runner.invoke(app, ["db", "current", "--url", empty_db_url, "--json"])
    assert out.exit_code == 0 and '"status": "current"' in out.output
    out = runner.invoke(app, ["db", "upgrade", "--url", empty_db_url])
    assert out.exit_code == 0 and "already at revision" in out.output
    db.engine.dispose()


def test_the_migrations_build_the_codes_schema(empty_db_url: str) -> None:
    """From nothing, revision by revision: every table, column, type, nullability and index the code has.
    (A table the code no longer has would be benign; one it has and no revision makes is not.)"""
    engine = make_engine(empty_db_url)
    with engine.begin() as conn:
        command.upgrade(schema._config(conn), "head")
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(ctx, schema.target_metadata()) if _matters(d)]
    engine.dispose()
    assert not diffs, f"the code's tables differ from the migrations: write a revision ({diffs})"


def _matters(diff: object) -> bool:
    first = diff[0] if isinstance(diff, list) else diff
    kind = first[0]  # type: ignore[index]
    if kind in ("remove_table", "remove_index", "remove_column"):
        return False  # in the database, not in the code: harmless
    if kind in ("add_table", "add_column", "add_index", "modify_nullable", "add_constraint"):
        return True
    if kind == "modify_type":
        *_, old, new = first  # type: ignore[misc]
        return type(old)._type_affinity is not type(new)._type_affinity  # type: ignore[attr-defined]
    return True


def test_a_new_database_is_created_at_head_by_whichever_store_opens_it(empty_db_url: str) -> None:
    store = Store(empty_db_url)
    assert schema.state(store.engine).status == "current"
    assert set(schema.target_metadata().tables) <= set(inspect(store.engine).get_table_names())
    store.dispose()


def test_a_database_behind_is_refused_and_upgraded(empty_db_url: str) -> None:
    """A database at an older revision (the baseline, before the references table): refused, then upgraded."""
    engine = make_engine(empty_db_url)
    with engine.begin() as conn:
        command.upgrade(schema._config(conn), "0001")
        conn.execute(text("INSERT INTO shares VALUES ('h', 'NO/1', 't1', '[]', 9.5)"))
    engine.dispose()
    assert schema.state(empty_db_url).status == "behind"
    with pytest.raises(schema.SchemaBehind, match=r"revision 0001.*eata-gateway db upgrade"):
        Store(empty_db_url)
    assert schema.upgrade(empty_db_url) == ("0001", schema.head())
    db = Database(empty_db_url)
    assert db.share("h") is not None
    db.engine.dispose()


def test_serve_refuses_to_start_on_a_database_behind(empty_db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _older_release(empty_db_url)
    monkeypatch.setenv("EATA_DATABASE_URL", empty_db_url)
    monkeypatch.delenv("EATA_AMQP_URL", raising=False)
    out = runner.invoke(app, ["serve", "--port", "0"])
    assert out.exit_code == 1
    assert "not starting" in out.output and "eata-gateway db upgrade" in out.output
    from gateway.runtime import Runtime

    with pytest.raises(schema.SchemaBehind):
        Runtime(Settings(database_url=empty_db_url))


def test_an_unknown_newer_revision_is_refused(empty_db_url: str) -> None:
    Store(empty_db_url).dispose()
    engine = make_engine(empty_db_url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {schema.VERSION_TABLE} SET version_num = '9999'"))
        assert conn.execute(select(Table(schema.VERSION_TABLE, MetaData(), autoload_with=conn))).all()
    engine.dispose()
    with pytest.raises(schema.SchemaBehind, match="does not know"):
        Database(empty_db_url)
    out = runner.invoke(app, ["db", "upgrade", "--url", empty_db_url])
    assert out.exit_code == 1
