"""The schema at start: tables created, and columns added to tables an older release made.

The rule that makes this enough: releases only ever add tables and columns, and an added column is
nullable or has a server default, so rows written before it stay valid. Anything else (a type change,
a drop) needs a written migration step here, with a test.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Engine, MetaData, Table, inspect, text
from sqlalchemy.schema import CreateColumn

log = logging.getLogger("eata.store")


def migrate(engine: Engine, metadata: MetaData, tables: Sequence[Table] | None = None) -> list[str]:
    """Create missing tables and add missing columns (of ``tables``, default all of ``metadata``);
    returns what was added ("table.column")."""
    chosen = list(tables) if tables is not None else metadata.sorted_tables
    added: list[str] = []
    with engine.begin() as conn:  # one connection throughout: a second one would wait on this one's lock
        metadata.create_all(conn, tables=chosen)
        existing = inspect(conn)
        for table in chosen:
            have = {c["name"] for c in existing.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                if not column.nullable and column.server_default is None:
                    raise RuntimeError(
                        f"{table.name}.{column.name} is new and NOT NULL without a server default: "
                        "write a migration step for it (gateway/store/migrate.py)"
                    )
                ddl = CreateColumn(column).compile(dialect=engine.dialect)
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))
                added.append(f"{table.name}.{column.name}")
                log.warning("schema: added column %s.%s", table.name, column.name)
    return added
