"""Alembic environment of the gateway's database (service tables, relay outbox/dedup/holds, guarantee chain).

Run through ``gateway.store.schema`` (``eata-gateway db upgrade``/``db current``), which hands over an open
connection in ``config.attributes["connection"]``; ``alembic -c gateway/store/migrations/alembic.ini`` with
``EATA_DATABASE_URL`` set works too.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from gateway.settings import current
from gateway.store.engine import make_engine
from gateway.store.schema import VERSION_TABLE, target_metadata

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(current().database_url)
    with engine.begin() as conn:
        run(conn)
    engine.dispose()
