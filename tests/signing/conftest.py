"""A throw-away TEST PKI for the signature-path tests, made at run time (never committed)."""

from __future__ import annotations

import pytest

from conformance import testpki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return testpki.make_test_pki(tmp_path_factory.mktemp("signing-pki"), ["gateway"])
