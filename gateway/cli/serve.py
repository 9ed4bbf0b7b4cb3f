"""``eata-gateway serve`` (the API with its background loops) and ``eata-gateway parties add``."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
import uvicorn

from gateway.api.settings import Settings
from gateway.cli.app import app
from gateway.cli.output import console, emit_json

parties_app = typer.Typer(help="Parties that may call the API (each gets an API key).", no_args_is_help=True)
app.add_typer(parties_app, name="parties")

ROLES = ("holder", "representative", "issuer", "customs", "chain", "operator")


@parties_app.command("add")
def add_party(
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}")],
    name: Annotated[str, typer.Option("--name", help="Who the party is")],
    territory: Annotated[str | None, typer.Option("--territory", help="For customs: the territory")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Register a party and print its API key once (only its hash is stored)."""
    from gateway.runtime import database

    if role not in ROLES or (role == "customs") != (territory is not None):
        console.print(f"role must be one of {', '.join(ROLES)}; customs (only) need --territory")
        raise typer.Exit(2)
    party, key = database(Settings()).add_party(role, name, territory.upper() if territory else None)
    if as_json:
        emit_json({"id": party.id, "role": role, "name": name, "territory": party.territory, "api_key": key})
    else:
        console.print(f"{role} {name}: API key [bold]{key}[/bold] (shown once)")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
) -> None:
    """Run the gateway API with its outbox drainer and result consumer (settings from EATA_* variables)."""
    from gateway.runtime import Runtime

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    runtime = Runtime(Settings()).start()
    try:
        uvicorn.run(runtime.app, host=host, port=port, log_level="warning")
    finally:
        runtime.stop()
