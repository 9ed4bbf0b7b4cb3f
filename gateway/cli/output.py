"""Shared CLI output: refusals as a rich table or JSON, and the exit codes (0 ok, 1 refused, 2 unusable)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table

from gateway.errors import Code, Refusal, refuse

EXIT_OK, EXIT_REFUSED, EXIT_UNUSABLE = 0, 1, 2
# Input that cannot be used at all (exit 2), whatever the rules say: unreadable, malformed or hostile XML,
# too large or too deep. Anything else refused is a judgement on a readable document (exit 1).
UNUSABLE = frozenset({Code.UNREADABLE, Code.HOSTILE_XML, Code.TOO_LARGE})

console = Console()
err_console = Console(stderr=True)


def emit_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def exit_for(refusal: Refusal, unusable: frozenset[int] | range = UNUSABLE) -> int:
    """2 when every problem says the input is unusable, else 1 (a refusal by the rules)."""
    return EXIT_UNUSABLE if all(p.code in unusable for p in refusal.problems) else EXIT_REFUSED


def read_input(path: Path, *, as_json: bool) -> bytes:
    """The file's bytes, or exit 2 with a 100 problem naming the file (missing, a directory, no rights)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        report_refusal(
            refuse(Code.UNREADABLE, str(path), f"cannot read the file: {exc.strerror or exc}"),
            as_json=as_json,
            exit_code=EXIT_UNUSABLE,
        )


def report_refusal(refusal: Refusal, *, as_json: bool, exit_code: int = EXIT_REFUSED) -> NoReturn:
    if as_json:
        emit_json(refusal.as_dict())
    else:
        table = Table(title="Refused", show_lines=False)
        for col in ("code", "where", "why", "basis"):
            table.add_column(col)
        for p in refusal.problems:
            table.add_row(str(p.code), p.pointer or "-", p.message, p.article or "")
        err_console.print(table)
    raise typer.Exit(exit_code)
