"""``simulate``: run a national customs system simulator (SOAP or CDS-like REST) for local testing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.app import app
from gateway.cli.output import EXIT_UNUSABLE, err_console, report_refusal
from gateway.errors import Refusal
from gateway.settings import current


def _make_test_pki(keys_dir: Path, codes: list[str]) -> None:
    from conformance.testpki import make_test_pki

    make_test_pki(keys_dir, ["gateway", *(f"sim-{c.lower()}" for c in codes)])


@app.command()
def simulate(
    territory: Annotated[
        list[str], typer.Option("--territory", "-t", help="Territory to simulate (repeat; 'all' for 30)")
    ],
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8200,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default)")] = "127.0.0.1",
    faults: Annotated[str, typer.Option(help="Fault profile, e.g. 'flaky' or 'http_5xx:2,latency=0.2'")] = "",
    keys_dir: Annotated[
        Path | None, typer.Option(help="Keys: sim-<xx> signs, ca.cert.pem trusts (default $EATA_KEYS_DIR)")
    ] = None,
    make_test_pki: Annotated[
        bool, typer.Option("--make-test-pki", help="Write a throw-away TEST PKI into the keys dir first")
    ] = False,
    callback_url: Annotated[
        str | None, typer.Option(help="Where REST decisions go when a request names no X-Callback-Url")
    ] = None,
) -> None:
    """Serve a simulated national customs system over HTTP until interrupted."""
    import uvicorn

    from conformance.simulators.app import create_app
    from conformance.simulators.faults import parse
    from gateway.adapters import registry

    keys = keys_dir or current().keys_dir
    try:
        codes = (
            registry.codes()
            if "all" in [t.lower() for t in territory]
            else [registry.get(t).code for t in territory]
        )
        parse(faults)
    except Refusal as exc:
        report_refusal(exc, as_json=False, exit_code=EXIT_UNUSABLE)
    except ValueError as exc:
        err_console.print(str(exc))
        raise typer.Exit(EXIT_UNUSABLE) from None
    if make_test_pki:
        _make_test_pki(keys, codes)
    try:
        application = create_app(codes, keys_dir=keys, faults=faults, callback_url=callback_url)
    except Refusal as exc:
        report_refusal(exc, as_json=False, exit_code=EXIT_UNUSABLE)
    err_console.print(f"simulating {', '.join(codes)} on http://{host}:{port} (faults: {faults or 'none'})")
    uvicorn.run(application, host=host, port=port, log_level="info", lifespan="off")
