"""One loopback world (TEST PKI, simulators of all 30 territories, callback inbox) for the simulator tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.simulators.testing import World, loopback_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with loopback_world(tmp_path_factory.mktemp("simulators-world")) as w:
        yield w
