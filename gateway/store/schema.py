"""The database schema's version, kept by Alembic (``gateway/store/migrations``).

One schema for every store (service tables, relay outbox/dedup/holds/parking, guarantee chain): whichever
store opens a database first makes sure of it, through :func:`ensure`:

- a database at the code's head revision is used as it is;
- an **empty** database (none of our tables) is created at head (tables from the code's metadata, then
  stamped), under a lock so replicas starting together do it once — a new installation needs no step;
- a database **behind** (an older revision, or one made by a release before schema versions) is refused
  with :class:`SchemaBehind`, which names the command to run: ``eata-gateway db upgrade``. Production never
  migrates silently; the operator upgrades, with a backup, before starting the new release.

:func:`upgrade` runs the migrations (the CLI's ``db upgrade``; tests call it on the databases they build as
an older release did).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, inspect, text

from gateway.store.engine import is_postgres, make_engine

log = logging.getLogger("eata.store")

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
UPGRADE_COMMAND = "eata-gateway db upgrade"
_LOCK_KEY = 0x6561_7461_6462  # "eatadb": the schema's advisory lock (PostgreSQL)

_checked: weakref.WeakSet[Engine] = weakref.WeakSet()
_checked_lock = threading.Lock()


class SchemaBehind(RuntimeError):
    """The database's schema is not the one this release runs on; the message says what to do."""


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None  # the database's revision (None: unversioned or empty)
    head: str  # the code's
    empty: bool  # none of our tables

    @property
    def status(self) -> str:
        if self.current == self.head:
            return "current"
        if self.empty:
            return "empty"
        if self.current is None:
            return "unversioned"  # made by a release before schema versions
        return "behind" if self.current in _known() else "unknown"


def target_metadata() -> MetaData:
    """Every table of every store, on one MetaData (the code's view of the schema)."""
    from gateway.store import chain_tables as _chain  # noqa: F401  (registers the chain tables)
    from gateway.store import relay_tables, tables

    combined = MetaData()
    for md in (tables.metadata, relay_tables.metadata):
        for table in md.sorted_tables:
            if table.name not in combined.tables:
                table.to_metadata(combined)
    return combined


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    found = _script().get_current_head()
    assert found is not None, "no migration revisions"
    return found


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(r.revision for r in _script().walk_revisions())


def _engine(target: Engine | str) -> tuple[Engine, bool]:
    return (target, False) if isinstance(target, Engine) else (make_engine(target), True)


def _state(conn: Connection) -> SchemaState:
    current = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    ours = set(target_metadata().tables)
    empty = current is None and not ours & set(inspect(conn).get_table_names())
    return SchemaState(current, head(), empty)


def state(target: Engine | str) -> SchemaState:
    engine, own = _engine(target)
    try:
        with engine.connect() as conn:
            conn.info["eata_read"] = True
            try:
                return _state(conn)
            finally:
                conn.info.pop("eata_read", None)
    finally:
        if own:
            engine.dispose()


@contextlib.contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A write transaction holding the schema lock: an advisory lock on PostgreSQL, the database's write
    lock on SQLite (``BEGIN IMMEDIATE``, see :mod:`gateway.store.engine`)."""
    with engine.begin() as conn:
        if is_postgres(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        yield conn


def behind_message(s: SchemaState, where: str = "") -> str:
    at = {
        "unversioned": "was made by a release before schema versions",
        "behind": f"is at schema revision {s.current}",
        "unknown": f"is at schema revision {s.current}, which this release does not know (a newer release?)",
    }.get(s.status, f"is {s.status}")
    todo = (
        f"run `{UPGRADE_COMMAND}` (with a backup) before starting this release"
        if s.status != "unknown"
        else "run the release that made it, or restore a backup"
    )
    return f"the database{where} {at}; this release needs {s.head}: {todo}"


def ensure(engine: Engine) -> None:
    """Make sure ``engine``'s database is at head: create an empty one, refuse one that is behind."""
    if engine in _checked:
        return
    with _checked_lock:
        if engine in _checked:
            return
        s = state(engine)
        if s.status == "empty":
            with _locked(engine) as conn:
                s = _state(conn)  # another replica may have created it meanwhile
                if s.status == "empty":
                    target_metadata().create_all(conn)
                    command.stamp(_config(conn), "head")
                    log.warning("schema: new database created at revision %s", s.head)
                    s = SchemaState(s.head, s.head, False)
        if s.status != "current":
            raise SchemaBehind(behind_message(s, f" {engine.url.render_as_string(hide_password=True)}"))
        _checked.add(engine)


def upgrade(target: Engine | str, revision: str = "head") -> tuple[str | None, str | None]:
    """Run the migrations up to ``revision`` (an empty database: created at head); returns the revisions
    (before, after). Rows are kept: that is each revision's contract, and its test's."""
    engine, own = _engine(target)
    try:
        with _locked(engine) as conn:
            before = _state(conn)
            if before.empty and revision == "head":
                target_metadata().create_all(conn)
                command.stamp(_config(conn), "head")
            else:
                command.upgrade(_config(conn), revision)
            after = _state(conn).current
        with _checked_lock:
            _checked.discard(engine)
        if before.current != after:
            log.warning("schema: upgraded from %s to %s", before.current or "(unversioned)", after)
        return before.current, after
    finally:
        if own:
            engine.dispose()


def prepare(url: str) -> str:
    """Tests' and the demo's helper: bring a database of their own to head, whatever its state."""
    upgrade(url)
    return url
