"""The one engine factory of every store (service tables, relay outbox/dedup/holds, guarantee chain).

SQLite (the embedded default for one machine and the demo): WAL, ``synchronous=NORMAL`` (a committed row
survives a process crash), a long busy timeout, connections shared across threads, and transactions we
begin ourselves: ``BEGIN IMMEDIATE`` for writes (two writers never deadlock on a read-then-write upgrade),
plain ``BEGIN`` for connections marked read-only (``conn.info["eata_read"]``; WAL readers never block).

PostgreSQL: ``postgresql://`` (or ``postgres://``) URLs go to psycopg 3 (``postgresql+psycopg://``), with
``pool_pre_ping`` (a connection the server dropped is replaced, not handed out) and a pool sized for the
API's threads plus the background loops.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from gateway.settings import current

SQLITE_BUSY_MS = 60_000


def normalise_url(url: str) -> str:
    """``postgresql://…`` and ``postgres://…`` → ``postgresql+psycopg://…``; anything else unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite(url, **kwargs)
    options: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_size": current().db_pool_size,
        "max_overflow": current().db_max_overflow,
        "pool_recycle": 1800,
        "pool_timeout": 30,
    }
    return create_engine(url, **(options | kwargs))


def _sqlite(url: str, **kwargs: Any) -> Engine:
    options: dict[str, Any] = {
        "connect_args": {"timeout": SQLITE_BUSY_MS / 1000, "check_same_thread": False},
    }
    if make_url(url).database not in (None, "", ":memory:"):  # a file: a queue pool (memory: one connection)
        options |= {"pool_size": 16, "max_overflow": 16}
    engine = create_engine(url, **(options | kwargs))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (pysqlite's own is deferred)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN" if conn.info.get("eata_read") else "BEGIN IMMEDIATE")

    return engine
