"""Load every territory file in the ``adapters`` package once, validate it, and look adapters up by code.

Adding a territory is adding ``adapters/<xx>.py`` with ``ADAPTER = Adapter(...)``; nothing here changes.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache

import adapters as _package
from gateway.adapter_spec import Adapter, Office
from gateway.errors import Code, Problem, Refusal, refuse
from gateway.resources import data_dir
from gateway.yamlio import load_yaml

_OFFICE = re.compile(r"^[A-Z]{2}[A-Z0-9]{6}$")


@cache
def _listed_offices() -> dict[str, tuple[Office, ...]]:
    """Offices per territory from the code list, skipping those whose reference is not yet known."""
    raw = load_yaml(data_dir("mappings") / "codelists" / "customs-offices.yaml")
    return {
        code: tuple(
            Office(o["id"], o["name"], tuple(o.get("roles", ())), bool(o.get("verified")))
            for o in t["offices"]
            if o.get("id")
        )
        for code, t in raw["territories"].items()
    }


def validate(adapter: Adapter, module: str) -> Adapter:
    """Check one adapter and fill its offices from the code list when it does not name its own."""
    problems: list[Problem] = []
    at = f"adapters/{module}.py"

    def bad(message: str) -> None:
        problems.append(Problem(Code.NOT_CONFIGURED, at, message))

    if adapter.code != module.upper():
        bad(f"code {adapter.code!r} does not match the file name {module}.py")
    if not re.fullmatch(r"[A-Z]{2}", adapter.code):
        bad(f"code {adapter.code!r} is not an upper-case two-letter country code")
    if adapter.transport == "rest" and adapter.oauth is None:
        bad("a REST territory needs OAuth settings")
    if adapter.transport not in ("soap", "rest"):
        bad(f"unknown transport {adapter.transport!r}")
    if adapter.soap_version not in ("1.1", "1.2"):
        bad(f"unknown SOAP version {adapter.soap_version!r}")
    if adapter.retry.attempts < 1 or adapter.timeouts.read <= 0 or adapter.timeouts.connect <= 0:
        bad("retries need at least one attempt and timeouts must be positive")
    for kind, dialect in adapter.dialects.items():
        if dialect not in ("wco-dec", "ncts"):
            bad(f"unknown dialect {dialect!r} for {kind}")
    offices = adapter.offices if adapter.offices is not None else _listed_offices().get(adapter.code, ())
    for o in offices:
        if not _OFFICE.match(o.id) or not o.id.startswith(adapter.prefixes):
            bad(f"office {o.id!r} is not a {adapter.code} customs office reference")
    if problems:
        raise Refusal(problems)
    return adapter.with_(offices=tuple(offices))


@cache
def _load() -> dict[str, Adapter]:
    found: dict[str, Adapter] = {}
    problems: list[Problem] = []
    for info in sorted(pkgutil.iter_modules(_package.__path__), key=lambda m: m.name):
        if info.ispkg or info.name.startswith("_"):
            continue  # quirk helpers live in sub-packages or _private modules
        module = importlib.import_module(f"{_package.__name__}.{info.name}")
        adapter = getattr(module, "ADAPTER", None)
        if not isinstance(adapter, Adapter):
            problems.append(Problem(Code.NOT_CONFIGURED, f"adapters/{info.name}.py", "no ADAPTER defined"))
            continue
        try:
            found[adapter.code] = validate(adapter, info.name)
        except Refusal as exc:
            problems.extend(exc.problems)
    if problems:
        raise Refusal(problems)
    return found


def get(code: str) -> Adapter:
    try:
        return _load()[code.upper()]
    except KeyError:
        raise refuse(Code.NOT_CONFIGURED, "/territory", f"no adapter for territory {code!r}") from None


def all() -> list[Adapter]:  # shadows the builtin on purpose: registry.all()
    return list(_load().values())


def codes() -> list[str]:
    return list(_load())
