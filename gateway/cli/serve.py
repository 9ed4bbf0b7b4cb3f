"""``eata-gateway serve`` (the API with its background loops) and ``eata-gateway parties add``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from gateway import logs
from gateway.api.settings import Settings
from gateway.cli.app import app
from gateway.cli.output import console, emit_json

parties_app = typer.Typer(help="Parties that may call the API (each gets an API key).", no_args_is_help=True)
app.add_typer(parties_app, name="parties")

# operator: health, metrics and message metadata only; auditor: read-only access to every carnet's contents
ROLES = ("holder", "representative", "issuer", "customs", "chain", "operator", "auditor")


@parties_app.command("add")
def add_party(
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}")],
    name: Annotated[str, typer.Option("--name", help="Who the party is")],
    territory: Annotated[str | None, typer.Option("--territory", help="For customs: the territory")] = None,
    cert: Annotated[
        Path | None,
        typer.Option("--cert", help="PEM client certificate the party may also authenticate with (mTLS)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Register a party and print its API key once (only its hash is stored)."""
    from cryptography import x509

    from gateway.api.clientcert import fingerprint
    from gateway.runtime import database

    if role not in ROLES or (role == "customs") != (territory is not None):
        console.print(f"role must be one of {', '.join(ROLES)}; customs (only) need --territory")
        raise typer.Exit(2)
    certificate = None
    if cert is not None:
        try:
            certificate = x509.load_pem_x509_certificate(cert.read_bytes())
        except (OSError, ValueError) as exc:
            console.print(f"cannot read the client certificate {cert}: {exc}")
            raise typer.Exit(2) from None
    db = database(Settings())
    party, key = db.add_party(role, name, territory.upper() if territory else None)
    sha256 = None
    if certificate is not None:
        sha256 = fingerprint(certificate)
        db.add_party_cert(party.id, sha256, certificate.subject.rfc4514_string())
    if as_json:
        emit_json(
            {
                "id": party.id,
                "role": role,
                "name": name,
                "territory": party.territory,
                "api_key": key,
                "cert_sha256": sha256,
            }
        )
    else:
        console.print(f"{role} {name}: API key [bold]{key}[/bold] (shown once)")
        if certificate is not None:
            console.print(
                f"  and client certificate {certificate.subject.rfc4514_string()} (sha256 {sha256})"
            )


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
) -> None:
    """Run the gateway API with its outbox drainer and result consumer (settings from EATA_* variables)."""
    from gateway.runtime import Runtime
    from gateway.store.schema import SchemaBehind

    settings = Settings()
    # JSON lines, or text in a terminal
    logs.configure(logs.choose(service=True, wanted=settings.log_format), logging.INFO)
    try:
        runtime = Runtime(settings)
    except SchemaBehind as exc:  # never migrate silently: the operator runs `eata-gateway db upgrade`
        typer.echo(f"not starting: {exc}", err=True)
        raise typer.Exit(1) from None
    runtime.start()
    try:
        # proxy_headers off: the app believes X-Forwarded-* (and client certificates) only from
        # EATA_TRUSTED_PROXIES, and must see the proxy's own address to judge that
        uvicorn.run(
            runtime.app, host=host, port=port, log_level="warning", log_config=None, proxy_headers=False
        )
    finally:
        runtime.stop()
