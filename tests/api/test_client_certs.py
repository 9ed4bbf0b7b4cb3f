"""mTLS at the reverse proxy: a verified client certificate forwarded by a trusted proxy maps to a party;
the header is ignored from anyone else, and unknown or expired certificates are refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from typer.testing import CliRunner

from conformance.testpki import make_test_pki
from gateway.api.app import create_app
from gateway.api.clientcert import ClientCertPolicy
from gateway.api.service import Service
from gateway.serving import serving
from gateway.store import Database

HEADER = "X-Client-Cert"


def forwarded(pem: Path) -> dict[str, str]:
    return {HEADER: quote(pem.read_text())}  # as nginx's $ssl_client_escaped_cert


@pytest.fixture
def pki(tmp_path: Path) -> dict:
    return make_test_pki(tmp_path / "pki", ["customs-no", "stranger"])


def gateway(tmp_path: Path, pki: dict, proxies: frozenset[str]) -> Iterator[tuple[str, Database]]:
    db = Database(f"sqlite:///{tmp_path / 'gateway.db'}")
    service = Service(db, share_secret="test")
    customs, _ = db.add_party("customs", "Norwegian customs", "NO")
    from cryptography import x509

    from gateway.api.clientcert import fingerprint

    cert = x509.load_pem_x509_certificate(pki["customs-no"].cert.read_bytes())
    db.add_party_cert(customs.id, fingerprint(cert), cert.subject.rfc4514_string())
    expired = x509.load_pem_x509_certificate(pki["expired"].cert.read_bytes())
    db.add_party_cert(customs.id, fingerprint(expired), expired.subject.rfc4514_string())
    with serving(create_app(service, client_certs=ClientCertPolicy(HEADER, proxies))) as server:
        yield server.url, db


@pytest.fixture
def behind_proxy(tmp_path: Path, pki: dict) -> Iterator[str]:
    yield from (url for url, _ in gateway(tmp_path, pki, frozenset({"127.0.0.1"})))


def test_a_forwarded_certificate_is_the_party(behind_proxy: str, pki: dict) -> None:
    r = httpx.get(f"{behind_proxy}/v1/customs/events", headers=forwarded(pki["customs-no"].cert))
    assert r.status_code == 200, r.text
    r = httpx.post(
        f"{behind_proxy}/v1/carnets/NO%2F2026%2F1/issue", headers=forwarded(pki["customs-no"].cert)
    )
    assert r.status_code == 403  # authenticated as customs, and customs do not issue carnets


def test_unknown_expired_or_garbled_certificates_are_refused(behind_proxy: str, pki: dict) -> None:
    unknown = httpx.get(f"{behind_proxy}/v1/customs/events", headers=forwarded(pki["stranger"].cert))
    assert unknown.status_code == 403
    problem = unknown.json()["problems"][0]
    assert problem["pointer"] == f"/{HEADER}" and "stranger" in problem["message"]
    expired = httpx.get(f"{behind_proxy}/v1/customs/events", headers=forwarded(pki["expired"].cert))
    assert expired.status_code == 403 and "not valid now" in expired.json()["problems"][0]["message"]
    garbled = httpx.get(f"{behind_proxy}/v1/customs/events", headers={HEADER: "not a certificate"})
    assert garbled.status_code == 403


def test_the_header_is_ignored_unless_it_comes_from_a_trusted_proxy(tmp_path: Path, pki: dict) -> None:
    for url, _ in gateway(tmp_path, pki, frozenset({"10.9.8.7"})):  # the proxy is elsewhere
        r = httpx.get(f"{url}/v1/customs/events", headers=forwarded(pki["customs-no"].cert))
        assert r.status_code == 403 and r.json()["problems"][0]["pointer"] == "/X-API-Key"


def test_parties_add_registers_a_client_certificate(tmp_path: Path, pki: dict, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    from gateway.cli import app

    monkeypatch.setenv("EATA_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    result = CliRunner().invoke(
        app,
        [
            "parties",
            "add",
            "--role",
            "customs",
            "--name",
            "Tolletaten",
            "--territory",
            "NO",
            "--cert",
            str(pki["customs-no"].cert),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    found = Database(f"sqlite:///{tmp_path / 'cli.db'}").party_by_cert(out["cert_sha256"])
    assert found is not None and found.territory == "NO" and found.role == "customs"
    bad = CliRunner().invoke(
        app, ["parties", "add", "--role", "holder", "--name", "X", "--cert", str(tmp_path / "missing.pem")]
    )
    assert bad.exit_code == 2 and "cannot read the client certificate" in bad.output
