"""The chain's hot statements on one open transaction: fixed SQL on the raw sqlite3 cursor (SQLite) or as
cached ``text()`` statements (PostgreSQL).

Per message the chain runs a handful of one-row statements; built through SQLAlchemy's expression layer
they cost more CPU than the message's signature checks. The SQL is plain enough for both backends
(``:name`` parameters, ``IN`` lists spelled out), the relay worker's store does the same
(``gateway.relay.store._Tx``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text


class ChainTx:
    """Statements on ``conn``'s transaction; the caller begins and ends it (``Store.begin``/``read``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        # SQLite: the DB-API connection under the SQLAlchemy one, in the same transaction (BEGIN IMMEDIATE
        # already issued by the engine's begin hook)
        raw: Any = conn.connection.driver_connection
        self._cur: Any = raw.cursor() if conn.dialect.name == "sqlite" else None
        self._savepoints = 0

    def one(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        if self._cur is not None:
            row: tuple[Any, ...] | None = self._cur.execute(sql, params).fetchone()
            return row
        found = self.conn.execute(_text(sql), params).first()
        return None if found is None else tuple(found)

    def all(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        if self._cur is not None:
            return list(self._cur.execute(sql, params).fetchall())
        return [tuple(r) for r in self.conn.execute(_text(sql), params).all()]

    def run(self, sql: str, params: dict[str, Any]) -> int:
        if self._cur is not None:
            return int(self._cur.execute(sql, params).rowcount)
        return int(self.conn.execute(_text(sql), params).rowcount)

    def insert(self, sql: str, params: dict[str, Any]) -> int:
        """One row into a table with an ``id`` key: its id (``lastrowid`` on SQLite, any version)."""
        if self._cur is not None:
            return int(self._cur.execute(sql, params).lastrowid)
        return int(self.conn.execute(_text(sql + " RETURNING id"), params).scalar_one())

    def many(self, sql: str, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._cur is not None:
            self._cur.executemany(sql, rows)
        else:
            self.conn.execute(_text(sql), list(rows))

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A handler's effects: kept if it returns, undone (and the error raised) if it raises."""
        self._savepoints += 1
        name = f"h{self._savepoints}"
        self.run(f"SAVEPOINT {name}", {})
        try:
            yield
        except BaseException:
            self.run(f"ROLLBACK TO SAVEPOINT {name}", {})
            self.run(f"RELEASE SAVEPOINT {name}", {})
            raise
        self.run(f"RELEASE SAVEPOINT {name}", {})

    def close(self) -> None:
        if self._cur is not None:
            self._cur.close()


def in_list(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``(:p0, :p1, …)`` and its parameters: one statement per list length, both drivers cache it."""
    names = [f"{prefix}{i}" for i in range(len(values))]
    return "(" + ", ".join(f":{n}" for n in names) + ")", dict(zip(names, values, strict=True))


@functools.lru_cache(maxsize=512)
def _text(sql: str) -> Any:
    return text(sql)
