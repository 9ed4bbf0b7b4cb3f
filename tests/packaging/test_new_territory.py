"""A new territory is one adapter file: copy the project, add ``adapters/is.py``, change nothing else.

The copy then lists Iceland in ``territories --json``, translates a declaration for it, and plays a
declaration against its simulator (real HTTP, real signatures both ways) to a signed, verified answer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

ICELAND = '''"""Iceland: Tollurinn (Skatturinn); SOAP 1.2, WCO declaration."""

from gateway.adapter_spec import Adapter

ADAPTER = Adapter(
    code="IS",
    name="Iceland",
    language="is",
    agency="Skatturinn",
    national_system="Tollkerfi",
    soap_version="1.2",
)
'''

ROUND_TRIP = """
import sys, tempfile
from pathlib import Path
from conformance.simulators.testing import journey_declaration, loopback_world
from gateway.adapters.delivery import deliver
from gateway.codec import decode, encode
from gateway.adapters.delivery import signer
from gateway.transport.base import Delivered

with loopback_world(Path(tempfile.mkdtemp())) as world:
    d = journey_declaration("IS", message_id="EATA-IS-1")
    xml = encode(d, "IS", signer(world.keys_dir.resolve(), "gateway"))
    outcome = deliver(d, "IS")
    assert isinstance(outcome, Delivered), outcome
    print("delivered", outcome.message.in_reply_to, outcome.message.committed, len(xml))
"""


def _copy(tmp: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    dest = tmp / "project"
    for name in files:
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / "adapters" / "is.py").write_text(ICELAND)
    return dest


def _run(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run(
        [sys.executable, *args], cwd=copy, env=env, capture_output=True, text=True, timeout=300
    )


def test_one_adapter_file_adds_a_territory(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    listed = _run(copy, "-m", "gateway", "territories", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    codes = [r["code"] for r in (rows if isinstance(rows, list) else rows["territories"])]
    assert "IS" in codes and len(codes) == 31
    played = _run(copy, "-c", ROUND_TRIP)
    assert played.returncode == 0, played.stderr[-3000:]
    assert played.stdout.startswith("delivered EATA-IS-1 True"), played.stdout
