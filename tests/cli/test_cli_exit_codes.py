"""Every command that reads a file keeps the README's promise: exit 0 valid, 1 refused by the rules, 2 for
input that cannot be used at all (unreadable, not JSON, malformed or hostile XML) — and never a traceback.
Real subprocesses, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.testpki import make_test_pki
from tests.conftest import EXAMPLES

JOURNEY = EXAMPLES / "journey-no-eu-ch.json"
REFUSED_JSON = EXAMPLES / "invalid-308-deadline-past-validity.json"

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    b' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
    b' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n<lolz>&lol3;</lolz>'
)
XXE = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<x>&e;</x>'
UNUSABLE_XML = {
    "malformed": b"<Declaration><unclosed></Declaration>",
    "billion-laughs": BILLION_LAUGHS,
    "xxe": XXE,
    "not-xml": b'{"schema": "eata/v1"}',
    "empty": b"",
    "huge": b"<a>" + b"x" * (6 * 1024 * 1024) + b"</a>",
    "deep": b"<a>" * 300 + b"</a>" * 300,
}
UNUSABLE_JSON = {
    "malformed": b"{not json",
    "xml-instead": b"<carnet/>",
    "not-utf8": "ça".encode("latin-1"),
    "deeply-nested": b"[" * 100_000 + b"]" * 100_000,
    "empty": b"",
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=120, check=False
    )


def assert_exit(r: subprocess.CompletedProcess[str], code: int) -> None:
    out = r.stdout + r.stderr
    assert r.returncode == code, out[-2000:]
    assert "Traceback" not in out


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    parties = make_test_pki(tmp_path_factory.mktemp("pki"))
    return {"key": parties["rsa"].key, "cert": parties["rsa"].cert, "trust": parties["ca"].cert}


def _signer(pki: dict[str, Path]) -> tuple[Path, Path]:
    return pki["key"], pki["cert"]


def _trust(pki: dict[str, Path]) -> Path:
    return pki["trust"]


# -- JSON commands ------------------------------------------------------------------------------------------
JSON_COMMANDS = {
    "validate": lambda f: ("validate", f),
    "ledger": lambda f: ("ledger", f),
    "translate": lambda f: ("translate", f, "-t", "CH", "--kind", "importation"),
    "paper": lambda f: ("paper", "voucher", f, "--index", "0", "--out", f + ".pdf"),
    "claims-due": lambda f: ("claims", "due", f),
    "claims-check": lambda f: ("claims", "check", f),
    "parse-context": lambda f: ("parse", str(EXAMPLES.parent / "README.md"), "-t", "CH", "--context", f),
}


@pytest.mark.parametrize("command", sorted(JSON_COMMANDS))
@pytest.mark.parametrize("case", sorted(UNUSABLE_JSON))
def test_unusable_json_exits_2(tmp_path: Path, command: str, case: str) -> None:
    f = tmp_path / "in.json"
    f.write_bytes(UNUSABLE_JSON[case])
    for as_json in ((), ("--json",)):
        assert_exit(run(*JSON_COMMANDS[command](str(f)), *as_json), 2)


@pytest.mark.parametrize("command", sorted(JSON_COMMANDS))
@pytest.mark.parametrize("what", ["missing", "directory"])
def test_an_unreadable_file_exits_2(tmp_path: Path, command: str, what: str) -> None:
    path = tmp_path / "nope.json" if what == "missing" else tmp_path
    r = run(*JSON_COMMANDS[command](str(path)), "--json")
    assert_exit(r, 2)
    assert json.loads(r.stdout)["problems"][0]["code"] == 100


@pytest.mark.parametrize("command", ["validate", "ledger"])
def test_a_refusal_by_the_rules_exits_1(command: str) -> None:
    r = run(command, str(REFUSED_JSON), "--json")
    assert_exit(r, 1)
    assert json.loads(r.stdout)["problems"][0]["code"] == 308


# -- XML commands -------------------------------------------------------------------------------------------
def _xml_commands(pki: dict[str, Path]) -> dict[str, list[str]]:
    key, cert = _signer(pki)
    return {
        "parse": ["parse", "{f}", "-t", "CH"],
        "sign": ["sign", "{f}", "--key", str(key), "--cert", str(cert)],
        "verify": ["verify", "{f}", "--trust", str(_trust(pki))],
    }


@pytest.mark.parametrize("command", ["parse", "sign", "verify"])
@pytest.mark.parametrize("case", sorted(UNUSABLE_XML))
def test_unusable_or_hostile_xml_exits_2(
    tmp_path: Path, pki: dict[str, Path], command: str, case: str
) -> None:
    f = tmp_path / "in.xml"
    f.write_bytes(UNUSABLE_XML[case])
    args = [a.replace("{f}", str(f)) for a in _xml_commands(pki)[command]]
    r = run(*args, "--json")
    assert_exit(r, 2)
    assert json.loads(r.stdout)["problems"][0]["code"] in (100, 110, 111)
    assert "root:" not in r.stdout  # nothing of /etc/passwd


@pytest.mark.parametrize("command", ["parse", "sign", "verify"])
@pytest.mark.parametrize("what", ["missing", "directory"])
def test_an_unreadable_xml_file_exits_2(
    tmp_path: Path, pki: dict[str, Path], command: str, what: str
) -> None:
    path = tmp_path / "nope.xml" if what == "missing" else tmp_path
    args = [a.replace("{f}", str(path)) for a in _xml_commands(pki)[command]]
    r = run(*args, "--json")
    assert_exit(r, 2)
    assert json.loads(r.stdout)["problems"][0]["code"] == 100


def test_a_readable_document_refused_exits_1(tmp_path: Path, pki: dict[str, Path]) -> None:
    f = tmp_path / "unsigned.xml"
    f.write_bytes(b"<Declaration xmlns='urn:x'><id>1</id></Declaration>")
    assert_exit(run("verify", str(f), "--trust", str(_trust(pki))), 1)  # 120: no signature
    key, cert = _signer(pki)
    signed = run("sign", str(f), "--key", str(key), "--cert", str(cert))
    assert_exit(signed, 0)
    tampered = tmp_path / "tampered.xml"
    tampered.write_text(signed.stdout.replace("<id>1</id>", "<id>2</id>"))
    assert_exit(run("verify", str(tampered), "--trust", str(_trust(pki))), 1)  # 121: digest mismatch
    assert_exit(run("parse", str(f), "-t", "CH"), 1)  # well-formed, but no customs document
