"""``territories``: the eATA territories as their adapter files configure them."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from gateway.adapter_spec import Adapter
from gateway.adapters import registry
from gateway.cli.app import app
from gateway.cli.output import console, emit_json, report_refusal
from gateway.errors import Refusal
from gateway.model import TransactionKind
from gateway.settings import current


def describe(a: Adapter) -> dict[str, Any]:
    return {
        "code": a.code,
        "name": a.name,
        "language": a.language,
        "agency": a.agency,
        "national_system": a.national_system,
        "live_date": a.live_date.isoformat(),
        "transport": a.transport,
        "soap_version": a.soap_version if a.transport == "soap" else None,
        "endpoint": current().endpoint(a),
        "dialects": {k.value: a.dialect(k) for k in TransactionKind},
        "customisation": a.customisation,
        "grace": a.grace,
        "offices": [o.id for o in a.offices or ()],
        "office_policy": a.office_policy if a.offices else f"{a.office_policy} (none on file)",
        "timeouts": {"connect": a.timeouts.connect, "read": a.timeouts.read},
        "retry": {"attempts": a.retry.attempts, "backoff": a.retry.backoff},
        "quirks": [n for n, hook in (("prepare", a.prepare), ("check", a.check)) if hook is not None],
    }


@app.command()
def territories(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """List the eATA territories: transport, dialects, offices, live date, grace policy."""
    try:
        rows = [describe(a) for a in registry.all()]
    except Refusal as exc:
        report_refusal(exc, as_json=as_json, exit_code=2)
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"{len(rows)} eATA territories")
    for col in ("code", "name", "transport", "dialects", "offices", "live", "grace", "quirks"):
        table.add_column(col)
    for r in rows:
        transport = r["transport"] + (f" {r['soap_version']}" if r["soap_version"] else "")
        dialects = "/".join(sorted(set(r["dialects"].values())))
        offices = str(len(r["offices"])) if r["offices"] else "any"
        table.add_row(
            r["code"],
            r["name"],
            transport,
            dialects,
            offices,
            r["live_date"],
            r["grace"],
            ",".join(r["quirks"]),
        )
    console.print(table)
