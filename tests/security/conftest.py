"""Fixtures for the security tests: a throw-away TEST PKI made at run time (never committed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_pki_script() -> ModuleType:
    name = "make_test_pki"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "make_test_pki.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses need the module registered while it executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict:
    directory = tmp_path_factory.mktemp("test-pki")
    return _load_pki_script().make_test_pki(directory, ["gateway", "sim-GB"])


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A second, unrelated CA: its parties must not be trusted by the first CA's store."""
    return _load_pki_script().make_test_pki(tmp_path_factory.mktemp("other-pki"), ["sim-NO"], rsa_names=())
