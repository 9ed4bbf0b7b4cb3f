"""The runtime does not carry its test harness, and packages do not import each other in circles.

Every import counts, including those inside functions: a cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = ("gateway", "conformance", "adapters", "devtools")


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "gateway" and len(parts) > 1 else parts[0]


def _edges() -> dict[tuple[str, str], set[str]]:
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for top in OURS:
        for path in (ROOT / top).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            source = _package(module)
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    target = _package(name)
                    if name.split(".")[0] in OURS and target != source:
                        edges[(source, target)].add(str(path.relative_to(ROOT)))
    return edges


def test_no_package_cycles() -> None:
    edges = _edges()
    cycles = {frozenset(pair) for pair in edges if (pair[1], pair[0]) in edges}
    assert not cycles, {
        " <-> ".join(sorted(c)): sorted(edges[tuple(sorted(c))] | edges[tuple(sorted(c, reverse=True))])
        for c in cycles
    }


def test_the_gateway_package_imports_no_tool_package() -> None:
    uses = {
        pair: files
        for pair, files in _edges().items()
        if pair[0].split(".")[0] == "gateway" and pair[1] in ("conformance", "devtools")
    }
    assert not uses, {f"{a} -> {b}": sorted(f) for (a, b), f in uses.items()}


def test_the_runtime_loads_no_test_harness() -> None:
    probe = (
        "import json, sys\n"
        "import gateway.runtime, gateway.api.app, gateway.adapters.delivery, gateway.relay, gateway.chain.relay\n"
        "import gateway.cli\n"
        "from gateway.cli import COMMANDS, _module\n"
        "import importlib\n"
        "for name, (module, _short) in COMMANDS.items():\n"
        "    if not module.startswith('conformance.'):\n"
        "        importlib.import_module(_module(module))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('devtools', 'conformance'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
