"""The API's routes stay thin: no route reads a private attribute of a service, none imports inside itself.

Every module under ``gateway/api/routes`` (and ``gateway/api/app.py``, which only assembles them) is read
as an AST: an attribute ``_name`` (not a dunder) reached through ``service`` or ``svc`` — ``service._tx``,
``svc._row``, ``service.holders._pin_gate``, ``request.app.state.service._db`` — fails the test, and so
does an ``import`` inside a function. And a carnet's transaction is replaced in one place only
(``gateway.model.replace_transaction``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROUTES = Path(__file__).resolve().parents[2] / "gateway" / "api" / "routes"
MODULES = [*sorted(ROUTES.glob("*.py")), ROUTES.parent / "app.py"]
SERVICE_NAMES = {"service", "svc"}


def _chain(node: ast.expr) -> list[str]:
    """The names an attribute is reached through: ``request.app.state.service`` → request, app, state, service."""
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
    return names[::-1]


def private_service_reads(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        private = node.attr.startswith("_") and not (node.attr.startswith("__") and node.attr.endswith("__"))
        if private and SERVICE_NAMES & set(_chain(node.value)):
            found.append(f"line {node.lineno}: {'.'.join(_chain(node.value))}.{node.attr}")
    return found


def local_imports(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    found.append(f"line {inner.lineno}: import inside {node.name}()")
    return found


def test_the_check_finds_what_it_looks_for() -> None:
    bad = "def qr(service, svc, request):\n    service._tx(1)\n    svc._row\n    request.app.state.service.holders._pin_gate\n"
    assert len(private_service_reads(bad)) == 3
    assert (
        private_service_reads("def ok(service):\n    service.holders.prepare()\n    service.__class__\n")
        == []
    )
    assert local_imports("def f():\n    import io\n") == ["line 2: import inside f()"]


def test_every_role_has_its_router_module() -> None:
    names = {p.stem for p in ROUTES.glob("*.py")}
    assert {"issuers", "holders", "representatives", "customs", "events", "testers", "operations"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_route_reads_a_private_attribute_of_a_service(path: Path) -> None:
    assert private_service_reads(path.read_text()) == [], (
        f"{path.name} reaches into a service's private parts"
    )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_route_imports_inside_a_function(path: Path) -> None:
    assert local_imports(path.read_text()) == [], f"{path.name} imports inside a function"


def test_a_transaction_is_replaced_in_one_place() -> None:
    """``(*doc.transactions[:i], new, *doc.transactions[i + 1 :])`` lives in ``replace_transaction`` alone."""
    package = ROUTES.parents[1]
    splices = [
        f"{path.relative_to(package.parent)}:{n}"
        for path in sorted(package.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\*[\w.]*transactions\[:", line)
    ]
    assert [s.split(":")[0] for s in splices] == ["gateway/model/document.py"], splices
