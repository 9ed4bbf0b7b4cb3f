"""``eata-gateway sign`` / ``verify``: exit codes 0 / 1 / 2, one-line summary, JSON, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app

DOC = b'<m:Declaration xmlns:m="urn:eata:test"><m:Carnet>FR-2026-000123</m:Carnet></m:Declaration>'


@pytest.fixture
def files(tmp_path: Path, pki: dict) -> dict[str, Path]:
    doc = tmp_path / "doc.xml"
    doc.write_bytes(DOC)
    trust = tmp_path / "trust"
    trust.mkdir()
    (trust / "ca.cert.pem").write_bytes(pki["ca"].cert.read_bytes())
    return {"doc": doc, "trust": trust, "out": tmp_path / "signed.xml"}


def _run(*args: str) -> object:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def _sign(pki: dict, files: dict[str, Path], party: str = "gateway") -> Path:
    result = _run("sign", "--key", pki[party].key, "--cert", pki[party].cert, files["doc"])
    assert result.exit_code == 0, result.output
    files["out"].write_bytes(result.stdout_bytes)
    return files["out"]


def test_sign_then_verify(pki: dict, files: dict[str, Path]) -> None:
    signed = _sign(pki, files)
    assert b"<ds:Signature" in signed.read_bytes()
    result = _run("verify", "--trust", files["trust"], signed)
    assert result.exit_code == 0
    assert (
        result.stdout.strip()
        == "valid rsa-sha256 signature by CN=gateway (TEST),O=eATA gateway TEST PKI over {urn:eata:test}Declaration"
    )


def test_verify_json(pki: dict, files: dict[str, Path]) -> None:
    result = _run("verify", "--json", "--trust", files["trust"], _sign(pki, files, "ecdsa"))
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["verified"] is True and data["algorithm"] == "ecdsa-sha256" and data["references"] == 1


def test_tampered_file_exits_1_with_refusal(pki: dict, files: dict[str, Path]) -> None:
    signed = _sign(pki, files)
    signed.write_bytes(signed.read_bytes().replace(b"000123", b"999999"))
    result = _run("verify", "--json", "--trust", files["trust"], signed)
    assert result.exit_code == 1
    problem = json.loads(result.stdout)["problems"][0]
    assert problem["code"] == 121 and problem["pointer"] == "/m:Declaration/ds:Signature"


def test_untrusted_signer_exits_1(pki: dict, files: dict[str, Path]) -> None:
    result = _run("verify", "--json", "--trust", files["trust"], _sign(pki, files, "untrusted"))
    assert result.exit_code == 1
    assert json.loads(result.stdout)["problems"][0]["code"] == 122


def test_a_self_signed_certificate_in_the_trust_dir_vouches_for_nobody(
    pki: dict, files: dict[str, Path]
) -> None:
    """The attack: drop a self-signed certificate among the anchors and sign with its key."""
    (files["trust"] / "planted.pem").write_bytes(pki["untrusted"].cert.read_bytes())
    result = _run("verify", "--json", "--trust", files["trust"], _sign(pki, files, "untrusted"))
    assert result.exit_code == 2  # a leaf among the anchors: the trust configuration is unusable
    problem = json.loads(result.stdout)["problems"][0]
    assert problem["code"] == 401 and "not a CA certificate" in problem["message"]


def test_a_pinned_leaf_is_trusted_only_when_named_with_pin(pki: dict, files: dict[str, Path]) -> None:
    signed = _sign(pki, files, "untrusted")
    assert _run("verify", "--json", "--trust", files["trust"], signed).exit_code == 1
    pinned = _run("verify", "--json", "--trust", files["trust"], "--pin", pki["untrusted"].cert, signed)
    assert pinned.exit_code == 0, pinned.output


def test_unreadable_file_exits_2(files: dict[str, Path], tmp_path: Path) -> None:
    result = _run("verify", "--trust", files["trust"], tmp_path / "missing.xml")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_empty_trust_dir_exits_2(pki: dict, files: dict[str, Path], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _run("verify", "--json", "--trust", empty, _sign(pki, files))
    assert result.exit_code == 2
    assert json.loads(result.stdout)["problems"][0]["code"] == 401


def test_sign_hostile_input_exits_2(pki: dict, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(b'<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>')
    result = _run("sign", "--json", "--key", pki["gateway"].key, "--cert", pki["gateway"].cert, bomb)
    assert result.exit_code == 2  # unusable input, not a refusal by the rules
    assert json.loads(result.stdout)["problems"][0]["code"] == 110


def test_sign_with_bad_key_exits_2(pki: dict, files: dict[str, Path]) -> None:
    result = _run("sign", "--key", pki["gateway"].key, "--cert", pki["ecdsa"].cert, files["doc"])
    assert result.exit_code == 2
