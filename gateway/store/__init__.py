"""The gateway's own state (SQLAlchemy 2): SQLite file by default, PostgreSQL by URL."""

from gateway.store.db import Conflict, Database, NotFound

__all__ = ["Conflict", "Database", "NotFound"]
