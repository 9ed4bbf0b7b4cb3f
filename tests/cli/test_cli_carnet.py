"""The CLI as a user runs it: real subprocesses, exit codes 0 / 1 / 2, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_validate_accepts_the_journey() -> None:
    r = run("validate", str(EXAMPLES / "journey-no-eu-ch.json"), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "valid": True,
        "carnet_id": "NO/2026/000123",
        "transactions": 7,
        "committed": 7,
        "all_home": True,
        "flags": [],
    }


def test_ledger_shows_every_item_home() -> None:
    r = run("ledger", str(EXAMPLES / "journey-no-eu-ch.json"), "--json")
    assert r.returncode == 0
    out = json.loads(r.stdout)
    assert out["all_home"] is True
    assert [i["where"] for i in out["items"]] == ["home"] * 4


def test_rule_refusal_exits_1_with_code_and_article() -> None:
    r = run("validate", str(EXAMPLES / "invalid-308-deadline-past-validity.json"), "--json")
    assert r.returncode == 1
    problem = json.loads(r.stdout)["problems"][0]
    assert problem["code"] == 308 and problem["article"] == "Annex A Art. 7"
    assert problem["pointer"] == "/transactions/4/endorsement/final_date"


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'{"schema": "eata/v1"}', b"[]", "ça".encode("latin-1")],
    ids=["malformed", "missing-carnet", "wrong-type", "not-utf8"],
)
def test_unreadable_input_exits_2_without_traceback(tmp_path: Path, content: bytes) -> None:
    f = tmp_path / "in.json"
    f.write_bytes(content)
    r = run("validate", str(f))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr + r.stdout
    assert "Refused" in r.stderr


def test_impossible_date_exits_2(tmp_path: Path) -> None:
    d = json.loads((EXAMPLES / "journey-gb.json").read_text())
    d["carnet"]["issue_date"] = "2026-02-30"
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(d))
    r = run("validate", str(f), "--json")
    assert r.returncode == 2
    assert json.loads(r.stdout)["problems"][0]["pointer"] == "/carnet/issue_date"


def test_missing_file_and_bad_usage_exit_2(tmp_path: Path) -> None:
    assert run("validate", str(tmp_path / "nope.json")).returncode == 2
    assert run("validate").returncode == 2


def test_schema_prints_the_json_schema() -> None:
    r = run("schema")
    assert r.returncode == 0
    schema = json.loads(r.stdout)
    assert schema["$ref"] == "#/$defs/CarnetDocument"
    assert schema["$defs"]["CarnetDocument"]["properties"]["schema"]["const"] == "eata/v1"


def _late_transit(tmp_path: Path, *, discharged: bool) -> Path:
    d = json.loads((EXAMPLES / "journey-no-eu-ch.json").read_text())
    txs = d["transactions"]
    txs[2]["transit"]["final_date"] = "2026-10-06"  # the discharge on 2026-10-07 comes a day late
    d["transactions"] = txs if discharged else txs[:3]
    f = tmp_path / "transit.json"
    f.write_text(json.dumps(d))
    return f


def test_validate_json_flags_a_late_transit_discharge_it_recorded(tmp_path: Path) -> None:
    r = run("validate", str(_late_transit(tmp_path, discharged=True)), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    flags = json.loads(r.stdout)["flags"]
    assert {f["code"] for f in flags} == {206} and flags[0]["article"] == "Annex A Art. 8.1"


def test_ledger_and_validate_flag_an_undischarged_transit_past_its_final_date(tmp_path: Path) -> None:
    f = _late_transit(tmp_path, discharged=False)
    r = run("ledger", str(f), "--json", "--today", "2026-10-07")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [x["code"] for x in out["flags"]] == [206]
    assert all("transit_overdue" in i["flags"] for i in out["items"])
    assert json.loads(run("ledger", str(f), "--json", "--today", "2026-10-06").stdout)["flags"] == []
    v = json.loads(run("validate", str(f), "--json", "--today", "2026-10-07").stdout)
    assert [x["code"] for x in v["flags"]] == [206]
