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


def test_the_image_holds_every_package_the_wheel_ships() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = set(wheel["packages"]) | set(wheel["force-include"])
    copied = {
        line.split()[1]
        for line in (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if line.startswith("COPY ")
    }
    assert needed <= copied, f"the Dockerfile does not copy {sorted(needed - copied)}"


def test_brokers_enable_what_partitions_and_metrics_need() -> None:
    plugins = COMPOSE["configs"]["rabbitmq-plugins"]["content"]
    assert "rabbitmq_consistent_hash_exchange" in plugins  # worker --partitions
    assert "rabbitmq_prometheus" in plugins  # queue depths scraped from the broker itself
    targets = {c["target"] for c in COMPOSE["x-rabbit"]["configs"]}
    assert "/etc/rabbitmq/enabled_plugins" in targets


def test_every_part_reads_the_official_schemas_from_a_mount() -> None:
    inside = COMPOSE["x-gateway"]["environment"]["EATA_OFFICIAL_SCHEMAS"]
    mounts = [v for v in COMPOSE["x-gateway"]["volumes"] if v.endswith(f":{inside}:ro")]
    assert mounts and mounts[0].startswith("${EATA_OFFICIAL_SCHEMAS_DIR:?"), mounts  # no silent default
