"""Fixtures for the security tests: a throw-away TEST PKI made at run time (never committed)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from conformance import testpki

ROOT = Path(__file__).resolve().parents[2]


def _load_pki_script() -> ModuleType:
    return testpki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict:
    directory = tmp_path_factory.mktemp("test-pki")
    return _load_pki_script().make_test_pki(directory, ["gateway", "sim-GB"])


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A second, unrelated CA: its parties must not be trusted by the first CA's store."""
    return _load_pki_script().make_test_pki(tmp_path_factory.mktemp("other-pki"), ["sim-NO"], rsa_names=())
