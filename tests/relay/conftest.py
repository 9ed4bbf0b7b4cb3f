"""Fixtures for relay tests: a fresh store and territory per test (the broker is the session's, tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.relay.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path}/relay.db")
    yield s
    s.dispose()


@pytest.fixture
def territory() -> str:
    # a fresh territory per test keeps queues apart without purging
    return "T" + uuid.uuid4().hex[:6].upper()
