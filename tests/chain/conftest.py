"""Fixtures for chain tests: the session broker (``rabbit``, tests/conftest.py), a TEST PKI, a fresh SQLite
file and empty party queues per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from chain_helpers import PARTIES, make_pki, purge

from gateway.chain.relay import ChainRelay, KeyRing, chain_dead_queue, chain_queue
from gateway.relay.node import RabbitNode


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("chain-keys")
    make_pki(d, PARTIES)
    return d


@pytest.fixture(scope="session")
def keyring(keys_dir: Path) -> KeyRing:
    return KeyRing(keys_dir)


@pytest.fixture
def relay(rabbit: RabbitNode, tmp_path: Path, keyring: KeyRing) -> Iterator[ChainRelay]:
    r = ChainRelay(rabbit.url, f"sqlite:///{tmp_path}/chain.db", keyring)
    r.declare(PARTIES)
    purge(rabbit.url, [q for p in PARTIES for q in (chain_queue(p), chain_dead_queue(p))])
    yield r
    r.close()


@pytest.fixture
def run_id() -> str:
    return uuid.uuid4().hex[:8]
