"""The pooled HTTP client presents the territory's client certificate (mTLS) and is shared per setting."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization

from conformance.simulators.testing import make_keys
from gateway.adapter_spec import Timeouts
from gateway.adapters import registry
from gateway.transport.base import http_client


def test_client_cert_is_loaded_and_clients_are_reused(tmp_path: Path) -> None:
    parties = make_keys(tmp_path, ["CH"])
    pem = tmp_path / "client.pem"
    key = serialization.load_pem_private_key(parties["gateway"].key.read_bytes(), password=None)
    pem.write_bytes(
        parties["gateway"].cert.read_bytes()
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ch = registry.get("CH").with_(tls_client_cert=str(pem), timeouts=Timeouts(connect=1.5, read=2.5))
    client = http_client(ch)
    assert client is http_client(ch)  # one pool per setting
    assert client is not http_client(registry.get("CH"))
    assert client.timeout.read == 2.5
