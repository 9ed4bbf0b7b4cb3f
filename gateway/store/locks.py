"""Named locks across processes and machines, from the database itself.

PostgreSQL: a transaction-scoped advisory lock (``pg_try_advisory_xact_lock``) on a connection of its own,
held for the block and released by the server if the process dies. SQLite is one machine: the block runs
(each process keeps its own in-process guard, as the webhook dispatcher's busy set does).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text


@contextmanager
def try_lock(engine: Engine, name: str) -> Iterator[bool]:
    """``True`` inside the block if this process holds the lock ``name`` now, ``False`` if another does."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn, conn.begin():
        got = conn.execute(text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": name})
        yield bool(got.scalar())
