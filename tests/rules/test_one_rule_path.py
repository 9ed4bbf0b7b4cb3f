"""One rule path (issue 14, item 1): every entry builds the ledger through ``rules.judge`` with the same
checks, so each invalid example is refused with its code by the ledger, the CLI and the API service alike."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.errors import Refusal
from gateway.model import load_document
from gateway.rules import judge
from tests.conftest import EXAMPLES, ROOT

INVALID = sorted(EXAMPLES.glob("invalid-*.json"))


def expected(path: Path) -> int:
    return int(path.stem.split("-")[1])


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_the_ledger_refuses_each_invalid_example_with_its_code(path: Path) -> None:
    with pytest.raises(Refusal) as info:
        judge(load_document(path.read_bytes()))
    assert info.value.problems[0].code == expected(path), info.value


def test_the_cli_refuses_each_invalid_example_with_its_code() -> None:
    # one interpreter for all files: the CLI's own code path (typer app), not a re-implementation
    script = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from gateway.cli.app import app\n"
        "import gateway.cli.carnet  # noqa: F401  (registers validate)\n"
        "out = {}\n"
        "for f in sys.argv[1:]:\n"
        "    r = CliRunner().invoke(app, ['validate', f, '--json'])\n"
        "    out[f] = [r.exit_code, json.loads(r.stdout)['problems'][0]['code'] if r.exit_code else None]\n"
        "print(json.dumps(out))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script, *map(str, INVALID)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    verdicts = json.loads(r.stdout.strip().splitlines()[-1])
    for path in INVALID:
        exit_code, code = verdicts[str(path)]
        assert exit_code in (1, 2) and code == expected(path), (path.name, exit_code, code)


def test_validate_refuses_an_unknown_office_without_any_option() -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "validate",
            str(EXAMPLES / "invalid-304-unknown-office.json"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert json.loads(r.stdout)["problems"][0]["code"] == 304


def test_the_api_service_refuses_each_invalid_example_with_its_code(tmp_path: Path) -> None:
    """A carnet whose stored history breaks a rule takes no further step through the service, and the
    refusal carries the same code; documents the model refuses never reach the service at all."""
    from gateway.api.service import Service
    from gateway.store import Database

    db = Database(f"sqlite:///{tmp_path / 'gw.db'}")
    service = Service(db, share_secret="s")
    issuer, _ = db.add_party("issuer", "issuer")
    holder, _ = db.add_party("holder", "holder")
    for n, path in enumerate(INVALID):
        try:
            doc = load_document(path.read_bytes())
        except Refusal as r:  # the API reads request bodies with the same model: refused there
            assert r.problems[0].code == expected(path), path.name
            continue
        doc = doc.model_copy(
            update={"carnet": doc.carnet.model_copy(update={"carnet_id": f"NO/2026/9{n:05d}"})}
        )
        db.create_carnet(doc, issuer.id, "123456")
        db.bind_holder(doc.carnet.carnet_id, holder.id)
        step = {
            "kind": "re_importation",
            "territory": "NO",
            "office": "NO01018C",
            "date": doc.carnet.valid_until.isoformat(),
            "items": "1",
            "not_processed_abroad": True,
        }
        with pytest.raises(Refusal) as info:
            service.prepare(holder, doc.carnet.carnet_id, step)
        assert info.value.problems[0].code == expected(path), (path.name, info.value)


def _calls_outside_rules(name: str) -> list[str]:
    found = []
    for f in sorted((ROOT / "gateway").rglob("*.py")) + sorted((ROOT / "conformance").rglob("*.py")):
        if f.parent.name == "rules" and f.parent.parent.name == "gateway":
            continue
        tree = ast.parse(f.read_text())
        imported = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gateway.rules")
            for alias in node.names
        }
        if name not in imported:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
                found.append(f"{f.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_entry_builds_the_ledger_its_own_way() -> None:
    """Outside the rules package nobody calls ``replay`` or constructs ``Ledger`` directly."""
    assert _calls_outside_rules("replay") == []
    assert _calls_outside_rules("Ledger") == []
