"""The translation core is pure: importing it pulls in no broker, HTTP, web or database library.

Each module is imported in a fresh interpreter, so what another test imported cannot hide a violation.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PURE = [
    "gateway.model",
    "gateway.rules",
    "gateway.items",
    "gateway.messages",
    "gateway.translate",
    "gateway.codec",
    "gateway.signing",
    "gateway.xmlsafe",
    "gateway.grace",
    "gateway.claims.deadlines",
    "gateway.claims.proof",
    "gateway.chain.message",
    "gateway.paper",
]
IO = ("pika", "httpx", "httpcore", "sqlalchemy", "fastapi", "starlette", "uvicorn", "zeep", "requests")


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_io_library(module: str) -> None:
    probe = (
        f"import importlib, json, sys; importlib.import_module({module!r}); "
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(IO)!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(out.stdout) == [], f"{module} pulls in I/O libraries"
