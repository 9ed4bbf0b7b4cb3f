"""The typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="eata-gateway",
    help="eATA interoperability gateway: carnet rules, translation, signing, relay.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
