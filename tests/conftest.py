"""Test-wide guards: no test may reach beyond loopback (zeep's lesson: fail on unplanned network)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.rabbit import RabbitNode, rabbit_available
from tests.pg import PgCluster, pg_bindir

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples"
# The official HMRC/EU schemas inbound documents are validated against: read from ../shared, never copied.
if (SHARED / "standards").is_dir():
    os.environ.setdefault("EATA_OFFICIAL_SCHEMAS", str(SHARED / "standards"))

# The slow lane (`pytest -m slow`): modules that start clusters, whole conformance runs, browsers, builds or
# fault injection, each with why. `make test` runs the fast lane (`-m "not slow"`) first, then this one.
SLOW = {
    "tests/relay/test_cluster.py": "a 3-node RabbitMQ cluster, replicas and nodes killed",
    "tests/relay/test_faults.py": "kill -9 of workers under load",
    "tests/relay/test_partitions.py": "N worker processes per territory, kill -9",
    "tests/relay/test_outage.py": "broker and customs outages waited out",
    "tests/conformance/test_full_suite.py": "every scenario against every territory",
    "tests/conformance/test_nonconforming.py": "the suite against deliberately broken systems",
    "tests/chain/test_chain_cli.py": "chain consumers as separate processes",
    "tests/api/test_schemathesis.py": "property-based runs over the whole OpenAPI",
    "tests/api/test_pin_attacks.py": "hundreds of scrypt PIN checks",
    "tests/api/test_generated_client.py": "generates and imports an OpenAPI client",
    "tests/packaging/test_wheel.py": "builds and installs the wheel",
    "tests/packaging/test_new_territory.py": "copies the project and plays a new territory",
    "tests/console/test_browser.py": "drives chromium",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.relative_to(ROOT).as_posix() in SLOW:
            item.add_marker(pytest.mark.slow)


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded(real):  # type: ignore[no-untyped-def]
    def connect(self, address):  # type: ignore[no-untyped-def]
        if not _loopback(address):
            raise RuntimeError(
                f"test tried to reach {address!r} beyond loopback; tests use local servers only"
            )
        return real(self, address)

    return connect


@pytest.fixture(autouse=True, scope="session")
def _loopback_only():  # type: ignore[no-untyped-def]
    socket.socket.connect = _guarded(_real_connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded(_real_connect_ex)  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture
def example_bytes():  # type: ignore[no-untyped-def]
    return lambda name: (EXAMPLES / name).read_bytes()


def need_rabbit() -> None:
    """Skip without a rabbitmq-server install, except on CI where broker tests must run."""
    if not rabbit_available():
        reason = "rabbitmq-server is not installed (apt-get install -y rabbitmq-server)"
        if os.environ.get("CI"):
            pytest.fail(reason + " and CI is set: broker tests must run")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def rabbit() -> Iterator[RabbitNode]:
    """One private RabbitMQ node for the session (own port, own data dir), stopped at the end."""
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


def need_postgres() -> None:
    """Skip without Debian's postgresql binaries, except on CI where the postgres tests must run."""
    if pg_bindir() is None:
        reason = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; apt install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(reason + " and CI is set: postgres tests must run")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgCluster]:
    """One private PostgreSQL cluster for the session (own port, data and socket dirs), stopped at the end.
    A cluster that cannot start fails the test, locally and in CI: only missing binaries skip."""
    need_postgres()
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(postgres: PgCluster) -> Iterator[str]:
    """A fresh database (a copy of the template, schema at head) for one test, dropped afterwards."""
    name = postgres.create_database()
    yield postgres.url(name)
    postgres.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database of one test, on each backend in turn: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables) on each backend: for tests that build one as an older release did."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    cluster: PgCluster = request.getfixturevalue("postgres")
    name = cluster.create_database(template="template0")
    yield cluster.url(name)
    cluster.drop_database(name)
