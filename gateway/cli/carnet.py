"""``validate``, ``ledger`` and ``schema``: the model and the Convention's rules from the command line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.app import app
from gateway.cli.output import EXIT_UNUSABLE, console, emit_json, report_refusal
from gateway.errors import Code, Problem, Refusal, refuse
from gateway.model import CarnetDocument, load_document

if TYPE_CHECKING:
    from gateway.rules import Ledger

FileArg = Annotated[Path, typer.Argument(help="eATA v1 JSON file (a carnet with its transactions)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
TodayOpt = Annotated[
    str | None, typer.Option("--today", help="Flag what is overdue as of this date (ISO); default today")
]

# Model-level problems mean the input could not be read as an eATA document at all.
_UNUSABLE = range(100, 110)


def read_document(path: Path, as_json: bool) -> CarnetDocument:
    try:
        data = path.read_bytes()
    except OSError as exc:
        report_refusal(
            refuse(Code.UNREADABLE, str(path), f"cannot read the file: {exc.strerror}"),
            as_json=as_json,
            exit_code=EXIT_UNUSABLE,
        )
    try:
        return load_document(data)
    except Refusal as r:
        code = EXIT_UNUSABLE if all(p.code in _UNUSABLE for p in r.problems) else 1
        report_refusal(r, as_json=as_json, exit_code=code)


def judged(path: Path, as_json: bool) -> tuple[CarnetDocument, Ledger]:
    from gateway.rules import judge  # imported by the commands that judge, not by every command

    doc = read_document(path, as_json)
    try:
        return doc, judge(doc)  # the one rule path: the same checks as the API, callback and workers
    except Refusal as r:
        report_refusal(r, as_json=as_json)


OfficesOpt = Annotated[
    bool,
    typer.Option(
        "--check-offices",
        hidden=True,
        help="Kept for old scripts: the office list (304) is always checked now, as on every entry",
    ),
]


@app.command()
def validate(
    file: FileArg, as_json: JsonOpt = False, check_offices: OfficesOpt = False, today: TodayOpt = None
) -> None:
    """Check a carnet document against the model and the Convention's rules.

    Exit 0 valid, 1 refused (errors listed with code, field and article), 2 unreadable input. What was
    recorded with a flag (late transit, Art. 10.2) and what is overdue are listed as flags.
    """
    doc, ledger = judged(file, as_json)
    flags = _flags(ledger, today)
    summary = {
        "valid": True,
        "carnet_id": doc.carnet.carnet_id,
        "transactions": len(doc.transactions),
        "committed": len(ledger.applied),
        "all_home": ledger.all_home(),
        "flags": [f.as_dict() for f in flags],
    }
    if as_json:
        emit_json(summary)
    else:
        home = "every item is home" if ledger.all_home() else f"{len(ledger.open_positions())} item(s) abroad"
        console.print(
            f"[green]valid[/green] carnet {doc.carnet.carnet_id}: "
            f"{len(ledger.applied)} committed transaction(s), {home}"
        )
        _print_flags(flags)


def _day(today: str | None) -> date:
    return date.fromisoformat(today) if today else date.today()


def _flags(ledger: Ledger, today: str | None) -> list[Problem]:
    return [*ledger.notices, *ledger.overdue(_day(today))]


def _print_flags(flags: list[Problem]) -> None:
    for f in flags:
        basis = f" [{f.article}]" if f.article else ""
        console.print(f"[yellow]flag {f.code}[/yellow] {f.pointer}: {f.message}{basis}")


@app.command()
def ledger(file: FileArg, as_json: JsonOpt = False, today: TodayOpt = None) -> None:
    """Replay a carnet's committed transactions: where each item is, its open deadline, and its flags."""
    doc, led = judged(file, as_json)
    flags = _flags(led, today)
    rows: list[dict[str, Any]] = [
        {
            "item": p.item,
            "description": doc.carnet.items_by_number[p.item].description,
            "where": p.where.value,
            "territory": p.territory or (doc.carnet.issuing_country if p.where == "home" else None),
            "since": p.since.isoformat() if p.since else None,
            "under": p.under,
            "deadline": p.deadline.isoformat() if p.deadline else None,
            "flags": list(led.flags(p.item, _day(today))),
            **({"successor": p.successor} if p.successor else {}),
        }
        for p in sorted(led.positions.values(), key=lambda p: p.item)
    ]
    if as_json:
        emit_json(
            {
                "carnet_id": doc.carnet.carnet_id,
                "all_home": led.all_home(),
                "items": rows,
                "flags": [f.as_dict() for f in flags],
            }
        )
        return
    from rich.table import Table

    table = Table(title=f"Ledger of carnet {doc.carnet.carnet_id} (valid until {doc.carnet.valid_until})")
    columns = ("item", "description", "where", "territory", "since", "under", "deadline", "flags")
    for col in columns:
        table.add_column(col)
    for r in rows:
        table.add_row(
            *("" if r[c] is None else ", ".join(r[c]) if c == "flags" else str(r[c]) for c in columns)
        )
    console.print(table)
    console.print(
        "[green]every item is home[/green]" if led.all_home() else "[yellow]items still abroad[/yellow]"
    )
    _print_flags(flags)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the eATA v1 document."""
    from gateway.schema import json_schema

    typer.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))
