"""Fixtures for relay tests: a private RabbitMQ node for the session, a fresh store and territory per test."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from relay_helpers import need_rabbit

from gateway.relay.node import RabbitNode
from gateway.relay.store import Store


@pytest.fixture(scope="session")
def rabbit() -> Iterator[RabbitNode]:
    need_rabbit()
    # Not under pytest's tmp dir: pytest keeps /tmp/pytest-of-<user> at 0700, and the node runs as `rabbitmq`.
    data = tempfile.mkdtemp(prefix="eata-rabbit-")
    node = RabbitNode(data, f"eatatest{os.getpid()}")
    try:
        node.start()
        yield node
    finally:
        node.stop()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path}/relay.db")
    yield s
    s.dispose()


@pytest.fixture
def territory() -> str:
    # a fresh territory per test keeps queues apart without purging
    return "T" + uuid.uuid4().hex[:6].upper()
