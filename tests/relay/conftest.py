"""Fixtures for relay tests: a fresh store (SQLite, then PostgreSQL) and territory per test (the broker is the session's, tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from gateway.relay.store import Store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)  # each test on a SQLite file, then on a fresh PostgreSQL database
    yield s
    s.dispose()


@pytest.fixture
def territory() -> str:
    # a fresh territory per test keeps queues apart without purging
    return "T" + uuid.uuid4().hex[:6].upper()
