"""docker/compose.yaml matches the code: every command it runs parses, every simulated territory has its
key, and every variable it sets is one the gateway reads."""

from __future__ import annotations

from pathlib import Path

import typer.main

import gateway.cli  # noqa: F401  (registers every command module)
from gateway.cli.app import app
from gateway.yamlio import load_yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = load_yaml(ROOT / "docker" / "compose.yaml")
SERVICES = COMPOSE["services"]


def test_every_command_parses_with_the_real_cli() -> None:
    cli = typer.main.get_command(app)
    ran = 0
    for name, service in SERVICES.items():
        if "command" not in service or "image" in service:
            continue
        sub, *args = service["command"]
        command = cli.commands.get(sub)  # type: ignore[attr-defined]
        assert command is not None, f"{name}: no eata-gateway command {sub!r}"
        command.make_context(sub, list(args))  # raises on an unknown option or a bad value
        ran += 1
    assert ran >= 6


def test_simulated_territories_have_keys_and_workers() -> None:
    pki = SERVICES["pki"]["entrypoint"]
    simulated = [
        arg
        for s in SERVICES.values()
        if s.get("command", [""])[0] == "simulate"
        for flag, arg in zip(s["command"], s["command"][1:], strict=False)
        if flag in ("-t", "--territory")
    ]
    assert simulated
    for code in simulated:
        assert f"sim-{code.lower()}" in pki, f"no TEST key for the {code} simulator"
        assert any(s.get("command", [])[:3] == ["worker", "-t", code] for s in SERVICES.values()), code


def test_environment_names_are_read_by_the_gateway() -> None:
    from gateway.settings import variables

    names = set(variables())
    read = {n for n in names if "<XX>" not in n}
    per_territory = {n.removesuffix("<XX>") for n in names if n.endswith("<XX>")}
    env = {**COMPOSE["x-gateway"]["environment"], **COMPOSE["x-worker"]["environment"]}
    for name in env:
        assert name in read or any(name.startswith(p) for p in per_territory), name
