"""Fixtures for chain tests: the session broker (``rabbit``, tests/conftest.py), a TEST PKI, a fresh database
(SQLite, then PostgreSQL) and empty party queues per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from chain_helpers import PARTIES, make_pki, purge

from devtools.rabbit import RabbitNode
from gateway.chain.relay import ChainRelay, KeyRing, chain_dead_queue, chain_queue


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("chain-keys")
    make_pki(d, PARTIES)
    return d


@pytest.fixture(scope="session")
def keyring(keys_dir: Path) -> KeyRing:
    return KeyRing(keys_dir)


@pytest.fixture
def relay(rabbit: RabbitNode, db_url: str, keyring: KeyRing) -> Iterator[ChainRelay]:
    r = ChainRelay(rabbit.url, db_url, keyring)  # a SQLite file, then a fresh PostgreSQL database
    r.declare(PARTIES)
    purge(rabbit.url, [q for p in PARTIES for q in (chain_queue(p), chain_dead_queue(p))])
    yield r
    r.close()


@pytest.fixture
def run_id() -> str:
    return uuid.uuid4().hex[:8]
