"""Fixtures for chain tests: a private RabbitMQ node for the session, a TEST PKI, a fresh SQLite file and
fresh party ids per test (so queues never mix between tests)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest

from gateway.chain.relay import ChainRelay, KeyRing, chain_dead_queue, chain_queue
from gateway.relay.node import RabbitNode, rabbit_available

ROOT = Path(__file__).resolve().parents[2]


def need_rabbit() -> None:
    if not rabbit_available():
        reason = "rabbitmq-server is not installed (apt-get install -y rabbitmq-server)"
        if os.environ.get("CI"):
            pytest.fail(reason + " and CI is set: chain tests must run")
        pytest.skip(reason)


def make_pki(directory: Path, names: list[str]) -> None:
    spec = importlib.util.spec_from_file_location("make_test_pki", ROOT / "scripts" / "make_test_pki.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules.setdefault("make_test_pki", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    module.make_test_pki(directory, [n.lower() for n in names])


# The journey's parties (examples/journey-no-eu-ch.json), the chain itself, and customs of CH.
PARTIES = ["NO-OCC", "CH-SCF", "DE-DIHK", "GB-LCCI", "WCF", "customs-CH", "customs-DE", "mallory"]


def purge(url: str, queues: list[str]) -> None:
    """Each test starts with empty party queues (the broker lives for the session)."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        ch = conn.channel()
        for q in queues:
            ch.queue_purge(q)
    finally:
        conn.close()


def depth(url: str, queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(conn.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        conn.close()


def get_all(url: str, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
    out: list[tuple[pika.BasicProperties, bytes]] = []
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        ch = conn.channel()
        while True:
            method, props, body = ch.basic_get(queue, auto_ack=True)
            if method is None:
                return out
            out.append((props, body))
    finally:
        conn.close()


def wait_for(cond, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="session")
def rabbit() -> Iterator[RabbitNode]:
    need_rabbit()
    # Not under pytest's tmp dir: pytest keeps /tmp/pytest-of-<user> at 0700, and the node runs as `rabbitmq`.
    data = tempfile.mkdtemp(prefix="eata-chain-rabbit-")
    node = RabbitNode(data, f"eatachain{os.getpid()}")
    try:
        node.start()
        yield node
    finally:
        node.stop()
        shutil.rmtree(data, ignore_errors=True)


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
